//! Output hardened by default: restricted security contexts, distinct probes, ephemeral storage,
//! a headless governing Service for every StatefulSet, Pod Security labels on the namespace; and
//! the catalogue fields that change them (`security` with its reason, `health.startup`,
//! `resources.*.ephemeralStorage`), in the order the layers merge.
//!
//! Each test builds a copy of the `bad/valid` fixture, changed as the test needs.

mod common;

use common::project::{append, build, build_ok, documents, edit, valid};

use serde_json::Value;

fn kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

fn workload(docs: &[Value]) -> &Value {
    docs.iter()
        .find(|d| d["kind"] == "Deployment" || d["kind"] == "StatefulSet")
        .expect("a workload")
}

fn container(docs: &[Value]) -> &Value {
    &workload(docs)["spec"]["template"]["spec"]["containers"][0]
}

#[test]
fn pods_are_restricted_by_default() {
    let tmp = valid();
    build_ok(tmp.path());
    let docs = documents(tmp.path(), "api.yaml");
    let pod = &workload(&docs)["spec"]["template"]["spec"];
    assert_eq!(pod["automountServiceAccountToken"], false);
    let ctx = &pod["securityContext"];
    assert_eq!(ctx["runAsNonRoot"], true);
    assert_eq!(ctx["runAsUser"], 10001);
    assert_eq!(ctx["runAsGroup"], 10001);
    assert_eq!(ctx["fsGroup"], 10001);
    assert_eq!(ctx["seccompProfile"]["type"], "RuntimeDefault");
    let c = container(&docs);
    assert_eq!(c["imagePullPolicy"], "Always");
    let cctx = &c["securityContext"];
    assert_eq!(cctx["readOnlyRootFilesystem"], true);
    assert_eq!(cctx["allowPrivilegeEscalation"], false);
    assert_eq!(cctx["privileged"], false);
    assert_eq!(cctx["capabilities"]["drop"][0], "ALL");
    // A read-only root needs somewhere to write scratch files.
    assert_eq!(c["volumeMounts"][0]["mountPath"], "/tmp");
    assert_eq!(pod["volumes"][0]["name"], "tmp");
    assert!(pod["volumes"][0]["emptyDir"].is_object());
    assert_eq!(c["resources"]["requests"]["ephemeral-storage"], "128Mi");
    assert_eq!(c["resources"]["limits"]["ephemeral-storage"], "1Gi");
    assert_eq!(
        kind(&docs, "ServiceAccount")[0]["automountServiceAccountToken"],
        false
    );

    let ns = documents(tmp.path(), "namespace.yaml");
    let labels = &kind(&ns, "Namespace")[0]["metadata"]["labels"];
    for mode in ["enforce", "audit", "warn"] {
        assert_eq!(
            labels[format!("pod-security.kubernetes.io/{mode}")],
            "restricted"
        );
    }
}

/// Readiness takes a pod out of rotation fast; liveness restarts it only after a longer outage
/// of the port itself, so a failing dependency behind the health path never restarts pods.
#[test]
fn liveness_and_readiness_differ() {
    let tmp = valid();
    build_ok(tmp.path());
    for file in ["api.yaml", "postgres.yaml"] {
        let docs = documents(tmp.path(), file);
        let c = container(&docs);
        let (ready, live) = (&c["readinessProbe"], &c["livenessProbe"]);
        assert_ne!(ready, live, "{file}");
        assert_eq!(ready["periodSeconds"], 5);
        assert_eq!(ready["failureThreshold"], 3);
        assert_eq!(live["periodSeconds"], 20);
        assert_eq!(live["failureThreshold"], 6);
        assert_eq!(live["initialDelaySeconds"], 15);
        assert!(live["tcpSocket"].is_object(), "{file}");
        assert!(c.get("startupProbe").is_none(), "{file}");
    }
    let docs = documents(tmp.path(), "api.yaml");
    assert_eq!(
        container(&docs)["readinessProbe"]["httpGet"]["path"],
        "/healthz"
    );
}

#[test]
fn a_startup_probe_guards_a_slow_starter() {
    let tmp = valid();
    edit(
        tmp.path(),
        "catalogue.yaml",
        "    env: { LOG_LEVEL: info }\n",
        "    env: { LOG_LEVEL: info }\n    health: { startup: { failureThreshold: 30, periodSeconds: 10 } }\n",
    );
    build_ok(tmp.path());
    let docs = documents(tmp.path(), "api.yaml");
    let startup = &container(&docs)["startupProbe"];
    assert_eq!(startup["failureThreshold"], 30);
    assert_eq!(startup["periodSeconds"], 10);
    // The same check as readiness; the merged health path from the defaults stays.
    assert_eq!(startup["httpGet"]["path"], "/healthz");
    assert!(container(&documents(tmp.path(), "web.yaml"))
        .get("startupProbe")
        .is_none());
}

#[test]
fn a_statefulset_is_governed_by_a_headless_service() {
    let tmp = valid();
    build_ok(tmp.path());
    let docs = documents(tmp.path(), "postgres.yaml");
    let services = kind(&docs, "Service");
    assert_eq!(services.len(), 2);
    let headless = services
        .iter()
        .find(|s| s["metadata"]["name"] == "postgres-headless")
        .expect("postgres-headless");
    assert_eq!(headless["spec"]["clusterIP"], "None");
    assert_eq!(headless["spec"]["publishNotReadyAddresses"], true);
    assert_eq!(workload(&docs)["spec"]["serviceName"], "postgres-headless");
    // The client Service stays, with a virtual IP.
    let client = services
        .iter()
        .find(|s| s["metadata"]["name"] == "postgres")
        .expect("postgres");
    assert_eq!(client["spec"]["type"], "ClusterIP");
    assert!(client["spec"].get("clusterIP").is_none());
    // A Deployment has no governing Service.
    assert_eq!(kind(&documents(tmp.path(), "api.yaml"), "Service").len(), 1);
}

/// Defaults, then the catalogue's service, then the environment's override: each layer with
/// its own reason, the last one setting a value wins, values no layer sets keep their defaults.
#[test]
fn security_overrides_merge_in_layer_order() {
    let tmp = valid();
    edit(
        tmp.path(),
        "catalogue.yaml",
        "    storage: { size: 1Gi }\n",
        "    storage: { size: 1Gi }\n    security: { runAsUser: 999, runAsGroup: 999, reason: the postgres image runs as uid 999 }\n",
    );
    append(
        tmp.path(),
        "environments/dev.yaml",
        "services:\n  postgres:\n    security: { runAsUser: 70, readOnlyRootFilesystem: false, reason: \"dev uses the alpine image (uid 70), which writes its socket under /var/run\" }\n",
    );
    build_ok(tmp.path());
    let docs = documents(tmp.path(), "postgres.yaml");
    let ctx = &workload(&docs)["spec"]["template"]["spec"]["securityContext"];
    assert_eq!(ctx["runAsUser"], 70);
    assert_eq!(ctx["runAsGroup"], 999);
    assert_eq!(ctx["fsGroup"], 10001);
    assert_eq!(
        container(&docs)["securityContext"]["readOnlyRootFilesystem"],
        false
    );
    // Other services keep every default.
    let api = documents(tmp.path(), "api.yaml");
    assert_eq!(
        workload(&api)["spec"]["template"]["spec"]["securityContext"]["runAsUser"],
        10001
    );
}

#[test]
fn a_service_account_token_is_mounted_only_on_request() {
    let tmp = valid();
    edit(
        tmp.path(),
        "catalogue.yaml",
        "    env: { LOG_LEVEL: info }\n",
        "    env: { LOG_LEVEL: info }\n    security: { serviceAccountToken: true, reason: lists pods through the Kubernetes API }\n",
    );
    build_ok(tmp.path());
    let docs = documents(tmp.path(), "api.yaml");
    assert_eq!(
        workload(&docs)["spec"]["template"]["spec"]["automountServiceAccountToken"],
        true
    );
    let web = documents(tmp.path(), "web.yaml");
    assert_eq!(
        workload(&web)["spec"]["template"]["spec"]["automountServiceAccountToken"],
        false
    );
}

/// A reason in `defaults` does not cover a departure a service makes itself.
#[test]
fn a_reason_in_the_defaults_does_not_cover_a_service() {
    let tmp = valid();
    edit(
        tmp.path(),
        "catalogue.yaml",
        "  replicas: { min: 1 }\n",
        "  replicas: { min: 1 }\n  security: { runAsGroup: 20000, reason: the platform's shared group }\n",
    );
    edit(
        tmp.path(),
        "catalogue.yaml",
        "    env: { LOG_LEVEL: info }\n",
        "    env: { LOG_LEVEL: info }\n    security: { runAsUser: 20001 }\n",
    );
    let out = build(tmp.path());
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("input/security-without-reason"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("service `api` changes `security.runAsUser`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("catalogue.yaml:34:17"),
        "{}",
        out.stderr
    );
}

/// The schema refuses a blank reason and a setting it does not know.
#[test]
fn the_schema_checks_the_security_block() {
    for block in [
        "{ runAsUser: 999, reason: \" \" }",
        "{ runAsUser: -1, reason: negative }",
        "{ privileged: true, reason: not a setting }",
    ] {
        let tmp = valid();
        edit(
            tmp.path(),
            "catalogue.yaml",
            "    env: { LOG_LEVEL: info }\n",
            &format!("    env: {{ LOG_LEVEL: info }}\n    security: {block}\n"),
        );
        let out = build(tmp.path());
        assert_eq!(out.code, Some(2), "{block}: {}", out.stderr);
        assert!(
            out.stderr.contains("catalogue.yaml:33:"),
            "{block}: {}",
            out.stderr
        );
    }
}

#[test]
fn ephemeral_storage_and_a_limit_without_a_request() {
    let tmp = valid();
    // Defaults set only a limit: the request follows it, as Kubernetes defaults it.
    edit(
        tmp.path(),
        "catalogue.yaml",
        "    limits: { cpu: 100m, memory: 256Mi }\n",
        "    limits: { cpu: 100m, memory: 256Mi, ephemeralStorage: 2Gi }\n",
    );
    edit(
        tmp.path(),
        "catalogue.yaml",
        "    env: { LOG_LEVEL: info }\n",
        "    env: { LOG_LEVEL: info }\n    resources: { requests: { ephemeralStorage: 512Mi } }\n",
    );
    append(
        tmp.path(),
        "environments/dev.yaml",
        "services:\n  web:\n    resources: { limits: { memory: 512Mi } }\n",
    );
    edit(
        tmp.path(),
        "catalogue.yaml",
        "    requests: { cpu: 50m, memory: 128Mi }\n",
        "    requests: { cpu: 50m }\n",
    );
    build_ok(tmp.path());
    let api = documents(tmp.path(), "api.yaml");
    let r = &container(&api)["resources"];
    assert_eq!(r["requests"]["ephemeral-storage"], "512Mi");
    assert_eq!(r["limits"]["ephemeral-storage"], "2Gi");
    assert_eq!(r["requests"]["memory"], "256Mi");
    let web = documents(tmp.path(), "web.yaml");
    let r = &container(&web)["resources"];
    assert_eq!(r["requests"]["ephemeral-storage"], "2Gi");
    assert_eq!(r["requests"]["memory"], "512Mi");
    assert_eq!(r["limits"]["memory"], "512Mi");
}

#[test]
fn an_ephemeral_request_above_the_default_limit_is_an_error() {
    let tmp = valid();
    edit(
        tmp.path(),
        "catalogue.yaml",
        "    env: { LOG_LEVEL: info }\n",
        "    env: { LOG_LEVEL: info }\n    resources: { requests: { ephemeralStorage: 4Gi } }\n",
    );
    let out = build(tmp.path());
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("requests.ephemeralStorage (4Gi) is above"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("the limit is the built-in default (1Gi)"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("catalogue.yaml:33:"), "{}", out.stderr);
}
