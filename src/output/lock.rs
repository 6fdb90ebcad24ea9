//! The build lock: one build at a time per output directory, from before the comparison with the
//! tree to the end of the swap, so no other build changes the tree in between.

use super::workarea::{io_error, WorkArea};
use crate::diagnostic::Diagnostic;
use std::fs;
use std::path::Path;

/// Holds the lock for as long as it lives; the lock file is removed when it is let go.
pub struct OutputLock {
    file: Option<fs::File>,
    area: WorkArea,
}

/// Takes the lock of `out`, creating the work area, or says who holds it.
pub fn take(out: &Path, area: &WorkArea) -> Result<OutputLock, Diagnostic> {
    let path = area.lock_path();
    // A run that ends removes its lock file (and perhaps the work area) while this one may be
    // opening it: a lock on a file no longer at the path locks nothing, so try again.
    for _ in 0..8 {
        area.create()?;
        let mut options = fs::OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.custom_flags(libc::O_NOFOLLOW);
        }
        let file = match options.open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error("cannot open the lock", &path, &e)),
        };
        if !try_lock(&file) {
            return Err(Diagnostic::error(
                "output/locked",
                format!(
                    "another shipshape run is writing {}",
                    crate::paths::shown(out)
                ),
            )
            .with_help(format!(
                "wait for it to finish; the lock ({}) is released when that process exits",
                crate::paths::shown(&path)
            )));
        }
        if still_at_path(&file, &path) {
            return Ok(OutputLock {
                file: Some(file),
                area: area.clone(),
            });
        }
    }
    Err(Diagnostic::error(
        "output/locked",
        format!("could not take the lock of {}", crate::paths::shown(out)),
    )
    .with_help("other shipshape runs kept replacing it; run again when they are done"))
}

#[cfg(unix)]
fn try_lock(file: &fs::File) -> bool {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a file descriptor this process owns; no memory is shared with the kernel.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

#[cfg(not(unix))]
fn try_lock(_file: &fs::File) -> bool {
    true
}

/// Whether the locked file is still the one at `path` (and not one a finishing run unlinked).
#[cfg(unix)]
fn still_at_path(file: &fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn still_at_path(_file: &fs::File, _path: &Path) -> bool {
    true
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Unlinked while still locked, then closed: a run waiting on this file finds it gone
        // from the path and takes a new one.
        let _ = fs::remove_file(self.area.lock_path());
        drop(self.file.take());
        self.area.remove_if_empty();
    }
}
