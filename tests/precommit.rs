//! The pre-commit hook, run by the real pre-commit framework in a scratch git repository whose
//! `.pre-commit-config.yaml` names this repository by path and revision, so the hook manifest
//! (`.pre-commit-hooks.yaml`) is what runs, with `language: rust` building shipshape itself.
//!
//! Needs `pre-commit` on PATH (`.ci/run` installs it in a virtual environment). Without it the
//! test says so and stops, unless SHIPSHAPE_REQUIRE_PRECOMMIT=1, which CI sets, makes that a failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run(dir: &Path, program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        // pre-commit builds the hook with cargo; share this repository's target directory so the
        // build is incremental, and keep pre-commit's cache under it too.
        .env("CARGO_TARGET_DIR", repo().join("target").join("pre-commit"))
        .env(
            "PRE_COMMIT_HOME",
            repo().join("target").join("pre-commit-home"),
        )
        .env("NO_COLOR", "1")
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

fn ok(o: &Output) -> bool {
    o.status.success()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn hook_blocks_stale_output_and_lint_errors_and_passes_a_fresh_tree() {
    if !have("pre-commit") || !have("git") {
        assert!(
            std::env::var("SHIPSHAPE_REQUIRE_PRECOMMIT").is_err(),
            "pre-commit or git is not on PATH; install it with `pip install pre-commit`"
        );
        eprintln!("skipping: pre-commit is not installed (pip install pre-commit; .ci/run does)");
        return;
    }
    // pre-commit clones this repository at a commit: the hook manifest must be committed.
    let head = run(&repo(), "git", &["rev-parse", "HEAD"]);
    assert!(ok(&head), "this repository has no commit: {}", text(&head));
    let rev = String::from_utf8_lossy(&head.stdout).trim().to_owned();

    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    common::copy_dir(&common::fixture("bad/valid"), dir);
    let shipshape = assert_cmd::cargo::cargo_bin("shipshape");
    let built = Command::new(&shipshape)
        .args(["build", "--color", "never"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(ok(&built), "{}", text(&built));
    std::fs::write(
        dir.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n- repo: {}\n  rev: {rev}\n  hooks:\n  - id: shipshape-check\n",
            repo().display()
        ),
    )
    .unwrap();
    assert!(ok(&run(dir, "git", &["init", "-q", "-b", "main"])));
    assert!(ok(&run(dir, "pre-commit", &["install"])));

    // A fresh tree passes.
    assert!(ok(&run(dir, "git", &["add", "-A"])));
    let first = run(dir, "git", &["commit", "-q", "-m", "platform"]);
    assert!(
        ok(&first),
        "a fresh rendered/ must pass the hook:\n{}",
        text(&first)
    );

    // A catalogue change without `shipshape build` is blocked, with the diff and the hint.
    let catalogue = dir.join("catalogue.yaml");
    let original = std::fs::read_to_string(&catalogue).unwrap();
    let changed = original.replacen("port: 8080", "port: 8090", 1);
    assert_ne!(changed, original, "fixture must contain `port: 8080`");
    std::fs::write(&catalogue, &changed).unwrap();
    assert!(ok(&run(dir, "git", &["add", "-A"])));
    let stale = run(dir, "git", &["commit", "-q", "-m", "change port"]);
    let out = text(&stale);
    assert!(
        !ok(&stale),
        "a stale rendered/ must block the commit:\n{out}"
    );
    assert!(
        out.contains("+    port: 8090") || out.contains("port: 8090"),
        "the diff is shown:\n{out}"
    );
    assert!(out.contains("run `shipshape build`"), "{out}");

    // After `shipshape build` the same change goes through.
    let rebuilt = Command::new(&shipshape)
        .args(["build", "--color", "never"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(ok(&rebuilt), "{}", text(&rebuilt));
    assert!(ok(&run(dir, "git", &["add", "-A"])));
    let second = run(dir, "git", &["commit", "-q", "-m", "change port, rebuilt"]);
    assert!(ok(&second), "{}", text(&second));

    // A lint error blocks the commit with the finding: make a probe-less service.
    let broken = changed.replacen("port: 8090", "port: 8090\n    probe: none", 1);
    std::fs::write(&catalogue, broken).unwrap();
    assert!(ok(&run(dir, "git", &["add", "-A"])));
    let lint = run(dir, "git", &["commit", "-q", "-m", "no probes"]);
    let out = text(&lint);
    assert!(!ok(&lint), "a lint error must block the commit:\n{out}");
    assert!(
        out.contains("missing-probe"),
        "the finding is shown:\n{out}"
    );
}
