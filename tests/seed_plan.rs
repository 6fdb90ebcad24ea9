//! The planned deployment exactly as the platform's own document (seeds 002) wrote it: shipshape
//! must find its real defects, and say where they are.

mod common;

/// The build's report in `format` (stdout, then stderr: a machine format goes to stdout, the
/// closing line to stderr), with its temporary output directory shown as `<out>`.
fn build_report(format: &str) -> (i32, String) {
    let out = tempfile::tempdir().unwrap();
    let rendered = out.path().join("rendered");
    let args = [
        "build",
        "--root",
        "tests/fixtures/seed-plan",
        "--format",
        format,
        "--out",
        rendered
            .to_str()
            .expect("the temporary directory's path is UTF-8"),
    ];
    let outcome = common::run_shipshape(common::crate_root(), &args, &[]);
    assert!(!rendered.exists(), "a plan with errors must not be written");
    let text = common::normalise_path(&outcome.all(), out.path(), "<out>");
    (outcome.code.unwrap_or(-1), text)
}

#[test]
fn the_seed_plan_has_two_port_clashes_and_an_impossible_gateway() {
    let (code, short) = build_report("short");
    assert_eq!(code, 1, "{short}");
    // Two services on 9015 and two on 9016.
    assert!(
        short.contains("`database-service` and `op-import` both claim port 9015"),
        "{short}"
    );
    assert!(
        short.contains("`scraper-service` and `cache-service` both claim port 9016"),
        "{short}"
    );
    // The api-gateway (phase 4) depends on every service, including phase-5 ones that depend on it.
    assert!(
        short.contains("dependency cycle: api-gateway -> web -> api-gateway"),
        "{short}"
    );
    assert!(
        short.contains(
            "depends on `cache-service` (phase `utility`, wave 10), which is deployed later"
        ),
        "{short}"
    );
    assert!(short.contains("both start together"), "{short}");
    // The target state "Memory Usage: <50% (target: 45%)" against its own 5888Mi: information.
    assert!(
        short.contains(
            "info[resource-overcommit/target]: memory requests total 5.75Gi (71.9% of capacity), above the 45% target"
        ),
        "{short}"
    );
    insta::assert_snapshot!("seed_plan_short", short);
    let (_, human) = build_report("human");
    insta::assert_snapshot!("seed_plan_human", human);
}
