//! The pre-commit hook, run by the real pre-commit framework in a scratch git repository whose
//! `.pre-commit-config.yaml` names this repository by path and revision, so the hook manifest
//! (`.pre-commit-hooks.yaml`) is what runs, with `language: rust` building shipshape itself.
//!
//! Needs `pre-commit` on PATH (`.ci/run` installs it in a virtual environment). Without it the
//! test is reported as ignored, with the reason, as libtest reports an `#[ignore]`d test, unless
//! SHIPSHAPE_REQUIRE_PRECOMMIT=1, which CI sets, makes that a failure. A runtime reason needs a
//! harness of its own (`harness = false` in Cargo.toml): libtest decides `#[ignore]` at compile
//! time, and a test that returns early would be counted as passed.

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
    let mut cmd = Command::new(program);
    cmd.args(args);
    run_command(dir, cmd)
}

/// Runs `cmd` in `dir` with the environment every step of the test shares.
fn run_command(dir: &Path, mut cmd: Command) -> Output {
    let program = format!("{:?}", cmd.get_program());
    cmd.current_dir(dir)
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

const NAME: &str = "hook_blocks_stale_output_and_lint_errors_and_passes_a_fresh_tree";

/// A one-test harness that speaks libtest's output, so `cargo test` and .ci/run count it: ok,
/// FAILED, or ignored with the reason. Honours a name filter, `--exact`, `--list` and
/// `--ignored`/`--include-ignored` as libtest does.
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |f: &str| args.iter().any(|a| a == f);
    let mut filters = Vec::new();
    let mut skip_value = false;
    for a in &args {
        if skip_value {
            skip_value = false;
        } else if matches!(
            a.as_str(),
            "--test-threads" | "--format" | "--color" | "--logfile" | "--skip" | "-Z"
        ) {
            skip_value = true;
        } else if !a.starts_with('-') {
            filters.push(a.as_str());
        }
    }
    let selected = filters.is_empty()
        || filters.iter().any(|f| {
            if flag("--exact") {
                *f == NAME
            } else {
                NAME.contains(f)
            }
        });
    if flag("--list") {
        if selected {
            println!("{NAME}: test");
        }
        return;
    }
    if !selected {
        println!("\nrunning 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 1 filtered out; finished in 0.00s\n");
        return;
    }
    println!("\nrunning 1 test");
    let missing: Vec<&str> = ["pre-commit", "git"]
        .into_iter()
        .filter(|p| !have(p))
        .collect();
    let required = std::env::var_os("SHIPSHAPE_REQUIRE_PRECOMMIT").is_some();
    let start = std::time::Instant::now();
    let (passed, failed, ignored) = if !missing.is_empty() && !required {
        println!(
            "test {NAME} ... ignored, {} not on PATH (pip install pre-commit; .ci/run installs it)",
            missing.join(" and ")
        );
        (0, 0, 1)
    } else if !missing.is_empty() {
        println!("test {NAME} ... FAILED");
        eprintln!(
            "{} not on PATH, and SHIPSHAPE_REQUIRE_PRECOMMIT is set: install it with `pip install pre-commit`",
            missing.join(" and ")
        );
        (0, 1, 0)
    } else if std::panic::catch_unwind(
        hook_blocks_stale_output_and_lint_errors_and_passes_a_fresh_tree,
    )
    .is_ok()
    {
        println!("test {NAME} ... ok");
        (1, 0, 0)
    } else {
        println!("test {NAME} ... FAILED");
        (0, 1, 0)
    };
    println!(
        "\ntest result: {}. {passed} passed; {failed} failed; {ignored} ignored; 0 measured; 0 filtered out; finished in {:.2}s\n",
        if failed == 0 { "ok" } else { "FAILED" },
        start.elapsed().as_secs_f64()
    );
    if failed > 0 {
        std::process::exit(101);
    }
}

fn hook_blocks_stale_output_and_lint_errors_and_passes_a_fresh_tree() {
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
    // The last line does not send the user to `shipshape build`, which would write nothing.
    assert!(
        out.contains("fix that error first") || out.contains("fix those errors first"),
        "{out}"
    );

    // The installed-binary variant (`language: system`) is the same gate, with the shipshape
    // found on PATH: this test's own build.
    std::fs::write(&catalogue, &changed).unwrap();
    std::fs::write(
        dir.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n- repo: {}\n  rev: {rev}\n  hooks:\n  - id: shipshape-check-system\n",
            repo().display()
        ),
    )
    .unwrap();
    let bin_dir = shipshape.parent().expect("the binary's directory");
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let with_path = |args: &[&str]| {
        let mut cmd = Command::new("git");
        cmd.args(args).env("PATH", &path);
        run_command(dir, cmd)
    };
    assert!(ok(&run(dir, "git", &["add", "-A"])));
    let system = with_path(&["commit", "-q", "-m", "installed hook"]);
    assert!(ok(&system), "{}", text(&system));
    let stale = changed.replacen("port: 8090", "port: 8091", 1);
    std::fs::write(&catalogue, stale).unwrap();
    assert!(ok(&run(dir, "git", &["add", "-A"])));
    let blocked = with_path(&["commit", "-q", "-m", "stale again"]);
    let out = text(&blocked);
    assert!(
        !ok(&blocked),
        "the installed hook blocks a stale tree:\n{out}"
    );
    assert!(out.contains("run `shipshape build`"), "{out}");
}
