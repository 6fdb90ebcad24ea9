//! File-system primitives shared by the input reader (`yaml::input`) and the output tree
//! (`output::boundary`): both must open a path an untrusted repository controls without
//! following a final link and without waiting on a FIFO.

use std::fs::File;
use std::path::Path;

/// Opens `path` for reading. On Unix with `O_NOFOLLOW` (a final link is an error, `ELOOP`) and
/// `O_NONBLOCK` (a FIFO would otherwise wait for a writer for ever; on a regular file it changes
/// nothing). Elsewhere a plain open: callers ask what is at the path first.
pub fn open_unfollowed(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    options.open(path)
}
