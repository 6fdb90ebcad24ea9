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

/// Puts `staging` at `out`. With the Linux exchange, `out` holds the old tree or the new one at
/// every instant, and the old one ends at `staging`; without it, the old tree is moved aside into
/// the work area, the new one moved in, and the old one moved to `staging` (a crash between the
/// two renames leaves the old tree in the work area, and the next build puts it back).
pub(super) fn swap_in(out: &Path, staging: &Path, area: &WorkArea) -> Result<(), Diagnostic> {
    if fs::symlink_metadata(out).is_err() {
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
    let aside: PathBuf = area.previous_path();
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
