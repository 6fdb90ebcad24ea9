//! What a catalogue says once for many services: shared `env` in `defaults` (catalogue and
//! environment), platform-wide callees (`callableFromAll`) and calls without a startup dependency
//! (`calls`). Each case is a small project written into a temporary directory.

use serde_json::Value;
use shipshape::catalogue::ProjectPaths;
use shipshape::manifest::Manifest;
use shipshape::pipeline::{compile, CompileOptions, Compiled, KeepEverything};
use shipshape::yaml::Limits;
use tempfile::TempDir;

const CATALOGUE: &str = r#"
platform: demo
namespace: demo
defaults:
  env: { LOG_LEVEL: INFO, REGION: eu, TRACING: "off", ONLY_CATALOGUE: "yes" }
phases:
  - { name: base, rollout: sequential }
  - { name: apps, rollout: parallel }
  - { name: front, rollout: parallel }
services:
  db: { phase: base, image: db, port: 5432, protocol: tcp, probe: tcp }
  errors: { phase: apps, image: errors, port: 9024, dependsOn: [db], callableFromAll: true }
  api:
    phase: apps
    image: api
    port: 8080
    dependsOn: [db]
    calls: [web]
    env: { TRACING: "on", LOG_LEVEL: WARN }
    ingress: { fromNamespaces: [ingress-nginx] }
  web: { phase: front, image: web, port: 3000, dependsOn: [api] }
"#;

const ENVIRONMENT: &str = r#"
imageTag: "1"
cluster: { capacity: { cpu: "8", memory: 8Gi } }
istio: { enabled: true }
defaults:
  env: { REGION: us, LOG_LEVEL: DEBUG }
services:
  api:
    env: { LOG_LEVEL: ERROR }
"#;

fn project(catalogue: &str) -> TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("catalogue.yaml"), catalogue).expect("write");
    std::fs::create_dir(dir.path().join("environments")).expect("mkdir");
    std::fs::write(dir.path().join("environments/test.yaml"), ENVIRONMENT).expect("write");
    dir
}

fn compile_in(dir: &TempDir) -> Result<Compiled, shipshape::diagnostic::Failure> {
    let opts = CompileOptions {
        paths: ProjectPaths::in_root(dir.path()),
        envs: Vec::new(),
        templates: None,
        limits: Limits::default(),
        layout: Default::default(),
    };
    compile(&opts, &mut KeepEverything)
}

fn compiled(catalogue: &str) -> Compiled {
    let dir = project(catalogue);
    compile_in(&dir).unwrap_or_else(|f| panic!("{:#?}", f.diagnostics))
}

fn manifest<'a>(c: &'a Compiled, kind: &str, name: &str) -> &'a Manifest {
    c.environments[0]
        .rendered
        .manifests
        .iter()
        .find(|m| m.kind() == kind && m.name() == name)
        .unwrap_or_else(|| panic!("no {kind}/{name}"))
}

fn container_env(c: &Compiled, service: &str) -> Vec<(String, String)> {
    let workload = manifest(c, "Deployment", service);
    workload.value["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .expect("env")
        .iter()
        .map(|e| {
            (
                e["name"].as_str().expect("name").to_owned(),
                e["value"].as_str().expect("value").to_owned(),
            )
        })
        .collect()
}

fn lookup<'a>(env: &'a [(String, String)], key: &str) -> Option<&'a str> {
    env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[test]
fn shared_env_merges_key_by_key_and_the_most_specific_layer_wins() {
    let c = compiled(CATALOGUE);
    let api = container_env(&c, "api");
    // Environment override of the service > catalogue service > environment defaults >
    // catalogue defaults.
    assert_eq!(lookup(&api, "LOG_LEVEL"), Some("ERROR"));
    assert_eq!(lookup(&api, "TRACING"), Some("on"));
    assert_eq!(lookup(&api, "REGION"), Some("us"));
    assert_eq!(lookup(&api, "ONLY_CATALOGUE"), Some("yes"));
    // A service that sets nothing gets the shared values, the environment's over the catalogue's.
    let web = container_env(&c, "web");
    assert_eq!(lookup(&web, "LOG_LEVEL"), Some("DEBUG"));
    assert_eq!(lookup(&web, "REGION"), Some("us"));
    assert_eq!(lookup(&web, "TRACING"), Some("off"));
    assert_eq!(lookup(&web, "ONLY_CATALOGUE"), Some("yes"));
}

fn peers(policy: &Value, direction: &str, field: &str) -> Vec<String> {
    policy["spec"][direction]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|rule| rule[field].as_array().into_iter().flatten())
        .filter_map(|peer| {
            peer.pointer("/podSelector/matchLabels/app.kubernetes.io~1name")
                .and_then(Value::as_str)
                .filter(|_| peer.get("namespaceSelector").is_none())
                .map(str::to_owned)
        })
        .collect()
}

fn principals(policy: &Value) -> Vec<String> {
    policy["spec"]["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["from"].as_array().into_iter().flatten())
        .flat_map(|f| f["source"]["principals"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_platform_wide_callee_admits_every_service_without_being_waited_for() {
    let c = compiled(CATALOGUE);
    let np = &manifest(&c, "NetworkPolicy", "errors").value;
    assert_eq!(peers(np, "ingress", "from"), ["db", "api", "web"]);
    let authz = &manifest(&c, "AuthorizationPolicy", "errors").value;
    assert_eq!(
        principals(authz),
        [
            "cluster.local/ns/demo/sa/db",
            "cluster.local/ns/demo/sa/api",
            "cluster.local/ns/demo/sa/web"
        ]
    );
    // Every other service's egress reaches it; its own does not list itself.
    for caller in ["db", "api", "web"] {
        let np = &manifest(&c, "NetworkPolicy", caller).value;
        assert!(
            peers(np, "egress", "to").contains(&"errors".to_owned()),
            "{caller}"
        );
    }
    assert_eq!(peers(np, "egress", "to"), ["db"]);
    // db starts a phase earlier and may call it: no dependency, so no phase-order finding.
    let db = manifest(&c, "Deployment", "db");
    assert_eq!(db.annotation("shipshape.dev/depends-on"), None);
    let phase_order: Vec<_> = c
        .findings
        .iter()
        .filter(|d| d.code.starts_with("phase-order"))
        .collect();
    assert!(phase_order.is_empty(), "{phase_order:#?}");
    // Nobody lists it anywhere, and it has no ingress namespaces: still reachable.
    assert!(no_finding(&c, "unreachable-service", "errors"));
}

/// Whether no finding of `rule` names `service`.
fn no_finding(c: &Compiled, rule: &str, service: &str) -> bool {
    let named = format!("Service `{service}`");
    !c.findings
        .iter()
        .any(|d| d.code.starts_with(rule) && d.message.contains(&named))
}

#[test]
fn calls_admit_a_later_or_peer_service_without_a_startup_dependency() {
    let c = compiled(CATALOGUE);
    // api calls web, a later phase's service that depends on api: a cycle if it were `dependsOn`.
    let web = &manifest(&c, "NetworkPolicy", "web").value;
    assert_eq!(peers(web, "ingress", "from"), ["api"]);
    let api_np = &manifest(&c, "NetworkPolicy", "api").value;
    assert_eq!(peers(api_np, "egress", "to"), ["db", "web", "errors"]);
    // Only api's `calls` admits anyone to web: reachable all the same.
    assert!(no_finding(&c, "unreachable-service", "web"));
    let api = manifest(&c, "Deployment", "api");
    assert_eq!(api.annotation("shipshape.dev/depends-on"), Some("db"));
    let phase_order: Vec<_> = c
        .findings
        .iter()
        .filter(|d| d.code.starts_with("phase-order"))
        .collect();
    assert!(phase_order.is_empty(), "{phase_order:#?}");
}

#[test]
fn calls_must_name_another_service() {
    let bad = CATALOGUE.replace("calls: [web]", "calls: [webb, api]");
    let dir = project(&bad);
    let failure = match compile_in(&dir) {
        Ok(_) => panic!("a call to an unknown service compiled"),
        Err(f) => f,
    };
    let codes: Vec<&str> = failure
        .diagnostics
        .iter()
        .map(|d| d.code.as_str())
        .collect();
    assert_eq!(codes, ["input/unknown-callee", "input/self-call"]);
    let unknown = &failure.diagnostics[0];
    assert_eq!(unknown.help.as_deref(), Some("did you mean `web`?"));
    let text = format!("{unknown:?}");
    assert!(text.contains("catalogue.yaml"), "{text}");
}
