//! Inputs the fuzz targets (fuzz/, docs/fuzzing.md) found or that were built by hand against the
//! same harnesses, run through the real binary: each must end in a clean success or error (exit
//! code 0, 1 or 2), never a panic or a signal.
//!
//! `tests/fixtures/fuzz-regressions/<target>/<file>` holds the raw fuzzer input, exactly as the
//! target saw it (a crash artifact from `fuzz/artifacts/<target>/` can be copied in as it is):
//!
//! - `load`: first byte `e`: the rest is `environments/dev.yaml` beside `base/catalogue.yaml`;
//!   otherwise the rest is `catalogue.yaml` beside `base/environment.yaml`. Run as `build`.
//! - `build_pipeline`: the whole input is `catalogue.yaml` beside `base/environment.yaml`. Run
//!   as `build`.
//! - `lint_reader`: the whole input is one file given to `lint`.
//!
//! A sibling `<stem>.exit` (`deep.yaml` -> `deep.exit`, `crash-1a2b` -> `crash-1a2b.exit`) pins the
//! exact exit code.

use assert_cmd::Command;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz-regressions")
}

/// Inputs of one target, sorted, without the `.exit` siblings.
fn inputs(target: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(root().join(target))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.is_file() && p.extension().is_none_or(|e| e != "exit"));
    files.sort();
    files
}

fn run(target: &str, input: &Path) -> Result<(), String> {
    let bytes = fs::read(input).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let base = |name: &str| fs::read(root().join("base").join(name)).unwrap();
    let mut cmd = Command::cargo_bin("shipshape").unwrap();
    cmd.current_dir(tmp.path()).env_remove("NO_COLOR");
    for var in [
        "SHIPSHAPE_MAX_FILE_BYTES",
        "SHIPSHAPE_MAX_NODES",
        "SHIPSHAPE_MAX_DEPTH",
        "SHIPSHAPE_MAX_SCALAR_BYTES",
    ] {
        cmd.env_remove(var);
    }
    if target == "lint_reader" {
        fs::write(tmp.path().join("input.yaml"), &bytes).unwrap();
        cmd.args(["lint", "input.yaml"]);
    } else {
        let (catalogue, environment) = match bytes.split_first() {
            Some((b'e', rest)) if target == "load" => (base("catalogue.yaml"), rest.to_vec()),
            Some((_, rest)) if target == "load" => (rest.to_vec(), base("environment.yaml")),
            _ => (bytes.clone(), base("environment.yaml")),
        };
        fs::create_dir(tmp.path().join("environments")).unwrap();
        fs::write(tmp.path().join("catalogue.yaml"), catalogue).unwrap();
        fs::write(tmp.path().join("environments/dev.yaml"), environment).unwrap();
        cmd.args(["build", "--root", "."]);
    }
    let out = cmd.args(["--color", "never"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code();
    assert!(
        !stderr.contains("Usage:"),
        "the harness passed bad arguments:\n{stderr}"
    );
    if stderr.contains("panicked") {
        return Err(format!("panicked:\n{stderr}"));
    }
    let Some(code) = code else {
        return Err(format!("killed by a signal ({:?}):\n{stderr}", out.status));
    };
    if !matches!(code, 0..=2) {
        return Err(format!("exit code {code}:\n{stderr}"));
    }
    let pinned = input.with_extension("exit");
    let pinned = pinned.is_file().then_some(pinned);
    if let Some(p) = pinned {
        let expected: i32 = fs::read_to_string(&p).unwrap().trim().parse().unwrap();
        if code != expected {
            return Err(format!("exit code {code}, pinned {expected}:\n{stderr}"));
        }
    }
    Ok(())
}

fn check(target: &str) {
    let files = inputs(target);
    assert!(
        !files.is_empty(),
        "no inputs in tests/fixtures/fuzz-regressions/{target}"
    );
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| {
            run(target, f)
                .err()
                .map(|e| format!("{}: {e}", f.display()))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn load_regressions() {
    check("load");
}

#[test]
fn build_pipeline_regressions() {
    check("build_pipeline");
}

#[test]
fn lint_reader_regressions() {
    check("lint_reader");
}
