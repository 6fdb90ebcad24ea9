//! How the rendered tree in memory differs from the one on disk: the comparison `check`, `build`
//! and `diff` make, environment by environment, under the link policy of [`super::boundary`].

use super::boundary;
use crate::diagnostic::Diagnostic;
use crate::render::{RenderedEnvironment, TextAt, GENERATED_MARKER};
use std::collections::HashSet;
use std::io::{Read, Seek};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriftKind {
    /// Rendered now, absent on disk.
    Missing,
    /// On disk with other content (stale, or edited by hand).
    Changed,
    /// A generated file on disk that the catalogue no longer produces.
    Orphaned,
}

#[derive(Debug, Clone)]
pub struct Drift {
    pub environment: String,
    /// Path relative to the output directory.
    pub path: String,
    pub kind: DriftKind,
    pub old: String,
    /// The rendered text; empty until [`take_texts`] moves it here.
    pub new: String,
}

/// The most of a differing file on disk read to show its diff: a file this large at a rendered
/// path is not shipshape's, and holding it whole would let one file take all memory.
const MAX_OLD_TEXT: u64 = 64 << 20;

/// Compares one output directory with `out/<dir.name>/` on disk. Files the tree already holds as
/// they are let go of their text ([`TextAt::Tree`]); the others keep it in memory, for
/// [`take_texts`] or for staging. A link or special file where the directory or a rendered file
/// belongs is an error, and nothing is read through it.
pub fn compare(out: &Path, dir: &mut RenderedEnvironment) -> Result<Vec<Drift>, Diagnostic> {
    boundary::check_output_dir(out)?;
    let root = out.join(&dir.name);
    boundary::check_environment_dir(&root)?;
    let mut nested: HashSet<&str> = HashSet::new();
    for file in &dir.files {
        if let Some((parent, _)) = file.path.rsplit_once('/') {
            if nested.insert(parent) {
                boundary::check_nested_dirs(&root, &file.path)?;
            }
        }
    }
    // Reading thousands of small files is mostly waiting on the file system; both cores wait
    // better than one. A text not written yet is written here, file by file, and kept only when
    // the tree does not hold it already.
    let manifests = &dir.manifests;
    let compared = crate::parallel::map(&dir.files, 64, |file| {
        let text = file.text_from(manifests);
        let path = root.join(&file.path);
        let differing = match boundary::open_unfollowed(&path)? {
            None => (DriftKind::Missing, String::new()),
            Some(on_disk) => match differs(on_disk, &path, text.as_bytes())? {
                None => return Ok(None),
                Some(old) => (DriftKind::Changed, old),
            },
        };
        let written = match text {
            std::borrow::Cow::Owned(text) => Some(text),
            std::borrow::Cow::Borrowed(_) => None,
        };
        Ok(Some((differing, written)))
    });
    let mut found = Vec::new();
    for (file, result) in dir.files.iter_mut().zip(compared) {
        match result? {
            None => {
                file.text = String::new();
                file.text_at = TextAt::Tree;
            }
            Some(((kind, old), written)) => {
                if let Some(text) = written {
                    file.text = text;
                    file.text_at = TextAt::Memory;
                }
                found.push(Drift {
                    environment: dir.name.clone(),
                    path: format!("{}/{}", dir.name, file.path),
                    kind,
                    old,
                    new: String::new(),
                });
            }
        }
    }
    if dir.complete {
        found.extend(orphans(&root, dir));
    }
    Ok(found)
}

/// Moves the text of every differing file of `dir` into its drift, so a caller that only reports
/// (check, diff) holds each text once.
pub fn take_texts(dir: &mut RenderedEnvironment, drifts: &mut [Drift]) {
    let by_path: std::collections::HashMap<String, usize> = dir
        .files
        .iter()
        .enumerate()
        .filter(|(_, f)| f.text_at == TextAt::Memory)
        .map(|(i, f)| (format!("{}/{}", dir.name, f.path), i))
        .collect();
    for d in drifts.iter_mut().filter(|d| d.kind != DriftKind::Orphaned) {
        if let Some(&i) = by_path.get(&d.path) {
            d.new = std::mem::take(&mut dir.files[i].text);
        }
    }
}

/// Generated files on disk that `dir` no longer renders. Only a complete render says anything
/// about them (the Argo CD directory under `--env` is partial).
fn orphans(root: &Path, dir: &RenderedEnvironment) -> Vec<Drift> {
    let rendered: HashSet<&str> = dir.files.iter().map(|f| f.path.as_str()).collect();
    let mut on_disk: Vec<_> = walkdir::WalkDir::new(root)
        .follow_links(false)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .collect();
    on_disk.sort();
    let mut found = Vec::new();
    for path in on_disk {
        let Ok(rel_in_env) = path.strip_prefix(root) else {
            continue;
        };
        let rel_in_env = rel_in_env.to_string_lossy().replace('\\', "/");
        if rendered.contains(rel_in_env.as_str()) || !is_generated(&path) {
            continue;
        }
        let old = boundary::open_regular(&path)
            .ok()
            .flatten()
            .map(|f| read_capped(f).unwrap_or_default())
            .unwrap_or_default();
        found.push(Drift {
            environment: dir.name.clone(),
            path: format!("{}/{rel_in_env}", dir.name),
            kind: DriftKind::Orphaned,
            old,
            new: String::new(),
        });
    }
    found
}

/// `None` when `file` holds exactly `text`, else what it holds. Almost every file compared is
/// identical, so this reads into a buffer each thread keeps rather than allocating the file's
/// size, and never asks for the size first: at N = 10,000 services a check compares 30,000 files.
/// Only a file that differs is asked what it is (a FIFO or device at a rendered path is refused).
fn differs(
    mut file: std::fs::File,
    path: &Path,
    text: &[u8],
) -> Result<Option<String>, Diagnostic> {
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let same = BUFFER.with_borrow_mut(|buf| {
        // One byte more than the text: a longer file fills it.
        buf.resize(text.len() + 1, 0);
        let mut filled = 0;
        while filled < buf.len() {
            match file.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        Ok(buf.get(..filled) == Some(text))
    });
    let same = same.map_err(|e| read_error(path, &e))?;
    if same {
        return Ok(None);
    }
    match file.metadata() {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => return Err(boundary::not_a_file(path)),
        Err(e) => return Err(read_error(path, &e)),
    }
    file.rewind().map_err(|e| read_error(path, &e))?;
    read_capped(file)
        .map(Some)
        .map_err(|e| read_error(path, &e))
}

fn read_capped(file: std::fs::File) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    file.take(MAX_OLD_TEXT).read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn read_error(path: &Path, e: &std::io::Error) -> Diagnostic {
    if e.raw_os_error() == Some(21) {
        // EISDIR: a directory where a file is rendered.
        return boundary::not_a_file(path);
    }
    Diagnostic::error(
        "output/io",
        format!("cannot read {}: {e}", crate::paths::shown(path)),
    )
    .with_help("check the permissions of the output directory; nothing was touched")
}

/// Whether `path` is a file shipshape generated (it starts with the generated-file header).
/// A link is never followed to find out.
pub fn is_generated(path: &Path) -> bool {
    let mut buf = [0u8; 64];
    let Ok(Some(mut f)) = boundary::open_regular(path) else {
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
