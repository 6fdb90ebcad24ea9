//! The repository's own catalogue: the committed rendered/ tree is exactly what shipshape renders,
//! rendering is deterministic, and every manifest passes its schema and every rule.

mod common;

use common::{crate_root, run_shipshape, tree};
use std::path::Path;

#[test]
fn committed_rendered_tree_is_up_to_date() {
    let out = run_shipshape(crate_root(), &["check"], &[]);
    let stderr = out.stderr;
    assert_eq!(
        out.code,
        Some(0),
        "rendered/ is stale or the catalogue has findings; run `cargo run -- build` and commit:\n{stderr}"
    );
    assert!(stderr.contains("is up to date"), "{stderr}");
    // The platform's own catalogue lints clean: not even a warning.
    assert!(stderr.contains("0 errors, 0 warnings, 0 infos"), "{stderr}");
}

#[test]
fn two_builds_are_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let render = |out: &Path| {
        let out = out
            .to_str()
            .expect("the temporary directory's path is UTF-8");
        let built = run_shipshape(crate_root(), &["build", "--out", out], &[]);
        assert_eq!(built.code, Some(0), "{}", built.stderr);
    };
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    render(&a);
    render(&b);
    let (la, lb) = (tree(&a), tree(&b));
    assert!(
        la.len() > 80,
        "expected the whole platform, got {} files",
        la.len()
    );
    assert_eq!(la, lb);
    // And both equal the committed tree.
    assert_eq!(la, tree(&crate_root().join("rendered")));
}

#[test]
fn every_rendered_manifest_validates_against_its_schema() {
    let mut checked = 0;
    for entry in walkdir::WalkDir::new(crate_root().join("rendered"))
        .into_iter()
        .filter_map(Result::ok)
    {
        if !entry.file_type().is_file()
            || entry
                .path()
                .file_name()
                .is_some_and(|n| n == "kustomization.yaml")
        {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text).unwrap();
        for doc in docs {
            let violations = shipshape::manifest::schema::validate(&doc).unwrap_or_else(|| {
                panic!(
                    "no schema for {} in {}",
                    doc["kind"],
                    entry.path().display()
                )
            });
            assert!(
                violations.is_empty(),
                "{}: {violations:?}",
                entry.path().display()
            );
            checked += 1;
        }
    }
    assert!(checked > 200, "only {checked} manifests checked");
}

#[test]
fn schema_validation_rejects_a_broken_manifest() {
    // The check above must be able to fail: an unknown field and a wrong type are caught.
    let bad = serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"replicas": "three", "selector": {}, "template": {}, "colour": "blue"}
    });
    let v = shipshape::manifest::schema::validate(&bad).unwrap();
    let text = format!("{v:?}");
    assert!(text.contains("colour"), "{text}");
    assert!(text.contains("/spec/replicas"), "{text}");
}
