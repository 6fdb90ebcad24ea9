//! `shipshape build`: compile, check, and write the output tree only when nothing is wrong.

use crate::app::{self, Io, EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK};
use crate::cli::OutputArgs;
use crate::pipeline::CompileOptions;
use crate::render::write::{lock, Staging, WriteSummary};
use std::borrow::Cow;
use std::path::PathBuf;

pub fn run(opts: &CompileOptions, out: PathBuf, output: &OutputArgs, io: &mut Io<'_>) -> i32 {
    // Held from before the compile, which compares the rendered text with the tree and keeps only
    // what differs: no other build may change the tree between that comparison and the write.
    let _lock = match lock(&out) {
        Ok(l) => l,
        Err(d) => {
            app::emit(&[d], output, io);
            let _ = writeln!(
                io.stderr,
                "shipshape: writing failed; {} was left as it was",
                out.display()
            );
            return EXIT_BAD_INPUT;
        }
    };
    let opts = CompileOptions {
        compare_with: Some(out.clone()),
        ..opts.clone()
    };
    // Each environment's changed files are staged as soon as it is compared, so their text
    // does not wait in memory for the other environments; dropping the staging removes it.
    let mut staging = Staging::new(&out);
    let compiled = match crate::pipeline::compile_staging(&opts, Some(&mut staging)) {
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
                out.display()
            ),
            EXIT_FINDINGS,
        )
    } else {
        match write(&compiled, staging) {
            Ok(summary) => {
                let envs = compiled.environments.len();
                (
                    Cow::Borrowed(&compiled.findings[..]),
                    format!(
                        "rendered {envs} environment{} ({} manifests) into {}: {} written, {} unchanged, {} removed; {}",
                        if envs == 1 { "" } else { "s" },
                        compiled.manifest_count(),
                        out.display(),
                        summary.written,
                        summary.unchanged,
                        summary.removed,
                        app::tally(&compiled.findings),
                    ),
                    EXIT_OK,
                )
            }
            Err(f) => {
                let mut report = compiled.findings.clone();
                report.extend(f.diagnostics);
                (
                    Cow::Owned(report),
                    format!("writing failed; {} was left as it was", out.display()),
                    EXIT_BAD_INPUT,
                )
            }
        }
    };
    app::emit_rendered(&report, Some(&compiled.manifest_counts), output, io);
    let _ = writeln!(io.stderr, "shipshape: {outcome}");
    code
}

/// Swaps the staged tree in, unless nothing differs from the tree on disk (the common
/// pre-commit case), when nothing is touched, not even the directory.
fn write(
    compiled: &crate::pipeline::Compiled,
    staging: Staging,
) -> Result<WriteSummary, crate::diagnostic::Failure> {
    match compiled.drifts.as_deref() {
        Some([]) if staging.failure().is_none() => Ok(WriteSummary {
            unchanged: compiled.rendered().iter().map(|e| e.files.len()).sum(),
            ..WriteSummary::default()
        }),
        _ => staging.finish(&compiled.rendered()),
    }
}
