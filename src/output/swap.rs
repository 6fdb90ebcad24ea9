//! Putting the staged tree in place of the output directory, and removing the previous one.

use super::workarea::{io_error, WorkArea};
use crate::diagnostic::Diagnostic;
use std::fs;
use std::path::{Path, PathBuf};

/// Removes the tree at `root` (the previous output after a swap), its files on both cores.
/// Best effort, like `remove_dir_all`: the new tree is in place whatever is left here, and the
/// next build removes a leftover staging directory.
pub(super) fn remove_tree(root: &Path) {
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    list_tree(root, &mut files, &mut dirs);
    crate::parallel::map(&super::staging::deal(files), 2, |batch| {
        for file in batch {
            let _ = fs::remove_file(file);
        }
    });
    for dir in dirs.iter().rev() {
        let _ = fs::remove_dir(dir);
    }
    let _ = fs::remove_dir_all(root);
}

/// Everything under `dir`: what is not a directory, grouped by directory, and the directories
/// parents first.
fn list_tree(dir: &Path, files: &mut Vec<Vec<PathBuf>>, dirs: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    dirs.push(dir.to_path_buf());
    let mut here = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        // A symlink to a directory is removed as a link, never followed.
        match entry.file_type() {
            Ok(ft) if ft.is_dir() => list_tree(&path, files, dirs),
            _ => here.push(path),
        }
    }
    files.push(here);
}

/// Test hook: `move-aside` makes a build swap without the atomic exchange, as on Windows;
/// `move-aside-crash` also ends the process between the two renames of that swap.
pub const SWAP_VAR: &str = "SHIPSHAPE_TEST_SWAP";

/// Puts `staging` at `out`. With an atomic exchange (Linux `renameat2(RENAME_EXCHANGE)`, macOS
/// `renamex_np(RENAME_SWAP)`), `out` holds the old tree or the new one at every instant, and the
/// old one ends at `staging`. Without one (Windows, or a file system that refuses the exchange),
/// the old tree is moved aside into the work area, the new one moved in, and the old one moved
/// to `staging`: a crash between the two renames leaves no tree at `out` and the previous one
/// whole in the work area, which the next build puts back before anything else.
pub(super) fn swap_in(out: &Path, staging: &Path, area: &WorkArea) -> Result<(), Diagnostic> {
    if fs::symlink_metadata(out).is_err() {
        return fs::rename(staging, out).map_err(|e| io_error("cannot create", out, &e));
    }
    let hook = std::env::var(SWAP_VAR).unwrap_or_default();
    if hook.is_empty() && exchange(staging, out).is_ok() {
        return Ok(());
    }
    let aside: PathBuf = area.previous_path();
    fs::rename(out, &aside).map_err(|e| io_error("cannot move", out, &e))?;
    if hook == "move-aside-crash" {
        std::process::abort();
    }
    if let Err(e) = fs::rename(staging, out) {
        let _ = fs::rename(&aside, out);
        return Err(io_error("cannot replace", out, &e));
    }
    // After the swap the staging path is removed by the caller; move the old tree there.
    let _ = fs::rename(&aside, staging);
    Ok(())
}

#[cfg(unix)]
fn c_path(p: &Path) -> std::io::Result<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(std::io::Error::other)
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    let (ca, cb) = (c_path(a)?, c_path(b)?);
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

#[cfg(target_vendor = "apple")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    let (ca, cb) = (c_path(a)?, c_path(b)?);
    // SAFETY: both pointers are valid NUL-terminated strings for the duration of the call.
    let rc = unsafe { libc::renamex_np(ca.as_ptr(), cb.as_ptr(), libc::RENAME_SWAP) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// No atomic exchange of two directories here (Windows, other Unixes): the move-aside path.
#[cfg(not(any(target_os = "linux", target_vendor = "apple")))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}
