//! `shipshape build`: compile, check, and write the output tree only when nothing is wrong.

use crate::app::{self, Io, EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK};
use crate::cli::OutputArgs;
use crate::diagnostic::{Diagnostic, Failure};
use crate::output::{drift, WriteSummary, Writer};
use crate::pipeline::{CompileOptions, Compiled, Sink};
use crate::render::RenderedEnvironment;
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// The sink of `build`: takes the output lock when the first environment is finished (so bad
/// input never creates anything), compares each environment with the tree and stages what
/// differs at once, so no environment's text waits in memory for the others.
struct Staging {
    out: PathBuf,
    writer: Option<Writer>,
    differing: usize,
}

impl Sink for Staging {
    /// Compares as soon as the directory is rendered, so the text of files the tree already
    /// holds is let go before the checks run; what differs waits for [`Sink::finished`].
    fn rendered(&mut self, dir: &mut RenderedEnvironment) -> Result<(), Diagnostic> {
        // Held from before the first comparison: no other build may change the tree between
        // it and the swap.
        if self.writer.is_none() {
            self.writer = Some(Writer::open(&self.out)?);
        }
        self.differing += drift::compare(&self.out, dir)?.len();
        Ok(())
    }

    fn finished(&mut self, dir: &mut RenderedEnvironment, clean: bool) -> Result<(), Diagnostic> {
        if let (Some(writer), true) = (&mut self.writer, clean) {
            writer.stage_changed(dir);
        }
        Ok(())
    }
}

pub fn run(opts: &CompileOptions, out: PathBuf, output: &OutputArgs, io: &mut Io<'_>) -> i32 {
    let mut sink = Staging {
        out: out.clone(),
        writer: None,
        differing: 0,
    };
    let compiled = match crate::pipeline::compile(opts, &mut sink) {
        Ok(c) => c,
        Err(f) => return app::fail(f, output, io),
    };
    // One report whatever happens: a machine format is one document on stdout, findings and all.
    let (report, outcome, code) = if compiled.has_errors() {
        (
            Cow::Borrowed(&compiled.findings[..]),
            format!(
                "{}; nothing was written to {}",
                app::tally_rendered(&compiled.findings),
                crate::paths::shown(&out)
            ),
            EXIT_FINDINGS,
        )
    } else {
        match write(&compiled, sink) {
            Ok(summary) => (
                Cow::Borrowed(&compiled.findings[..]),
                written(&compiled, &out, &summary),
                EXIT_OK,
            ),
            Err(f) => {
                let mut report = compiled.findings.clone();
                report.extend(f.diagnostics);
                (
                    Cow::Owned(report),
                    format!(
                        "writing failed; {} was left as it was",
                        crate::paths::shown(&out)
                    ),
                    EXIT_BAD_INPUT,
                )
            }
        }
    };
    app::emit_rendered(&report, Some(&compiled.manifest_counts), output, io);
    let _ = writeln!(io.stderr, "shipshape: {outcome}");
    code
}

fn written(compiled: &Compiled, out: &Path, summary: &WriteSummary) -> String {
    let envs = compiled.environments.len();
    format!(
        "rendered {envs} environment{} ({} manifests) into {}: {} written, {} unchanged, {} removed; {}",
        if envs == 1 { "" } else { "s" },
        compiled.manifest_count(),
        crate::paths::shown(out),
        summary.written,
        summary.unchanged,
        summary.removed,
        app::tally_rendered(&compiled.findings),
    )
}

/// Swaps the staged tree in, unless nothing differs from the tree on disk (the common
/// pre-commit case), when nothing is touched, not even the directory.
fn write(compiled: &Compiled, sink: Staging) -> Result<WriteSummary, Failure> {
    let Some(writer) = sink.writer else {
        // Nothing was handed over: nothing rendered, nothing to write.
        return Ok(WriteSummary::default());
    };
    if sink.differing == 0 && writer.failure().is_none() {
        return Ok(WriteSummary {
            unchanged: compiled.rendered().iter().map(|e| e.files.len()).sum(),
            ..WriteSummary::default()
        });
    }
    writer.finish(&compiled.rendered())
}

/// The sink of `build --out -`: prints each finished environment's manifests on stdout as one
/// multi-document YAML stream (for `kubectl apply --dry-run=server -f -` and other checkers),
/// as soon as the environment is checked, so no environment waits in memory for the others.
/// Nothing touches the disk: no output directory, no lock, no work area.
struct Printing<'a> {
    out: &'a mut dyn std::io::Write,
    environments: usize,
    files_printed: usize,
    /// The first environment with an error-severity finding: it and everything after it are
    /// not printed (a stream a later environment makes invalid stops there).
    stopped_at: Option<String>,
    /// The reader closed the stream (`| head`): the run finishes without printing more.
    closed: bool,
}

/// Kustomize's own file in each directory is not a Kubernetes object; an API server refuses it.
const KUSTOMIZATION: &str = "kustomization.yaml";

impl Sink for Printing<'_> {
    fn finished(&mut self, dir: &mut RenderedEnvironment, clean: bool) -> Result<(), Diagnostic> {
        if self.closed {
            return Ok(());
        }
        if !clean || self.stopped_at.is_some() {
            self.stopped_at.get_or_insert_with(|| dir.name.clone());
            return Ok(());
        }
        if !dir.files.is_empty() {
            self.environments += 1;
        }
        let mut stream = String::new();
        for file in dir.files.iter().filter(|f| f.path != KUSTOMIZATION) {
            stream.push_str(&format!("---\n# Source: {}/{}\n", dir.name, file.path));
            stream.push_str(&file.text);
            if !file.text.ends_with('\n') {
                stream.push('\n');
            }
            self.files_printed += 1;
        }
        match self.out.write_all(stream.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                return Ok(());
            }
            written => written,
        }
        .map_err(|e| {
            Diagnostic::error(
                "output/stdout",
                format!("cannot write the manifests to standard output: {e}"),
            )
            .with_help("nothing was written to disk; check where standard output goes")
        })?;
        Ok(())
    }
}

/// `build --out -`. Findings are reported on stderr in human form only: stdout is the stream.
pub fn run_to_stdout(opts: &CompileOptions, output: &OutputArgs, io: &mut Io<'_>) -> i32 {
    if output.format != crate::cli::Format::Human {
        let d = Diagnostic::error(
            "usage/stdout-taken",
            "`--out -` prints the manifests on standard output, where a machine --format would print too",
        )
        .with_help("drop --format, or run `shipshape check --format ...` for the findings");
        // Reported on stderr: stdout is for the stream, even when refused.
        let human = OutputArgs {
            format: crate::cli::Format::Human,
            color: output.color,
        };
        return app::fail(d.into(), &human, io);
    }
    let mut sink = Printing {
        out: &mut *io.stdout,
        environments: 0,
        files_printed: 0,
        stopped_at: None,
        closed: false,
    };
    let result = crate::pipeline::compile(opts, &mut sink);
    let (environments, files_printed, stopped_at, closed) = (
        sink.environments,
        sink.files_printed,
        sink.stopped_at,
        sink.closed,
    );
    let compiled = match result {
        Ok(c) => c,
        Err(f) => return app::fail(f, output, io),
    };
    app::emit(&compiled.findings, output, io);
    let printed = format!(
        "printed {files_printed} file{} of {environments} director{} on standard output{}",
        if files_printed == 1 { "" } else { "s" },
        if environments == 1 { "y" } else { "ies" },
        if closed {
            " until its reader closed it"
        } else {
            ""
        },
    );
    let (outcome, code) = match stopped_at {
        Some(at) if compiled.has_errors() => (
            format!(
                "{}; {printed}, stopped before `{at}`: fix the errors above",
                app::tally_rendered(&compiled.findings)
            ),
            EXIT_FINDINGS,
        ),
        _ => (
            format!("{printed}; {}", app::tally_rendered(&compiled.findings)),
            EXIT_OK,
        ),
    };
    let _ = writeln!(io.stderr, "shipshape: {outcome}");
    code
}
