//! `shipshape plan`: the rollout plan of each environment, computed from the compiled catalogue.

use crate::app::{self, Io, EXIT_OK};
use crate::cli::{ColorChoice, Format, OutputArgs};
use crate::pipeline::CompileOptions;
use crate::plan::{self, Plan, PlanFormat};

/// `--format` of plan and graph names their own output, so input errors are always reported the
/// way `build` reports them by default: annotated, on stderr, leaving stdout empty for a reader.
pub(crate) fn diagnostics_output(color: ColorChoice) -> OutputArgs {
    OutputArgs {
        format: Format::Human,
        color,
    }
}

/// Exit code 0 whatever the budgets say: the plan is a report, `build`/`check` are the gates.
pub fn run(opts: &CompileOptions, format: PlanFormat, color: ColorChoice, io: &mut Io<'_>) -> i32 {
    let compiled = match app::compile_or_fail(
        opts,
        &mut crate::pipeline::KeepEverything,
        &diagnostics_output(color),
        io,
    ) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let plan = Plan::new(
        compiled
            .environments
            .iter()
            .map(|e| plan::plan_environment(&e.resolved, &e.workloads))
            .collect(),
    );
    let text = match format {
        PlanFormat::Text => plan::text::render(&plan),
        PlanFormat::Markdown => plan::markdown::render(&plan),
        PlanFormat::Json => plan::json::render(&plan),
    };
    let _ = io.stdout.write_all(text.as_bytes());
    EXIT_OK
}
