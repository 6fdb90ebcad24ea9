//! Helpers shared by the integration tests. Each file under `tests/` is a crate of its own and
//! takes this module in with `mod common;`; none of them uses every helper.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// Variables the binary reads that would change what it prints or refuses (colour, profiling,
/// the input limits, the write-fault hooks). A developer's shell may set any of them, so every
/// run starts without them and gets only the ones its test passes.
const HOST_VARS: &[&str] = &[
    "NO_COLOR",
    "CLICOLOR_FORCE",
    "SHIPSHAPE_PROFILE",
    "SHIPSHAPE_MAX_FILE_BYTES",
    "SHIPSHAPE_MAX_NODES",
    "SHIPSHAPE_MAX_DEPTH",
    "SHIPSHAPE_MAX_SCALAR_BYTES",
    "SHIPSHAPE_MAX_EXPANDED_BYTES",
    "SHIPSHAPE_TEST_FAIL_AFTER_FILES",
    "SHIPSHAPE_TEST_SLOW_WRITE_MS",
];

/// The crate root: the repository's own catalogue, and where fixture paths start.
pub fn crate_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/fixtures/<name>` under the crate root.
pub fn fixture(name: &str) -> PathBuf {
    crate_root().join("tests/fixtures").join(name)
}

/// Copies the directory `from` to `to` (created if missing), recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A copy of the project directory `from` in a fresh temporary directory, so a test can build
/// and edit it without writing into the repository. The directory goes when the value drops.
pub fn scratch_copy(from: &Path) -> TempDir {
    assert!(from.is_dir(), "no project at {}", from.display());
    let tmp = tempfile::Builder::new()
        .prefix("shipshape-")
        .tempdir()
        .unwrap();
    copy_dir(from, tmp.path());
    tmp
}

/// How a run of the binary ended.
pub struct Outcome {
    /// `None` when a signal ended it.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Stdout then stderr, for checks that do not care which stream a message went to.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Neither a panic nor a signal ended the run.
    pub fn no_panic(&self) {
        assert!(
            !self.stderr.contains("panicked"),
            "shipshape panicked:\n{}",
            self.stderr
        );
        assert!(self.code.is_some(), "killed by a signal:\n{}", self.stderr);
    }

    /// Both streams with `path` replaced by `placeholder` (see [`normalise_path`]).
    pub fn normalised(self, path: &Path, placeholder: &str) -> Outcome {
        Outcome {
            code: self.code,
            stdout: normalise_path(&self.stdout, path, placeholder),
            stderr: normalise_path(&self.stderr, path, placeholder),
        }
    }
}

/// Runs the real `shipshape` binary in `cwd` as `shipshape <args> --color never`, with
/// [`HOST_VARS`] removed and `vars` set. Output is read lossily: a test that feeds the binary
/// garbage still gets text to assert on.
pub fn run_shipshape(cwd: &Path, args: &[&str], vars: &[(&str, &str)]) -> Outcome {
    let mut cmd = assert_cmd::Command::cargo_bin("shipshape").unwrap();
    cmd.current_dir(cwd).args(args).args(["--color", "never"]);
    for var in HOST_VARS {
        cmd.env_remove(var);
    }
    let output = cmd.envs(vars.iter().copied()).output().unwrap();
    Outcome {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `text` with CRLF turned into LF and `path` (as given, and as the OS resolves it, longest
/// first) replaced by `placeholder`, so output that names a temporary or checkout directory can
/// be snapshotted.
pub fn normalise_path(text: &str, path: &Path, placeholder: &str) -> String {
    let mut spellings = vec![path.to_string_lossy().into_owned()];
    if let Ok(canonical) = path.canonicalize() {
        spellings.push(canonical.to_string_lossy().into_owned());
    }
    spellings.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut text = text.replace("\r\n", "\n");
    for s in spellings {
        text = text.replace(&s, placeholder);
    }
    text
}

/// Every regular file under `root` (relative path with `/`, bytes): compares whole output trees
/// before and after a run. Entries that vanish while it walks are skipped, so it may look into a
/// directory a running build is still writing.
pub fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read(e.path()).unwrap())
        })
        .collect()
}

/// No staging directory of the atomic write is left beside the output in `dir`: one left behind
/// would be committed by the next `git add -A`.
pub fn assert_no_staging_left(dir: &Path) {
    let leftovers: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("staging"))
        .collect();
    assert!(leftovers.is_empty(), "left behind by build: {leftovers:?}");
}

/// One YAML document read as JSON values, with the path in the panic message.
pub fn read_yaml(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
}
