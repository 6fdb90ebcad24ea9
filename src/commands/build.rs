//! `shipshape build`: compile, check, and write the output tree only when nothing is wrong.

use crate::app::{self, Io, EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK};
use crate::cli::OutputArgs;
use crate::pipeline::CompileOptions;
use crate::render::write::{lock, write_tree_locked};
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
    let compiled = match app::compile_or_fail(&opts, output, io) {
        Ok(c) => c,
        Err(code) => return code,
    };
    app::emit(&compiled.findings, output, io);
    if compiled.has_errors() {
        let _ = writeln!(
            io.stderr,
            "shipshape: {}; nothing was written to {}",
            app::tally(&compiled.findings),
            out.display()
        );
        return EXIT_FINDINGS;
    }
    let rendered = compiled.rendered();
    match write_tree_locked(&out, &rendered, compiled.drifts.as_deref()) {
        Ok(summary) => {
            let manifests = compiled.manifest_count;
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
            app::emit(&f.diagnostics, output, io);
            let _ = writeln!(
                io.stderr,
                "shipshape: writing failed; {} was left as it was",
                out.display()
            );
            EXIT_BAD_INPUT
        }
    }
}
