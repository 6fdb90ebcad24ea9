//! One condition, one code, one doc, one fixture: every lint code's bad example (the fixture its
//! documentation shows) produces the code, and its good example does not; every code outside the
//! lint rules that the source can report is in the registry `shipshape explain` reads.

mod common;

use common::{crate_root, run_shipshape};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The codes a run of shipshape on one example reports.
fn codes_of_example(path: &str) -> BTreeSet<String> {
    let file = crate_root().join("tests/fixtures/lint").join(path);
    let out = if file.file_name().is_some_and(|n| n == "catalogue.yaml") {
        // A catalogue project: the code fires on what shipshape renders from it.
        let dir = file.parent().unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let target = scratch.path().join("rendered");
        let target = target.to_str().unwrap();
        run_shipshape(
            dir,
            &["build", "--out", target, "--format", "json"],
            &[common::FIXTURE_REPOSITORIES],
        )
    } else {
        let rel = file.strip_prefix(crate_root()).unwrap().to_str().unwrap();
        let args_file = file.with_extension("args");
        let extra = fs::read_to_string(&args_file).unwrap_or_default();
        let mut args = vec!["lint", rel, "--format", "json"];
        args.extend(extra.split_whitespace());
        run_shipshape(crate_root(), &args, &[common::FIXTURE_REPOSITORIES])
    };
    out.no_panic();
    assert!(
        matches!(out.code, Some(0 | 1)),
        "{path}: exit {:?}\n{}",
        out.code,
        out.all()
    );
    let report: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{path}: not JSON ({e}):\n{}", out.all()));
    report["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["code"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn every_code_fires_on_its_bad_example_and_not_on_its_good_one() {
    let mut problems = Vec::new();
    for code in shipshape::lint::all_codes() {
        let bad = codes_of_example(code.bad.path);
        if !bad.contains(code.id) {
            problems.push(format!(
                "{}: its bad example {} reports {bad:?}",
                code.id, code.bad.path
            ));
        }
        let good = codes_of_example(code.good.path);
        if good.contains(code.id) {
            problems.push(format!(
                "{}: its good example {} reports it",
                code.id, code.good.path
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn codes_are_unique_and_named_after_their_rule() {
    let mut seen = BTreeSet::new();
    for rule in shipshape::lint::rules::all() {
        assert!(!rule.codes.is_empty(), "{} has no code", rule.id);
        for code in rule.codes {
            assert_eq!(
                code.rule(),
                rule.id,
                "{} is listed under {}",
                code.id,
                rule.id
            );
            let condition = code.condition();
            assert!(
                !condition.is_empty()
                    && condition
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{}: the condition is kebab-case",
                code.id
            );
            // The suppression annotation's name part holds at most 63 characters.
            assert!(
                format!("suppress.{}", code.suppression_key()).len() <= 63,
                "{}: too long for an annotation name",
                code.id
            );
            assert!(seen.insert(code.id), "{} twice", code.id);
        }
    }
    for code in shipshape::codes::CODES {
        assert!(seen.insert(code.id), "{} twice", code.id);
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// String literals in the source that look like a non-lint code: `"input/..."`, `"output/..."`,
/// `"usage/..."`.
fn codes_in_source() -> BTreeSet<String> {
    let mut files = Vec::new();
    rust_files(&crate_root().join("src"), &mut files);
    let mut found = BTreeSet::new();
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        for prefix in ["\"input/", "\"output/", "\"usage/", "\"output-schema/"] {
            for (at, _) in text.match_indices(prefix) {
                let rest = &text[at + 1..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_lowercase() || c == '/' || c == '-'))
                    .unwrap_or(rest.len());
                // Only a whole literal is a code (not a prefix test like "output/").
                if rest[end..].starts_with('"') && !rest[..end].ends_with('/') {
                    found.insert(rest[..end].to_owned());
                }
            }
        }
    }
    found
}

#[test]
fn every_code_the_source_reports_is_registered() {
    let found = codes_in_source();
    assert!(found.len() > 40, "the scan finds the codes: {found:?}");
    let missing: Vec<&String> = found
        .iter()
        .filter(|c| shipshape::codes::find(c).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "add these codes to src/codes.rs (summary and fix): {missing:?}"
    );
    for constant in [
        shipshape::commands::check::DRIFT_CODE,
        shipshape::commands::lint::SCHEMA_CODE,
        "output-schema",
        shipshape::lint::SUPPRESSION_CODE,
    ] {
        assert!(shipshape::codes::find(constant).is_some(), "{constant}");
    }
}
