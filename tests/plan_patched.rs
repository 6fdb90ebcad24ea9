//! `plan` counts what the rendered, patched workloads say, as `resource-overcommit` does: a patch
//! that sets a Deployment's `replicas`, an HPA's `minReplicas`/`maxReplicas` or a container's
//! memory request moves the plan's figures and the rule's findings alike, to the byte.
//!
//! The platform: `api`, 2-4 replicas in the catalogue, patched to an HPA of 3 (environment file)
//! to 6 (catalogue) and a memory request of 192Mi instead of 128Mi; `worker`, one replica in the
//! catalogue, patched to 3. Every pod also counts the Istio proxy (10m/32Mi, limits 20m/64Mi).

mod common;

use common::project;

use serde_json::Value;
use std::path::Path;
use tempfile::TempDir;

const MI: u64 = 1 << 20;

const CATALOGUE: &str = r#"platform: shop
namespace: shop
defaults:
  imageRegistry: ghcr.io/shop
  health: { path: /healthz }
  resources:
    requests: { cpu: 100m, memory: 128Mi }
    limits: { cpu: 200m, memory: 256Mi }
phases:
  - name: apps
    rollout: parallel
services:
  api:
    phase: apps
    image: api
    port: 8080
    ingress: { fromNamespaces: [ingress-nginx] }
    replicas: { min: 2, max: 4 }
    patches:
      - target: { kind: HorizontalPodAutoscaler }
        merge: { spec: { maxReplicas: 6 } }
      - target: { kind: Deployment }
        merge:
          spec:
            template:
              spec:
                containers:
                  - name: api
                    resources: { requests: { memory: 192Mi } }
  worker:
    phase: apps
    image: worker
    port: 8081
    ingress: { fromNamespaces: [ingress-nginx] }
    patches:
      - target: { kind: Deployment }
        merge: { spec: { replicas: 3 } }
"#;

/// The environment file, on a cluster of `cpu` and `memory` (quantities as written).
fn environment(cpu: &str, memory: &str) -> String {
    format!(
        r#"imageTag: "1.0.0"
cluster:
  capacity: {{ cpu: "{cpu}", memory: "{memory}" }}
  maxUtilisation: 100%
istio:
  enabled: true
  proxy:
    requests: {{ cpu: 10m, memory: 32Mi }}
    limits: {{ cpu: 20m, memory: 64Mi }}
services:
  api:
    patches:
      - target: {{ kind: HorizontalPodAutoscaler }}
        merge: {{ spec: {{ minReplicas: 3 }} }}
"#
    )
}

fn project(cpu: &str, memory: &str) -> TempDir {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(tmp.path().join("catalogue.yaml"), CATALOGUE).expect("catalogue written");
    std::fs::create_dir(tmp.path().join("environments")).expect("environments/");
    std::fs::write(
        tmp.path().join("environments/dev.yaml"),
        environment(cpu, memory),
    )
    .expect("dev written");
    tmp
}

fn run_json(root: &Path, command: &str) -> Value {
    let out = project::run_json(root, &[command]);
    // A build with findings of error severity exits 1; anything else is a failure to run.
    assert!(
        matches!(out.code, Some(0 | 1)),
        "{command}: {:?} {}",
        out.code,
        out.all()
    );
    project::report(&out)
}

/// The plan of the only environment.
fn plan(root: &Path) -> Value {
    run_json(root, "plan")["environments"][0].clone()
}

/// `(code, message)` of every `resource-overcommit` finding of a build.
fn findings(root: &Path) -> Vec<(String, String)> {
    let report = run_json(root, "build");
    report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            let text = |key: &str| d[key].as_str().unwrap_or_default().to_owned();
            (text("code"), text("message"))
        })
        .filter(|(code, _)| code.starts_with("resource-overcommit"))
        .collect()
}

#[test]
fn the_plan_counts_the_patched_replicas_hpa_range_and_requests() {
    let tmp = project("64", "64Gi");
    let env = plan(tmp.path());
    let services = &env["phases"][0]["services"];
    let api = &services[0];
    assert_eq!(api["name"], "api");
    assert_eq!(
        api["replicas"],
        serde_json::json!({ "min": 3, "max": 6, "hpa": true })
    );
    assert_eq!(
        api["requests"]["memoryBytes"],
        192 * MI,
        "the patched request"
    );
    assert_eq!(api["requests"]["cpuMillicores"], 100);
    let worker = &services[1];
    assert_eq!(worker["name"], "worker");
    assert_eq!(
        worker["replicas"],
        serde_json::json!({ "min": 3, "max": 3, "hpa": false })
    );
    // Per pod, proxy included: api 110m/224Mi (limits 220m/320Mi), worker 110m/160Mi
    // (220m/320Mi); 3 + 3 pods at rest, 6 + 3 at the HPA maximum.
    let totals = &env["totals"];
    assert_eq!(
        (&totals["podsAtMin"], &totals["podsAtMax"]),
        (&6.into(), &9.into())
    );
    let figure = |key: &str, resource: &str| totals[key][resource].as_u64();
    assert_eq!(figure("requests", "memoryBytes"), Some(1152 * MI));
    assert_eq!(figure("requests", "cpuMillicores"), Some(660));
    assert_eq!(figure("requestsAtMax", "memoryBytes"), Some(1824 * MI));
    assert_eq!(figure("limits", "memoryBytes"), Some(1920 * MI));
    assert_eq!(figure("limitsAtMax", "memoryBytes"), Some(2880 * MI));
    // One wave: 25% of 3 replicas, rounded up, for each Deployment.
    let step = &env["phases"][0]["steps"][0];
    assert_eq!(step["surge"]["pods"], 2);
    assert_eq!(step["surge"]["requests"]["memoryBytes"], 384 * MI);
}

/// One figure held against the capacity: where the plan says whether it fits, and which finding
/// of a build says it does not.
struct Edge {
    what: &'static str,
    /// The plan's verdict, from the environment's JSON.
    fits: fn(&Value) -> bool,
    /// Whether the build reports the figure over the capacity.
    reported: fn(&[(String, String)]) -> bool,
    /// The figure, in bytes (memory) or millicores (CPU).
    figure: u64,
    memory: bool,
}

fn ok(v: &Value) -> bool {
    v["ok"].as_bool().expect("a judged check")
}

fn has(findings: &[(String, String)], code: &str, starts: &str) -> bool {
    findings
        .iter()
        .any(|(c, m)| c == code && m.starts_with(starts))
}

#[test]
fn plan_and_resource_overcommit_flip_at_the_same_byte() {
    let edges = [
        Edge {
            what: "memory requests at rest",
            fits: |env| ok(&env["totals"]["ceiling"]["memory"]),
            reported: |f| has(f, "resource-overcommit/ceiling", "memory requests"),
            figure: 1152 * MI,
            memory: true,
        },
        Edge {
            what: "CPU requests at rest",
            fits: |env| ok(&env["totals"]["ceiling"]["cpu"]),
            reported: |f| has(f, "resource-overcommit/ceiling", "CPU requests"),
            figure: 660,
            memory: false,
        },
        Edge {
            what: "memory requests at the HPA maximum",
            fits: |env| ok(&env["totals"]["hpaWorstCase"]["memory"]),
            reported: |f| {
                has(
                    f,
                    "resource-overcommit/hpa-maximum",
                    "at HPA maximum replicas, memory",
                )
            },
            figure: 1824 * MI,
            memory: true,
        },
        Edge {
            what: "a rolling update's peak",
            fits: |env| {
                let steps = env["phases"][0]["steps"].as_array().expect("steps");
                steps.iter().all(|s| ok(&s["rollout"]["memory"]))
            },
            reported: |f| has(f, "resource-overcommit/rollout-surge", "a rolling update"),
            figure: 1536 * MI,
            memory: true,
        },
        Edge {
            what: "memory limits at rest",
            fits: |env| ok(&env["totals"]["overCommit"]["memory"]),
            // Above it, the rule reports the limits at rest; at it, those at the HPA maximum.
            reported: |f| has(f, "resource-overcommit/limits-memory", "memory limits"),
            figure: 1920 * MI,
            memory: true,
        },
        Edge {
            what: "memory limits at the HPA maximum",
            fits: |env| ok(&env["totals"]["overCommitAtMax"]["memory"]),
            reported: |f| {
                f.iter()
                    .any(|(c, _)| c == "resource-overcommit/limits-memory")
            },
            figure: 2880 * MI,
            memory: true,
        },
    ];
    for edge in &edges {
        for capacity in [edge.figure, edge.figure - 1] {
            let (cpu, memory) = if edge.memory {
                ("64".to_owned(), capacity.to_string())
            } else {
                (format!("{capacity}m"), "64Gi".to_owned())
            };
            let tmp = project(&cpu, &memory);
            let fits = (edge.fits)(&plan(tmp.path()));
            let found = findings(tmp.path());
            let reported = (edge.reported)(&found);
            let expected = capacity == edge.figure;
            assert_eq!(fits, expected, "plan, {} on {capacity}", edge.what);
            assert_eq!(
                reported, !expected,
                "build, {} on {capacity}: {found:?}",
                edge.what
            );
        }
    }
}

#[test]
fn a_patched_sidecar_without_requests_is_missing_in_the_plan_and_in_the_build() {
    let tmp = project("64", "64Gi");
    common::project::append(
        tmp.path(),
        "environments/dev.yaml",
        r#"  worker:
    patches:
      - target: { kind: Deployment }
        merge:
          spec:
            template:
              spec:
                containers:
                  - name: log-shipper
                    image: ghcr.io/shop/log-shipper:1.2.3
"#,
    );
    let env = plan(tmp.path());
    let missing = |key: &str| -> Vec<(String, String)> {
        env["totals"][key]
            .as_array()
            .expect("a list")
            .iter()
            .map(|m| {
                let text = |k: &str| m[k].as_str().unwrap_or_default().to_owned();
                (text("service"), text("resource"))
            })
            .collect()
    };
    let worker = |resource: &str| ("worker".to_owned(), resource.to_owned());
    assert_eq!(
        missing("missingRequests"),
        [worker("cpu"), worker("memory")]
    );
    assert_eq!(missing("missingLimits"), [worker("cpu"), worker("memory")]);
    // The worker's own container still counts: 3 pods of 128Mi and the proxy's 32Mi.
    let worker_plan = &env["phases"][0]["services"][1];
    assert_eq!(worker_plan["requests"]["memoryBytes"], 128 * MI);
    assert_eq!(
        env["totals"]["requests"]["memoryBytes"],
        3 * 224 * MI + 3 * 160 * MI
    );
    let found = findings(tmp.path());
    for code in [
        "resource-overcommit/missing-requests",
        "resource-overcommit/missing-limits",
    ] {
        assert!(
            has(&found, code, "container `log-shipper` of `worker`"),
            "{code}: {found:?}"
        );
    }
}
