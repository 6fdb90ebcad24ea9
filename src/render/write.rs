//! Atomic replacement of the output tree.
//!
//! The new tree is assembled in a staging directory beside the output directory, then swapped in
//! with one `renameat2(RENAME_EXCHANGE)` on Linux: at every instant the output path holds either
//! the complete old tree or the complete new one. Files under the output directory that shipshape
//! did not generate (no generated-file header) are carried into the new tree, never deleted.
//! A lock beside the output directory keeps two runs from interleaving.

use crate::diagnostic::{Diagnostic, Failure};
use crate::render::{RenderedEnvironment, GENERATED_MARKER};
use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Test hook: fail with an I/O error after this many files were written to staging. The value is
/// `N` or `N:kind`, kind one of `disk-full`, `permission-denied` or `other`.
pub const FAULT_AFTER_FILES_VAR: &str = "SHIPSHAPE_TEST_FAIL_AFTER_FILES";
/// Test hook: sleep this many milliseconds after each staged file, so a test can kill the run.
pub const SLOW_WRITE_VAR: &str = "SHIPSHAPE_TEST_SLOW_WRITE_MS";

/// What a write changed, for the summary line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WriteSummary {
    pub written: usize,
    pub unchanged: usize,
    pub removed: usize,
    pub kept_foreign: usize,
}

fn io_error(what: &str, path: &Path, e: &std::io::Error) -> Diagnostic {
    Diagnostic::error("output/io", format!("{what} {}: {e}", path.display()))
        .with_help("check permissions and free space; the previous output was left untouched")
}

/// Whether `path` is a file shipshape generated (it starts with the generated-file header).
pub fn is_generated(path: &Path) -> bool {
    let mut buf = [0u8; 64];
    let Ok(mut f) = fs::File::open(path) else {
        return false;
    };
    let mut filled = 0;
    while filled < GENERATED_MARKER.len() {
        match f.read(&mut buf[filled..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => filled += n,
        }
    }
    buf.get(..filled)
        .is_some_and(|b| b.starts_with(GENERATED_MARKER.as_bytes()))
}

/// Holds the output lock for as long as it lives.
pub struct OutputLock {
    #[allow(dead_code)] // Keeping the file open is what keeps the lock.
    file: fs::File,
}

pub fn lock_path(out: &Path) -> PathBuf {
    sibling(out, "lock")
}

fn sibling(out: &Path, suffix: &str) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "rendered".into());
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    parent.join(format!(".{name}.shipshape-{suffix}"))
}

/// Takes the output lock, or says who holds it.
pub fn lock(out: &Path) -> Result<OutputLock, Diagnostic> {
    let path = lock_path(out);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| io_error("cannot create", parent, &e))?;
    }
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io_error("cannot open lock file", &path, &e))?;
    #[cfg(unix)]
    {
        use std::os::unix::io::AsRawFd;
        // SAFETY: flock on a file descriptor we own; no memory is shared with the kernel.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            return Err(Diagnostic::error(
                "output/locked",
                format!("another shipshape run is writing {}", out.display()),
            )
            .with_help(format!(
                "wait for it to finish; the lock ({}) is released when that process exits",
                path.display()
            )));
        }
    }
    Ok(OutputLock { file })
}

/// Replaces the environments' directories under `out` with what was rendered; environments not
/// in `envs` are carried over untouched. The caller holds the output lock ([`lock`]) and, with
/// `compared`, has already compared the environments with the tree under that same lock
/// (`CompileOptions::compare_with`): files marked `on_disk` are then linked or copied from the
/// tree, not written.
pub fn write_tree_locked(
    out: &Path,
    envs: &[&RenderedEnvironment],
    compared: Option<&[crate::diff::Drift]>,
) -> Result<WriteSummary, Failure> {
    // The files whose text differs from what is on disk (`env/path`); `None` when there is no
    // tree yet. Read once, so staging links the rest without reading them again.
    let t = std::time::Instant::now();
    let differing: Option<HashSet<String>> = if out.exists() {
        let computed;
        let drift = match compared {
            Some(found) => found,
            None => {
                computed = crate::diff::drift(out, envs);
                computed.as_slice()
            }
        };
        crate::profile::mark("compare with disk", t);
        // Nothing to change (the common pre-commit case): touch nothing, not even the directory.
        if drift.is_empty() {
            return Ok(WriteSummary {
                unchanged: envs.iter().map(|e| e.files.len()).sum(),
                ..WriteSummary::default()
            });
        }
        Some(
            drift
                .iter()
                .filter(|d| d.kind != crate::diff::DriftKind::Orphaned)
                .map(|d| d.path.clone())
                .collect(),
        )
    } else {
        None
    };
    let staging = sibling(out, &format!("staging-{}", std::process::id()));
    clean_stale_staging(out);
    let t = std::time::Instant::now();
    let result = stage(out, &staging, envs, differing.as_ref()).and_then(|summary| {
        crate::profile::mark("stage", t);
        swap_in(out, &staging)?;
        Ok(summary)
    });
    // Whatever happened, the staging directory (after a swap: the old tree) is ours to remove.
    let t = std::time::Instant::now();
    let _ = fs::remove_dir_all(&staging);
    crate::profile::mark("remove old tree", t);
    result.map_err(Failure::from)
}

fn clean_stale_staging(out: &Path) {
    let prefix = sibling(out, "staging-");
    let (Some(parent), Some(prefix_name)) = (prefix.parent(), prefix.file_name()) else {
        return;
    };
    let prefix_name = prefix_name.to_string_lossy().into_owned();
    if let Ok(entries) = fs::read_dir(parent) {
        for e in entries.filter_map(Result::ok) {
            if e.file_name().to_string_lossy().starts_with(&prefix_name) {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
}

fn stage(
    out: &Path,
    staging: &Path,
    envs: &[&RenderedEnvironment],
    differing: Option<&HashSet<String>>,
) -> Result<WriteSummary, Diagnostic> {
    let mut summary = WriteSummary::default();
    let fault = std::env::var(FAULT_AFTER_FILES_VAR).ok();
    let (fail_after, fault_kind): (Option<usize>, &str) = match fault.as_deref() {
        Some(v) => {
            let (n, kind) = v.split_once(':').unwrap_or((v, "other"));
            (n.parse().ok(), kind)
        }
        None => (None, "other"),
    };
    let injected = || match fault_kind {
        // The errors the kernel gives, so the message is the one a user would see.
        "disk-full" => std::io::Error::from_raw_os_error(28),
        "permission-denied" => std::io::Error::from_raw_os_error(13),
        _ => std::io::Error::other("injected fault"),
    };
    let slow_ms: Option<u64> = std::env::var(SLOW_WRITE_VAR)
        .ok()
        .and_then(|v| v.parse().ok());
    fs::create_dir_all(staging).map_err(|e| io_error("cannot create", staging, &e))?;

    // Carry over everything already there except the generated files of re-rendered environments.
    if out.exists() {
        let produced: Produced = envs
            .iter()
            .map(|e| {
                let paths = e.files.iter().map(|f| Path::new(f.path.as_str())).collect();
                (e.name.as_str(), paths)
            })
            .collect();
        carry_over(out, staging, out, envs, &produced, &mut summary)?;
    }
    // Directories first, then the files one by one: file creations in one directory queue on
    // its lock, and a second writer only spins there (perf: twice the kernel time, a slower build).
    let mut tasks: Vec<(PathBuf, PathBuf, &str, bool)> = Vec::new();
    for env in envs {
        let dir = staging.join(&env.name);
        if env.files.is_empty() {
            // Nothing rendered here (e.g. no environment uses Argo CD): create no directory.
            continue;
        }
        fs::create_dir_all(&dir).map_err(|e| io_error("cannot create", &dir, &e))?;
        for file in &env.files {
            let target = dir.join(&file.path);
            if let Some(parent) = target.parent() {
                if parent != dir {
                    fs::create_dir_all(parent)
                        .map_err(|e| io_error("cannot create", parent, &e))?;
                }
            }
            let unchanged = file.on_disk
                || differing.is_some_and(|d| !d.contains(&format!("{}/{}", env.name, file.path)));
            tasks.push((
                target,
                out.join(&env.name).join(&file.path),
                file.text.as_str(),
                unchanged,
            ));
        }
    }
    for (n, (target, previous_path, text, unchanged)) in tasks.iter().enumerate() {
        if fail_after.is_some_and(|limit| n >= limit) {
            return Err(io_error("cannot write", target, &injected()));
        }
        // An unchanged file is linked, not rewritten: a link is one metadata update where a
        // write allocates and fills blocks, and removing the old tree afterwards then frees
        // nothing. The old tree is never written through, so it stays intact until the swap.
        if !(*unchanged && fs::hard_link(previous_path, target).is_ok()) {
            if *unchanged && text.is_empty() {
                // Its text was dropped after the comparison: the tree's copy is the text.
                fs::copy(previous_path, target).map_err(|e| io_error("cannot copy", target, &e))?;
            } else {
                fs::write(target, text).map_err(|e| io_error("cannot write", target, &e))?;
            }
        }
        if let Some(ms) = slow_ms {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        if *unchanged {
            summary.unchanged += 1;
        } else {
            summary.written += 1;
        }
    }
    Ok(summary)
}

/// The files each re-rendered environment produces, by environment name: looked up once per
/// file on disk, so a set rather than a scan.
type Produced<'a> = HashMap<&'a str, HashSet<&'a Path>>;

/// Copies (hard-links where possible) `dir` into `staging`, skipping generated files of the
/// environments being re-rendered: those are replaced, or removed when no longer produced.
fn carry_over(
    root: &Path,
    staging: &Path,
    dir: &Path,
    envs: &[&RenderedEnvironment],
    produced: &Produced,
    summary: &mut WriteSummary,
) -> Result<(), Diagnostic> {
    let entries = fs::read_dir(dir).map_err(|e| io_error("cannot read", dir, &e))?;
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        let rel = path.strip_prefix(root).unwrap_or(&path);
        let target = staging.join(rel);
        let ft = entry
            .file_type()
            .map_err(|e| io_error("cannot inspect", &path, &e))?;
        if ft.is_dir() {
            fs::create_dir_all(&target).map_err(|e| io_error("cannot create", &target, &e))?;
            carry_over(root, staging, &path, envs, produced, summary)?;
            continue;
        }
        let env_name = rel
            .components()
            .next()
            .map(|c| c.as_os_str().to_string_lossy().into_owned());
        let rerendered = env_name
            .as_deref()
            .and_then(|n| envs.iter().find(|e| e.name == n));
        if let Some(env) = rerendered {
            if ft.is_file() && is_generated(&path) {
                let rel_in_env = rel.components().skip(1).collect::<PathBuf>();
                let still_produced = produced
                    .get(env.name.as_str())
                    .is_some_and(|paths| paths.contains(rel_in_env.as_path()));
                if still_produced {
                    continue;
                }
                if env.complete {
                    summary.removed += 1;
                    continue;
                }
                // A partial render (the Argo CD directory under `--env`): keep the other
                // environments' generated files as they are.
            } else {
                summary.kept_foreign += 1;
            }
        }
        if ft.is_symlink() {
            #[cfg(unix)]
            {
                let link =
                    fs::read_link(&path).map_err(|e| io_error("cannot read link", &path, &e))?;
                std::os::unix::fs::symlink(link, &target)
                    .map_err(|e| io_error("cannot link", &target, &e))?;
            }
            continue;
        }
        if fs::hard_link(&path, &target).is_err() {
            fs::copy(&path, &target).map_err(|e| io_error("cannot copy", &path, &e))?;
        }
    }
    Ok(())
}

fn swap_in(out: &Path, staging: &Path) -> Result<(), Diagnostic> {
    if !out.exists() {
        return fs::rename(staging, out).map_err(|e| io_error("cannot create", out, &e));
    }
    #[cfg(target_os = "linux")]
    {
        if exchange(staging, out).is_ok() {
            return Ok(());
        }
    }
    // Without an atomic exchange: move the old tree aside, move the new one in, and put the old
    // one back if the second step fails.
    let aside = sibling(out, &format!("old-{}", std::process::id()));
    fs::rename(out, &aside).map_err(|e| io_error("cannot move", out, &e))?;
    if let Err(e) = fs::rename(staging, out) {
        let _ = fs::rename(&aside, out);
        return Err(io_error("cannot replace", out, &e));
    }
    // After the swap the staging path is removed by the caller; move the old tree there.
    let _ = fs::rename(&aside, staging);
    Ok(())
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let ca = CString::new(a.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    let cb = CString::new(b.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    // SAFETY: both pointers are valid NUL-terminated strings for the duration of the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
