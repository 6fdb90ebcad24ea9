//! Patches through the real binary: each `tests/fixtures/patches-<case>/` is a project whose
//! services patch their rendered resources. `patches-ok` builds; every other case is
//! `patches-ok` with one defect, and its report (message, file, line and column) is pinned by
//! an insta snapshot. Fixtures are copied to a temporary directory, shown as `<root>`.

mod common;

use common::Outcome;
use std::path::Path;
use tempfile::TempDir;

fn project(case: &str) -> TempDir {
    common::scratch_copy(&common::fixture(&format!("patches-{case}")))
}

fn run(root: &Path, command: &str) -> Outcome {
    let root_arg = root.to_str().expect("the temporary path is UTF-8");
    common::run_shipshape(common::crate_root(), &[command, "--root", root_arg], &[])
        .normalised(root, "<root>")
}

/// The document of `kind` in a rendered file, from its `kind:` line to the next separator.
fn document<'a>(text: &'a str, kind: &str) -> &'a str {
    let start = text
        .find(&format!("\nkind: {kind}\n"))
        .unwrap_or_else(|| panic!("no {kind} in:\n{text}"));
    let rest = &text[start + 1..];
    &rest[..rest.find("\n---\n").map_or(rest.len(), |end| end + 1)]
}

#[test]
fn strategic_merge_adds_an_env_var_and_a_sidecar_and_the_environment_patches_after_it() {
    let tmp = project("ok");
    let out = run(tmp.path(), "build");
    out.no_panic();
    assert_eq!(out.code, Some(0), "{}", out.all());
    let api = std::fs::read_to_string(tmp.path().join("rendered/dev/api.yaml")).unwrap();
    insta::assert_snapshot!("ok-api-deployment", document(&api, "Deployment"));
    // The environment's JSON Patch ran on the catalogue patch's result: it replaced the
    // variable the merge added.
    assert!(api.contains("value: http://collector.dev:4317"), "{api}");
    assert!(!api.contains("value: http://localhost:4317"), "{api}");
    // What build wrote is what check renders.
    let checked = run(tmp.path(), "check");
    assert_eq!(checked.code, Some(0), "{}", checked.all());
}

#[test]
fn json_patch_tests_then_adds() {
    let tmp = project("ok");
    let out = run(tmp.path(), "build");
    assert_eq!(out.code, Some(0), "{}", out.all());
    let web = std::fs::read_to_string(tmp.path().join("rendered/dev/web.yaml")).unwrap();
    insta::assert_snapshot!("ok-web-service", document(&web, "Service"));
}

#[test]
fn a_patch_changes_a_document_an_extra_template_added() {
    let tmp = project("extra");
    let out = run(tmp.path(), "build");
    assert_eq!(out.code, Some(0), "{}", out.all());
    let web = std::fs::read_to_string(tmp.path().join("rendered/dev/web.yaml")).unwrap();
    insta::assert_snapshot!("extra-web-configmap", document(&web, "ConfigMap"));
}

/// Runs `build` on a broken case: it must fail with `code`, write nothing and not panic.
fn fails(case: &str, code: i32) -> String {
    let tmp = project(case);
    let out = run(tmp.path(), "build");
    out.no_panic();
    assert_eq!(out.code, Some(code), "{case}:\n{}", out.all());
    assert!(
        !tmp.path().join("rendered").exists(),
        "{case}: a failed build wrote rendered/"
    );
    out.stderr
}

#[test]
fn a_patch_that_targets_nothing_is_an_error_at_its_target() {
    let stderr = fails("target-missing", 2);
    // One error: the environment's patch of the same resource is not tried after it.
    assert_eq!(stderr.matches("input/patch").count(), 1, "{stderr}");
    insta::assert_snapshot!("target-missing", stderr);
}

#[test]
fn the_json_report_locates_a_patch_error_in_its_file() {
    let tmp = project("bad-path");
    let root_arg = tmp.path().to_str().unwrap();
    let out = common::run_shipshape(
        common::crate_root(),
        &["build", "--root", root_arg, "--format", "json"],
        &[],
    )
    .normalised(tmp.path(), "<root>");
    assert_eq!(out.code, Some(2), "{}", out.all());
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    insta::assert_snapshot!(
        "bad-path.json",
        serde_json::to_string_pretty(&report).unwrap()
    );
}

#[test]
fn a_path_that_does_not_exist_is_an_error_at_the_path() {
    insta::assert_snapshot!("bad-path", fails("bad-path", 2));
}

#[test]
fn a_mapping_where_the_target_has_a_number_is_a_type_error() {
    insta::assert_snapshot!("type", fails("type", 2));
}

#[test]
fn a_malformed_pointer_is_refused_when_the_catalogue_is_read() {
    insta::assert_snapshot!("bad-pointer", fails("bad-pointer", 2));
}

#[test]
fn a_finding_about_what_a_patch_added_points_at_the_patch() {
    let stderr = fails("lint", 1);
    insta::assert_snapshot!("lint", stderr);
}

#[test]
fn patched_output_is_schema_checked_and_the_finding_points_at_the_patch() {
    insta::assert_snapshot!("schema", fails("schema", 1));
}

#[test]
fn a_secret_a_patch_writes_is_found_at_the_patch_and_masked() {
    let stderr = fails("secret", 1);
    assert!(!stderr.contains("ghp_aBcD"), "the token leaked:\n{stderr}");
    insta::assert_snapshot!("secret", stderr);
}

#[test]
fn a_synthetic_platform_with_a_patch_per_service_builds_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let mut platform = shipshape::synth::generate(60, 7);
    shipshape::synth::add_patches(&mut platform);
    assert_eq!(platform.catalogue.matches("    patches:\n").count(), 60);
    shipshape::synth::write_project(tmp.path(), &platform).unwrap();
    let out = run(tmp.path(), "build");
    assert_eq!(out.code, Some(0), "{}", out.all());
    // Every service's workload got the variable, stateful or not.
    let mut patched = 0;
    for env in ["dev", "prod", "staging"] {
        for entry in std::fs::read_dir(tmp.path().join("rendered").join(env)).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            patched += text.matches("- name: OTEL_SERVICE_NAME").count();
        }
    }
    assert_eq!(patched, 3 * 60);
}

#[test]
fn every_fixture_has_a_test() {
    let mut on_disk: Vec<String> = std::fs::read_dir(common::crate_root().join("tests/fixtures"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("patches-"))
        .collect();
    on_disk.sort();
    let tested = [
        "patches-bad-path",
        "patches-bad-pointer",
        "patches-extra",
        "patches-lint",
        "patches-ok",
        "patches-schema",
        "patches-secret",
        "patches-target-missing",
        "patches-type",
    ];
    assert_eq!(on_disk, tested);
}
