//! Showing drift (found by [`crate::output::drift`]) to a person: unified diffs, line counts,
//! colour, and the pull-request plan made of them.

pub mod markdown;
pub mod resources;

pub use crate::output::{Drift, DriftKind};
use similar::{ChangeTag, TextDiff};

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

impl Drift {
    /// The file's path inside its environment's directory (`api.yaml` of `dev/api.yaml`).
    pub fn path_in_environment(&self) -> &str {
        self.path
            .strip_prefix(&format!("{}/", self.environment))
            .unwrap_or(&self.path)
    }

    /// What two environments' drifts must share to be the same change: the path inside the
    /// environment's directory and the lines changed and around them, without hunk positions
    /// and with the environment's own `namespace` (when given) made neutral.
    pub fn change_key(&self, diff: &str, namespace: Option<&str>) -> (String, String) {
        let mut same = diff
            .lines()
            .filter(|l| !l.starts_with("--- ") && !l.starts_with("+++ "))
            .map(|l| if l.starts_with("@@") { "@@" } else { l })
            .collect::<Vec<_>>()
            .join("\n");
        if let Some(ns) = namespace.filter(|ns| !ns.is_empty()) {
            same = same.replace(ns, "\u{0}namespace\u{0}");
        }
        (self.path_in_environment().to_owned(), same)
    }
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
