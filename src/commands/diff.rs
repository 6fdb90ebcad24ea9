//! `shipshape diff`: what a catalogue change does to the rendered tree, per environment and per
//! resource, as text for a terminal or Markdown for a pull-request comment.

use crate::app::{self, Io, EXIT_OK};
use crate::cli::OutputArgs;
use crate::commands::check::Comparing;
use crate::diff::colorize;
use crate::diff::markdown;
use crate::diff::resources::Sides;
use crate::output::Drift;
use crate::pipeline::CompileOptions;
use std::collections::HashMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    Text,
    Markdown,
}

/// GitHub refuses comments over 65,536 characters; the default leaves room for a header a
/// workflow adds.
pub const DEFAULT_MAX_BYTES: u64 = 60_000;
/// Room for the summary's table and the line that says what was left out.
pub const MIN_MAX_BYTES: u64 = 2_000;

pub struct DiffOptions {
    pub format: DiffFormat,
    /// Budget of the Markdown report.
    pub max_bytes: u64,
}

pub fn run(
    opts: &CompileOptions,
    out: PathBuf,
    options: &DiffOptions,
    output: &OutputArgs,
    io: &mut Io<'_>,
) -> i32 {
    let format = options.format;
    let mut sink = Comparing::with(&out);
    let compiled = match app::compile_or_fail(opts, &mut sink, output, io) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let rendered = compiled.rendered();
    let drifts = sink.drifts;
    let text = match format {
        DiffFormat::Text => {
            let color = app::use_color(output.color, io.stdout_is_terminal());
            let namespaces: HashMap<&str, &str> = compiled
                .environments
                .iter()
                .map(|e| (e.resolved.name.as_str(), e.resolved.namespace.as_str()))
                .collect();
            text_report(&drifts, &namespaces, color)
        }
        DiffFormat::Markdown => {
            // Environments that render nothing (an argocd tree without ArgoCD settings) and did
            // not change are noise in a pull-request comment.
            let names: Vec<String> = rendered
                .iter()
                .filter(|e| !e.files.is_empty() || drifts.iter().any(|d| d.environment == e.name))
                .map(|e| e.name.clone())
                .collect();
            let plans: Vec<crate::plan::EnvPlan> = compiled
                .environments
                .iter()
                .filter(|e| names.contains(&e.resolved.name))
                .map(|e| crate::plan::plan_environment(&e.resolved, &e.workloads))
                .collect();
            markdown::render(&markdown::Input {
                drifts: &drifts,
                environments: &names,
                plans: &plans,
                max_bytes: usize::try_from(options.max_bytes).unwrap_or(usize::MAX),
            })
        }
    };
    let _ = io.stdout.write_all(text.as_bytes());
    EXIT_OK
}

/// Each drifted file with its object changes and line diff; a diff made the same way in an
/// earlier environment (up to the environment's namespace) is named, not repeated.
pub fn text_report(drifts: &[Drift], namespaces: &HashMap<&str, &str>, color: bool) -> String {
    if drifts.is_empty() {
        return "No changes: the rendered tree matches the catalogue.\n".into();
    }
    let mut out = String::new();
    let mut shown: HashMap<(String, String), &str> = HashMap::new();
    for d in drifts {
        out.push_str(&format!("== {}\n", d.path));
        for (id, change) in Sides::of(d).changes() {
            out.push_str(&format!("   {:8} {id}\n", change.as_str()));
        }
        let diff = d.unified();
        let key = d.change_key(&diff, namespaces.get(d.environment.as_str()).copied());
        if let Some(first) = shown.get(&key) {
            out.push_str(&format!("   (the same change as {first})\n"));
            continue;
        }
        shown.insert(key, &d.path);
        out.push_str(&if color { colorize(&diff) } else { diff });
    }
    out
}
