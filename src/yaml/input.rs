//! Reading an input file from disk without trusting it.
//!
//! shipshape runs as a pre-commit hook and a CI gate over repositories anyone may send a pull
//! request to, so a file named `catalogue.yaml` may be a symbolic link to a credentials file, a
//! FIFO that never ends, or a link to `/dev/zero`. Only regular files inside the directory the
//! input belongs to (its boundary) are read, and never more than the size limit, whatever the
//! metadata claims.

use super::limits::{Limits, MAX_FILE_BYTES_VAR};
use std::fs::Metadata;
use std::io::Read;
use std::path::{Path, PathBuf};

/// An input that was not read, and why, ready to become an `input/…` diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub code: &'static str,
    pub message: String,
    pub help: String,
}

/// Reads the file at `path` (shown to the user as `name`) if it resolves to a regular file
/// inside `boundary`, refusing it before opening otherwise.
pub fn read_input(
    path: &Path,
    name: &str,
    boundary: &Path,
    limits: &Limits,
) -> Result<Vec<u8>, InputError> {
    let resolved = resolve_inside(path, name, boundary)?;
    let meta = std::fs::metadata(&resolved).map_err(|e| io_error(name, &e))?;
    check_kind(&meta, name, &resolved)?;
    if meta.len() > limits.max_file_bytes as u64 {
        let limit = limits.max_file_bytes;
        return Err(too_big(format!(
            "{name} is {} bytes, above the input limit of {limit} bytes",
            meta.len()
        )));
    }
    // Without blocking: were the path swapped for a FIFO after it was checked, `open` would
    // otherwise wait for a writer forever.
    let file = crate::fsio::open_unfollowed(&resolved).map_err(|e| io_error(name, &e))?;
    // Checked again on what was opened: the path may have been swapped since it was looked at.
    let opened = file.metadata().map_err(|e| io_error(name, &e))?;
    check_kind(&opened, name, &resolved)?;
    read_bounded(file, opened.len(), name, limits)
}

/// The boundary for the input at `path`: the directory that holds it by name (not the one a
/// link points to), resolved. For `catalogue.yaml`, `catalogue/` and `environments/` that is the
/// project root; for a file named on its own, the directory it sits in.
pub fn boundary_around(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = match absolute.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())
}

/// The boundary for files found under the directory `dir`: `dir` itself, resolved.
pub fn boundary_within(dir: &Path) -> PathBuf {
    dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())
}

fn resolve_inside(path: &Path, name: &str, boundary: &Path) -> Result<PathBuf, InputError> {
    let resolved = path.canonicalize().map_err(|e| io_error(name, &e))?;
    if resolved.starts_with(boundary) {
        return Ok(resolved);
    }
    let target = match std::fs::read_link(path) {
        Ok(link) if link == resolved => {
            format!("is a symbolic link to {}", crate::paths::shown(&link))
        }
        Ok(link) => format!(
            "is a symbolic link to {}, which resolves to {}",
            crate::paths::shown(&link),
            crate::paths::shown(&resolved)
        ),
        Err(_) => format!("resolves to {}", crate::paths::shown(&resolved)),
    };
    Err(InputError {
        code: "input/outside-root",
        message: format!(
            "{name} {target}, outside {}",
            crate::paths::with_slashes(&boundary.to_string_lossy())
        ),
        help: "inputs are read only from inside the directory they belong to (the project, or the \
               directory a path given to `lint` names), so a link cannot make shipshape print \
               another file; replace the link with the file itself, or name the target directly"
            .into(),
    })
}

fn check_kind(meta: &Metadata, name: &str, resolved: &Path) -> Result<(), InputError> {
    if meta.is_file() {
        return Ok(());
    }
    Err(InputError {
        code: "input/not-a-file",
        message: format!(
            "{name} is {}, not a regular file{}",
            kind_of(meta),
            shown_target(name, resolved)
        ),
        help: "inputs must be regular files; a device, FIFO or socket could block or never end"
            .into(),
    })
}

/// ` (it resolves to …)` when `name` is not simply the file it resolves to.
fn shown_target(name: &str, resolved: &Path) -> String {
    if resolved.ends_with(name) {
        String::new()
    } else {
        format!(" (it resolves to {})", crate::paths::shown(resolved))
    }
}

#[cfg(unix)]
fn kind_of(meta: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn kind_of(meta: &Metadata) -> &'static str {
    if meta.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

/// Reads at most one byte more than the limit: a file that grows, or whose size the metadata
/// does not tell (procfs), still cannot make shipshape read more.
fn read_bounded(
    reader: impl Read,
    size_hint: u64,
    name: &str,
    limits: &Limits,
) -> Result<Vec<u8>, InputError> {
    let limit = limits.max_file_bytes as u64;
    let mut bytes = Vec::with_capacity(size_hint.min(limit) as usize);
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(name, &e))?;
    if bytes.len() as u64 > limit {
        return Err(too_big(format!(
            "{name} holds more than the input limit of {limit} bytes"
        )));
    }
    Ok(bytes)
}

fn too_big(message: String) -> InputError {
    InputError {
        code: "input/limit",
        message,
        help: format!("split the file, or raise the limit with {MAX_FILE_BYTES_VAR}=<bytes>"),
    }
}

fn io_error(name: &str, e: &std::io::Error) -> InputError {
    InputError {
        code: "input/io",
        message: format!("cannot read {name}: {e}"),
        help: "check that the file exists and is readable".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(limit: usize) -> Limits {
        Limits {
            max_file_bytes: limit,
            ..Limits::default()
        }
    }

    #[test]
    fn reading_stops_one_byte_past_the_limit() {
        // An endless reader: what `/dev/zero` or a growing file would be.
        let e = read_bounded(std::io::repeat(b'x'), 0, "x.yaml", &small(10)).unwrap_err();
        assert_eq!(e.code, "input/limit");
        assert_eq!(
            e.message,
            "x.yaml holds more than the input limit of 10 bytes"
        );
        let ok = read_bounded(&b"0123456789"[..], 10, "x.yaml", &small(10)).unwrap();
        assert_eq!(ok.len(), 10);
    }
}
