//! The pod-level catalogue fields: environment from Secrets and ConfigMaps, volumes,
//! configuration files, command and arguments, pod metadata and scheduling. For each: what it
//! renders, what the schema refuses, how the layers merge (defaults < catalogue < environment),
//! and where an error points.
//!
//! Each test builds a copy of the `bad/valid` fixture, changed as the test needs. In that
//! catalogue `api` is a Deployment whose `env` is line 32, `postgres` a StatefulSet with storage
//! and `web` a Deployment scaling from 1 to 3 replicas.

mod common;

use common::project::{append, build, build_ok, documents, edit, valid};

use serde_json::Value;
use std::fs;
use std::path::Path;
use tempfile::TempDir;

const API_ENV: &str = "    env: { LOG_LEVEL: info }\n";

/// Replaces `api`'s `env` line with `text` (whole lines, indented as service keys).
fn api(root: &Path, text: &str) {
    edit(root, "catalogue.yaml", API_ENV, text);
}

/// A build that fails on its input, with `code` at `at` (`file:line:col` or a prefix of it).
fn build_fails(root: &Path, code: &str, at: &str) -> String {
    let out = build(root);
    assert_eq!(out.code, Some(2), "stderr:\n{}", out.stderr);
    assert!(out.stderr.contains(code), "{code}:\n{}", out.stderr);
    assert!(out.stderr.contains(at), "{at}:\n{}", out.stderr);
    out.stderr
}

fn workload(docs: &[Value]) -> &Value {
    docs.iter()
        .find(|d| d["kind"] == "Deployment" || d["kind"] == "StatefulSet")
        .expect("a workload")
}

fn pod(docs: &[Value]) -> &Value {
    &workload(docs)["spec"]["template"]
}

fn container(docs: &[Value]) -> &Value {
    &pod(docs)["spec"]["containers"][0]
}

/// `name` -> its entry of the container's `env`, and the names in order.
fn env(docs: &[Value]) -> (Vec<String>, Vec<Value>) {
    let list = container(docs)["env"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names = list
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect();
    (names, list)
}

fn mount<'a>(docs: &'a [Value], name: &str) -> &'a Value {
    container(docs)["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no mount `{name}`"))
}

fn volume<'a>(docs: &'a [Value], name: &str) -> &'a Value {
    pod(docs)["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no volume `{name}`"))
}

// ---- env and envFrom -------------------------------------------------------------------------

#[test]
fn env_reads_secret_and_config_map_keys_and_builds_urls_without_a_password() {
    let tmp = valid();
    api(
        tmp.path(),
        "    env:\n      LOG_LEVEL: info\n      DATABASE_URL: postgresql://api:$(DB_PASSWORD)@postgres:5432/api\n      DB_PASSWORD: { secret: shop-secrets }\n      FLAGS: { configMap: shop-config, key: feature-flags, optional: true }\n    envFrom:\n      - secret: shop-api\n        prefix: API_\n      - configMap: shop-config\n",
    );
    let out = build_ok(tmp.path());
    // The URL is no literal secret: the lint has nothing to say.
    assert!(!out.stderr.contains("literal-secret"), "{}", out.stderr);
    let docs = documents(tmp.path(), "api.yaml");
    let (names, list) = env(&docs);
    // References first, so `$(DB_PASSWORD)` is declared before the URL that uses it.
    assert_eq!(names, ["DB_PASSWORD", "FLAGS", "LOG_LEVEL", "DATABASE_URL"]);
    assert_eq!(
        list[0]["valueFrom"]["secretKeyRef"],
        serde_json::json!({ "name": "shop-secrets", "key": "DB_PASSWORD" })
    );
    assert_eq!(
        list[1]["valueFrom"]["configMapKeyRef"],
        serde_json::json!({ "name": "shop-config", "key": "feature-flags", "optional": true })
    );
    assert_eq!(
        list[3]["value"],
        "postgresql://api:$(DB_PASSWORD)@postgres:5432/api"
    );
    assert_eq!(
        container(&docs)["envFrom"],
        serde_json::json!([
            { "prefix": "API_", "secretRef": { "name": "shop-api" } },
            { "configMapRef": { "name": "shop-config" } }
        ])
    );
}

#[test]
fn an_expansion_of_an_undeclared_variable_is_an_error_at_its_value() {
    let tmp = valid();
    api(
        tmp.path(),
        "    env:\n      DATABASE_URL: postgresql://api:$(DB_PASSWORD)@postgres/api\n",
    );
    let err = build_fails(tmp.path(), "input/env-reference", "catalogue.yaml:33:21");
    assert!(err.contains("`$(DB_PASSWORD)`"), "{err}");
    assert!(err.contains("DB_PASSWORD: { secret: NAME"), "{err}");

    // Declared, but after the value that uses it: Kubernetes would not expand it.
    let tmp = valid();
    api(
        tmp.path(),
        "    env:\n      URL: http://$(HOST):80\n      HOST: web\n",
    );
    let err = build_fails(tmp.path(), "input/env-reference", "catalogue.yaml:33:12");
    assert!(err.contains("move `HOST` above `URL`"), "{err}");

    // `$$` escapes, and a variable from `envFrom` may be anything.
    let tmp = valid();
    api(
        tmp.path(),
        "    env:\n      PRICE: $$(not expanded)\n      URL: http://$(HOST):80\n    envFrom: [ { configMap: hosts } ]\n",
    );
    build_ok(tmp.path());
}

/// The environment's override replaces a catalogue literal with a reference; a layer that
/// switches a reference's source must replace it whole.
#[test]
fn env_layers_merge_by_variable() {
    let tmp = valid();
    api(
        tmp.path(),
        "    env: { LOG_LEVEL: info, DB_PASSWORD: dev-only, TOKEN: { secret: a } }\n",
    );
    append(
        tmp.path(),
        "environments/dev.yaml",
        "services:\n  api:\n    env: { DB_PASSWORD: { secret: shop-secrets, key: db }, TOKEN: { key: api-token } }\n",
    );
    build_ok(tmp.path());
    let (names, list) = env(&documents(tmp.path(), "api.yaml"));
    assert_eq!(names, ["DB_PASSWORD", "TOKEN", "LOG_LEVEL"]);
    assert_eq!(list[0]["valueFrom"]["secretKeyRef"]["key"], "db");
    // The catalogue's Secret, the environment's key.
    assert_eq!(
        list[1]["valueFrom"]["secretKeyRef"],
        serde_json::json!({ "name": "a", "key": "api-token" })
    );

    let tmp = valid();
    api(tmp.path(), "    env: { TOKEN: { secret: a } }\n");
    append(
        tmp.path(),
        "environments/dev.yaml",
        "services:\n  api:\n    env:\n      TOKEN: { configMap: b }\n",
    );
    let err = build_fails(tmp.path(), "input/env-source", "dev.yaml:8:14");
    assert!(
        err.contains("exactly one of `secret` and `configMap`"),
        "{err}"
    );
}

#[test]
fn the_schema_checks_env_references() {
    for (value, at) in [
        ("{ secret: Not_A_Name }", "catalogue.yaml:32:29"),
        ("{ secret: s, key: \"a/b\" }", "catalogue.yaml:32:37"),
        (
            "{ secretKeyRef: { name: s, key: k } }",
            "catalogue.yaml:32:21",
        ),
        ("{}", "catalogue.yaml:32:19"),
    ] {
        let tmp = valid();
        api(tmp.path(), &format!("    env: {{ TOKEN: {value} }}\n"));
        build_fails(tmp.path(), "input/", at);
    }
    // A key with no source passes the schema (a layer may add the key alone) but not resolution.
    let tmp = valid();
    api(tmp.path(), "    env: { TOKEN: { key: token } }\n");
    build_fails(tmp.path(), "input/env-source", "catalogue.yaml:32:19");
    let tmp = valid();
    api(tmp.path(), "    envFrom: [ { secret: a, configMap: b } ]\n");
    build_fails(tmp.path(), "input/env-source", "catalogue.yaml:32:16");
}

// ---- volumes ---------------------------------------------------------------------------------

#[test]
fn storage_scratch_space_and_secret_files_are_mounted_where_asked() {
    let tmp = valid();
    edit(
        tmp.path(),
        "catalogue.yaml",
        "    storage: { size: 1Gi }\n",
        "    storage: { size: 1Gi, mountPath: /var/lib/postgresql/data }\n    volumes:\n      run: { mountPath: /var/run/postgresql, emptyDir: { sizeLimit: 16Mi } }\n      shm: { mountPath: /dev/shm, emptyDir: { memory: true } }\n      tls: { mountPath: /etc/tls, secret: postgres-tls, items: { tls.crt: server.crt } }\n",
    );
    build_ok(tmp.path());
    let docs = documents(tmp.path(), "postgres.yaml");
    assert_eq!(
        mount(&docs, "data")["mountPath"],
        "/var/lib/postgresql/data"
    );
    assert_eq!(
        workload(&docs)["spec"]["volumeClaimTemplates"][0]["metadata"]["name"],
        "data"
    );
    assert_eq!(mount(&docs, "run")["mountPath"], "/var/run/postgresql");
    assert!(mount(&docs, "run").get("readOnly").is_none());
    assert_eq!(volume(&docs, "run")["emptyDir"]["sizeLimit"], "16Mi");
    assert_eq!(volume(&docs, "shm")["emptyDir"]["medium"], "Memory");
    assert_eq!(mount(&docs, "tls")["readOnly"], true);
    assert_eq!(
        volume(&docs, "tls")["secret"],
        serde_json::json!({ "secretName": "postgres-tls", "items": [ { "key": "tls.crt", "path": "server.crt" } ] })
    );
    // Without a mountPath the storage stays where it always was.
    let tmp = valid();
    build_ok(tmp.path());
    assert_eq!(
        mount(&documents(tmp.path(), "postgres.yaml"), "data")["mountPath"],
        "/data"
    );
}

#[test]
fn an_environment_moves_a_volume() {
    let tmp = valid();
    api(
        tmp.path(),
        "    volumes: { cache: { mountPath: /var/cache/api, emptyDir: {} } }\n",
    );
    append(
        tmp.path(),
        "environments/dev.yaml",
        "services:\n  api:\n    volumes: { cache: { mountPath: /cache } }\n  postgres:\n    storage: { mountPath: /pgdata }\n",
    );
    build_ok(tmp.path());
    assert_eq!(
        mount(&documents(tmp.path(), "api.yaml"), "cache")["mountPath"],
        "/cache"
    );
    assert_eq!(
        mount(&documents(tmp.path(), "postgres.yaml"), "data")["mountPath"],
        "/pgdata"
    );
}

#[test]
fn volume_errors_point_at_the_volume() {
    let cases = [
        // Two volumes at one path: the second is reported, the first is related.
        (
            "    volumes:\n      a: { mountPath: /x, emptyDir: {} }\n      b: { mountPath: /x, secret: s }\n",
            "input/volume",
            "catalogue.yaml:34:23",
        ),
        (
            "    volumes: { scratch: { mountPath: /tmp, emptyDir: {} } }\n",
            "input/volume",
            "catalogue.yaml:32:38",
        ),
        (
            "    volumes: { data: { mountPath: /x, emptyDir: {} } }\n",
            "input/volume",
            "catalogue.yaml:32:16",
        ),
        (
            "    volumes: { a: { emptyDir: {} } }\n",
            "input/volume",
            "catalogue.yaml:32:16",
        ),
        (
            "    volumes: { a: { mountPath: /x, emptyDir: {}, secret: s } }\n",
            "input/volume",
            "catalogue.yaml:32:16",
        ),
        (
            "    volumes: { a: { mountPath: relative, emptyDir: {} } }\n",
            "input/schema",
            "catalogue.yaml:32:32",
        ),
        (
            "    volumes: { a: { mountPath: /x, emptyDir: { sizeLimit: 10 Mi } } }\n",
            "input/bad-quantity",
            "catalogue.yaml:32:",
        ),
    ];
    for (text, code, at) in cases {
        let tmp = valid();
        api(tmp.path(), text);
        build_fails(tmp.path(), code, at);
    }
}

// ---- configuration files ---------------------------------------------------------------------

#[test]
fn configuration_files_render_a_config_map_and_roll_the_pods_when_they_change() {
    let tmp = valid();
    fs::create_dir_all(tmp.path().join("config")).unwrap();
    fs::write(tmp.path().join("config/rules.rego"), "package api\n").unwrap();
    api(
        tmp.path(),
        "    configFiles:\n      mountPath: /etc/api\n      files:\n        app.yaml: |\n          log: info\n        rules.rego: { file: config/rules.rego }\n",
    );
    build_ok(tmp.path());
    let docs = documents(tmp.path(), "api.yaml");
    let cm = docs
        .iter()
        .find(|d| d["kind"] == "ConfigMap")
        .expect("a ConfigMap");
    assert_eq!(cm["metadata"]["name"], "api-config");
    assert_eq!(cm["data"]["app.yaml"], "log: info\n");
    assert_eq!(cm["data"]["rules.rego"], "package api\n");
    assert_eq!(mount(&docs, "config")["mountPath"], "/etc/api");
    assert_eq!(mount(&docs, "config")["readOnly"], true);
    assert_eq!(volume(&docs, "config")["configMap"]["name"], "api-config");
    let hash = pod(&docs)["metadata"]["annotations"]["shipshape.dev/config-hash"]
        .as_str()
        .expect("a hash")
        .to_owned();

    // The same files give the same hash; a changed file a new one.
    build_ok(tmp.path());
    let again = documents(tmp.path(), "api.yaml");
    assert_eq!(
        pod(&again)["metadata"]["annotations"]["shipshape.dev/config-hash"],
        hash.as_str()
    );
    fs::write(tmp.path().join("config/rules.rego"), "package api.v2\n").unwrap();
    build_ok(tmp.path());
    let changed = documents(tmp.path(), "api.yaml");
    assert_ne!(
        pod(&changed)["metadata"]["annotations"]["shipshape.dev/config-hash"],
        hash.as_str()
    );
    // Services without configuration files get neither.
    let web = documents(tmp.path(), "web.yaml");
    assert!(web.iter().all(|d| d["kind"] != "ConfigMap"));
    assert!(pod(&web)["metadata"].get("annotations").is_none());
}

#[test]
fn an_environment_changes_one_configuration_file() {
    let tmp = valid();
    api(
        tmp.path(),
        "    configFiles: { mountPath: /etc/api, files: { a.conf: one, b.conf: two } }\n",
    );
    append(
        tmp.path(),
        "environments/dev.yaml",
        "services:\n  api:\n    configFiles: { files: { b.conf: dev } }\n",
    );
    build_ok(tmp.path());
    let docs = documents(tmp.path(), "api.yaml");
    let cm = docs.iter().find(|d| d["kind"] == "ConfigMap").unwrap();
    assert_eq!(
        cm["data"],
        serde_json::json!({ "a.conf": "one", "b.conf": "dev" })
    );
}

#[test]
fn configuration_file_errors_point_at_the_file_name() {
    let outside = TempDir::new().unwrap();
    fs::write(outside.path().join("secret.txt"), "x").unwrap();
    let cases = [
        ("config/missing.conf".to_owned(), "input/config-files"),
        ("../outside.conf".to_owned(), "outside the project"),
    ];
    for (file, expected) in cases {
        let tmp = valid();
        api(
            tmp.path(),
            &format!("    configFiles:\n      mountPath: /etc/api\n      files:\n        a.conf: {{ file: {file} }}\n"),
        );
        build_fails(tmp.path(), expected, "catalogue.yaml:35:25");
    }
    // A link out of the project is refused by the safe reader.
    #[cfg(unix)]
    {
        let tmp = valid();
        std::os::unix::fs::symlink(
            outside.path().join("secret.txt"),
            tmp.path().join("link.conf"),
        )
        .unwrap();
        api(
            tmp.path(),
            "    configFiles: { mountPath: /etc/api, files: { a.conf: { file: link.conf } } }\n",
        );
        build_fails(tmp.path(), "input/", "catalogue.yaml:32:");
    }
    let tmp = valid();
    api(tmp.path(), "    configFiles: { files: { a.conf: x } }\n");
    build_fails(tmp.path(), "input/config-files", "catalogue.yaml:32:5");
}

// ---- command, args, annotations and labels ---------------------------------------------------

#[test]
fn command_args_annotations_and_labels() {
    let tmp = valid();
    api(
        tmp.path(),
        "    command: [/app/server]\n    args: [--port, \"8080\"]\n    annotations: { prometheus.io/scrape: \"true\" }\n    labels: { team: payments }\n",
    );
    append(
        tmp.path(),
        "environments/dev.yaml",
        "services:\n  api:\n    args: [--port, \"8080\", --debug]\n    labels: { tier: dev }\n",
    );
    build_ok(tmp.path());
    let docs = documents(tmp.path(), "api.yaml");
    let c = container(&docs);
    assert_eq!(c["command"], serde_json::json!(["/app/server"]));
    // Lists replace: the environment's arguments win whole.
    assert_eq!(c["args"], serde_json::json!(["--port", "8080", "--debug"]));
    let meta = &pod(&docs)["metadata"];
    assert_eq!(meta["annotations"]["prometheus.io/scrape"], "true");
    // Maps merge: both layers' labels, and shipshape's own.
    assert_eq!(meta["labels"]["team"], "payments");
    assert_eq!(meta["labels"]["tier"], "dev");
    assert_eq!(meta["labels"]["app.kubernetes.io/name"], "api");
    assert_eq!(meta["labels"]["version"], "v1");
}

#[test]
fn shipshape_labels_and_annotations_cannot_be_overridden() {
    let tmp = valid();
    api(
        tmp.path(),
        "    labels: { app.kubernetes.io/name: other }\n",
    );
    let err = build_fails(tmp.path(), "input/reserved-label", "catalogue.yaml:32:15");
    assert!(
        err.contains("label `app.kubernetes.io/name` is set by shipshape"),
        "{err}"
    );

    let tmp = valid();
    append(
        tmp.path(),
        "environments/dev.yaml",
        "services:\n  api:\n    labels:\n      version: v2\n",
    );
    build_fails(tmp.path(), "input/reserved-label", "dev.yaml:8:7");

    let tmp = valid();
    api(
        tmp.path(),
        "    annotations: { shipshape.dev/config-hash: x }\n",
    );
    build_fails(
        tmp.path(),
        "input/reserved-annotation",
        "catalogue.yaml:32:20",
    );

    let tmp = valid();
    api(tmp.path(), "    labels: { team: \"not a label value\" }\n");
    build_fails(tmp.path(), "input/schema", "catalogue.yaml:32:21");
}

// ---- scheduling ------------------------------------------------------------------------------

#[test]
fn scheduling_passes_through_and_services_with_replicas_spread() {
    let tmp = valid();
    api(
        tmp.path(),
        "    nodeSelector: { kubernetes.io/arch: amd64 }\n    tolerations: [ { key: dedicated, operator: Equal, value: api, effect: NoSchedule } ]\n    affinity:\n      nodeAffinity:\n        requiredDuringSchedulingIgnoredDuringExecution:\n          nodeSelectorTerms: [ { matchExpressions: [ { key: pool, operator: In, values: [apps] } ] } ]\n",
    );
    build_ok(tmp.path());
    let docs = documents(tmp.path(), "api.yaml");
    let spec = &pod(&docs)["spec"];
    assert_eq!(spec["nodeSelector"]["kubernetes.io/arch"], "amd64");
    assert_eq!(spec["tolerations"][0]["effect"], "NoSchedule");
    assert_eq!(
        spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
            ["nodeSelectorTerms"][0]["matchExpressions"][0]["key"],
        "pool"
    );
    // One replica: nothing to spread.
    assert!(spec.get("topologySpreadConstraints").is_none());
    // web scales to 3: spread over nodes, best effort.
    let web = documents(tmp.path(), "web.yaml");
    assert_eq!(
        pod(&web)["spec"]["topologySpreadConstraints"],
        serde_json::json!([{
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": { "matchLabels": {
                "app.kubernetes.io/name": "web", "app.kubernetes.io/instance": "web" } }
        }])
    );
}

#[test]
fn the_spread_is_overridden_or_turned_off_per_environment() {
    let tmp = valid();
    append(
        tmp.path(),
        "environments/dev.yaml",
        "services:\n  web:\n    topologySpreadConstraints: []\n  api:\n    replicas: { min: 2 }\n    topologySpreadConstraints:\n      - { maxSkew: 2, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule }\n",
    );
    build_ok(tmp.path());
    let web = documents(tmp.path(), "web.yaml");
    assert!(pod(&web)["spec"].get("topologySpreadConstraints").is_none());
    let api = documents(tmp.path(), "api.yaml");
    let spread = &pod(&api)["spec"]["topologySpreadConstraints"];
    assert_eq!(spread.as_array().map(Vec::len), Some(1));
    assert_eq!(spread[0]["topologyKey"], "topology.kubernetes.io/zone");
    // The service's own pods unless the constraint says otherwise.
    assert_eq!(
        spread[0]["labelSelector"]["matchLabels"]["app.kubernetes.io/name"],
        "api"
    );
}

/// Pass-through objects are checked against the Kubernetes schema once rendered.
#[test]
fn a_wrong_toleration_is_caught_by_the_rendered_schema() {
    let tmp = valid();
    api(tmp.path(), "    tolerations: [ { key: a, effect: 3 } ]\n");
    let out = build(tmp.path());
    assert_ne!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("tolerations"), "{}", out.stderr);
}

/// A literal secret in the catalogue is fixed in the catalogue: the help says how there.
#[test]
fn literal_secret_help_names_the_catalogue_fix() {
    let tmp = valid();
    api(
        tmp.path(),
        "    env: { DB_PASSWORD: tr0ub4dor, DATABASE_URL: \"postgres://a:tr0ub4dor@db/x\" }\n",
    );
    let out = build(tmp.path());
    let help = out.stderr.replace("\n        ", " ");
    assert!(
        help.contains("`DB_PASSWORD: { secret: SECRET, key: KEY }`"),
        "{}",
        out.stderr
    );
    assert!(
        help.contains("`DATABASE_URL: postgres://app:$(DB_PASSWORD)@db/app`"),
        "{}",
        out.stderr
    );
    assert!(!help.contains("valueFrom"), "{}", out.stderr);
}

// ---- egress to external hosts ----------------------------------------------------------------

#[test]
fn egress_opens_the_network_policy_and_with_istio_lists_the_hosts() {
    let tmp = valid();
    api(
        tmp.path(),
        "    egress:\n      - { host: api.stripe.com }\n      - { host: hooks.slack.com, port: 443 }\n      - { host: smtp.example.com, port: 587, protocol: tcp }\n",
    );
    build_ok(tmp.path());
    let docs = documents(tmp.path(), "api.yaml");
    // No mesh: no ServiceEntry, the NetworkPolicy alone.
    assert!(docs.iter().all(|d| d["kind"] != "ServiceEntry"));
    let np = docs.iter().find(|d| d["kind"] == "NetworkPolicy").unwrap();
    let rules = np["spec"]["egress"].as_array().unwrap();
    let external = rules
        .iter()
        .find(|r| r["to"][0].get("ipBlock").is_some())
        .expect("an egress rule to external addresses");
    assert_eq!(external["to"][0]["ipBlock"]["cidr"], "0.0.0.0/0");
    let except = external["to"][0]["ipBlock"]["except"].as_array().unwrap();
    // Never the pod network or the cloud metadata endpoint.
    assert!(except.contains(&Value::from("10.0.0.0/8")));
    assert!(except.contains(&Value::from("169.254.0.0/16")));
    assert_eq!(
        external["ports"],
        serde_json::json!([ { "protocol": "TCP", "port": 443 }, { "protocol": "TCP", "port": 587 } ])
    );
    // Services that call nothing outside get no such rule.
    let web = documents(tmp.path(), "web.yaml");
    let np = web.iter().find(|d| d["kind"] == "NetworkPolicy").unwrap();
    assert!(np["spec"]["egress"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["to"][0].get("ipBlock").is_none()));

    append(
        tmp.path(),
        "environments/dev.yaml",
        "istio: { enabled: true, mtls: STRICT }\n",
    );
    build_ok(tmp.path());
    let docs = documents(tmp.path(), "api.yaml");
    let se = docs
        .iter()
        .find(|d| d["kind"] == "ServiceEntry")
        .expect("a ServiceEntry");
    assert_eq!(se["metadata"]["name"], "api-egress");
    assert_eq!(
        se["spec"],
        serde_json::json!({
            "hosts": ["api.stripe.com", "hooks.slack.com", "smtp.example.com"],
            "exportTo": ["."],
            "location": "MESH_EXTERNAL",
            "resolution": "DNS",
            "ports": [
                { "number": 443, "name": "tls-443", "protocol": "TLS" },
                { "number": 587, "name": "tcp-587", "protocol": "TCP" }
            ]
        })
    );
}

#[test]
fn egress_layers_and_errors() {
    // The environment's list replaces the catalogue's; a wildcard host is not resolved.
    let tmp = valid();
    api(tmp.path(), "    egress: [ { host: api.stripe.com } ]\n");
    append(
        tmp.path(),
        "environments/dev.yaml",
        "istio: { enabled: true }\nservices:\n  api:\n    egress: [ { host: \"*.sandbox.example.com\", protocol: http } ]\n",
    );
    build_ok(tmp.path());
    let docs = documents(tmp.path(), "api.yaml");
    let se = docs.iter().find(|d| d["kind"] == "ServiceEntry").unwrap();
    assert_eq!(
        se["spec"]["hosts"],
        serde_json::json!(["*.sandbox.example.com"])
    );
    assert_eq!(se["spec"]["resolution"], "NONE");
    assert_eq!(se["spec"]["ports"][0]["number"], 80);

    // One port, two protocols: the second entry is the error.
    let tmp = valid();
    api(
        tmp.path(),
        "    egress:\n      - { host: a.example.com, port: 8443 }\n      - { host: b.example.com, port: 8443, protocol: http }\n",
    );
    let err = build_fails(tmp.path(), "input/egress", "catalogue.yaml:34:9");
    assert!(err.contains("port 8443 for http"), "{err}");

    // A host is a DNS name with a dot, not a URL.
    for host in ["https://api.stripe.com", "localhost"] {
        let tmp = valid();
        api(
            tmp.path(),
            &format!("    egress: [ {{ host: \"{host}\" }} ]\n"),
        );
        build_fails(tmp.path(), "input/schema", "catalogue.yaml:32:");
    }
}

/// A secret passed on the command line is found where the catalogue wrote it.
#[test]
fn a_secret_in_the_arguments_points_at_the_catalogue() {
    let tmp = valid();
    api(
        tmp.path(),
        "    args: [--listen=:8080, --db-password=tr0ub4dor]\n",
    );
    let out = build(tmp.path());
    assert!(out.stderr.contains("literal-secret"), "{}", out.stderr);
    assert!(
        out.stderr.contains("catalogue.yaml:32:28"),
        "{}",
        out.stderr
    );
}

/// `command` and `args` expand `$(NAME)` from the environment as well.
#[test]
fn arguments_expand_declared_variables_only() {
    let tmp = valid();
    api(
        tmp.path(),
        "    env: { PORT: \"8080\" }\n    args: [--port=$(PORT), --price=$$(USD)]\n",
    );
    build_ok(tmp.path());
    let tmp = valid();
    api(tmp.path(), "    command: [/app, --port=$(PORT)]\n");
    let err = build_fails(tmp.path(), "input/env-reference", "catalogue.yaml:32:21");
    assert!(err.contains("`command` uses `$(PORT)`"), "{err}");
}
