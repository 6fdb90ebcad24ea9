//! The filesystem boundary, through the real binary: input files that are links out of the
//! project, devices, FIFOs; aliases that replay a long string; unknown tags; control characters;
//! a 2 MiB line in an error excerpt.
//!
//! Each run is refused with exit code 2 and a message that says where and how to fix it, in
//! bounded time and memory (peak RSS of that one child, read with `wait4`), without printing what
//! a link points to and without changing any file outside the output directory.
#![cfg(unix)]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tempfile::TempDir;

/// What a real secret would look like in a file outside the project; it must never be printed.
const SECRET: &str = "AKIA_FAKE_SECRET_8f2c1e";

/// Peak memory any run here may take.
const MAX_RSS_MB: f64 = 300.0;

/// A run that takes longer is killed: a FIFO read would otherwise hang the test forever.
const TIMEOUT: Duration = Duration::from_secs(20);

/// How one measured run of the binary ended.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    max_rss_mb: f64,
    elapsed: Duration,
}

impl Run {
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Exit code 2, no panic, in bounded memory, every one of `needles` in the output.
    fn refused(&self, needles: &[&str]) -> &Run {
        let all = self.all();
        assert!(!all.contains("panicked"), "shipshape panicked:\n{all}");
        assert_eq!(
            self.code,
            Some(2),
            "expected exit code 2 (bad input)\n{all}"
        );
        for n in needles {
            assert!(all.contains(n), "output does not mention {n:?}:\n{all}");
        }
        self.bounded();
        self
    }

    fn bounded(&self) {
        assert!(
            self.max_rss_mb < MAX_RSS_MB,
            "peak memory {:.0} MB, above {MAX_RSS_MB} MB",
            self.max_rss_mb
        );
    }

    fn never_shows(&self, text: &str) {
        assert!(
            !self.all().contains(text),
            "the output shows {text:?}:\n{}",
            self.all()
        );
    }
}

/// Runs `shipshape <args> --color never` in `cwd` and reads the peak memory of that child alone
/// ([`common::run_measured`]); a run past [`TIMEOUT`] is killed and fails the test.
fn run(cwd: &Path, args: &[&str], vars: &[(&str, &str)]) -> Run {
    let m = common::run_measured(cwd, args, vars, TIMEOUT);
    assert!(
        m.outcome.code.is_some() || m.wall < TIMEOUT,
        "shipshape was ended by a signal:\n{}",
        m.outcome.stderr
    );
    assert!(
        m.wall < TIMEOUT,
        "shipshape did not finish within {TIMEOUT:?}: killed"
    );
    Run {
        code: m.outcome.code,
        stdout: m.outcome.stdout,
        stderr: m.outcome.stderr,
        max_rss_mb: m.peak_rss_mib,
        elapsed: m.wall,
    }
}

/// A copy of the small valid project.
fn project() -> TempDir {
    common::scratch_copy(&common::fixture("bad/valid"))
}

/// A directory outside the project holding a credentials file.
fn secret_outside() -> (TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("shipshape-secret-")
        .tempdir()
        .unwrap();
    let path = dir.path().join("credentials");
    fs::write(&path, format!("aws_secret_access_key: {SECRET}\n")).unwrap();
    (dir, path)
}

/// A hash of every regular file of the project outside `rendered/`, and of each of `extra`:
/// what a run must leave as it was. The write lock beside `rendered/` is the build's own.
fn state(root: &Path, extra: &[&Path]) -> BTreeMap<String, u64> {
    let hash = |bytes: &[u8]| {
        let mut h = DefaultHasher::new();
        bytes.hash(&mut h);
        h.finish()
    };
    let mut files: BTreeMap<String, u64> = common::tree(root)
        .into_iter()
        .filter(|(path, _)| !path.starts_with("rendered/") && path != ".rendered.shipshape-lock")
        .map(|(path, bytes)| (path, hash(&bytes)))
        .collect();
    for dir in extra {
        for (path, bytes) in common::tree(dir) {
            files.insert(format!("{}/{path}", dir.display()), hash(&bytes));
        }
    }
    files
}

fn symlink(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

/// Both streams with the project and the other temporary directory replaced by placeholders.
fn normalised(text: &str, root: &Path, other: &Path) -> String {
    let text = common::normalise_path(text, other, "<outside>");
    common::normalise_path(&text, root, "<root>")
}

fn build(root: &Path) -> Run {
    run(root, &["build", "--root", "."], &[])
}

// ---------------------------------------------------------------------------------------------
// Links out of the project.

#[test]
fn an_environment_file_linked_to_a_secret_outside_the_project_is_refused_unread() {
    let p = project();
    let (outside, secret) = secret_outside();
    symlink(&secret, &p.path().join("environments/staging.yaml"));
    let before = state(p.path(), &[outside.path()]);
    let o = build(p.path());
    o.refused(&[
        "input/outside-root",
        "environments/staging.yaml is a symbolic link to",
        "name the target directly",
    ])
    .never_shows(SECRET);
    assert!(!p.path().join("rendered").exists());
    assert_eq!(before, state(p.path(), &[outside.path()]));
    // One line per problem: the human report wraps long paths, which would defeat the
    // placeholders.
    let short = run(
        p.path(),
        &["build", "--root", ".", "--format", "short"],
        &[],
    );
    short.refused(&[]).never_shows(SECRET);
    insta::assert_snapshot!(
        "link-out-of-the-project",
        normalised(&short.all(), p.path(), outside.path())
    );
}

#[test]
fn a_catalogue_linked_out_of_the_project_is_refused_unread() {
    let (outside, secret) = secret_outside();
    // catalogue.yaml itself, and a file of a split catalogue/ directory.
    let p = project();
    fs::remove_file(p.path().join("catalogue.yaml")).unwrap();
    symlink(&secret, &p.path().join("catalogue.yaml"));
    build(p.path())
        .refused(&["input/outside-root", "catalogue.yaml"])
        .never_shows(SECRET);

    let p = project();
    let dir = p.path().join("catalogue");
    fs::create_dir(&dir).unwrap();
    fs::rename(p.path().join("catalogue.yaml"), dir.join("_platform.yaml")).unwrap();
    symlink(&secret, &dir.join("leak.yaml"));
    let before = state(p.path(), &[outside.path()]);
    build(p.path())
        .refused(&["input/outside-root", "catalogue/leak.yaml"])
        .never_shows(SECRET);
    assert_eq!(before, state(p.path(), &[outside.path()]));
}

#[test]
fn a_link_that_stays_inside_the_project_is_read() {
    let p = project();
    let shared = p.path().join("shared");
    fs::create_dir(&shared).unwrap();
    fs::rename(
        p.path().join("environments/dev.yaml"),
        shared.join("dev.yaml"),
    )
    .unwrap();
    symlink(
        Path::new("../shared/dev.yaml"),
        &p.path().join("environments/dev.yaml"),
    );
    let o = build(p.path());
    assert_eq!(o.code, Some(0), "{}", o.all());
    o.bounded();
}

#[test]
fn lint_refuses_links_out_of_the_paths_it_was_given() {
    let p = project();
    let (outside, secret) = secret_outside();
    let manifests = p.path().join("manifests");
    fs::create_dir(&manifests).unwrap();
    symlink(&secret, &manifests.join("leak.yaml"));
    // Found by walking the directory, and named directly (as `lint manifests/*.yaml` would).
    for arg in ["manifests", "manifests/leak.yaml"] {
        run(p.path(), &["lint", arg], &[])
            .refused(&[
                "input/outside-root",
                "leak.yaml",
                "name the target directly",
            ])
            .never_shows(SECRET);
    }
    assert!(state(p.path(), &[outside.path()])
        .contains_key(&format!("{}/credentials", outside.path().display())));
}

// ---------------------------------------------------------------------------------------------
// Devices and FIFOs.

#[test]
fn a_link_to_dev_zero_is_refused_at_once() {
    let p = project();
    symlink(
        Path::new("/dev/zero"),
        &p.path().join("environments/zero.yaml"),
    );
    let o = build(p.path());
    o.refused(&["input/outside-root", "environments/zero.yaml", "/dev/zero"]);
    assert!(o.elapsed < Duration::from_secs(5), "took {:?}", o.elapsed);
    // Named to lint directly, it is inside its own directory: refused as a device.
    let o = run(p.path(), &["lint", "/dev/zero"], &[]);
    o.refused(&["input/not-a-file", "/dev/zero is a character device"]);
    assert!(o.elapsed < Duration::from_secs(5), "took {:?}", o.elapsed);
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(
        unsafe { libc::mkfifo(c.as_ptr(), 0o644) },
        0,
        "mkfifo failed"
    );
}

#[test]
fn a_fifo_is_refused_without_blocking() {
    let p = project();
    mkfifo(&p.path().join("environments/pipe.yaml"));
    let o = build(p.path());
    o.refused(&[
        "input/not-a-file",
        "environments/pipe.yaml is a FIFO (named pipe), not a regular file",
    ]);
    assert!(!p.path().join("rendered").exists());
    for arg in ["environments", "environments/pipe.yaml"] {
        run(p.path(), &["lint", arg], &[]).refused(&["input/not-a-file", "pipe.yaml"]);
    }
    // The catalogue itself.
    let p = project();
    fs::remove_file(p.path().join("catalogue.yaml")).unwrap();
    mkfifo(&p.path().join("catalogue.yaml"));
    build(p.path()).refused(&["catalogue.yaml is a FIFO"]);
}

// ---------------------------------------------------------------------------------------------
// Aliases that replay a long string.

/// A ConfigMap with a 1 MB anchored string aliased `times` times.
fn string_bomb(times: usize) -> String {
    let mut text = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: { name: bomb }\n");
    text.push_str(&format!(
        "data:\n  big: &s {}\n  copies: [",
        "x".repeat(1_000_000)
    ));
    text.push_str(&vec!["*s"; times].join(", "));
    text.push_str("]\n");
    text
}

#[test]
fn a_long_string_aliased_a_thousand_or_ten_thousand_times_is_refused() {
    let p = project();
    for times in [1_000, 10_000] {
        fs::write(p.path().join("bomb.yaml"), string_bomb(times)).unwrap();
        run(p.path(), &["lint", "bomb.yaml"], &[]).refused(&[
            "aliases in this file repeat more than 67108864 bytes of keys and strings",
            "bomb.yaml:6:",
            "SHIPSHAPE_MAX_EXPANDED_BYTES",
        ]);
    }
    // In the catalogue: the same budget.
    let catalogue = fs::read_to_string(p.path().join("catalogue.yaml")).unwrap();
    let bomb = format!(
        "x-big: &s {}\nx-copies: [{}]\n{catalogue}",
        "x".repeat(1_000_000),
        vec!["*s"; 1_000].join(", ")
    );
    fs::write(p.path().join("catalogue.yaml"), bomb).unwrap();
    build(p.path()).refused(&["SHIPSHAPE_MAX_EXPANDED_BYTES"]);
    assert!(!p.path().join("rendered").exists());
}

#[test]
fn the_expanded_bytes_limit_can_be_lowered_and_raised() {
    let p = project();
    // 10 KB replayed 100 times: 1 MB, well under the default.
    let text = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{ name: reuse }}\ndata:\n  a: &s {}\n  b: [{}]\n",
        "y".repeat(10_000),
        vec!["*s"; 100].join(", ")
    );
    fs::write(p.path().join("reuse.yaml"), text).unwrap();
    let o = run(p.path(), &["lint", "reuse.yaml"], &[]);
    assert_eq!(o.code, Some(0), "{}", o.all());
    run(
        p.path(),
        &["lint", "reuse.yaml"],
        &[("SHIPSHAPE_MAX_EXPANDED_BYTES", "500000")],
    )
    .refused(&["more than 500000 bytes", "SHIPSHAPE_MAX_EXPANDED_BYTES"]);
}

// ---------------------------------------------------------------------------------------------
// Unknown tags and control characters.

#[test]
fn an_unknown_tag_is_an_error_at_the_tag() {
    let p = project();
    let env = fs::read_to_string(p.path().join("environments/dev.yaml")).unwrap();
    fs::write(
        p.path().join("environments/dev.yaml"),
        format!("{env}x-token: !vault x\n"),
    )
    .unwrap();
    let o = build(p.path());
    o.refused(&["unknown YAML tag `!vault`", "environments/dev.yaml:"]);
    insta::assert_snapshot!("unknown-tag", o.stderr);
}

#[test]
fn del_and_c1_controls_are_refused_raw_or_escaped() {
    let p = project();
    let catalogue = fs::read_to_string(p.path().join("catalogue.yaml")).unwrap();
    let cases = [
        ("description: Public\u{7f} API", "U+007F"),
        ("description: Public\u{85} API", "U+0085"),
        ("description: \"Public\\u009b API\"", "U+009B"),
        ("description: \"Public\\x7f API\"", "U+007F"),
        // C0 is refused the same way (raw, the YAML parser refuses it; escaped, shipshape).
        ("description: \"Public\\x01 API\"", "U+0001"),
    ];
    for (replacement, code) in cases {
        fs::write(
            p.path().join("catalogue.yaml"),
            catalogue.replace("description: Public API", replacement),
        )
        .unwrap();
        let o = build(p.path());
        o.refused(&[
            &format!("control character {code} is not allowed"),
            "catalogue.yaml:",
            "kustomize",
        ]);
        assert!(!p.path().join("rendered").exists());
        if code == "U+007F" && !replacement.contains('\\') {
            insta::assert_snapshot!("raw-del", o.stderr);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Long lines in excerpts.

#[test]
fn a_2_mib_line_is_cut_in_the_excerpt() {
    let p = project();
    let catalogue = fs::read_to_string(p.path().join("catalogue.yaml")).unwrap();
    let long = "z".repeat(2 * 1024 * 1024);
    fs::write(
        p.path().join("catalogue.yaml"),
        catalogue.replace("description: Public API", &format!("description: {long}")),
    )
    .unwrap();
    let o = build(p.path());
    o.refused(&["a scalar of 2097152 bytes", "…"]);
    assert!(o.all().len() < 4_000, "{} bytes of output", o.all().len());
    insta::assert_snapshot!("long-line", o.stderr);

    // An error far along the line: the window is around its column, which the header gives.
    fs::write(
        p.path().join("wide.yaml"),
        format!("k: [{}\"unclosed]\n", "1, ".repeat(700_000)),
    )
    .unwrap();
    let o = run(p.path(), &["lint", "wide.yaml"], &[]);
    o.refused(&["wide.yaml:1:2100005", "…"]);
    assert!(o.all().len() < 4_000, "{} bytes of output", o.all().len());
}
