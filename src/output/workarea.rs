//! The work area of an output directory: `.shipshape/` beside it, holding the build lock
//! (`<out>.lock`) and the tree being assembled (`<out>.staging-<pid>/`).
//!
//! Both must sit on the output's file system (the swap is a rename) and outside it (the swap
//! replaces it whole), so beside it; and neither may be committed by `git add -A`, so the
//! directory carries a `.gitignore` that ignores everything in it, itself included. It is created
//! only when a build reaches the output (never for bad input, never by `check` or `diff`), and
//! removed at the end of the run when nothing else is left in it.

use super::boundary;
use crate::diagnostic::Diagnostic;
use std::fs;
use std::path::{Path, PathBuf};

pub const DIR_NAME: &str = ".shipshape";

const GITIGNORE: &str =
    "# Written by shipshape: build locks and staging trees, never committed.\n*\n";

/// Paths of the work area of one output directory.
#[derive(Debug, Clone)]
pub struct WorkArea {
    dir: PathBuf,
    /// The output directory's own name, which every entry of the work area starts with.
    out_name: String,
}

impl WorkArea {
    /// `out` must have a name ([`boundary::check_output_dir`]).
    pub fn of(out: &Path) -> WorkArea {
        let out_name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "rendered".into());
        let parent = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        WorkArea {
            dir: parent.join(DIR_NAME),
            out_name,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn lock_path(&self) -> PathBuf {
        self.dir.join(format!("{}.lock", self.out_name))
    }

    /// Where this process assembles the next tree.
    pub fn staging_path(&self) -> PathBuf {
        self.dir
            .join(format!("{}.staging-{}", self.out_name, std::process::id()))
    }

    /// Where the previous tree waits between the two renames of a swap without an atomic
    /// exchange.
    pub fn previous_path(&self) -> PathBuf {
        self.dir
            .join(format!("{}.previous-{}", self.out_name, std::process::id()))
    }

    /// Creates the directory and its `.gitignore`. A link in its place is refused: the staging
    /// tree must not be assembled somewhere else.
    pub fn create(&self) -> Result<(), Diagnostic> {
        if fs::symlink_metadata(&self.dir).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(boundary::link_refused(
                &self.dir,
                "shipshape's work area beside the output directory",
            ));
        }
        // The output's parent may not exist yet (`--out deploy/rendered` in a fresh checkout).
        if let Some(parent) = self.dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(|e| io_error("cannot create", parent, &e))?;
        }
        match fs::create_dir(&self.dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_error("cannot create", &self.dir, &e)),
        }
        let ignore = self.dir.join(".gitignore");
        if fs::symlink_metadata(&ignore).is_err() {
            fs::write(&ignore, GITIGNORE).map_err(|e| io_error("cannot write", &ignore, &e))?;
        }
        Ok(())
    }

    /// Removes what runs of this output left behind: staging trees of killed builds, and the
    /// files earlier versions of shipshape kept beside the output. A previous tree left between
    /// the two renames of a non-atomic swap is put back when the output is missing. Only under
    /// the lock.
    pub fn clean_leftovers(&self, out: &Path) {
        let staging = format!("{}.staging-", self.out_name);
        let previous = format!("{}.previous-", self.out_name);
        for (path, name) in entries(&self.dir) {
            if name.starts_with(&previous)
                && fs::symlink_metadata(out).is_err()
                && fs::rename(&path, out).is_ok()
            {
                continue;
            }
            if name.starts_with(&staging) || name.starts_with(&previous) {
                let _ = fs::remove_dir_all(&path);
            }
        }
        // Before the work area: `.rendered.shipshape-lock` and `-staging-<pid>` beside the output.
        let legacy = format!(".{}.shipshape-", self.out_name);
        let parent = self.dir.parent().unwrap_or(Path::new("."));
        for (path, name) in entries(parent) {
            if let Some(rest) = name.strip_prefix(&legacy) {
                if rest == "lock" {
                    let _ = fs::remove_file(&path);
                } else if rest.starts_with("staging-") || rest.starts_with("old-") {
                    let _ = fs::remove_dir_all(&path);
                }
            }
        }
    }

    /// Removes the work area when nothing but its `.gitignore` is left (best effort: another
    /// run may be starting; it creates the directory again).
    pub fn remove_if_empty(&self) {
        let names: Vec<String> = entries(&self.dir).into_iter().map(|(_, n)| n).collect();
        if names.iter().all(|n| n == ".gitignore") {
            let _ = fs::remove_file(self.dir.join(".gitignore"));
            let _ = fs::remove_dir(&self.dir);
        }
    }
}

fn entries(dir: &Path) -> Vec<(PathBuf, String)> {
    let Ok(read) = fs::read_dir(dir) else {
        return Vec::new();
    };
    read.filter_map(Result::ok)
        .map(|e| (e.path(), e.file_name().to_string_lossy().into_owned()))
        .collect()
}

pub fn io_error(what: &str, path: &Path, e: &std::io::Error) -> Diagnostic {
    Diagnostic::error(
        "output/io",
        format!("{what} {}: {e}", crate::paths::shown(path)),
    )
    .with_help("check permissions and free space; the previous output was left untouched")
}
