//! A patched rolling update, seen alike by `plan` and by `resource-overcommit/rollout-surge`:
//! both read the surge from the rendered (patched) Deployment, so a patch that sets `maxSurge`
//! or the `Recreate` strategy moves the plan's surge row and the rule's finding the same way.
//!
//! The platform: one Deployment of 4 replicas of 1 CPU each on a 4.5-CPU cluster. At rest it
//! fits; any surge pod does not.

mod common;

use common::project;

use serde_json::Value;
use std::path::Path;
use tempfile::TempDir;

const CATALOGUE: &str = r#"platform: shop
namespace: shop
defaults:
  imageRegistry: ghcr.io/shop
  health: { path: /healthz }
  resources:
    requests: { cpu: "1", memory: 128Mi }
    limits: { cpu: "1", memory: 128Mi }
phases:
  - name: apps
    rollout: parallel
services:
  api:
    phase: apps
    image: api
    port: 8080
    ingress: { fromNamespaces: [ingress-nginx] }
    replicas: { min: 4 }
"#;

const ENVIRONMENT: &str = r#"imageTag: "1.0.0"
cluster:
  capacity: { cpu: 4500m, memory: 8Gi }
  maxUtilisation: 100%
"#;

/// A project whose `api` Deployment is patched with `strategy` (none when `None`).
fn project(strategy: Option<&str>) -> TempDir {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let mut catalogue = CATALOGUE.to_owned();
    if let Some(strategy) = strategy {
        catalogue.push_str(&format!(
            "    patches:\n      - target: {{ kind: Deployment }}\n        merge:\n          spec:\n            strategy: {strategy}\n"
        ));
    }
    std::fs::write(tmp.path().join("catalogue.yaml"), catalogue).expect("catalogue written");
    std::fs::create_dir(tmp.path().join("environments")).expect("environments/");
    std::fs::write(tmp.path().join("environments/dev.yaml"), ENVIRONMENT).expect("dev written");
    tmp
}

fn run_json(root: &Path, command: &[&str]) -> Value {
    let out = project::run_json(root, command);
    assert_eq!(out.code, Some(0), "{command:?}: {}", out.all());
    project::report(&out)
}

/// The plan's only wave: its surge pods, and whether its rollout fits.
fn planned(root: &Path) -> (u64, bool) {
    let plan = run_json(root, &["plan"]);
    let step = &plan["environments"][0]["phases"][0]["steps"][0];
    let pods = step["surge"]["pods"].as_u64().expect("surge pods");
    let cpu_ok = step["rollout"]["cpu"]["ok"]
        .as_bool()
        .expect("rollout verdict");
    (pods, cpu_ok)
}

/// The surge pods `resource-overcommit/rollout-surge` reports on a build, `None` without a
/// finding (the rollout fits). Every other finding must be absent: the platform is clean.
fn linted(root: &Path) -> Option<u64> {
    let report = run_json(root, &["build"]);
    let findings = report["diagnostics"].as_array().expect("diagnostics");
    let mut surges = Vec::new();
    for d in findings {
        let code = d["code"].as_str().unwrap_or_default();
        assert_eq!(code, "resource-overcommit/rollout-surge", "unexpected {d}");
        let message = d["message"].as_str().unwrap_or_default();
        let pods = message
            .split_once(" adds ")
            .and_then(|(_, rest)| rest.split_once(" surge pod"))
            .and_then(|(n, _)| n.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no surge count in {message}"));
        surges.push(pods);
    }
    assert!(surges.len() <= 1, "one wave, one finding: {surges:?}");
    surges.first().copied()
}

#[test]
fn plan_and_lint_read_the_same_surge_from_the_patched_deployment() {
    let cases = [
        // Kubernetes' default: 25% of 4 replicas.
        (None, 1),
        (
            Some("{ rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } }"),
            0,
        ),
        (Some("{ rollingUpdate: { maxSurge: \"100%\" } }"), 4),
        (Some("{ rollingUpdate: { maxSurge: 2 } }"), 2),
        (Some("{ type: Recreate }"), 0),
    ];
    for (strategy, pods) in cases {
        let tmp = project(strategy);
        let (plan_pods, fits) = planned(tmp.path());
        assert_eq!(plan_pods, pods, "plan, strategy {strategy:?}");
        assert_eq!(fits, pods == 0, "plan verdict, strategy {strategy:?}");
        let lint_pods = linted(tmp.path());
        let expected = if pods == 0 { None } else { Some(pods) };
        assert_eq!(lint_pods, expected, "lint, strategy {strategy:?}");
    }
}
