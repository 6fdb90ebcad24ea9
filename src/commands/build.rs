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
    fn finished(&mut self, dir: &mut RenderedEnvironment, clean: bool) -> Result<(), Diagnostic> {
        // Held from before the first comparison: no other build may change the tree between
        // it and the swap.
        let writer = match &mut self.writer {
            Some(w) => w,
            None => self.writer.insert(Writer::open(&self.out)?),
        };
        self.differing += drift::compare(&self.out, dir)?.len();
        if clean {
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
                app::tally(&compiled.findings),
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
        app::tally(&compiled.findings),
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
