//! The `hpa` and `pdb` rules over shipshape's own output: what the built-in renderer writes never
//! trips them, and what a catalogue or a patch can still make of an HPA or a disruption budget,
//! `build` reports, pointing into the catalogue.

mod common;

use common::{crate_root, run_shipshape, Outcome};
use std::fs;
use std::path::Path;

/// The small valid project (its `dev` environment: 4 CPUs, 8Gi, 80%) with a one-phase catalogue
/// of `services` (YAML, indented as the value of `services:`) in place of its own.
fn project(services: &str) -> tempfile::TempDir {
    let dir = common::project::valid();
    let catalogue = format!(
        "platform: shop\nnamespace: shop\nphases:\n  - name: apps\n    rollout: sequential\nservices:\n{services}"
    );
    fs::write(dir.path().join("catalogue.yaml"), catalogue).unwrap();
    dir
}

/// `shipshape build --out OUT --format json`, run from `cwd`.
fn build_json(cwd: &Path, out_dir: &Path) -> Outcome {
    let out_dir = out_dir.to_str().expect("UTF-8 temporary path");
    let out = run_shipshape(cwd, &["build", "--out", out_dir, "--format", "json"], &[]);
    out.no_panic();
    out
}

/// A build's findings, as (code, file:line:column).
fn findings(out: &Outcome) -> Vec<(String, String)> {
    common::project::diagnostics(out)
        .iter()
        .map(|d| {
            let l = &d["location"];
            (
                d["code"].as_str().unwrap_or("").to_owned(),
                format!(
                    "{}:{}:{}",
                    l["file"].as_str().unwrap_or(""),
                    l["line"],
                    l["column"]
                ),
            )
        })
        .collect()
}

/// The findings of `build` in `dir`, and the exit code.
fn build(dir: &Path) -> (Option<i32>, Vec<(String, String)>) {
    let out = build_json(dir, &dir.join("out"));
    (out.code, findings(&out))
}

fn is_scaling_code(code: &str) -> bool {
    code.starts_with("hpa/") || code.starts_with("pdb/")
}

fn service(name: &str, port: u16, replicas: &str, extra: &str) -> String {
    format!(
        "  {name}:
    phase: apps
    image: ghcr.io/shop/{name}
    port: {port}
    callableFromAll: true
    health: {{ path: /healthz }}
    replicas: {replicas}
    resources:
      requests: {{ cpu: 50m, memory: 128Mi }}
      limits: {{ cpu: 100m, memory: 256Mi }}
{extra}"
    )
}

#[test]
fn the_rendered_hpas_and_budgets_leave_one_eviction_at_every_size() {
    // The renderer writes a budget of replicas.min - 1 beside an HPA starting at replicas.min, and
    // no spec.replicas on what an HPA scales.
    let dir = project(&format!(
        "{}{}{}",
        service("api", 8080, "{ min: 2, max: 4 }", ""),
        service("web", 8081, "{ min: 3 }", ""),
        service("worker", 8082, "{ min: 1, max: 3 }", "")
    ));
    let (code, findings) = build(dir.path());
    let ours: Vec<_> = findings
        .iter()
        .filter(|(c, _)| is_scaling_code(c))
        .collect();
    assert!(ours.is_empty(), "{ours:?}");
    assert_eq!(code, Some(0), "{findings:?}");
    let rendered = fs::read_to_string(dir.path().join("out/dev/api.yaml")).unwrap();
    assert!(rendered.contains("kind: PodDisruptionBudget"), "{rendered}");
    assert!(
        rendered.contains("kind: HorizontalPodAutoscaler"),
        "{rendered}"
    );
}

#[test]
fn a_patched_budget_is_reported_at_the_catalogue_and_a_zero_minimum_refused() {
    let patch = "    patches:
      - target: { kind: PodDisruptionBudget }
        jsonPatch:
          - op: replace
            path: /spec/minAvailable
            value: 2
";
    let dir = project(&format!(
        "{}{}",
        service("api", 8080, "{ min: 2, max: 4 }", patch),
        service("worker", 8081, "{ min: 0, max: 3 }", "")
    ));
    // The catalogue refuses the zero minimum before anything renders.
    let (code, findings) = build(dir.path());
    assert_eq!(code, Some(2), "{findings:?}");
    assert!(
        findings.contains(&(
            "input/replicas".to_owned(),
            "catalogue.yaml:29:22".to_owned()
        )),
        "{findings:?}"
    );
    let dir = project(&format!(
        "{}{}",
        service("api", 8080, "{ min: 2, max: 4 }", patch),
        service("worker", 8081, "{ min: 1, max: 3 }", "")
    ));
    // A warning: the build goes through.
    let (code, findings) = build(dir.path());
    assert_eq!(code, Some(0), "{findings:?}");
    // The patch's value, and the catalogue's replicas.min.
    assert!(
        findings.contains(&(
            "pdb/blocks-drain-at-min".to_owned(),
            "catalogue.yaml:22:13".to_owned()
        )),
        "{findings:?}"
    );
    assert!(
        !findings.iter().any(|(code, _)| code.starts_with("hpa/")),
        "{findings:?}"
    );
}

#[test]
fn a_patch_that_adds_the_second_budget_amount_fails_the_build_at_the_patch() {
    let patch = "    patches:
      - target: { kind: PodDisruptionBudget }
        merge:
          spec:
            maxUnavailable: 1
";
    let dir = project(&service("api", 8080, "{ min: 2, max: 4 }", patch));
    let (code, findings) = build(dir.path());
    assert_eq!(code, Some(1), "{findings:?}");
    let ours: Vec<_> = findings
        .iter()
        .filter(|(c, _)| is_scaling_code(c))
        .collect();
    // Reported once, at the patch's `maxUnavailable` (the budget rendered `minAvailable: 1`).
    assert_eq!(
        ours,
        [&(
            "pdb/both-budgets".to_owned(),
            "catalogue.yaml:21:13".to_owned()
        )],
        "{findings:?}"
    );
}

#[test]
fn the_repository_renders_no_hpa_or_budget_finding() {
    let scratch = tempfile::tempdir().unwrap();
    let out_dir = scratch.path().join("rendered");
    let out = build_json(crate_root(), &out_dir);
    let ours: Vec<_> = findings(&out)
        .into_iter()
        .filter(|(c, _)| is_scaling_code(c))
        .collect();
    assert!(ours.is_empty(), "{ours:?}\n{}", out.all());
    // prod renders both, so the rules had something to judge.
    let prod = fs::read_to_string(out_dir.join("prod/api-gateway.yaml")).unwrap();
    assert!(prod.contains("kind: PodDisruptionBudget"), "{prod}");
    assert!(prod.contains("kind: HorizontalPodAutoscaler"), "{prod}");
}
