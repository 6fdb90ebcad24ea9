//! Bad catalogues and environment files: each fixture under `tests/fixtures/bad/<case>/` is a
//! complete project that is valid except for one defect. Every case must fail with exit code 2,
//! write nothing, and report a diagnostic whose text is pinned by an insta snapshot.
//!
//! The fixtures are copied into a temporary directory first, so running the tests never writes
//! into the repository. The temporary path is replaced by `<root>` in the snapshots.

mod common;

use common::Outcome;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

const EXIT_BAD_INPUT: i32 = 2;

fn fixtures_dir() -> PathBuf {
    common::fixture("bad")
}

/// A fixture copied into a fresh temporary directory.
fn project(case: &str) -> TempDir {
    common::scratch_copy(&fixtures_dir().join(case))
}

/// Runs `shipshape build --root <root> <extra>`, with the temporary root shown as `<root>`.
fn build(root: &Path, extra: &[&str]) -> Outcome {
    let root_arg = root
        .to_str()
        .expect("the temporary directory's path is UTF-8");
    let args = [&["build", "--root", root_arg], extra].concat();
    common::run_shipshape(common::crate_root(), &args, &[]).normalised(root, "<root>")
}

/// Runs the build on a fixture and checks the contract of a bad-input failure.
fn fails_as_bad_input(case: &str, extra: &[&str]) -> Outcome {
    let tmp = project(case);
    let out = build(tmp.path(), extra);
    assert_eq!(
        out.code,
        Some(EXIT_BAD_INPUT),
        "{case}: expected exit code 2\nstdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    assert!(
        !tmp.path().join("rendered").exists(),
        "{case}: a failed build created rendered/"
    );
    assert!(
        out.stderr
            .trim_end()
            .ends_with("in the input; nothing was written"),
        "{case}: stderr does not end with the 'nothing was written' summary:\n{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("panicked"),
        "{case}: panic:\n{}",
        out.stderr
    );
    out
}

fn check_case(case: &str) {
    let out = fails_as_bad_input(case, &[]);
    insta::assert_snapshot!(case, out.stderr);
}

macro_rules! bad_input_cases {
    ($($test:ident => $case:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check_case($case);
            }
        )*
        /// Every bad-input fixture, so that a fixture without a test is noticed.
        const BAD_INPUT_CASES: &[&str] = &[$($case),*];
    };
}

bad_input_cases! {
    unknown_field => "unknown-field",
    wrong_type => "wrong-type",
    bad_quantity => "bad-quantity",
    bad_cpu => "bad-cpu",
    bad_name => "bad-name",
    bad_enum => "bad-enum",
    unknown_phase => "unknown-phase",
    unknown_dependency => "unknown-dependency",
    self_dependency => "self-dependency",
    duplicate_key => "duplicate-key",
    override_unknown_service => "override-unknown-service",
    env_override_bad_quantity => "env-override-bad-quantity",
    empty_file => "empty-file",
    not_yaml => "not-yaml",
    binary_garbage => "binary-garbage",
    tab_indentation => "tab-indentation",
    not_a_mapping => "not-a-mapping",
    second_document => "second-document",
    unknown_batch => "unknown-batch",
    replicas_max_below_min => "replicas-max-below-min",
    untagged_image => "untagged-image",
    bad_environment_file_name => "bad-environment-file-name",
    unknown_lint_rule => "unknown-lint-rule",
    bad_severity => "bad-severity",
    percent_without_sign => "percent-without-sign",
    missing_required_field => "missing-required-field",
    env_unknown_field => "env-unknown-field",
    env_bad_capacity => "env-bad-capacity",
    env_value_not_string => "env-value-not-string",
    service_name_digits => "service-name-digits",
    service_name_leading_digit => "service-name-leading-digit",
    argocd_blank_revision => "argocd-blank-revision",
    argocd_padded_repo_url => "argocd-padded-repo-url",
    argocd_control_character => "argocd-control-character",
    security_without_reason => "security-without-reason",
    env_security_without_reason => "env-security-without-reason",
    request_above_limit => "request-above-limit",
    env_limit_below_request => "env-limit-below-request",
}

/// Fixtures that must build: the base every bad case was derived from, and the injection case.
const VALID_CASES: &[&str] = &["valid", "injection"];

#[test]
fn every_fixture_has_a_test() {
    let mut on_disk: Vec<String> = fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut tested: Vec<String> = BAD_INPUT_CASES
        .iter()
        .chain(VALID_CASES)
        .map(|s| (*s).to_owned())
        .collect();
    tested.sort();
    assert_eq!(on_disk, tested);
}

#[test]
fn valid_base_builds_cleanly() {
    let tmp = project("valid");
    let out = build(tmp.path(), &[]);
    assert_eq!(out.code, Some(0), "stderr:\n{}", out.stderr);
    assert!(out.stderr.contains("; 0 errors,"), "{}", out.stderr);
    assert!(tmp.path().join("rendered/dev").is_dir());
}

/// `imageRegistry` goes in front of an image that names no registry and keeps its repository
/// path (`bitnami/redis` is not `redis`); an image that names a registry host keeps it.
#[test]
fn image_registry_keeps_the_repository_path() {
    let tmp = project("valid");
    let catalogue = tmp.path().join("catalogue.yaml");
    let text = fs::read_to_string(&catalogue).unwrap();
    let text = text
        .replace("image: web\n", "image: bitnami/redis:7.4\n")
        .replace(
            "image: docker.io/library/postgres:16.4",
            "image: registry.local:5000/library/postgres:16.4",
        );
    fs::write(&catalogue, text).unwrap();
    let out = build(tmp.path(), &[]);
    assert_eq!(out.code, Some(0), "stderr:\n{}", out.stderr);
    let web = fs::read_to_string(tmp.path().join("rendered/dev/web.yaml")).unwrap();
    assert!(
        web.contains("image: ghcr.io/shop/bitnami/redis:7.4\n"),
        "{web}"
    );
    let postgres = fs::read_to_string(tmp.path().join("rendered/dev/postgres.yaml")).unwrap();
    assert!(
        postgres.contains("image: registry.local:5000/library/postgres:16.4\n"),
        "{postgres}"
    );
    let api = fs::read_to_string(tmp.path().join("rendered/dev/api.yaml")).unwrap();
    assert!(api.contains("image: ghcr.io/shop/api:1.0.0\n"), "{api}");
}

// ---------------------------------------------------------------------------------------------
// Machine-readable output.

/// `--format json` puts the result on stdout; every diagnostic must carry a usable location.
fn check_json_case(case: &str) {
    let out = fails_as_bad_input(case, &["--format", "json"]);
    let mut report: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{case}: stdout is not JSON ({e}):\n{}", out.stdout));
    let diagnostics = report["diagnostics"]
        .as_array()
        .unwrap_or_else(|| panic!("{case}: no `diagnostics` array:\n{}", out.stdout));
    assert!(!diagnostics.is_empty(), "{case}: empty `diagnostics`");
    for d in diagnostics {
        assert_eq!(d["severity"], "error", "{case}: {d}");
        assert!(
            d["code"].as_str().is_some_and(|c| c.starts_with("input/")),
            "{case}: {d}"
        );
        let loc = &d["location"];
        assert!(
            loc["file"]
                .as_str()
                .is_some_and(|f| f.starts_with("<root>/")),
            "{case}: location.file is not in the project: {d}"
        );
        assert!(
            loc["line"].as_u64().is_some_and(|n| n >= 1),
            "{case}: location.line: {d}"
        );
        assert!(
            loc["column"].as_u64().is_some_and(|n| n >= 1),
            "{case}: location.column: {d}"
        );
    }
    assert!(
        !out.stdout.contains("nothing was written"),
        "{case}: the human summary leaked into JSON stdout"
    );
    // Keep the snapshot stable across version bumps.
    if report.get("toolVersion").is_some() {
        report["toolVersion"] = Value::from("<version>");
    }
    insta::assert_snapshot!(
        format!("{case}.json"),
        serde_json::to_string_pretty(&report).unwrap()
    );
}

#[test]
fn json_unknown_field() {
    check_json_case("unknown-field");
}

#[test]
fn json_bad_quantity() {
    check_json_case("bad-quantity");
}

#[test]
fn json_duplicate_key() {
    check_json_case("duplicate-key");
}

#[test]
fn json_override_unknown_service() {
    check_json_case("override-unknown-service");
}

#[test]
fn json_not_yaml() {
    check_json_case("not-yaml");
}

#[test]
fn json_empty_file() {
    check_json_case("empty-file");
}

#[test]
fn json_argocd_padded_repo_url() {
    check_json_case("argocd-padded-repo-url");
}

#[test]
fn short_format_is_one_line_per_problem() {
    let out = fails_as_bad_input("unknown-dependency", &["--format", "short"]);
    // The findings on stdout, then the closing line on stderr.
    insta::assert_snapshot!("unknown-dependency.short", out.all());
}

// ---------------------------------------------------------------------------------------------
// Nothing is written, and an existing output tree is left alone.

/// Every file under `dir` (relative path, bytes), and every directory (with `None`): unlike
/// [`common::tree`], a directory that appears or goes counts as a change.
fn tree_with_dirs(dir: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Option<Vec<u8>>>) {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if entry.file_type().unwrap().is_dir() {
                out.insert(format!("{rel}/"), None);
                walk(base, &path, out);
            } else {
                out.insert(rel, Some(fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Modification times, now, of the files (not the directories) of a listing of `dir`.
fn mtimes(dir: &Path, listing: &BTreeMap<String, Option<Vec<u8>>>) -> Vec<std::time::SystemTime> {
    listing
        .keys()
        .filter(|k| !k.ends_with('/'))
        .map(|k| fs::metadata(dir.join(k)).unwrap().modified().unwrap())
        .collect()
}

#[test]
fn failed_build_leaves_existing_output_byte_for_byte_unchanged() {
    let tmp = project("valid");
    let root = tmp.path();
    let first = build(root, &[]);
    assert_eq!(first.code, Some(0), "base build failed:\n{}", first.stderr);
    let before = tree_with_dirs(&root.join("rendered"));
    assert!(
        before.keys().any(|k| k.ends_with(".yaml")),
        "base build wrote no manifests: {:?}",
        before.keys()
    );
    let top_before = top_level(root);
    let mtimes_before = mtimes(&root.join("rendered"), &before);

    // Break the catalogue in two different ways (a parse error and a semantic error) and in
    // the environment file; none of them may touch rendered/.
    for broken in ["not-yaml", "unknown-dependency", "override-unknown-service"] {
        let source = fixtures_dir().join(broken);
        fs::copy(source.join("catalogue.yaml"), root.join("catalogue.yaml")).unwrap();
        fs::copy(
            source.join("environments/dev.yaml"),
            root.join("environments/dev.yaml"),
        )
        .unwrap();
        let out = build(root, &[]);
        assert_eq!(out.code, Some(EXIT_BAD_INPUT), "{broken}:\n{}", out.stderr);
        assert!(
            out.stderr.contains("nothing was written"),
            "{broken}:\n{}",
            out.stderr
        );
        let after = tree_with_dirs(&root.join("rendered"));
        assert_eq!(
            before.keys().collect::<Vec<_>>(),
            after.keys().collect::<Vec<_>>(),
            "{broken}: the listing of rendered/ changed"
        );
        for (path, bytes) in &before {
            assert!(after[path] == *bytes, "{broken}: {path} changed");
        }
        let mtimes_after = mtimes(&root.join("rendered"), &before);
        assert_eq!(
            mtimes_before, mtimes_after,
            "{broken}: a file was rewritten"
        );
    }
    // No stray temporary or backup files next to rendered/ either.
    assert_eq!(top_level(root), top_before);
}

fn top_level(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// ---------------------------------------------------------------------------------------------
// Injection: values that look like YAML structure must stay one scalar.

/// Every string scalar anywhere in `v`.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Object(map) => map.iter().for_each(|(k, i)| {
            out.push(k.clone());
            strings(i, out);
        }),
        _ => {}
    }
}

#[test]
fn injected_yaml_stays_one_scalar() {
    let tmp = project("injection");
    let root = tmp.path();
    let out = build(root, &[]);
    assert_eq!(
        out.code,
        Some(0),
        "the injection fixture must build:\n{}",
        out.stderr
    );

    let env_value = "x\n---\nkind: Secret\nmetadata: { name: pwned }";
    let health_path = "/healthz\"\n---\nkind: Secret";
    let mut documents = Vec::new();
    let rendered = root.join("rendered");
    let files: Vec<PathBuf> = common::tree(&rendered)
        .into_keys()
        .map(|rel| rendered.join(rel))
        .collect();
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}", file.display()));
        for doc in docs.into_iter().filter(|d| !d.is_null()) {
            documents.push((file.clone(), doc));
        }
    }
    assert!(!documents.is_empty());
    for (file, doc) in &documents {
        assert_ne!(
            doc["kind"],
            "Secret",
            "{}: an injected Secret document",
            file.display()
        );
        assert!(
            doc.get("apiVersion").is_some() || doc.get("resources").is_some(),
            "{}: a document that is not a Kubernetes object: {doc}",
            file.display()
        );
        let mut all = Vec::new();
        strings(doc, &mut all);
        assert!(
            !all.iter().any(|s| s == "pwned"),
            "{}: injected key/value became structure: {doc}",
            file.display()
        );
    }
    let mut all = Vec::new();
    for (_, doc) in &documents {
        strings(doc, &mut all);
    }
    assert!(
        all.iter().any(|s| s == env_value),
        "the env var value is not one intact scalar in the output"
    );
    assert!(
        all.iter().any(|s| s == health_path),
        "the health path is not one intact scalar in the output"
    );
    // Same files and the same objects (kind/name) as the valid base the fixture came from.
    let base = project("valid");
    let base_out = build(base.path(), &[]);
    assert_eq!(base_out.code, Some(0), "{}", base_out.stderr);
    assert_eq!(objects(&rendered), objects(&base.path().join("rendered")));
}

/// `file: Kind/name` for every document under a rendered tree.
fn objects(rendered: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for (path, bytes) in common::tree(rendered) {
        let text = String::from_utf8(bytes).unwrap();
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
            .unwrap_or_else(|e| panic!("{path} does not parse: {e}"));
        for doc in docs.into_iter().filter(|d| !d.is_null()) {
            out.push(format!(
                "{path}: {}/{}",
                doc["kind"].as_str().unwrap_or("?"),
                doc["metadata"]["name"].as_str().unwrap_or("?")
            ));
        }
    }
    out
}

/// A file saved with Windows line ends (CRLF) is reported at the same line and column as the
/// same file with LF, in the human excerpt, the short form and the JSON report, for errors in
/// the catalogue and in an environment file.
#[test]
fn crlf_files_are_reported_at_the_same_lines_and_columns() {
    for case in ["bad-quantity", "env-override-bad-quantity", "unknown-field"] {
        let lf = project(case);
        let crlf = project(case);
        for entry in walkdir::WalkDir::new(crlf.path()) {
            let entry = entry.unwrap();
            if entry.file_type().is_file() {
                let text = fs::read_to_string(entry.path()).unwrap();
                fs::write(entry.path(), text.replace('\n', "\r\n")).unwrap();
            }
        }
        for format in [&["--format", "short"][..], &["--format", "json"], &[]] {
            let a = build(lf.path(), format);
            let b = build(crlf.path(), format);
            assert_eq!(b.code, Some(EXIT_BAD_INPUT), "{case}: {}", b.stderr);
            assert_eq!(
                a.all(),
                b.all().replace('\r', ""),
                "{case} {format:?}: CRLF moved the reported place"
            );
        }
    }
}
