//! `shipshape build`: compile, check, and write the output tree only when nothing is wrong.

use crate::app::{self, Io, EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK};
use crate::cli::OutputArgs;
use crate::pipeline::CompileOptions;
use crate::render::write::{lock, Staging, WriteSummary};
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
    if compiled.has_errors() {
        app::emit_rendered(
            &compiled.findings,
            Some(&compiled.manifest_counts),
            output,
            io,
        );
        let _ = writeln!(
            io.stderr,
            "shipshape: {}; nothing was written to {}",
            app::tally(&compiled.findings),
            out.display()
        );
        return EXIT_FINDINGS;
    }
    let written = match compiled.drifts.as_deref() {
        // Nothing to change (the common pre-commit case): touch nothing, not even the directory.
        Some([]) if staging.failure().is_none() => Ok(WriteSummary {
            unchanged: compiled.rendered().iter().map(|e| e.files.len()).sum(),
            ..WriteSummary::default()
        }),
        _ => staging.finish(&compiled.rendered()),
    };
    match written {
        Ok(summary) => {
            app::emit_rendered(
                &compiled.findings,
                Some(&compiled.manifest_counts),
                output,
                io,
            );
            let manifests = compiled.manifest_count();
            let _ = writeln!(
                io.stderr,
                "shipshape: rendered {} environment{} ({manifests} manifests) into {}: {} written, {} unchanged, {} removed; {}",
                compiled.environments.len(),
                if compiled.environments.len() == 1 { "" } else { "s" },
                out.display(),
                summary.written,
                summary.unchanged,
                summary.removed,
                app::tally(&compiled.findings),
            );
            EXIT_OK
        }
        Err(f) => {
            // One report: a machine format is one document on stdout, findings and all.
            let mut report = compiled.findings.clone();
            report.extend(f.diagnostics);
            app::emit_rendered(&report, Some(&compiled.manifest_counts), output, io);
            let _ = writeln!(
                io.stderr,
                "shipshape: writing failed; {} was left as it was",
                out.display()
            );
            EXIT_BAD_INPUT
        }
    }
}
