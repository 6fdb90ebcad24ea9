//! `enforce:` renders what the cluster enforces from the figures `check` judges by, and the two
//! agree to the byte: a platform exactly at its requests ceiling builds and fits its rendered
//! ResourceQuota; one byte more is refused by both. The quota side is computed as the API
//! server's quota admission computes it: the requests of every container of every pod the
//! rendered workloads run, summed, against the quota's `hard` figures.

mod common;

use common::project::build;
use common::project::documents_of as documents;

use serde_json::Value;
use std::fs;
use std::path::Path;
use tempfile::TempDir;

/// 80% of 1Gi, rounded down to a whole byte: 858993459.2.
const CEILING_BYTES: u64 = 858_993_459;

/// The `bad/valid` platform on a 1-CPU, 1Gi cluster with a quota, postgres sized so the
/// platform's requests at minimum replicas total `800m` CPU (the ceiling exactly) and
/// `memory_total` bytes; `extra_env` is appended to the environment file.
fn platform(memory_total: u64, extra_env: &str) -> TempDir {
    let dir = common::scratch_copy(&common::fixture("bad").join("valid"));
    let root = dir.path();
    // api and web keep the defaults (50m, 128Mi each, web at its HPA minimum of 1).
    let postgres_memory = memory_total - 2 * 128 * 1024 * 1024;
    let catalogue = root.join("catalogue.yaml");
    let text = fs::read_to_string(&catalogue).unwrap().replace(
        "    storage: { size: 1Gi }\n",
        &format!(
            "    storage: {{ size: 1Gi }}\n    resources:\n      requests: {{ cpu: 700m, memory: \"{postgres_memory}\" }}\n      limits: {{ cpu: 700m, memory: \"{postgres_memory}\" }}\n"
        ),
    );
    fs::write(&catalogue, text).unwrap();
    fs::write(
        root.join("environments/dev.yaml"),
        format!(
            "imageTag: \"1.0.0\"\ncluster:\n  capacity: {{ cpu: \"1\", memory: 1Gi }}\n  maxUtilisation: 80%\nenforce: {{ quota: true, limitRange: true }}\n{extra_env}"
        ),
    )
    .unwrap();
    dir
}

/// A quantity in thousandths (CPU in millicores, memory in millibytes), for comparing.
fn milli(q: &Value) -> u128 {
    let text = match q {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let (number, scale): (&str, u128) = if let Some(n) = text.strip_suffix("Mi") {
        (n, 1000 << 20)
    } else if let Some(n) = text.strip_suffix("Gi") {
        (n, 1000 << 30)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 1)
    } else {
        (&text, 1000)
    };
    number.parse::<u128>().unwrap() * scale
}

/// What the quota admission sees once every pod of the rendered workloads exists:
/// (requests.cpu, requests.memory, pods), in thousandths for the quantities.
fn rendered_usage(env_dir: &Path) -> (u128, u128, u128) {
    let mut usage = (0, 0, 0);
    for entry in fs::read_dir(env_dir).unwrap() {
        let path = entry.unwrap().path();
        let docs = documents(&path);
        for doc in &docs {
            if doc["kind"] != "Deployment" && doc["kind"] != "StatefulSet" {
                continue;
            }
            // An HPA owns the replica count: its minimum is what runs.
            let hpa_min = docs
                .iter()
                .find(|d| d["kind"] == "HorizontalPodAutoscaler")
                .map(|h| h["spec"]["minReplicas"].as_u64().unwrap());
            let replicas = u128::from(
                hpa_min.unwrap_or_else(|| doc["spec"]["replicas"].as_u64().unwrap_or(1)),
            );
            for c in doc["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
            {
                let requests = &c["resources"]["requests"];
                usage.0 += replicas * milli(&requests["cpu"]);
                usage.1 += replicas * milli(&requests["memory"]);
            }
            usage.2 += replicas;
        }
    }
    usage
}

fn quota_hard(env_dir: &Path) -> Value {
    documents(&env_dir.join("enforcement.yaml"))
        .into_iter()
        .find(|d| d["kind"] == "ResourceQuota")
        .expect("a ResourceQuota")["spec"]["hard"]
        .clone()
}

/// Whether the API server's quota admission lets every pod in.
fn quota_admits(env_dir: &Path) -> bool {
    let hard = quota_hard(env_dir);
    let (cpu, memory, pods) = rendered_usage(env_dir);
    cpu <= milli(&hard["requests.cpu"])
        && memory <= milli(&hard["requests.memory"])
        && pods * 1000 <= milli(&hard["pods"])
}

/// Findings of `resource-overcommit` as warnings, so a build writes what a team would ship.
const AS_WARNINGS: &str = "lint:\n  rules:\n    resource-overcommit: warning\n";

#[test]
fn a_platform_exactly_at_the_ceiling_fits_its_quota_but_leaves_no_room_to_roll_out() {
    // At rest it fits: no ceiling finding. But a rolling update's surge pod would take the
    // namespace over its quota, so the build refuses that, and says how to make room.
    let dir = platform(CEILING_BYTES, "");
    let out = build(dir.path());
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        !out.stderr.contains("above the 80% ceiling"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("resource-overcommit/rollout-surge"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("above the 80% quota: the rollout stalls"),
        "{}",
        out.stderr
    );
    let dir = platform(CEILING_BYTES, AS_WARNINGS);
    let out = build(dir.path());
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let env_dir = dir.path().join("rendered/dev");
    let hard = quota_hard(&env_dir);
    assert_eq!(hard["requests.cpu"], "800m");
    assert_eq!(hard["requests.memory"], CEILING_BYTES.to_string());
    assert_eq!(rendered_usage(&env_dir).1, u128::from(CEILING_BYTES) * 1000);
    assert!(quota_admits(&env_dir));
}

#[test]
fn one_byte_over_the_ceiling_is_refused_by_the_build_and_by_the_quota() {
    // The gate refuses it...
    let dir = platform(CEILING_BYTES + 1, "");
    let out = build(dir.path());
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("above the 80% ceiling"),
        "{}",
        out.stderr
    );
    assert!(
        !dir.path().join("rendered").exists(),
        "a refused build writes nothing"
    );
    // ... and where a team turns the gate into a warning and ships anyway, the quota it ships
    // refuses the last pod.
    let dir = platform(CEILING_BYTES + 1, AS_WARNINGS);
    let out = build(dir.path());
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains("above the 80% ceiling"),
        "{}",
        out.stderr
    );
    assert!(!quota_admits(&dir.path().join("rendered/dev")));
}

#[test]
fn the_quota_counts_pods_at_hpa_maxima_with_rollout_surge_and_claims_per_replica() {
    let dir = platform(CEILING_BYTES, AS_WARNINGS);
    assert_eq!(build(dir.path()).code, Some(0));
    let hard = quota_hard(&dir.path().join("rendered/dev"));
    // postgres: 1 (a StatefulSet adds no surge pod); api: 1 + 1 surge; web: HPA max 3 + 1 surge.
    assert_eq!(hard["pods"], "7");
    assert_eq!(hard["persistentvolumeclaims"], "1");
    assert_eq!(hard["requests.storage"], "1Gi");
    // No `cluster.limits`: limits are a build-time warning, not a quota.
    assert!(hard.get("limits.memory").is_none());
}

#[test]
fn the_limit_range_gives_the_defaults_and_the_largest_limits_as_maxima() {
    let dir = platform(CEILING_BYTES, AS_WARNINGS);
    assert_eq!(build(dir.path()).code, Some(0));
    let docs = documents(&dir.path().join("rendered/dev/enforcement.yaml"));
    let range = docs.iter().find(|d| d["kind"] == "LimitRange").unwrap();
    let item = &range["spec"]["limits"][0];
    assert_eq!(item["type"], "Container");
    assert_eq!(item["defaultRequest"]["cpu"], "50m");
    assert_eq!(item["defaultRequest"]["memory"], "128Mi");
    assert_eq!(item["default"]["memory"], "256Mi");
    assert_eq!(item["max"]["cpu"], "700m");
}

#[test]
fn without_a_quota_a_surge_beyond_capacity_is_a_warning() {
    // At rest at the 80% ceiling of a 1-CPU cluster, with api as 2 x 300m: its rolling update
    // adds one more 300m pod, 1.1 CPU of 1.
    let dir = platform(CEILING_BYTES, "");
    let root = dir.path();
    let env = root.join("environments/dev.yaml");
    let text = fs::read_to_string(&env)
        .unwrap()
        .replace("enforce: { quota: true, limitRange: true }\n", "");
    fs::write(&env, text).unwrap();
    let out = build(root);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        !out.stderr.contains("rollout-surge"),
        "100% of capacity leaves room: {}",
        out.stderr
    );
    let catalogue = root.join("catalogue.yaml");
    let text = fs::read_to_string(&catalogue)
        .unwrap()
        .replace("    env: { LOG_LEVEL: info }\n", "    env: { LOG_LEVEL: info }\n    replicas: { min: 2 }\n    resources: { requests: { cpu: 300m, memory: 64Mi }, limits: { cpu: 300m } }\n")
        .replace("cpu: 700m, memory", "cpu: 150m, memory");
    fs::write(&catalogue, text).unwrap();
    let out = build(root);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains("resource-overcommit/rollout-surge"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("above the capacity: the rollout stalls"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_quota_in_an_istio_namespace_needs_the_proxy_requests() {
    let dir = platform(CEILING_BYTES, "istio: { enabled: true }\n");
    let out = build(dir.path());
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("input/quota-without-proxy"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("istio.proxy"), "{}", out.stderr);
    // Declared, the sidecar counts in every pod: 3 pods x 10m more CPU than the ceiling allows.
    let dir = platform(
        CEILING_BYTES,
        "istio: { enabled: true, proxy: { requests: { cpu: 10m, memory: 1Mi } } }\n",
    );
    let out = build(dir.path());
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("above the 80% ceiling"),
        "{}",
        out.stderr
    );
}
