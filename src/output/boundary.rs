//! The link policy of the output tree, checked before anything under it is read or written.
//!
//! The output directory, each directory shipshape renders into (`rendered/<env>/`) and each
//! rendered file must be a real directory or regular file. A symbolic link at any of those
//! places is refused (`output/link`) and nothing is touched: following it would let a build empty
//! or overwrite a directory outside the project, or link a file onto itself. Anything else the
//! user keeps in the tree (a link beside the rendered files, a notes file) is theirs: carried into
//! the new tree as it is, never followed.

use crate::diagnostic::Diagnostic;
use std::fs;
use std::io;
use std::path::Path;

/// What sits at a path shipshape is about to use, judged without following a link.
enum Found {
    Nothing,
    Directory,
    RegularFile,
    Link,
    Other,
}

fn inspect(path: &Path) -> io::Result<Found> {
    match fs::symlink_metadata(path) {
        Ok(meta) => {
            let ft = meta.file_type();
            Ok(if ft.is_symlink() {
                Found::Link
            } else if ft.is_dir() {
                Found::Directory
            } else if ft.is_file() {
                Found::RegularFile
            } else {
                Found::Other
            })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Found::Nothing),
        Err(e) => Err(e),
    }
}

/// The output directory itself: absent (a build creates it) or a real directory, with a name
/// (the work area beside it is named after it).
pub fn check_output_dir(out: &Path) -> Result<(), Diagnostic> {
    if out.file_name().is_none() {
        return Err(Diagnostic::error(
            "output/bad-path",
            format!(
                "`{}` cannot be the output directory: it has no name of its own",
                crate::paths::shown(out)
            ),
        )
        .with_help("name a directory, for example `--out rendered`"));
    }
    expect_directory(out, "the output directory")
}

/// An environment's directory under the output directory (`rendered/<env>`).
pub fn check_environment_dir(dir: &Path) -> Result<(), Diagnostic> {
    expect_directory(dir, "an environment's output directory")
}

fn expect_directory(path: &Path, what: &str) -> Result<(), Diagnostic> {
    match inspect(path).map_err(|e| unreadable(path, &e))? {
        Found::Nothing | Found::Directory => Ok(()),
        Found::Link => Err(link_refused(path, what)),
        Found::RegularFile | Found::Other => Err(Diagnostic::error(
            "output/not-a-directory",
            format!("{} is {what} but is not a directory", crate::paths::shown(path)),
        )
        .with_help("move it away (shipshape writes a directory there), then run again; nothing was touched")),
    }
}

/// The directories between an environment's directory and one of its rendered files, for a
/// file rendered below the top of its directory. Checked once per distinct directory.
pub fn check_nested_dirs(env_dir: &Path, rel: &str) -> Result<(), Diagnostic> {
    let mut dir = env_dir.to_path_buf();
    let mut parts: Vec<&str> = rel.split('/').collect();
    parts.pop();
    for part in parts {
        dir.push(part);
        expect_directory(&dir, "a directory shipshape renders into")?;
    }
    Ok(())
}

/// A symbolic link where shipshape reads or writes its own output.
pub fn link_refused(path: &Path, what: &str) -> Diagnostic {
    let target = fs::read_link(path)
        .map(|t| format!(" (it points to {})", crate::paths::shown(&t)))
        .unwrap_or_default();
    Diagnostic::error(
        "output/link",
        format!("{} is {what} but is a symbolic link{target}", crate::paths::shown(path)),
    )
    .with_help(
        "shipshape never writes through a link: replace the link by a real directory or file (or pass the link's target with --out), then run again; nothing was touched",
    )
}

/// Something that is neither a regular file nor a link (a FIFO, a device, a socket, a
/// directory) where shipshape renders a file.
pub fn not_a_file(path: &Path) -> Diagnostic {
    Diagnostic::error(
        "output/not-a-file",
        format!(
            "{} is where shipshape renders a file, but it is not a regular file",
            crate::paths::shown(path)
        ),
    )
    .with_help("move it away, then run again; nothing was touched")
}

pub fn unreadable(path: &Path, e: &io::Error) -> Diagnostic {
    Diagnostic::error(
        "output/io",
        format!("cannot inspect {}: {e}", crate::paths::shown(path)),
    )
    .with_help("check the permissions of the output directory; nothing was touched")
}

/// Opens a file of the output tree for reading without following a link and without blocking on
/// a FIFO. `Ok(None)`: nothing there. The caller asks what it opened ([`std::fs::File::metadata`])
/// before trusting more than a bounded read of it.
pub fn open_unfollowed(path: &Path) -> Result<Option<fs::File>, Diagnostic> {
    #[cfg(not(unix))]
    {
        // No O_NOFOLLOW: ask first (a link swapped in between is the user's own doing).
        if matches!(inspect(path), Ok(Found::Link)) {
            return Err(link_refused(path, "a file shipshape renders"));
        }
    }
    match crate::fsio::open_unfollowed(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(match inspect(path) {
            Ok(Found::Link) => link_refused(path, "a file shipshape renders"),
            Ok(Found::Other | Found::Directory) => not_a_file(path),
            _ => unreadable(path, &e),
        }),
    }
}

/// [`open_unfollowed`], and only a regular file.
pub fn open_regular(path: &Path) -> Result<Option<fs::File>, Diagnostic> {
    let Some(file) = open_unfollowed(path)? else {
        return Ok(None);
    };
    match file.metadata() {
        Ok(meta) if meta.is_file() => Ok(Some(file)),
        Ok(_) => Err(not_a_file(path)),
        Err(e) => Err(unreadable(path, &e)),
    }
}
