//! The output's file-system boundary, tried as a hostile or careless user would: links where the
//! output, an environment's directory or a rendered file belongs, special files, a work area
//! that is a link, a full file system. Each case asserts the exit code, the message, that nothing
//! outside the output changed (link targets included) and that the run stayed small.
#![cfg(unix)]

mod common;

use common::{assert_no_staging_left, fingerprint, run_measured, Measured};
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

/// Memory a run over this small project may take; the point is that no case reads or copies
/// without bound.
const MAX_RSS_MIB: f64 = 300.0;

/// The small valid project with a second environment, built once.
fn built_project() -> tempfile::TempDir {
    let p = common::scratch_copy(&common::fixture("bad/valid"));
    let envs = p.path().join("environments");
    std::fs::copy(envs.join("dev.yaml"), envs.join("prod.yaml")).unwrap();
    let first = run(p.path(), &["build"]);
    assert_eq!(first.outcome.code, Some(0), "{}", first.outcome.stderr);
    p
}

fn run(dir: &Path, args: &[&str]) -> Measured {
    let m = run_measured(dir, args, &[], Duration::from_secs(60));
    m.outcome.no_panic();
    assert!(
        m.peak_rss_mib < MAX_RSS_MIB,
        "{args:?} took {:.0} MiB",
        m.peak_rss_mib
    );
    m
}

/// Changes one service of every environment, so a build has something to write.
fn change_catalogue(dir: &Path) {
    let path = dir.join("catalogue.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("port: 8080"));
    std::fs::write(&path, text.replacen("port: 8080", "port: 8090", 1)).unwrap();
}

/// Changes only prod, so a build rewrites prod and links dev's files as they are.
fn change_prod(dir: &Path) {
    let path = dir.join("environments/prod.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("1.0.0", "1.0.1")).unwrap();
}

/// A directory outside the project holding a file shipshape never wrote.
fn outside() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("keep.txt"), "not shipshape's\n").unwrap();
    d
}

fn assert_refused(m: &Measured, code: &str, says: &str) {
    assert_eq!(m.outcome.code, Some(2), "{}", m.outcome.stderr);
    assert!(
        m.outcome.stderr.contains(code) && m.outcome.stderr.contains(says),
        "expected {code} saying {says:?}:\n{}",
        m.outcome.stderr
    );
    assert!(
        m.outcome.stderr.contains("nothing was written"),
        "{}",
        m.outcome.stderr
    );
}

#[test]
fn an_output_directory_that_is_a_link_is_refused_and_its_target_kept() {
    let p = built_project();
    let dir = p.path();
    let elsewhere = outside();
    // The output moved elsewhere and linked back, as someone might to keep it out of the repo.
    common::copy_dir(&dir.join("rendered"), elsewhere.path());
    std::fs::remove_dir_all(dir.join("rendered")).unwrap();
    symlink(elsewhere.path(), dir.join("rendered")).unwrap();
    change_catalogue(dir);
    let before = fingerprint(dir);
    for args in [&["build"][..], &["check"], &["diff"]] {
        let m = run(dir, args);
        assert_refused(
            &m,
            "output/link",
            "is the output directory but is a symbolic link",
        );
        assert_eq!(
            before,
            fingerprint(dir),
            "{args:?} changed the project or the link's target"
        );
    }
    assert!(std::fs::symlink_metadata(dir.join("rendered"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_no_staging_left(dir);
    // Given the link's target itself, the build goes through and keeps the foreign file.
    let target = elsewhere.path().to_string_lossy().into_owned();
    let m = run(dir, &["build", "--out", &target]);
    assert_eq!(m.outcome.code, Some(0), "{}", m.outcome.stderr);
    assert_eq!(
        std::fs::read_to_string(elsewhere.path().join("keep.txt")).unwrap(),
        "not shipshape's\n"
    );
}

#[test]
fn an_environment_directory_that_is_a_link_is_refused_and_never_truncated() {
    let p = built_project();
    let dir = p.path();
    let elsewhere = outside();
    let prod = dir.join("rendered/prod");
    common::copy_dir(&prod, elsewhere.path());
    std::fs::remove_dir_all(&prod).unwrap();
    symlink(elsewhere.path(), &prod).unwrap();
    // Another environment changes: dev is re-rendered, prod would be linked onto itself.
    change_catalogue(dir);
    let before = fingerprint(dir);
    let m = run(dir, &["build"]);
    assert_refused(
        &m,
        "output/link",
        "is an environment's output directory but is a symbolic link",
    );
    assert_eq!(before, fingerprint(dir));
    for entry in std::fs::read_dir(elsewhere.path()).unwrap() {
        let path = entry.unwrap().path();
        assert!(
            std::fs::metadata(&path).unwrap().len() > 0,
            "{} was emptied",
            path.display()
        );
    }
    assert_no_staging_left(dir);
    let m = run(dir, &["check"]);
    assert_refused(&m, "output/link", "rendered/prod");
}

#[test]
fn a_special_file_where_a_file_is_rendered_is_refused_without_waiting() {
    let p = built_project();
    let dir = p.path();
    let api = dir.join("rendered/dev/api.yaml");
    std::fs::remove_file(&api).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(&api)
        .status()
        .unwrap();
    assert!(status.success());
    let before = fingerprint(dir);
    for args in [&["check"][..], &["build"], &["diff"]] {
        let m = run(dir, args);
        assert_refused(&m, "output/not-a-file", "rendered/dev/api.yaml");
        assert!(
            m.wall < Duration::from_secs(30),
            "{args:?} waited on the FIFO"
        );
        assert_eq!(before, fingerprint(dir));
    }
    assert_no_staging_left(dir);
}

#[test]
fn a_directory_where_a_file_is_rendered_is_refused() {
    let p = built_project();
    let dir = p.path();
    let api = dir.join("rendered/dev/api.yaml");
    std::fs::remove_file(&api).unwrap();
    std::fs::create_dir(&api).unwrap();
    std::fs::write(api.join("mine.txt"), "mine\n").unwrap();
    let before = fingerprint(dir);
    let m = run(dir, &["build"]);
    assert_refused(&m, "output/not-a-file", "rendered/dev/api.yaml");
    assert_eq!(before, fingerprint(dir));
}

#[test]
fn a_work_area_that_is_a_link_is_refused() {
    let p = built_project();
    let dir = p.path();
    let elsewhere = outside();
    symlink(elsewhere.path(), dir.join(".shipshape")).unwrap();
    change_catalogue(dir);
    let before = fingerprint(dir);
    let m = run(dir, &["build"]);
    assert_refused(&m, "output/link", ".shipshape");
    assert_eq!(before, fingerprint(dir));
}

#[test]
fn a_link_the_user_keeps_beside_the_rendered_files_is_carried_over_as_a_link() {
    let p = built_project();
    let dir = p.path();
    let elsewhere = outside();
    let link = dir.join("rendered/dev/notes");
    symlink(elsewhere.path(), &link).unwrap();
    change_prod(dir);
    let before = fingerprint(elsewhere.path());
    let m = run(dir, &["build"]);
    assert_eq!(m.outcome.code, Some(0), "{}", m.outcome.stderr);
    assert_eq!(std::fs::read_link(&link).unwrap(), elsewhere.path());
    assert_eq!(before, fingerprint(elsewhere.path()));
    assert_no_staging_left(dir);
}

#[test]
fn a_build_leaves_no_lock_or_staging_behind_whatever_its_outcome() {
    let p = built_project();
    let dir = p.path();
    // Bad input: nothing may even be created.
    let catalogue = dir.join("catalogue.yaml");
    let good = std::fs::read_to_string(&catalogue).unwrap();
    std::fs::write(&catalogue, good.replace("port: 8080", "port: eighty")).unwrap();
    assert_eq!(run(dir, &["build"]).outcome.code, Some(2));
    assert_no_staging_left(dir);
    // Lint errors: the lock was taken and let go.
    std::fs::write(&catalogue, good.replace("port: 8080", "port: 5432")).unwrap();
    assert_eq!(run(dir, &["build"]).outcome.code, Some(1));
    assert_no_staging_left(dir);
    // A write and nothing to write.
    std::fs::write(&catalogue, good.replace("port: 8080", "port: 8090")).unwrap();
    assert_eq!(run(dir, &["build"]).outcome.code, Some(0));
    assert_eq!(run(dir, &["build"]).outcome.code, Some(0));
    assert_no_staging_left(dir);
}

#[test]
fn what_a_killed_build_leaves_is_ignored_by_git_and_removed_by_the_next_build() {
    if std::process::Command::new("git")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: git is not installed");
        return;
    }
    let p = built_project();
    let dir = p.path();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-qm", "built"]);
    // What a build killed mid-write leaves: its lock and a half-staged tree.
    change_catalogue(dir);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("shipshape"))
        .args(["build", "--color", "never"])
        .env("SHIPSHAPE_TEST_SLOW_WRITE_MS", "300")
        .current_dir(dir)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let area = dir.join(".shipshape");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !common::tree(&area).keys().any(|k| k.contains("staging")) {
        assert!(std::time::Instant::now() < deadline, "nothing was staged");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    let _ = child.wait();
    assert!(area.join("rendered.lock").exists());
    git(&["add", "-A"]);
    let staged = git(&["status", "--porcelain"]);
    assert!(
        !staged.contains(".shipshape"),
        "git add -A took the work area:\n{staged}"
    );
    let m = run(dir, &["build"]);
    assert_eq!(m.outcome.code, Some(0), "{}", m.outcome.stderr);
    assert_no_staging_left(dir);
}

/// A build whose output lies on a file system with no room: the write fails, the previous tree
/// stays whole, nothing is left in the work area. Needs a private mount (a user namespace, as
/// `unshare -rm` makes, or root); says so and skips where neither is allowed.
#[test]
fn a_build_onto_a_full_file_system_leaves_the_previous_tree_whole() {
    // Whether this machine lets a private mount namespace mount a tmpfs at all.
    let probe = std::process::Command::new("unshare")
        .args([
            "-rm",
            "sh",
            "-c",
            r#"d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs "$d" && umount "$d"; rc=$?; rmdir "$d"; exit $rc"#,
        ])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: no private tmpfs here (unshare -rm and mount -t tmpfs), so no full file system to try");
        return;
    }
    let p = built_project();
    let dir = p.path();
    change_catalogue(dir);
    let bin = assert_cmd::cargo::cargo_bin("shipshape");
    // Inside a private mount namespace: a small tmpfs becomes the output's parent, holding the
    // built tree; filler takes all but three pages of its room, so the work area is made and the
    // staging runs out of space part way; the build must fail and keep the tree.
    let script = r#"
        set -e
        mkdir -p "$1/small"
        mount -t tmpfs -o size=1m tmpfs "$1/small"
        cp -a "$1/rendered" "$1/small/rendered"
        find "$1/small/rendered" -type f | sort | xargs sha256sum > "$1/before.sum"
        dd if=/dev/zero of="$1/small/spare" bs=4k count=3 2>/dev/null
        dd if=/dev/zero of="$1/small/filler" bs=4k 2>/dev/null || true
        rm "$1/small/spare"
        set +e
        "$2" build --root "$1" --out "$1/small/rendered" --color never --format short > "$1/build.err" 2>&1
        echo $? > "$1/build.code"
        ls -a "$1/small" > "$1/small.ls"
        ls -a "$1/small/.shipshape" > "$1/area.ls" 2>&1
        find "$1/small/rendered" -type f | sort | xargs sha256sum > "$1/after.sum"
    "#;
    let out = std::process::Command::new("unshare")
        .args(["-rm", "sh", "-c", script, "sh"])
        .arg(dir)
        .arg(&bin)
        .output()
        .unwrap();
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    assert!(
        out.status.success(),
        "the namespace script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = read("build.err");
    assert_eq!(read("build.code").trim(), "2", "{err}");
    assert!(
        err.contains("No space left on device") && err.contains("left as it was"),
        "{err}"
    );
    assert_eq!(read("before.sum"), read("after.sum"));
    assert!(!read("before.sum").is_empty());
    assert!(
        !read("small.ls").contains(".shipshape"),
        "{}",
        read("area.ls")
    );
}

/// The swap without an atomic exchange (what Windows gets), forced on this machine by the test
/// hook: it ends with the new tree in place, and a crash between its two renames loses nothing:
/// the previous tree waits whole in the work area and the next build puts it back first.
#[test]
fn the_move_aside_swap_survives_a_crash_between_its_renames() {
    let p = built_project();
    let dir = p.path();
    let before = common::tree(&dir.join("rendered"));
    change_prod(dir);
    let crashed = run_measured(
        dir,
        &["build"],
        &[("SHIPSHAPE_TEST_SWAP", "move-aside-crash")],
        Duration::from_secs(60),
    );
    assert_eq!(crashed.outcome.code, None, "the hook did not end the run");
    assert!(
        !dir.join("rendered").exists(),
        "the crash was not between the renames"
    );
    let area = dir.join(".shipshape");
    let waiting: Vec<_> = std::fs::read_dir(&area)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("rendered.previous-"))
        .collect();
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(
        before,
        common::tree(&waiting[0]),
        "the previous tree is not whole"
    );
    // The next build puts the previous tree back, then writes the change over it.
    let m = run_measured(
        dir,
        &["build"],
        &[("SHIPSHAPE_TEST_SWAP", "move-aside")],
        Duration::from_secs(60),
    );
    assert_eq!(m.outcome.code, Some(0), "{}", m.outcome.stderr);
    assert_no_staging_left(dir);
    let after = common::tree(&dir.join("rendered"));
    assert_eq!(before.len(), after.len());
    let changed: Vec<_> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(v))
        .collect();
    assert!(!changed.is_empty());
    assert!(
        changed.iter().all(|(path, _)| path.starts_with("prod/")),
        "{:?}",
        changed.iter().map(|c| c.0).collect::<Vec<_>>()
    );
}

/// An output directory whose parent does not exist yet is created with it, and the work area
/// beside it goes when the build ends.
#[test]
fn an_output_below_missing_directories_is_created() {
    let p = built_project();
    let dir = p.path();
    let m = run(dir, &["build", "--out", "deploy/gitops/rendered"]);
    assert_eq!(m.outcome.code, Some(0), "{}", m.outcome.stderr);
    assert!(dir
        .join("deploy/gitops/rendered/dev/kustomization.yaml")
        .is_file());
    assert_no_staging_left(&dir.join("deploy/gitops"));
}
