//! The namespace's ResourceQuota counts the pods and claims of the rendered, patched workloads:
//! a patch that sets `maxSurge`, a replica count or an HPA's maximum moves the quota's `pods` (and
//! a StatefulSet's claims) as it moves what the API server will be asked to admit. Before, the
//! quota was built from the catalogue before patches applied, and refused the rollout a patched
//! `maxSurge: 100%` plans. The limit range's `max` is read from the same patched containers.
//!
//! The platform is the small valid project (`tests/fixtures/bad/valid`) with a quota: postgres, a
//! StatefulSet of 1 with one 1Gi claim; api, a Deployment of 1; web, a Deployment its HPA scales
//! from 1 to 3. Unpatched, that is 1 + (1 + 1 surge) + (3 + 1 surge) = 7 pods.

mod common;

use common::project;
use serde_json::Value;
use std::path::Path;

/// A build of the valid project with `enforce.quota`, and `services` (the environment file's
/// `services:` section, patches and all) when given. Returns the build and the project.
fn build_with(services: &str) -> (common::Outcome, tempfile::TempDir) {
    let p = project::valid();
    project::append(
        p.path(),
        "environments/dev.yaml",
        &format!("enforce: {{ quota: true }}\n{services}"),
    );
    let out = project::build(p.path());
    out.no_panic();
    (out, p)
}

/// The rendered quota's `hard` figures.
fn hard(root: &Path) -> Value {
    project::documents(root, "enforcement.yaml")
        .into_iter()
        .find(|d| d["kind"] == "ResourceQuota")
        .expect("a ResourceQuota in enforcement.yaml")["spec"]["hard"]
        .clone()
}

/// (pods, persistentvolumeclaims, requests.storage) of the rendered quota.
fn counts(root: &Path) -> (String, String, String) {
    let hard = hard(root);
    let text = |key: &str| hard[key].as_str().unwrap_or("").to_owned();
    (
        text("pods"),
        text("persistentvolumeclaims"),
        text("requests.storage"),
    )
}

/// `patches:` of service `service` in the environment file, one merge patch on `target`.
fn patch(service: &str, target: &str, merge: &str) -> String {
    format!(
        "services:\n  {service}:\n    patches:\n      - target: {target}\n        merge: {merge}\n"
    )
}

#[test]
fn the_quota_counts_the_patched_workloads() {
    let cases = [
        ("unpatched", String::new(), ("7", "1", "1Gi")),
        (
            // api surges by all of its 1 replica: the same 1 pod as the default 25%, rounded up.
            "maxSurge 100% on 1 replica",
            patch(
                "api",
                "{ kind: Deployment }",
                "{ spec: { strategy: { rollingUpdate: { maxSurge: \"100%\" } } } }",
            ),
            ("7", "1", "1Gi"),
        ),
        (
            // api: 4 replicas and 4 surge pods, where the catalogue's figures give 1 + 1.
            "maxSurge 100% on 4 replicas",
            patch(
                "api",
                "{ kind: Deployment }",
                "{ spec: { replicas: 4, strategy: { rollingUpdate: { maxSurge: \"100%\" } } } }",
            ),
            ("13", "1", "1Gi"),
        ),
        (
            "maxSurge 0",
            patch(
                "api",
                "{ kind: Deployment }",
                "{ spec: { strategy: { rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } } } }",
            ),
            ("6", "1", "1Gi"),
        ),
        (
            "Recreate",
            patch(
                "api",
                "{ kind: Deployment }",
                "{ spec: { strategy: { type: Recreate } } }",
            ),
            ("6", "1", "1Gi"),
        ),
        (
            // web: 6 at most, and 2 surge pods on 6.
            "HPA maximum 6",
            patch(
                "web",
                "{ kind: HorizontalPodAutoscaler }",
                "{ spec: { maxReplicas: 6 } }",
            ),
            ("11", "1", "1Gi"),
        ),
        (
            // postgres: 3 pods, and a claim of 1Gi for each.
            "StatefulSet of 3",
            patch(
                "postgres",
                "{ kind: StatefulSet }",
                "{ spec: { replicas: 3 } }",
            ),
            ("9", "3", "3Gi"),
        ),
    ];
    for (case, services, expected) in cases {
        let (out, p) = build_with(&services);
        assert_eq!(out.code, Some(0), "{case}: {}", out.all());
        let (pods, claims, storage) = expected;
        assert_eq!(
            counts(p.path()),
            (pods.to_owned(), claims.to_owned(), storage.to_owned()),
            "{case}"
        );
    }
}

/// Patches are the last mile for a service's own resources; the quota is the environment's, built
/// after them from what they left. A patch naming it is refused at its line rather than applied
/// and then silently replaced by the figures counted afterwards: the quota a build renders is
/// always the one computed from the workloads.
#[test]
fn a_patch_cannot_target_the_quota_and_is_told_so_at_its_line() {
    let services = patch(
        "api",
        "{ kind: ResourceQuota, name: platform }",
        "{ spec: { hard: { pods: \"100\" } } }",
    );
    let (out, p) = build_with(&services);
    assert_eq!(out.code, Some(2), "{}", out.all());
    assert!(
        out.stderr.contains("input/patch-target-missing"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(
            "patch 1 of service `api` targets ResourceQuota/platform, which service `api` does not render"
        ),
        "{}",
        out.stderr
    );
    // The entry's `target` key in the environment file (4 lines, then `enforce`, `services`,
    // `api`, `patches`).
    assert!(
        out.stderr.contains("environments/dev.yaml:9:9"),
        "{}",
        out.stderr
    );
    assert!(
        !p.path().join("rendered/dev/enforcement.yaml").exists(),
        "a failed build writes nothing"
    );
}

/// The limit range's `max` is the largest limit of any container the namespace runs: limits a
/// patch raises above the catalogue's (or a sidecar it adds) raise it, rather than being refused
/// by it.
#[test]
fn the_limit_range_admits_patched_limits() {
    let max = |root: &Path| {
        project::documents(root, "enforcement.yaml")
            .into_iter()
            .find(|d| d["kind"] == "LimitRange")
            .expect("a LimitRange in enforcement.yaml")["spec"]["limits"][0]["max"]
            .clone()
    };
    let p = project::valid();
    project::append(
        p.path(),
        "environments/dev.yaml",
        "enforce: { limitRange: true }\n",
    );
    project::build_ok(p.path());
    // The catalogue's defaults: 100m and 256Mi for every container.
    assert_eq!(
        max(p.path()),
        serde_json::json!({ "cpu": "100m", "memory": "256Mi" })
    );
    let raised = "{ spec: { template: { spec: { containers: [{ name: api, resources: { limits: { cpu: 300m, memory: 1Gi } } }] } } } }";
    project::append(
        p.path(),
        "environments/dev.yaml",
        &patch("api", "{ kind: Deployment }", raised),
    );
    let out = project::build(p.path());
    out.no_panic();
    assert_eq!(out.code, Some(0), "{}", out.all());
    assert_eq!(
        max(p.path()),
        serde_json::json!({ "cpu": "300m", "memory": "1Gi" })
    );
}
