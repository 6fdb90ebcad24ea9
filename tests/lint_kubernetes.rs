//! `shipshape lint` reads manifests as Kubernetes does: namespaces as kubectl applies them
//! (`default`, `--namespace`, a kustomization's `namespace:`), YAML 1.1 scalars, clusters formed
//! by `--group-by`; and it lints a real repository's mix of raw manifests, Helm charts and
//! Kustomize overlays without giving up on what it cannot read.

mod common;

use common::{crate_root, run_shipshape, run_shipshape_with_stdin, Outcome};
use std::fs;
use std::path::Path;

fn lint(cwd: &Path, args: &[&str]) -> Outcome {
    let mut all = vec!["lint"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "short"]);
    let o = run_shipshape(cwd, &all, &[]);
    o.no_panic();
    o
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

const WORKLOAD: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector:
    matchLabels: { app: api }
  template:
    metadata:
      labels: { app: api }
    spec:
      containers:
        - name: api
          image: registry.example.com/api:1.0.0
          readinessProbe: { exec: { command: [/bin/ready] } }
          livenessProbe: { exec: { command: [/bin/alive] } }
          resources:
            requests: { cpu: 100m, memory: 128Mi }
            limits: { cpu: 200m, memory: 256Mi }
";

/// A policy in namespace `team` whose selector has a typo (`apii`).
const TEAM_POLICY: &str = "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: api
  namespace: team
spec:
  podSelector:
    matchLabels: { app: apii }
  policyTypes: [Ingress]
";

#[test]
fn a_repository_of_raw_manifests_a_helm_chart_and_a_kustomize_overlay_is_linted() {
    let o = lint(crate_root(), &["tests/fixtures/lint-repo"]);
    assert!(
        matches!(o.code, Some(0 | 1)),
        "exit {:?}: {}",
        o.code,
        o.all()
    );
    assert!(
        o.stderr.contains(
            "note: skipped tests/fixtures/lint-repo/charts/web: a Helm chart, whose templates are not YAML until rendered: render it first, e.g. `helm template CHART | shipshape lint -`"
        ),
        "{}",
        o.stderr
    );
    insta::assert_snapshot!(
        "lint_repo_mixed",
        format!("exit: {:?}\n{}{}", o.code, o.stdout, o.stderr)
    );
}

#[test]
fn a_helm_chart_named_on_the_command_line_is_skipped_not_an_error() {
    let o = lint(crate_root(), &["tests/fixtures/lint-repo/charts/web"]);
    assert_eq!(o.code, Some(0), "{}", o.all());
    assert!(o.stderr.contains("a Helm chart"), "{}", o.stderr);
    assert!(o.stderr.contains("linted 0 manifests"), "{}", o.stderr);
}

#[test]
fn standard_input_is_a_stream_of_documents() {
    let stream =
        fs::read_to_string(crate_root().join("tests/fixtures/lint-repo/apps/shop/api.yaml"))
            .unwrap()
            .replace("targetPort: http", "targetPort: web");
    let o = run_shipshape_with_stdin(crate_root(), &["lint", "-", "--format", "short"], &stream);
    o.no_panic();
    assert_eq!(o.code, Some(1), "{}", o.all());
    assert!(
        o.all().contains(
            "<stdin>:13:7: error[port-conflict/target-port-not-exposed]: Service `api` sends port 80 to target `web`"
        ),
        "{}",
        o.all()
    );
    assert!(o.stderr.contains("linted 3 manifests"), "{}", o.stderr);
}

#[test]
fn manifests_without_namespace_go_to_default_or_to_the_namespace_flag() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "api.yaml", WORKLOAD);
    write(dir.path(), "policy.yaml", TEAM_POLICY);
    // The workload lands in `default`: the policy in `team` has no pods to miss.
    let o = lint(dir.path(), &["."]);
    assert_eq!(o.code, Some(0), "{}", o.all());
    let o = lint(dir.path(), &[".", "--namespace", "team"]);
    assert_eq!(o.code, Some(1), "{}", o.all());
    assert!(
        o.all()
            .contains("error[policy-selector/selects-nothing]: NetworkPolicy `api` selects pods matching `app=apii`, but no pod in namespace `team` does"),
        "{}",
        o.all()
    );
}

#[test]
fn a_kustomization_namespace_applies_to_the_files_of_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "base/api.yaml", WORKLOAD);
    write(dir.path(), "base/policy.yaml", TEAM_POLICY);
    write(
        dir.path(),
        "base/kustomization.yaml",
        "namespace: team\nresources: [api.yaml, policy.yaml]\n",
    );
    let o = lint(dir.path(), &["."]);
    assert_eq!(o.code, Some(1), "{}", o.all());
    assert!(
        o.all().contains("no pod in namespace `team` does"),
        "{}",
        o.all()
    );
    // A kustomization elsewhere places nothing here.
    fs::rename(
        dir.path().join("base/kustomization.yaml"),
        dir.path().join("kustomization-elsewhere.yaml"),
    )
    .unwrap();
    let o = lint(dir.path(), &["base"]);
    assert_eq!(o.code, Some(0), "{}", o.all());
}

#[test]
fn group_by_dir_lints_each_top_level_directory_as_its_own_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let node_port = |name: &str| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{ name: {name} }}\nspec:\n  type: NodePort\n  ports:\n    - {{ port: 80, nodePort: 30080 }}\n"
        )
    };
    write(dir.path(), "cluster-a/web.yaml", &node_port("web"));
    write(dir.path(), "cluster-b/shop.yaml", &node_port("shop"));
    let o = lint(dir.path(), &["."]);
    assert_eq!(o.code, Some(1), "{}", o.all());
    assert!(
        o.all()
            .contains("nodePort 30080 is used by `web` and `shop`"),
        "{}",
        o.all()
    );
    let o = lint(dir.path(), &[".", "--group-by", "dir"]);
    assert_eq!(o.code, Some(0), "{}", o.all());
    assert!(
        o.stderr.contains("linted 2 manifests in 2 clusters"),
        "{}",
        o.stderr
    );
    let o = lint(
        dir.path(),
        &["cluster-a", "cluster-b", "--group-by", "path"],
    );
    assert_eq!(o.code, Some(0), "{}", o.all());
}

#[test]
fn yaml_1_1_scalars_are_read_as_kubernetes_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    // `yes` is a boolean in YAML 1.1: the API server refuses it as an environment value.
    let manifest = WORKLOAD.replace(
        "          readinessProbe",
        "          env:\n            - { name: FEATURE, value: yes }\n          readinessProbe",
    );
    write(dir.path(), "api.yaml", &manifest);
    let o = lint(dir.path(), &["api.yaml"]);
    assert_eq!(o.code, Some(1), "{}", o.all());
    assert!(
        o.all().contains("error[schema]: Deployment/api breaks its schema at `/spec/template/spec/containers/0/env/0/value`"),
        "{}",
        o.all()
    );
}

#[test]
fn kinds_without_schema_are_counted_and_reported_once_per_kind() {
    let dir = tempfile::tempdir().unwrap();
    let config =
        |name: &str| format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{ name: {name} }}\n");
    let gateway = "apiVersion: networking.istio.io/v1beta1\nkind: Gateway\nmetadata: { name: edge }\nspec: {}\n";
    write(
        dir.path(),
        "a.yaml",
        &format!("{}---\n{}---\n{gateway}", config("one"), config("two")),
    );
    let o = lint(dir.path(), &["a.yaml"]);
    assert_eq!(o.code, Some(0), "{}", o.all());
    // One line per finding on stdout (a machine format), the closing line on stderr.
    let infos: Vec<&str> = o
        .stdout
        .lines()
        .filter(|l| l.contains("info[schema/not-validated]"))
        .collect();
    assert_eq!(infos.len(), 2, "{}", o.all());
    assert!(o.all().contains("a.yaml:2:1: info[schema/not-validated]: not validated: no schema for ConfigMap v1 (2 manifests)"), "{}", o.all());
    assert!(
        o.all().contains(
            "not validated: no schema for Gateway networking.istio.io/v1beta1 (1 manifest)"
        ),
        "{}",
        o.all()
    );
    assert!(
        o.stderr
            .contains("linted 3 manifests (not validated, no schema: 2 ConfigMap, 1 Gateway)"),
        "{}",
        o.stderr
    );
}

#[test]
fn build_reports_rendered_kinds_without_schema_once_per_environment_and_kind() {
    let project = common::scratch_copy(&common::fixture("bad/valid"));
    let overrides = tempfile::tempdir().unwrap();
    // An extra template that renders a ConfigMap per service: a kind with no schema.
    write(
        overrides.path(),
        "settings.service.yaml.j2",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ svc.name }}\n  namespace: {{ env.namespace }}\ndata: {}\n",
    );
    let out = tempfile::tempdir().unwrap();
    let o = run_shipshape(
        project.path(),
        &[
            "build",
            "--templates",
            &overrides.path().to_string_lossy(),
            "--out",
            &out.path().join("rendered").to_string_lossy(),
            "--format",
            "short",
        ],
        &[],
    );
    o.no_panic();
    assert_eq!(o.code, Some(0), "{}", o.all());
    let all = o.all();
    let infos: Vec<&str> = all
        .lines()
        .filter(|l| l.contains("info[output-schema/not-validated]"))
        .collect();
    // The project has one environment: one finding for its three ConfigMaps.
    assert_eq!(infos.len(), 1, "{all}");
    assert!(
        infos[0].contains("not validated: no schema for ConfigMap v1 (3 rendered manifests)"),
        "{all}"
    );
    // The summary line counts them too.
    let last = o.stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.ends_with("(not validated, no schema: 3 ConfigMap)"),
        "{last}"
    );
}

/// `lint --environment-file` reads the file as `build` does: a rule name `build` refuses is
/// refused here too, and a code can be configured on its own.
#[test]
fn the_environment_file_is_read_as_build_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let without_probes: String = WORKLOAD
        .lines()
        .filter(|l| !l.contains("Probe:"))
        .map(|l| format!("{l}\n"))
        .collect();
    write(dir.path(), "app.yaml", &without_probes);
    write(
        dir.path(),
        "env.yaml",
        "cluster:\n  capacity: { cpu: \"4\", memory: 8Gi }\nlint:\n  rules: { missing-probes: off }\n",
    );
    let o = lint(dir.path(), &["app.yaml", "--environment-file", "env.yaml"]);
    assert_eq!(o.code, Some(2), "{}", o.all());
    assert!(
        o.stdout
            .contains("env.yaml:4:12: error[input/unknown-rule]"),
        "{}",
        o.all()
    );

    // Turning off the two codes the bare workload fires leaves its rule's other codes on.
    write(
        dir.path(),
        "env.yaml",
        "cluster:\n  capacity: { cpu: \"4\", memory: 8Gi }\nlint:\n  rules:\n    missing-probe/no-readiness: off\n    missing-probe/no-liveness: off\n",
    );
    let o = lint(dir.path(), &["app.yaml", "--environment-file", "env.yaml"]);
    assert!(!o.stdout.contains("missing-probe/"), "{}", o.all());
    let o = lint(dir.path(), &["app.yaml"]);
    assert!(
        o.stdout.contains("missing-probe/no-liveness"),
        "{}",
        o.all()
    );
}
