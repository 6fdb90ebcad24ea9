//! `shipshape graph`: the dependency graph of one environment as Mermaid or DOT.

use crate::app::{self, Io, EXIT_OK};
use crate::cli::ColorChoice;
use crate::commands::plan::diagnostics_output;
use crate::diagnostic::Diagnostic;
use crate::graph::{self, GraphFormat};
use crate::pipeline::{CompileOptions, CompiledEnvironment};

/// The environment drawn when `--env` is not given.
pub const DEFAULT_ENVIRONMENT: &str = "prod";

/// `prod` when it exists, else the first environment by name: the graph most people want to see
/// is production's, and a fixed fallback keeps the output deterministic.
fn pick(environments: &[CompiledEnvironment]) -> Option<&CompiledEnvironment> {
    environments
        .iter()
        .find(|e| e.resolved.name == DEFAULT_ENVIRONMENT)
        .or_else(|| {
            environments
                .iter()
                .min_by(|a, b| a.resolved.name.cmp(&b.resolved.name))
        })
}

pub fn run(opts: &CompileOptions, format: GraphFormat, color: ColorChoice, io: &mut Io<'_>) -> i32 {
    let output = diagnostics_output(color);
    if opts.envs.len() > 1 {
        let d = Diagnostic::error(
            "usage/one-environment",
            format!(
                "`shipshape graph` draws one environment, but --env was given {} times",
                opts.envs.len()
            ),
        )
        .with_help("run it once per environment");
        return app::fail(d.into(), &output, io);
    }
    let compiled =
        match app::compile_or_fail(opts, &mut crate::pipeline::KeepEverything, &output, io) {
            Ok(c) => c,
            Err(code) => return code,
        };
    let Some(env) = pick(&compiled.environments) else {
        let d = Diagnostic::error("usage/no-environment", "there is no environment to draw")
            .with_help("add an environment file under environments/");
        return app::fail(d.into(), &output, io);
    };
    let g = graph::build(&env.resolved, &env.rendered.manifests);
    let text = match format {
        GraphFormat::Mermaid => graph::mermaid(&g),
        GraphFormat::Dot => graph::dot(&g),
    };
    let _ = io.stdout.write_all(text.as_bytes());
    EXIT_OK
}
