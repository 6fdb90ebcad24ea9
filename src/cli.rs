//! Command-line definitions.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "shipshape",
    version,
    about = "Compile a service catalogue into per-environment Kubernetes manifests, and lint them before they ship",
    long_about = None,
    after_help = "Exit codes: 0 clean, 1 error-severity findings or drift, 2 bad input or usage.\n\
                  Colour (--color auto): off with NO_COLOR or TERM=dumb or when not a terminal, forced with CLICOLOR_FORCE."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Colour in human output and diffs (accepted by every command).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Args, Clone)]
pub struct ProjectArgs {
    /// Project root holding catalogue.yaml (or catalogue/) and environments/ [default: the
    /// nearest directory upwards from the working directory that holds one, as git and cargo
    /// search; `.` when --catalogue is given].
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Catalogue file or directory [default: ROOT/catalogue.yaml, or ROOT/catalogue/].
    #[arg(long, value_name = "PATH")]
    pub catalogue: Option<PathBuf>,
    /// Directory of environment files [default: ROOT/environments].
    #[arg(long, value_name = "DIR")]
    pub environments: Option<PathBuf>,
    /// Only these environments (repeatable) [default: all].
    #[arg(long = "env", value_name = "NAME")]
    pub envs: Vec<String>,
    /// Directory of extra templates (*.service.yaml.j2, *.environment.yaml.j2) [default: ROOT/templates].
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// How findings are printed.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Colour in human output: the global `--color`, filled in when the command runs.
    #[arg(skip)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Annotated source excerpts, for people.
    Human,
    /// One line per finding: file:line:col: severity[rule]: message [environments].
    Short,
    /// A stable JSON document (see docs/json-output.md).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// GitHub Actions workflow commands (annotations on the pull request).
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render every environment into the output directory (atomically), after validating and linting.
    Build {
        #[command(flatten)]
        project: ProjectArgs,
        /// Output directory [default: ROOT/rendered]; `-` prints every rendered manifest as one
        /// multi-document YAML stream on standard output and writes nothing.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Render in memory, compare with the output directory and lint; write nothing.
    Check {
        #[command(flatten)]
        project: ProjectArgs,
        /// Output directory to compare with [default: ROOT/rendered].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show what the catalogue change does to the rendered tree: per environment, per resource, with line diffs.
    Diff {
        #[command(flatten)]
        project: ProjectArgs,
        /// Output directory to compare with [default: ROOT/rendered].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// text for a terminal; markdown for a pull-request comment (a summary of objects, sync
        /// waves, requests per phase and allowed calls first, then the diffs, under --max-bytes).
        #[arg(long, value_enum, default_value_t = crate::commands::diff::DiffFormat::Text)]
        format: crate::commands::diff::DiffFormat,
        /// Budget of the Markdown comment in bytes (at least 2000): diffs that do not fit are
        /// left out, and a line says which.
        #[arg(
            long,
            value_name = "BYTES",
            default_value_t = crate::commands::diff::DEFAULT_MAX_BYTES,
            value_parser = clap::value_parser!(u64).range(crate::commands::diff::MIN_MAX_BYTES..)
        )]
        max_bytes: u64,
    },
    /// Lint Kubernetes YAML files or directories that shipshape did not render.
    Lint {
        /// Files or directories (walked recursively for *.yaml and *.yml); `-` reads standard input.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Read capacity, utilisation ceiling and rule settings from this environment file.
        #[arg(long, value_name = "FILE")]
        environment_file: Option<PathBuf>,
        /// Cluster CPU capacity, e.g. 16 or 16000m.
        #[arg(long, value_name = "QUANTITY")]
        capacity_cpu: Option<String>,
        /// Cluster memory capacity, e.g. 8Gi.
        #[arg(long, value_name = "QUANTITY")]
        capacity_memory: Option<String>,
        /// Share of capacity requests may use, e.g. 80%.
        #[arg(long, value_name = "PERCENT")]
        max_utilisation: Option<String>,
        #[command(flatten)]
        policy: crate::commands::lint::PolicyArgs,
        #[command(flatten)]
        placement: crate::commands::lint::PlacementArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Print each environment's rollout plan: waves, batches, requests, limits and budget per phase.
    Plan {
        #[command(flatten)]
        project: ProjectArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = crate::plan::PlanFormat::Text)]
        format: crate::plan::PlanFormat,
    },
    /// Draw one environment's dependency graph, violations in red (--env: default prod, else the first by name).
    Graph {
        #[command(flatten)]
        project: ProjectArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = crate::graph::GraphFormat::Mermaid)]
        format: crate::graph::GraphFormat,
    },
    /// Write a synthetic platform (for benchmarks and scale tests).
    #[command(hide = true)]
    Generate {
        /// Number of services.
        #[arg(long, default_value_t = 1000)]
        services: usize,
        /// Seed; the same seed gives the same platform.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Project directory to create.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// List the lint rules.
    Rules {
        /// Print the README's Markdown table instead.
        #[arg(long)]
        markdown: bool,
    },
    /// Print the documentation of one lint rule.
    Explain {
        /// Rule id, e.g. port-conflict.
        rule: String,
    },
    /// Print the JSON Schema of the catalogue or environment format.
    Schema {
        #[arg(value_enum, default_value_t = SchemaKind::Catalogue)]
        kind: SchemaKind,
    },
    /// Print a shell completion script (e.g. `shipshape completions bash > /etc/bash_completion.d/shipshape`).
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) of shipshape or of one command, or write them all to a directory.
    Man {
        /// A command, for its own page (shipshape-COMMAND(1)).
        #[arg(value_name = "COMMAND", conflicts_with = "dir")]
        command: Option<String>,
        /// Write every page (shipshape.1 and shipshape-COMMAND.1) into this directory.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    Catalogue,
    Environment,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// clap checks argument definitions only when a command is parsed; check all of them now.
    #[test]
    fn clap_definitions_are_consistent() {
        Cli::command().debug_assert();
    }
}
