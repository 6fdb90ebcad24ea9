//! The native renderer (`render::native`) against the templates it replaces: every project here
//! is rendered both ways, and the files (bytes, order) and manifests (values, key order, origin)
//! must be identical. Overrides with `--templates` still take effect, template by template.

use shipshape::catalogue::{Project, ProjectPaths, ResolvedEnvironment};
use shipshape::render::{self, RenderedEnvironment, Templates};
use shipshape::yaml::Limits;
use std::path::{Path, PathBuf};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The project's environments, or `None` when it does not load and resolve (a bad fixture).
fn resolve(root: &Path) -> Option<Vec<ResolvedEnvironment>> {
    let project = Project::load(&ProjectPaths::in_root(root), Limits::default()).ok()?;
    project.resolve(&[]).ok()
}

fn render_all(templates: &Templates, envs: &[ResolvedEnvironment]) -> Vec<RenderedEnvironment> {
    envs.iter()
        .map(|env| {
            render::render_environment(templates, env)
                .unwrap_or_else(|e| panic!("environment `{}` does not render: {e:?}", env.name))
        })
        .collect()
}

/// A short unified diff of two texts, enough to see what differs.
fn diff(a: &str, b: &str) -> String {
    let text = similar::TextDiff::from_lines(a, b)
        .unified_diff()
        .context_radius(3)
        .header("minijinja", "native")
        .to_string();
    text.lines().take(60).collect::<Vec<_>>().join("\n")
}

/// Key order is output order, and `serde_json`'s equality ignores it: compare serialisations.
fn exact(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn assert_identical(what: &str, expected: &[RenderedEnvironment], actual: &[RenderedEnvironment]) {
    assert_eq!(expected.len(), actual.len(), "{what}: environment count");
    for (e, a) in expected.iter().zip(actual) {
        let where_ = format!("{what}, environment `{}`", e.name);
        let paths =
            |r: &RenderedEnvironment| r.files.iter().map(|f| f.path.clone()).collect::<Vec<_>>();
        assert_eq!(
            paths(e),
            paths(a),
            "{where_}: files differ in name or order"
        );
        for (fe, fa) in e.files.iter().zip(&a.files) {
            assert!(
                fe.text == fa.text,
                "{where_}: file {} differs:\n{}",
                fe.path,
                diff(&fe.text, &fa.text)
            );
        }
        assert_eq!(
            e.manifests.len(),
            a.manifests.len(),
            "{where_}: manifest count"
        );
        for (i, (me, ma)) in e.manifests.iter().zip(&a.manifests).enumerate() {
            let (te, ta) = (exact(&me.value), exact(&ma.value));
            assert!(
                me.value == ma.value && te == ta,
                "{where_}: manifest {i} ({:?}) differs:\n{}",
                me.origin,
                diff(&te, &ta)
            );
            assert_eq!(
                format!("{:?}", me.origin),
                format!("{:?}", ma.origin),
                "{where_}: manifest {i} origin"
            );
        }
    }
}

/// Renders `envs` natively (with `overrides`, if any) and through minijinja only.
fn both_ways(
    overrides: Option<&Path>,
    envs: &[ResolvedEnvironment],
) -> (Vec<RenderedEnvironment>, Vec<RenderedEnvironment>) {
    let native = Templates::load(overrides).expect("templates");
    let minijinja = Templates::load(overrides)
        .expect("templates")
        .without_native();
    (render_all(&minijinja, envs), render_all(&native, envs))
}

fn check_project(what: &str, envs: &[ResolvedEnvironment]) -> usize {
    let (expected, actual) = both_ways(None, envs);
    assert_identical(what, &expected, &actual);
    actual.iter().map(|r| r.manifests.len()).sum()
}

#[test]
fn repository_catalogue_renders_identically() {
    let envs = resolve(repo()).expect("the repository's catalogue resolves");
    assert!(envs.len() >= 2);
    let manifests = check_project("repository", &envs);
    assert!(manifests > 200, "{manifests} manifests");
}

/// Every directory under tests/fixtures that holds a project (`catalogue.yaml` or `catalogue/`,
/// and `environments/`).
fn fixture_projects() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(repo().join("tests/fixtures"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_dir())
        .map(|e| e.into_path())
        .filter(|d| {
            (d.join("catalogue.yaml").is_file() || d.join("catalogue").is_dir())
                && d.join("environments").is_dir()
        })
        .collect();
    out.sort();
    out
}

/// The fuzz regressions' catalogues, each beside the base environment as the fuzz target runs
/// them: the base project, and every `build_pipeline` input.
fn fuzz_projects() -> Vec<(String, tempfile::TempDir)> {
    let root = repo().join("tests/fixtures/fuzz-regressions");
    let environment = std::fs::read(root.join("base/environment.yaml")).expect("base environment");
    let mut catalogues = vec![root.join("base/catalogue.yaml")];
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(root.join("build_pipeline"))
        .expect("build_pipeline regressions")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    inputs.sort();
    catalogues.extend(inputs);
    catalogues
        .into_iter()
        .map(|catalogue| {
            let dir = tempfile::tempdir().expect("tempdir");
            std::fs::create_dir(dir.path().join("environments")).expect("mkdir");
            std::fs::copy(&catalogue, dir.path().join("catalogue.yaml")).expect("copy");
            std::fs::write(dir.path().join("environments/dev.yaml"), &environment).expect("write");
            (relative(&catalogue), dir)
        })
        .collect()
}

fn relative(path: &Path) -> String {
    path.strip_prefix(repo())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn every_fixture_that_loads_renders_identically() {
    let mut rendered = Vec::new();
    let native = Templates::load(None).expect("templates");
    for dir in fixture_projects() {
        let Some(envs) = resolve(&dir) else { continue };
        // A fixture whose patches do not apply is meant not to render (tests/patches.rs).
        if envs
            .iter()
            .any(|env| render::render_environment(&native, env).is_err())
        {
            continue;
        }
        check_project(&relative(&dir), &envs);
        rendered.push(relative(&dir));
    }
    for (what, dir) in fuzz_projects() {
        let Some(envs) = resolve(dir.path()) else {
            continue;
        };
        check_project(&what, &envs);
        rendered.push(what);
    }
    // Most fixtures are meant not to load; these must, or the search went wrong.
    for expected in [
        "tests/fixtures/bad/valid",
        "tests/fixtures/bad/injection",
        "tests/fixtures/seed-plan",
        "tests/fixtures/split-catalogue",
        "tests/fixtures/patches-ok",
        "tests/fixtures/fuzz-regressions/base/catalogue.yaml",
    ] {
        assert!(
            rendered.iter().any(|r| r == expected),
            "{expected} not rendered: {rendered:?}"
        );
    }
}

fn synthetic(services: usize, seed: u64) -> (tempfile::TempDir, Vec<ResolvedEnvironment>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let platform = shipshape::synth::generate(services, seed);
    shipshape::synth::write_project(dir.path(), &platform).expect("write project");
    let envs = resolve(dir.path()).expect("a synthetic platform resolves");
    (dir, envs)
}

#[test]
fn synthetic_platforms_render_identically() {
    for (services, seed) in [(1, 3), (50, 1), (50, 7), (300, 1), (300, 42)] {
        let (_dir, envs) = synthetic(services, seed);
        let manifests = check_project(&format!("synthetic N={services} seed={seed}"), &envs);
        assert!(manifests >= services * 3 * 6, "{manifests} manifests");
    }
}

/// Values that a template writes as JSON and the read-back decodes: quotes, newlines, unicode,
/// comment and mapping markers, YAML 1.1 booleans, number-like strings, empty strings; and the
/// shapes the templates branch on: TCP and gRPC, every probe kind, storage, canaries, retries 0,
/// an image digest, replicas above one without an HPA, Istio on and off.
const EDGE_CATALOGUE: &str = r#"platform: edge
namespace: edge
defaults:
  imageRegistry: ghcr.io/edge
  health: { path: /healthz }
  resources:
    requests: { cpu: 50m }
    limits: { memory: 256Mi }
phases:
  - name: base
    rollout: sequential
  - name: apps
    rollout: parallel
    batches: [one, two]
services:
  db:
    phase: base
    workload: statefulset
    image: "docker.io/library/postgres@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    port: 5432
    protocol: tcp
    probe: tcp
    storage: { size: 1Gi }
    replicas: { min: 3 }
    mesh: { timeout: 7s, retries: 4 }
  grpc:
    phase: apps
    batch: one
    image: "grpc:v1.2.3+build.7"
    port: 9000
    protocol: grpc
    probe: none
    dependsOn: [db]
    replicas: { min: 2, max: 5, cpuTarget: 65% }
    mesh: { canary: { v2: 15, v3: 5 }, retries: 0 }
    env:
      QUOTE: "say \"hi\" 'there'"
      NEWLINE: "a\nb\r\nc\t"
      UNICODE: "héllo ✓ \u2028 😀"
      COMMENT: "x # y: z"
      BOOL: "yes"
      ON: "on"
      NUMBER: "0755"
      FLOAT: "1.10"
      EMPTY: ""
      NULLISH: "~"
      DASHES: "---"
      BRACES: "{a: [1]}"
      BACKSLASH: "C:\\path\\"
    suppress: { mesh-routing: "canary pods: \"deployed\" elsewhere # by CI" }
  web:
    phase: apps
    batch: two
    image: web
    port: 8080
    health: { path: "/health?check=all&x=\"1\"" }
    dependsOn: [grpc]
    ingress: { fromNamespaces: [ingress-nginx, monitoring] }
    replicas: { min: 2, max: 2 }
"#;

#[test]
fn tricky_values_render_identically() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("environments")).expect("mkdir");
    std::fs::write(dir.path().join("catalogue.yaml"), EDGE_CATALOGUE).expect("write");
    let capacity = "cluster:\n  capacity: { cpu: \"16\", memory: 32Gi }\n  maxUtilisation: 80%\n";
    std::fs::write(
        dir.path().join("environments/mesh.yaml"),
        format!("imageTag: \"2.0\"\n{capacity}istio: {{ enabled: true, mtls: PERMISSIVE }}\n"),
    )
    .expect("write");
    std::fs::write(
        dir.path().join("environments/plain.yaml"),
        format!("imageTag: \"2.0\"\nnamespace: edge-plain\n{capacity}"),
    )
    .expect("write");
    let project = Project::load(&ProjectPaths::in_root(dir.path()), Limits::default())
        .unwrap_or_else(|e| panic!("the edge catalogue loads: {e:?}"));
    let envs = project
        .resolve(&[])
        .unwrap_or_else(|e| panic!("the edge catalogue resolves: {e:?}"));
    assert_eq!(envs.len(), 2);
    check_project("edge catalogue", &envs);
}

fn embedded_template(name: &str) -> String {
    std::fs::read_to_string(repo().join("templates").join(name)).expect("template")
}

fn kind(m: &shipshape::manifest::Manifest) -> &str {
    m.value["kind"].as_str().unwrap_or_default()
}

fn is_workload(m: &shipshape::manifest::Manifest) -> bool {
    matches!(kind(m), "Deployment" | "StatefulSet")
}

fn is_service_manifest(m: &shipshape::manifest::Manifest) -> bool {
    matches!(
        &m.origin,
        shipshape::manifest::ManifestOrigin::Rendered {
            service: Some(_),
            ..
        }
    )
}

#[test]
fn an_overridden_service_template_still_takes_effect() {
    let (_project, envs) = synthetic(40, 5);
    let overrides = tempfile::tempdir().expect("tempdir");
    let pod_labels =
        "{%- for k, v in svc.podLabels|items %}\n        {{ k }}: {{ v }}\n{%- endfor %}";
    let workload = embedded_template("workload.yaml.j2");
    assert!(
        workload.contains(pod_labels),
        "workload.yaml.j2 changed shape"
    );
    std::fs::write(
        overrides.path().join("workload.yaml.j2"),
        workload.replace(pod_labels, &format!("{pod_labels}\n        team: payments")),
    )
    .expect("write");

    let templates = Templates::load(Some(overrides.path())).expect("templates");
    assert!(!templates.is_embedded("workload.yaml.j2"));
    assert!(templates.is_embedded("service.yaml.j2"));
    assert!(!templates.native_allowed("workload.yaml.j2"));
    assert!(templates.native_allowed("service.yaml.j2"));

    let (expected, actual) = both_ways(Some(overrides.path()), &envs);
    assert_identical("workload override", &expected, &actual);
    let plain = render_all(&Templates::load(None).expect("templates"), &envs);
    let mut workloads = 0;
    for (with, without) in actual.iter().zip(&plain) {
        assert_eq!(with.manifests.len(), without.manifests.len());
        for (m, p) in with.manifests.iter().zip(&without.manifests) {
            let team = &m.value["spec"]["template"]["metadata"]["labels"]["team"];
            if is_workload(m) {
                assert_eq!(team, "payments", "{:?}", m.origin);
                workloads += 1;
            } else {
                // Only the overridden template changed anything.
                assert_eq!(exact(&m.value), exact(&p.value), "{:?}", m.origin);
            }
        }
    }
    assert_eq!(workloads, 40 * 3);
}

#[test]
fn an_overridden_metadata_block_reaches_every_service_manifest() {
    let (_project, envs) = synthetic(40, 9);
    let overrides = tempfile::tempdir().expect("tempdir");
    let metadata = embedded_template("_metadata.yaml.j2");
    let labels = "  labels:\n";
    assert!(metadata.contains(labels), "_metadata.yaml.j2 changed shape");
    std::fs::write(
        overrides.path().join("_metadata.yaml.j2"),
        metadata.replacen(labels, "  labels:\n    cost-centre: \"42\"\n", 1),
    )
    .expect("write");

    let templates = Templates::load(Some(overrides.path())).expect("templates");
    for name in shipshape::render::templates::SERVICE_TEMPLATES {
        assert!(templates.is_embedded(name));
        assert!(
            !templates.native_allowed(name),
            "{name} would skip the override"
        );
    }

    let (expected, actual) = both_ways(Some(overrides.path()), &envs);
    assert_identical("metadata override", &expected, &actual);
    let mut service_manifests = 0;
    for env in &actual {
        for m in &env.manifests {
            let label = &m.value["metadata"]["labels"]["cost-centre"];
            if is_service_manifest(m) {
                assert_eq!(label, "42", "{:?}", m.origin);
                service_manifests += 1;
            } else {
                assert!(label.is_null(), "{:?}", m.origin);
            }
        }
    }
    assert!(service_manifests >= 40 * 3 * 6, "{service_manifests}");
}
