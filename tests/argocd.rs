//! Argo CD as teams run it: Application paths follow the output directory and the project's
//! place in the repository, one AppProject per project, finalizers, sync options and retry,
//! destinations by server or by name, and the rendered directory `kubectl kustomize` reads.

mod common;

use common::{crate_root, read_yaml, run_shipshape};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A scratch copy of the repository's own project (catalogue and environments only).
fn project() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("shipshape-argocd-")
        .tempdir()
        .unwrap();
    std::fs::copy(
        crate_root().join("catalogue.yaml"),
        dir.path().join("catalogue.yaml"),
    )
    .unwrap();
    common::copy_dir(
        &crate_root().join("environments"),
        &dir.path().join("environments"),
    );
    dir
}

/// Replaces `from` with `to` in environment file `env` of the project at `root`.
fn edit_env(root: &Path, env: &str, from: &str, to: &str) {
    let path = root.join("environments").join(format!("{env}.yaml"));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{from:?} is not in {env}.yaml");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

fn source_path(app: &Value) -> &str {
    app.pointer("/spec/source/path")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

#[test]
fn application_paths_follow_the_output_directory() {
    let p = project();
    let built = run_shipshape(p.path(), &["build", "--out", "deploy"], &[]);
    assert_eq!(built.code, Some(0), "{}", built.all());
    let argocd = p.path().join("deploy/argocd");
    assert_eq!(
        source_path(&read_yaml(&argocd.join("prod.yaml"))),
        "deploy/prod"
    );
    assert_eq!(
        source_path(&read_yaml(&argocd.join("root.yaml"))),
        "deploy/argocd"
    );
    // The tree it wrote is the tree `check` expects for the same directory.
    let checked = run_shipshape(p.path(), &["check", "--out", "deploy"], &[]);
    assert_eq!(checked.code, Some(0), "{}", checked.all());
    // An absolute spelling of the same directory is the same repository path.
    let absolute = p.path().join("deploy");
    let checked = run_shipshape(
        p.path(),
        &["check", "--out", &absolute.to_string_lossy()],
        &[],
    );
    assert_eq!(checked.code, Some(0), "{}", checked.all());
    // So is a spelling through `..`.
    let dotted = run_shipshape(p.path(), &["check", "--out", "deploy/../deploy"], &[]);
    assert_eq!(dotted.code, Some(0), "{}", dotted.all());
}

#[test]
fn a_project_in_a_repository_sub_directory_prefixes_every_path() {
    let p = project();
    for env in ["dev", "prod", "staging"] {
        edit_env(
            p.path(),
            env,
            "  repoURL: https://git.example.com/openpolicy/gitops.git\n",
            "  repoURL: https://git.example.com/openpolicy/gitops.git\n  repoPath: platforms/openpolicy\n",
        );
    }
    let built = run_shipshape(p.path(), &["build", "--out", "deploy/gitops"], &[]);
    assert_eq!(built.code, Some(0), "{}", built.all());
    let argocd = p.path().join("deploy/gitops/argocd");
    assert_eq!(
        source_path(&read_yaml(&argocd.join("staging.yaml"))),
        "platforms/openpolicy/deploy/gitops/staging"
    );
    assert_eq!(
        source_path(&read_yaml(&argocd.join("root.yaml"))),
        "platforms/openpolicy/deploy/gitops/argocd"
    );
}

#[test]
fn an_output_outside_the_project_keeps_the_default_paths() {
    let p = project();
    let elsewhere = tempfile::tempdir().unwrap();
    let out = elsewhere.path().join("copy");
    let built = run_shipshape(p.path(), &["build", "--out", &out.to_string_lossy()], &[]);
    assert_eq!(built.code, Some(0), "{}", built.all());
    assert_eq!(
        source_path(&read_yaml(&out.join("argocd/dev.yaml"))),
        "rendered/dev"
    );
}

#[test]
fn a_repo_path_that_leaves_the_repository_is_refused() {
    let p = project();
    edit_env(
        p.path(),
        "dev",
        "  repoURL: https://git.example.com/openpolicy/gitops.git\n",
        "  repoURL: https://git.example.com/openpolicy/gitops.git\n  repoPath: platforms/../..\n",
    );
    let built = run_shipshape(p.path(), &["build"], &[]);
    assert_eq!(built.code, Some(2), "{}", built.all());
    assert!(
        built.stderr.contains("input/argocd-repo-path"),
        "{}",
        built.all()
    );
    assert!(built.stderr.contains("dev.yaml:"), "{}", built.all());
}

/// The rendered Argo CD directory of the repository's own project.
fn rendered_argocd() -> PathBuf {
    crate_root().join("rendered/argocd")
}

#[test]
fn applications_carry_the_finalizer_the_sync_options_and_the_retry() {
    let prod = read_yaml(&rendered_argocd().join("prod.yaml"));
    assert_eq!(
        prod.pointer("/metadata/finalizers/0")
            .and_then(Value::as_str),
        Some("resources-finalizer.argocd.argoproj.io")
    );
    let options: Vec<&str> = prod
        .pointer("/spec/syncPolicy/syncOptions")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        options,
        [
            "CreateNamespace=true",
            "ServerSideApply=true",
            "PruneLast=true"
        ]
    );
    assert_eq!(
        prod.pointer("/spec/syncPolicy/retry/limit"),
        Some(&Value::from(5))
    );
    // The root app has none: deleting it leaves the environments running.
    let root = read_yaml(&rendered_argocd().join("root.yaml"));
    assert_eq!(root.pointer("/metadata/finalizers"), None);
}

#[test]
fn sync_options_and_retry_are_overridable_per_environment() {
    let p = project();
    edit_env(
        p.path(),
        "dev",
        "syncPolicy: { prune: true, selfHeal: false }",
        "syncPolicy: { prune: true, selfHeal: false, serverSideApply: false, pruneLast: false, retry: { limit: 0 } }",
    );
    edit_env(
        p.path(),
        "staging",
        "syncPolicy: { prune: true, selfHeal: true }",
        "syncPolicy: { prune: true, selfHeal: true, retry: { limit: 2, backoff: { duration: 10s, maxDuration: 1m } } }",
    );
    let built = run_shipshape(p.path(), &["build"], &[]);
    assert_eq!(built.code, Some(0), "{}", built.all());
    let argocd = p.path().join("rendered/argocd");
    let dev = read_yaml(&argocd.join("dev.yaml"));
    assert_eq!(
        dev.pointer("/spec/syncPolicy/syncOptions"),
        Some(&serde_json::json!(["CreateNamespace=true"]))
    );
    assert_eq!(dev.pointer("/spec/syncPolicy/retry"), None);
    let staging = read_yaml(&argocd.join("staging.yaml"));
    assert_eq!(
        staging.pointer("/spec/syncPolicy/retry"),
        Some(&serde_json::json!({
            "limit": 2,
            "backoff": { "duration": "10s", "factor": 2, "maxDuration": "1m" }
        }))
    );
}

#[test]
fn one_app_project_holds_the_platform_to_its_repositories_namespaces_and_kinds() {
    let project = read_yaml(&rendered_argocd().join("appprojects.yaml"));
    assert_eq!(
        project.pointer("/metadata/name").and_then(Value::as_str),
        Some("openpolicy")
    );
    assert_eq!(
        project.pointer("/spec/sourceRepos"),
        Some(&serde_json::json!([
            "https://git.example.com/openpolicy/gitops.git"
        ]))
    );
    let namespaces: Vec<&str> = project
        .pointer("/spec/destinations")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .filter_map(|d| d.get("namespace").and_then(Value::as_str))
        .collect();
    assert_eq!(
        namespaces,
        ["openpolicy-dev", "openpolicy-prod", "openpolicy-staging"]
    );
    let kinds = |key: &str| -> Vec<String> {
        project
            .pointer(&format!("/spec/{key}"))
            .and_then(Value::as_array)
            .unwrap()
            .iter()
            .map(|k| {
                format!(
                    "{}/{}",
                    k["group"].as_str().unwrap(),
                    k["kind"].as_str().unwrap()
                )
            })
            .collect()
    };
    // Cluster-scoped: the namespace and, with `enforce.admission`, the admission policies.
    assert_eq!(
        kinds("clusterResourceWhitelist"),
        [
            "/Namespace",
            "admissionregistration.k8s.io/ValidatingAdmissionPolicy",
            "admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding"
        ]
    );
    let namespaced = kinds("namespaceResourceWhitelist");
    for kind in [
        "apps/Deployment",
        "/Service",
        "networking.k8s.io/NetworkPolicy",
    ] {
        assert!(namespaced.contains(&kind.to_owned()), "{namespaced:?}");
    }
    assert!(!namespaced.contains(&"/Namespace".to_owned()));
}

#[test]
fn a_destination_by_name_is_rendered_and_allowed_by_the_project() {
    let p = project();
    edit_env(
        p.path(),
        "prod",
        "destination: { server: https://kubernetes.default.svc }",
        "destination: { name: prod-cluster }",
    );
    let built = run_shipshape(p.path(), &["build"], &[]);
    assert_eq!(built.code, Some(0), "{}", built.all());
    let argocd = p.path().join("rendered/argocd");
    let prod = read_yaml(&argocd.join("prod.yaml"));
    assert_eq!(
        prod.pointer("/spec/destination"),
        Some(&serde_json::json!({ "name": "prod-cluster", "namespace": "openpolicy-prod" }))
    );
    let project = read_yaml(&argocd.join("appprojects.yaml"));
    let destinations = project.pointer("/spec/destinations").unwrap();
    assert!(
        destinations.as_array().unwrap().contains(
            &serde_json::json!({ "name": "prod-cluster", "namespace": "openpolicy-prod" })
        ),
        "{destinations}"
    );
}

#[test]
fn a_destination_by_server_and_by_name_is_refused() {
    let p = project();
    edit_env(
        p.path(),
        "prod",
        "destination: { server: https://kubernetes.default.svc }",
        "destination: { server: https://kubernetes.default.svc, name: in-cluster }",
    );
    let built = run_shipshape(p.path(), &["build"], &[]);
    assert_eq!(built.code, Some(2), "{}", built.all());
    assert!(
        built.stderr.contains("input/argocd-destination"),
        "{}",
        built.all()
    );
    assert!(built.stderr.contains("prod.yaml:"), "{}", built.all());
}

#[test]
fn the_project_and_the_argocd_namespace_are_settings() {
    let p = project();
    for env in ["dev", "prod", "staging"] {
        edit_env(
            p.path(),
            env,
            "  project: openpolicy\n",
            "  project: team-policy\n  namespace: gitops\n  rootProject: platform-admin\n",
        );
    }
    let built = run_shipshape(p.path(), &["build"], &[]);
    assert_eq!(built.code, Some(0), "{}", built.all());
    let argocd = p.path().join("rendered/argocd");
    let dev = read_yaml(&argocd.join("dev.yaml"));
    assert_eq!(dev["metadata"]["namespace"], "gitops");
    assert_eq!(dev["spec"]["project"], "team-policy");
    let project = read_yaml(&argocd.join("appprojects.yaml"));
    assert_eq!(project["metadata"]["name"], "team-policy");
    assert_eq!(project["metadata"]["namespace"], "gitops");
    let root = read_yaml(&argocd.join("root.yaml"));
    assert_eq!(root["spec"]["project"], "platform-admin");
    assert_eq!(root["spec"]["destination"]["namespace"], "gitops");
}

#[test]
fn environments_that_disagree_on_the_argocd_namespace_are_refused() {
    let p = project();
    edit_env(
        p.path(),
        "staging",
        "  project: openpolicy\n",
        "  project: openpolicy\n  namespace: gitops\n",
    );
    let built = run_shipshape(p.path(), &["build"], &[]);
    assert_eq!(built.code, Some(2), "{}", built.all());
    assert!(
        built.stderr.contains("input/argocd-disagreement"),
        "{}",
        built.all()
    );
    assert!(built.stderr.contains("staging.yaml:"), "{}", built.all());
}

fn revision(argocd: &Path, file: &str) -> String {
    read_yaml(&argocd.join(file))["spec"]["source"]["targetRevision"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Promotion: staging follows `main`, prod a release tag, one line in `prod.yaml`. The root app
/// keeps reading the Applications from the default branch, where that line is merged.
#[test]
fn prod_on_a_tag_is_one_setting() {
    let p = project();
    edit_env(
        p.path(),
        "prod",
        "targetRevision: main ",
        "targetRevision: v1.4.0 ",
    );
    let built = run_shipshape(p.path(), &["build"], &[]);
    assert_eq!(built.code, Some(0), "{}", built.all());
    let argocd = p.path().join("rendered/argocd");
    assert_eq!(revision(&argocd, "prod.yaml"), "v1.4.0");
    assert_eq!(revision(&argocd, "staging.yaml"), "main");
    assert_eq!(revision(&argocd, "dev.yaml"), "develop");
    assert_eq!(revision(&argocd, "root.yaml"), "HEAD");
}

/// A repository that promotes from another branch than its default one says so once.
#[test]
fn the_root_app_follows_root_revision() {
    let p = project();
    edit_env(
        p.path(),
        "staging",
        "targetRevision: main\n",
        "targetRevision: main\n  rootRevision: release\n",
    );
    let built = run_shipshape(p.path(), &["build"], &[]);
    assert_eq!(built.code, Some(0), "{}", built.all());
    let argocd = p.path().join("rendered/argocd");
    assert_eq!(revision(&argocd, "root.yaml"), "release");
    assert_eq!(revision(&argocd, "staging.yaml"), "main");
}

/// Every document of an Argo CD directory against the Argo CD v3.5.1 CRD schemas (the strict
/// variants in `schemas/argocd/`, copied unmodified from upstream). Returns how many were checked.
fn validate_argocd_dir(dir: &Path) -> usize {
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n == "kustomization.yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
        for doc in docs {
            let violations = shipshape::manifest::schema::validate(&doc)
                .unwrap_or_else(|| panic!("no schema for {} in {}", doc["kind"], path.display()));
            assert!(violations.is_empty(), "{}: {violations:?}", path.display());
            checked += 1;
        }
    }
    checked
}

#[test]
fn app_project_and_applications_are_valid_against_the_argo_cd_schemas() {
    assert_eq!(validate_argocd_dir(&rendered_argocd()), 5);
    // Also the other shapes: a destination by name, no retry, another project and namespace.
    let p = project();
    edit_env(
        p.path(),
        "prod",
        "destination: { server: https://kubernetes.default.svc }",
        "destination: { name: prod-cluster }\n  namespace: gitops",
    );
    for env in ["dev", "staging"] {
        edit_env(
            p.path(),
            env,
            "  project: openpolicy\n",
            "  project: openpolicy\n  namespace: gitops\n",
        );
    }
    edit_env(
        p.path(),
        "dev",
        "syncPolicy: { prune: true, selfHeal: false }",
        "syncPolicy: { prune: true, selfHeal: false, retry: { limit: 0 } }",
    );
    let built = run_shipshape(p.path(), &["build"], &[]);
    assert_eq!(built.code, Some(0), "{}", built.all());
    assert_eq!(validate_argocd_dir(&p.path().join("rendered/argocd")), 5);
}

#[test]
fn the_app_project_schema_refuses_a_broken_project() {
    let bad = serde_json::json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": { "name": "x", "namespace": "argocd" },
        "spec": { "sourceRepos": "https://git.example.com/x.git", "colour": "blue" }
    });
    let violations = shipshape::manifest::schema::validate(&bad).expect("AppProject has a schema");
    assert!(violations.len() >= 2, "{violations:?}");
}

/// `kubectl kustomize rendered/argocd` reads the directory as Argo CD will. kubectl comes from
/// `SHIPSHAPE_KUBECTL` or the PATH; without it the test says so and checks nothing more.
#[test]
fn kubectl_kustomize_reads_the_argocd_directory() {
    let kubectl = std::env::var_os("SHIPSHAPE_KUBECTL").unwrap_or_else(|| "kubectl".into());
    let out = match std::process::Command::new(&kubectl)
        .arg("kustomize")
        .arg(rendered_argocd())
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            eprintln!(
                "skipping: cannot run {} ({e}); set SHIPSHAPE_KUBECTL to a kubectl binary",
                Path::new(&kubectl).display()
            );
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.matches("kind: Application\n").count(), 4, "{stdout}");
    assert_eq!(stdout.matches("kind: AppProject\n").count(), 1, "{stdout}");
}

/// An environment's Application file would overwrite the root app, the projects or the
/// kustomization of the Argo CD directory.
#[test]
fn environment_names_of_argocd_files_are_refused() {
    for name in ["root", "appprojects", "kustomization"] {
        let p = project();
        let envs = p.path().join("environments");
        std::fs::rename(envs.join("dev.yaml"), envs.join(format!("{name}.yaml"))).unwrap();
        let built = run_shipshape(p.path(), &["build"], &[]);
        assert_eq!(built.code, Some(2), "{name}: {}", built.all());
        assert!(
            built
                .stderr
                .contains(&format!("environment name `{name}` is reserved")),
            "{}",
            built.all()
        );
        assert!(!p.path().join("rendered").exists());
    }
}
