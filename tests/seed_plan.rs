//! The planned deployment exactly as the platform's own document (seeds 002) wrote it: shipshape
//! must find its real defects, and say where they are.

use assert_cmd::Command;

fn build_report(format: &str) -> (i32, String) {
    let out = tempfile::tempdir().unwrap();
    let output = Command::cargo_bin("shipshape")
        .unwrap()
        .args([
            "build",
            "--root",
            "tests/fixtures/seed-plan",
            "--color",
            "never",
            "--format",
            format,
            "--out",
        ])
        .arg(out.path().join("rendered"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        !out.path().join("rendered").exists(),
        "a plan with errors must not be written"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let text = stderr.replace(&out.path().display().to_string(), "<out>");
    (output.status.code().unwrap_or(-1), text)
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
    insta::assert_snapshot!("seed_plan_short", short);
    let (_, human) = build_report("human");
    insta::assert_snapshot!("seed_plan_human", human);
}
