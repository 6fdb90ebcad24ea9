//! A scratch copy of a small valid project, edited and built through the binary, and what it
//! rendered read back: the steps most catalogue tests are made of.

use serde_json::Value;
use std::fs;
use std::path::Path;
use tempfile::TempDir;

/// A scratch copy of `tests/fixtures/bad/valid`, a project that builds clean.
pub fn valid() -> TempDir {
    super::scratch_copy(&super::fixture("bad").join("valid"))
}

/// Replaces the one occurrence of `from` in `file` (relative to `root`) by `to`.
pub fn edit(root: &Path, file: &str, from: &str, to: &str) {
    let path = root.join(file);
    let text = fs::read_to_string(&path).unwrap();
    assert_eq!(text.matches(from).count(), 1, "{file}: `{from}`");
    fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

pub fn append(root: &Path, file: &str, text: &str) {
    let path = root.join(file);
    let mut all = fs::read_to_string(&path).unwrap();
    all.push_str(text);
    fs::write(&path, all).unwrap();
}

/// `shipshape build --root ROOT`, run from the crate root.
pub fn build(root: &Path) -> super::Outcome {
    let root_arg = root.to_str().expect("UTF-8 temporary path");
    super::run_shipshape(super::crate_root(), &["build", "--root", root_arg], &[])
}

/// `shipshape COMMAND --root ROOT --format FORMAT`, run from the crate root; it must not panic.
pub fn run_as(root: &Path, command: &[&str], format: &str) -> super::Outcome {
    let root_arg = root.to_str().expect("UTF-8 temporary path");
    let mut args = command.to_vec();
    args.extend(["--root", root_arg, "--format", format]);
    let out = super::run_shipshape(super::crate_root(), &args, &[]);
    out.no_panic();
    out
}

/// [`run_as`] with `--format json`.
pub fn run_json(root: &Path, command: &[&str]) -> super::Outcome {
    run_as(root, command, "json")
}

/// The JSON report a `--format json` run printed.
pub fn report(out: &super::Outcome) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", out.all()))
}

/// The findings of that report.
pub fn diagnostics(out: &super::Outcome) -> Vec<Value> {
    match report(out).get_mut("diagnostics").map(Value::take) {
        Some(Value::Array(found)) => found,
        other => panic!("no diagnostics array: {other:?}\n{}", out.all()),
    }
}

/// A build that must succeed.
pub fn build_ok(root: &Path) -> super::Outcome {
    let out = build(root);
    assert_eq!(out.code, Some(0), "stderr:\n{}", out.stderr);
    out
}

/// Every document of a rendered YAML file.
pub fn documents_of(path: &Path) -> Vec<Value> {
    let text = fs::read_to_string(path).unwrap();
    text.split("\n---\n")
        .map(|doc| serde_saphyr::from_str(doc).unwrap())
        .collect()
}

/// Every document of a file the build rendered for `dev`.
pub fn documents(root: &Path, file: &str) -> Vec<Value> {
    documents_of(&root.join("rendered/dev").join(file))
}
