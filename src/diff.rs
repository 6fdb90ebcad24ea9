//! Drift between the rendered tree in memory and the one on disk.

use crate::render::write::is_generated;
use crate::render::RenderedEnvironment;
use similar::{ChangeTag, TextDiff};
use std::collections::HashSet;
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
    pub new: String,
}

impl Drift {
    pub fn unified(&self) -> String {
        let a = format!("a/{}", self.path);
        let b = format!("b/{}", self.path);
        let (a, b) = match self.kind {
            DriftKind::Missing => ("/dev/null".to_owned(), b),
            DriftKind::Orphaned => (a, "/dev/null".to_owned()),
            DriftKind::Changed => (a, b),
        };
        TextDiff::from_lines(&self.old, &self.new)
            .unified_diff()
            .context_radius(3)
            .header(&a, &b)
            .to_string()
    }

    /// Line counts added and removed.
    pub fn stats(&self) -> (usize, usize) {
        let diff = TextDiff::from_lines(&self.old, &self.new);
        let mut added = 0;
        let mut removed = 0;
        for c in diff.iter_all_changes() {
            match c.tag() {
                ChangeTag::Insert => added += 1,
                ChangeTag::Delete => removed += 1,
                ChangeTag::Equal => {}
            }
        }
        (added, removed)
    }
}

/// Compares what was rendered with `out/<env>/` on disk (the Argo CD pseudo-environment included).
pub fn drift(out: &Path, envs: &[&RenderedEnvironment]) -> Vec<Drift> {
    compare(out, envs, true)
}

/// [`drift`] without the rendered text in `Drift::new` (left empty): for a caller that keeps the
/// text in the rendered files and should not hold a second copy of it.
pub fn drift_without_text(out: &Path, envs: &[&RenderedEnvironment]) -> Vec<Drift> {
    compare(out, envs, false)
}

fn compare(out: &Path, envs: &[&RenderedEnvironment], with_text: bool) -> Vec<Drift> {
    let mut found = Vec::new();
    for env in envs {
        let dir = out.join(&env.name);
        // Reading thousands of small files is mostly waiting on the file system; both cores wait
        // better than one.
        let compared = crate::parallel::map(&env.files, 64, |file| {
            let path = dir.join(&file.path);
            let (kind, old) = match holds(&path, file.text.as_bytes()) {
                Ok(true) => return None,
                Ok(false) => match std::fs::read(&path) {
                    Ok(bytes) => (
                        DriftKind::Changed,
                        String::from_utf8_lossy(&bytes).into_owned(),
                    ),
                    Err(_) => (DriftKind::Missing, String::new()),
                },
                Err(_) => (DriftKind::Missing, String::new()),
            };
            Some(Drift {
                environment: env.name.clone(),
                path: format!("{}/{}", env.name, file.path),
                kind,
                old,
                new: if with_text {
                    file.text.clone()
                } else {
                    String::new()
                },
            })
        });
        found.extend(compared.into_iter().flatten());
        if !env.complete {
            // A partial render (the Argo CD directory under `--env`) says nothing about the
            // other files there.
            continue;
        }
        let rendered: HashSet<&str> = env.files.iter().map(|f| f.path.as_str()).collect();
        let mut on_disk: Vec<_> = walkdir::WalkDir::new(&dir)
            .follow_links(false)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(walkdir::DirEntry::into_path)
            .collect();
        on_disk.sort();
        for path in on_disk {
            let Ok(rel_in_env) = path.strip_prefix(&dir) else {
                continue;
            };
            let rel_in_env = rel_in_env.to_string_lossy().replace('\\', "/");
            if rendered.contains(rel_in_env.as_str()) || !is_generated(&path) {
                continue;
            }
            found.push(Drift {
                environment: env.name.clone(),
                path: format!("{}/{rel_in_env}", env.name),
                kind: DriftKind::Orphaned,
                old: std::fs::read_to_string(&path).unwrap_or_default(),
                new: String::new(),
            });
        }
    }
    found
}

/// Whether the file at `path` holds exactly `text`. Almost every file compared does, so this
/// reads into a buffer each thread keeps rather than allocating the file's size, and never asks
/// for the size first: at N = 10,000 services a check compares 30,000 files.
fn holds(path: &Path, text: &[u8]) -> std::io::Result<bool> {
    use std::io::Read;
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let mut file = std::fs::File::open(path)?;
    BUFFER.with_borrow_mut(|buf| {
        // One byte more than the text: a longer file fills it.
        buf.resize(text.len() + 1, 0);
        let mut filled = 0;
        while filled < buf.len() {
            match file.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(buf.get(..filled) == Some(text))
    })
}

/// Colours a unified diff for a terminal.
pub fn colorize(diff: &str) -> String {
    let mut out = String::with_capacity(diff.len() + diff.len() / 8);
    for line in diff.split_inclusive('\n') {
        let code = if line.starts_with("+++") || line.starts_with("---") {
            "\x1b[1m"
        } else if line.starts_with('+') {
            "\x1b[32m"
        } else if line.starts_with('-') {
            "\x1b[31m"
        } else if line.starts_with("@@") {
            "\x1b[36m"
        } else {
            ""
        };
        if code.is_empty() {
            out.push_str(line);
        } else {
            let body = line.trim_end_matches('\n');
            out.push_str(code);
            out.push_str(body);
            out.push_str("\x1b[0m");
            if line.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out
}
