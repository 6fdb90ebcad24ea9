//! `shipshape check`: the pre-commit and CI gate. Renders in memory, compares with the output
//! directory, lints, and writes nothing.

use crate::app::{self, Io, EXIT_FINDINGS, EXIT_OK};
use crate::cli::{Format, OutputArgs};
use crate::diagnostic::{Diagnostic, Location, Severity};
use crate::diff::colorize;
use crate::output::{drift, Drift, DriftKind};
use crate::pipeline::{CompileOptions, Sink};
use crate::render::RenderedEnvironment;
use crate::yaml::SourceFile;
use std::collections::HashMap;
use std::path::PathBuf;

/// Code of findings that say the committed output is out of date.
pub const DRIFT_CODE: &str = "drift";

/// The sink of `check` and `diff`: compares each finished environment with the output tree and
/// keeps only what differs, each text once (in its drift).
pub struct Comparing {
    out: PathBuf,
    pub drifts: Vec<Drift>,
}

impl Comparing {
    pub fn with(out: &std::path::Path) -> Comparing {
        Comparing {
            out: out.to_path_buf(),
            drifts: Vec::new(),
        }
    }
}

impl Sink for Comparing {
    /// Compares as soon as the directory is rendered: what the tree holds as it is needs no
    /// text in memory while the checks run, and a differing file's text moves into its drift.
    fn rendered(&mut self, dir: &mut RenderedEnvironment) -> Result<(), Diagnostic> {
        let mut found = drift::compare(&self.out, dir)?;
        drift::take_texts(dir, &mut found);
        self.drifts.extend(found);
        Ok(())
    }

    fn finished(&mut self, _: &mut RenderedEnvironment, _clean: bool) -> Result<(), Diagnostic> {
        Ok(())
    }
}

pub fn run(opts: &CompileOptions, out: PathBuf, output: &OutputArgs, io: &mut Io<'_>) -> i32 {
    let mut sink = Comparing::with(&out);
    let compiled = match app::compile_or_fail(opts, &mut sink, output, io) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let drifts = sink.drifts;
    let mut diagnostics = compiled.findings.clone();
    for d in &drifts {
        let shown = format!("{}/{}", crate::catalogue::load::display_path(&out), d.path);
        let (message, label) = match d.kind {
            DriftKind::Missing => (format!("{shown} is missing"), "not on disk"),
            DriftKind::Changed => (
                format!("{shown} is out of date or was edited by hand"),
                "differs from the catalogue from here",
            ),
            DriftKind::Orphaned => (
                format!("{shown} is generated but no longer produced"),
                "no longer rendered",
            ),
        };
        // Point at the first differing line of the file on disk, which is what a reviewer opens.
        let file = SourceFile::new(shown.clone(), d.old.clone());
        let first = first_difference(&d.old, &d.new);
        let location =
            (d.kind != DriftKind::Missing).then(|| Location::new(&file, file.span_of(first, 0)));
        let mut diag = Diagnostic::new(DRIFT_CODE, Severity::Error, message)
            .with_help("run `shipshape build` and commit the result")
            .in_environment(&d.environment);
        diag.location = location;
        diag.label = Some(label.into());
        diagnostics.push(diag);
    }
    crate::diagnostic::normalise(&mut diagnostics);
    app::emit_rendered(&diagnostics, Some(&compiled.manifest_counts), output, io);
    // The diffs are for a person: beside human findings on stderr, never inside a machine format.
    // A change made the same way in several environments is shown once: a one-line catalogue
    // change is not three screens of the same diff in a pre-commit log.
    if output.format == Format::Human {
        let color = app::use_color(output.color, io.stderr_is_terminal);
        let namespaces: HashMap<&str, &str> = compiled
            .environments
            .iter()
            .map(|e| (e.resolved.name.as_str(), e.resolved.namespace.as_str()))
            .collect();
        let mut shown: HashMap<(String, String), &str> = HashMap::new();
        for d in &drifts {
            let text = d.unified();
            let key = d.change_key(&text, namespaces.get(d.environment.as_str()).copied());
            if let Some(first) = shown.get(&key) {
                let _ = writeln!(io.stderr, "{}: the same change as {first}", d.path);
                continue;
            }
            shown.insert(key, &d.path);
            let _ = io
                .stderr
                .write_all(if color { colorize(&text) } else { text }.as_bytes());
        }
    }
    let errors = diagnostics.iter().any(|d| d.severity == Severity::Error);
    let _ = writeln!(
        io.stderr,
        "shipshape: {}",
        last_line(&out, drifts.len(), &compiled.findings)
    );
    if errors {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

/// Byte offset of the start of the first line where `a` and `b` differ.
fn first_difference(a: &str, b: &str) -> usize {
    let mut offset = 0;
    for (la, lb) in a.split_inclusive('\n').zip(b.split_inclusive('\n')) {
        if la != lb {
            return offset;
        }
        offset += la.len();
    }
    offset.min(a.len())
}

/// What `check` ends with: what to do next. `shipshape build` writes nothing while a lint error
/// remains, so with errors the advice is to fix them, whatever differs.
fn last_line(out: &std::path::Path, differing: usize, findings: &[Diagnostic]) -> String {
    let out = crate::paths::shown(out);
    let files = format!(
        "{differing} file{} in {out} differ{} from the catalogue",
        if differing == 1 { "" } else { "s" },
        if differing == 1 { "s" } else { "" },
    );
    let lint_errors = findings
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    match (differing, lint_errors) {
        (0, _) => format!("{out} is up to date; {}", app::tally_rendered(findings)),
        (_, 0) => format!("{files}; run `shipshape build` and commit the result"),
        (_, n) => format!(
            "{files}, and {}; fix {} first (`shipshape build` writes nothing while {} remain{})",
            app::tally_rendered(findings),
            if n == 1 { "that error" } else { "those errors" },
            if n == 1 { "it" } else { "they" },
            if n == 1 { "s" } else { "" },
        ),
    }
}
