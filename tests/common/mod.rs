//! Helpers shared by the integration tests. Each file under `tests/` is a crate of its own and
//! takes this module in with `mod common;`; none of them uses every helper.
#![allow(dead_code)]

pub mod project;

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
    "SHIPSHAPE_TEST_SWAP",
    "SHIPSHAPE_TEMPLATE_FUEL",
    "SHIPSHAPE_MAX_TEMPLATE_OUTPUT_BYTES",
    "SHIPSHAPE_REPO_URL",
];

/// The repositories the lint fixtures' Argo CD Applications name as "this one": without it, a
/// checkout with a git remote (CI's clone) takes their sources for other repositories and skips them.
pub const FIXTURE_REPOSITORIES: (&str, &str) = (
    "SHIPSHAPE_REPO_URL",
    "https://git.example.com/openpolicy/gitops.git https://git.example.com/shop/gitops.git",
);

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

/// The binary in `cwd` with `args`, and with [`HOST_VARS`] and `TERM` removed: what it prints
/// depends only on what the test sets.
fn command(cwd: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("shipshape").unwrap();
    cmd.current_dir(cwd).args(args);
    for var in HOST_VARS.iter().chain(&["TERM"]) {
        cmd.env_remove(var);
    }
    cmd
}

/// Output read lossily: a test that feeds the binary garbage still gets text to assert on.
fn outcome(output: std::process::Output) -> Outcome {
    Outcome {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs the real `shipshape` binary in `cwd` as `shipshape <args> --color never`, with
/// [`HOST_VARS`] removed and `vars` set.
pub fn run_shipshape(cwd: &Path, args: &[&str], vars: &[(&str, &str)]) -> Outcome {
    let mut cmd = command(cwd, args);
    cmd.args(["--color", "never"]);
    outcome(cmd.envs(vars.iter().copied()).output().unwrap())
}

/// [`run_shipshape`] without the `--color never`, so colour and drawing are decided by the
/// environment the test gives.
pub fn run_plain(cwd: &Path, args: &[&str], vars: &[(&str, &str)]) -> Outcome {
    outcome(
        command(cwd, args)
            .envs(vars.iter().copied())
            .output()
            .unwrap(),
    )
}

/// [`run_shipshape`] with `stdin` as the binary's standard input.
pub fn run_shipshape_with_stdin(cwd: &Path, args: &[&str], stdin: &str) -> Outcome {
    let mut cmd = command(cwd, args);
    cmd.args(["--color", "never"]);
    outcome(cmd.write_stdin(stdin.as_bytes().to_vec()).output().unwrap())
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

/// Nothing of a build is left beside the output in `dir` (no work area with a lock or a staging
/// tree, no file of the layout before it): anything left would be committed by `git add -A`.
pub fn assert_no_staging_left(dir: &Path) {
    let leftovers: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("staging") || n.contains("shipshape"))
        .collect();
    assert!(leftovers.is_empty(), "left behind by build: {leftovers:?}");
}

/// One YAML document read as JSON values, with the path in the panic message.
pub fn read_yaml(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
}

/// A run of the binary with its own peak memory, read from the kernel's accounting of exactly
/// that child (`wait4`), so tests running side by side do not see each other's peaks.
#[cfg(unix)]
pub struct Measured {
    pub outcome: Outcome,
    pub peak_rss_mib: f64,
    pub wall: std::time::Duration,
}

/// [`run_shipshape`] with the child's peak resident memory, killed after `timeout` (a hang is a
/// failure the caller sees as `code: None`, not a test that never ends).
#[cfg(unix)]
pub fn run_measured(
    cwd: &Path,
    args: &[&str],
    vars: &[(&str, &str)],
    timeout: std::time::Duration,
) -> Measured {
    use std::io::Read;
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("shipshape"));
    cmd.current_dir(cwd).args(args).args(["--color", "never"]);
    for var in HOST_VARS {
        cmd.env_remove(var);
    }
    let start = std::time::Instant::now();
    let mut child = cmd
        .envs(vars.iter().copied())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stdout.read_to_end(&mut b);
        b
    });
    let err_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stderr.read_to_end(&mut b);
        b
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // Polled from this thread: the pid stays ours until wait4 reaps it, so the kill at the
    // deadline cannot reach a process that reused the number.
    loop {
        // SAFETY: wait4 on our own unreaped child with valid out-pointers.
        let rc = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        assert!(rc >= 0, "wait4 failed");
        if rc == pid {
            break;
        }
        if start.elapsed() > timeout {
            // SAFETY: our own child, not yet reaped; the blocking wait4 then reaps it.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
            assert_eq!(rc, pid, "wait4 failed");
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let wall = start.elapsed();
    std::mem::forget(child);
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Measured {
        outcome: Outcome {
            code,
            stdout: String::from_utf8_lossy(&out_reader.join().unwrap()).into_owned(),
            stderr: String::from_utf8_lossy(&err_reader.join().unwrap()).into_owned(),
        },
        // Linux reports kilobytes.
        peak_rss_mib: usage.ru_maxrss as f64 / 1024.0,
        wall,
    }
}

/// A digest of every entry under `root` as the file system holds it: regular files by content,
/// links by their target (and, when the target is outside `root`, the target's own digest, so a
/// change made through a link is seen), other entries by kind. Compares a tree, the places its
/// links lead to included, before and after a run.
pub fn fingerprint(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(root)
        .follow_links(false)
        .into_iter()
        .filter_map(Result::ok)
    {
        let rel = e
            .path()
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let ft = e.file_type();
        let what = if ft.is_symlink() {
            let target = std::fs::read_link(e.path()).unwrap();
            let resolved = e.path().parent().unwrap().join(&target);
            let behind = if resolved.is_dir() && !resolved.starts_with(root) {
                format!("{:?}", fingerprint(&resolved))
            } else if resolved.is_file() {
                format!("{:?}", std::fs::read(&resolved).unwrap())
            } else {
                String::new()
            };
            format!("link -> {} {}", target.display(), behind)
        } else if ft.is_file() {
            format!("file {:?}", std::fs::read(e.path()).unwrap())
        } else if ft.is_dir() {
            "dir".into()
        } else {
            "special".into()
        };
        out.insert(rel, what);
    }
    out
}
