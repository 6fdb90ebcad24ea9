//! Runs a parsed command line and turns its outcome into output and an exit code.

use crate::catalogue::ProjectPaths;
use crate::cli::{Cli, ColorChoice, Command, Format, OutputArgs, ProjectArgs, SchemaKind};
use crate::diagnostic::{Diagnostic, Failure};
use crate::pipeline::{compile, CompileOptions, Sink};
use crate::report;
use crate::yaml::Limits;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

pub const EXIT_OK: i32 = 0;
pub const EXIT_FINDINGS: i32 = 1;
pub const EXIT_BAD_INPUT: i32 = 2;

/// Where output goes; a struct so tests can capture it.
pub struct Io<'a> {
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
    pub stderr_is_terminal: bool,
}

impl Io<'_> {
    /// Diffs go to stdout; colour them only when stdout is a terminal.
    pub fn stdout_is_terminal(&self) -> bool {
        std::io::stdout().is_terminal()
    }
}

pub fn run(cli: Cli, io: &mut Io<'_>) -> i32 {
    let color = cli.color;
    let with_color = |output: OutputArgs| OutputArgs { color, ..output };
    match cli.command {
        Command::Build {
            project,
            out,
            output,
        } => {
            let output = with_color(output);
            if out.as_deref() == Some(Path::new(STDOUT)) {
                return crate::commands::build::run_to_stdout(&options(&project), &output, io);
            }
            let (opts, out) = options_with_out(&project, out);
            crate::commands::build::run(&opts, out, &output, io)
        }
        Command::Check { out, .. } | Command::Diff { out, .. }
            if out.as_deref() == Some(Path::new(STDOUT)) =>
        {
            let d = Diagnostic::error(
                "usage/out-stdout",
                "`--out -` (standard output) is for `shipshape build`; this command compares with an output directory",
            )
            .with_help("name the directory to compare with, e.g. --out rendered");
            fail(
                d.into(),
                &OutputArgs {
                    format: Format::Human,
                    color,
                },
                io,
            )
        }
        Command::Check {
            project,
            out,
            output,
        } => {
            let (opts, out) = options_with_out(&project, out);
            crate::commands::check::run(&opts, out, &with_color(output), io)
        }
        Command::Lint {
            paths,
            environment_file,
            capacity_cpu,
            capacity_memory,
            max_utilisation,
            policy,
            placement,
            output,
        } => crate::commands::lint::run(
            &crate::commands::lint::LintArgs {
                paths,
                environment_file,
                capacity_cpu,
                capacity_memory,
                max_utilisation,
                policy,
                placement,
            },
            &with_color(output),
            io,
        ),
        Command::Diff {
            project,
            out,
            format,
            max_bytes,
        } => {
            // Input errors are still reported; the diff itself has its own format.
            let output = OutputArgs {
                format: Format::Human,
                color,
            };
            let (opts, out) = options_with_out(&project, out);
            crate::commands::diff::run(
                &opts,
                out,
                &crate::commands::diff::DiffOptions { format, max_bytes },
                &output,
                io,
            )
        }
        Command::Plan { project, format } => {
            crate::commands::plan::run(&options(&project), format, color, io)
        }
        Command::Graph { project, format } => {
            crate::commands::graph::run(&options(&project), format, color, io)
        }
        Command::Generate {
            services,
            seed,
            out,
        } => {
            let platform = crate::synth::generate(services, seed);
            match crate::synth::write_project(&out, &platform) {
                Ok(()) => EXIT_OK,
                Err(e) => {
                    let _ = writeln!(
                        io.stderr,
                        "shipshape: cannot write {}: {e}",
                        crate::paths::shown(&out)
                    );
                    EXIT_BAD_INPUT
                }
            }
        }
        Command::Rules { markdown } => crate::commands::rules::list(markdown, io),
        Command::Explain { rule } => crate::commands::rules::explain(&rule, io),
        Command::Schema { kind } => {
            let text = match kind {
                SchemaKind::Catalogue => crate::catalogue::schema::CATALOGUE_SCHEMA,
                SchemaKind::Environment => crate::catalogue::schema::ENVIRONMENT_SCHEMA,
            };
            let _ = io.stdout.write_all(text.as_bytes());
            EXIT_OK
        }
        Command::Completions { shell } => crate::commands::man::completions(shell, io),
        Command::Man { command, dir } => {
            crate::commands::man::run(command.as_deref(), dir.as_deref(), io)
        }
    }
}

/// `--out -`: standard output instead of a directory.
pub const STDOUT: &str = "-";

pub fn options(p: &ProjectArgs) -> CompileOptions {
    let root = root(p);
    let mut paths = ProjectPaths::in_root(&root);
    if let Some(c) = &p.catalogue {
        paths.catalogue = c.clone();
    }
    if let Some(e) = &p.environments {
        paths.environments = e.clone();
    }
    CompileOptions {
        paths,
        envs: p.envs.clone(),
        // The project's own templates/ holds its extra templates unless --templates names others.
        templates: p
            .templates
            .clone()
            .or_else(|| Some(root.join("templates")).filter(|d| d.is_dir())),
        limits: Limits::from_env(),
        layout: Default::default(),
    }
}

/// The options of a command that writes or compares an output directory: the Argo CD
/// Applications name that directory by its path in the project (the default `rendered` when it
/// is outside the project, such as a temporary copy to compare).
fn options_with_out(p: &ProjectArgs, out: Option<PathBuf>) -> (CompileOptions, PathBuf) {
    let mut opts = options(p);
    let out = out_dir(p, out);
    if let Some(output) = crate::render::builtin::argocd::output_path(&root(p), &out) {
        opts.layout.output = output;
    }
    (opts, out)
}

fn out_dir(p: &ProjectArgs, out: Option<PathBuf>) -> PathBuf {
    out.unwrap_or_else(|| root(p).join("rendered"))
}

/// The project root: `--root`, else `.` when the catalogue is named with `--catalogue` (its
/// environments and output are then where the user is), else the nearest directory upwards
/// holding a catalogue, as git and cargo find theirs.
fn root(p: &ProjectArgs) -> PathBuf {
    if let Some(root) = &p.root {
        return root.clone();
    }
    if p.catalogue.is_some() {
        return PathBuf::from(".");
    }
    std::env::current_dir()
        .ok()
        .and_then(|cwd| project_root_above(&cwd))
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The nearest of `cwd` and its ancestors holding `catalogue.yaml` or `catalogue/`, as a path
/// relative to `cwd` (`.`, `..`, `../..`), so every file named in a report stays short and
/// opens from where the user is.
fn project_root_above(cwd: &Path) -> Option<PathBuf> {
    let mut relative = PathBuf::from(".");
    for dir in cwd.ancestors() {
        if dir.join("catalogue.yaml").is_file() || dir.join("catalogue").is_dir() {
            return Some(relative);
        }
        relative = if relative == Path::new(".") {
            PathBuf::from("..")
        } else {
            relative.join("..")
        };
    }
    None
}

/// Whether human output should be coloured. `--color always|never` decides; with `auto`,
/// NO_COLOR (non-empty) turns colour off, CLICOLOR_FORCE (non-empty, not `0`) turns it on even
/// into a pipe, TERM=dumb turns it off, and otherwise only a terminal gets it.
pub fn use_color(choice: ColorChoice, is_terminal: bool) -> bool {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if var("NO_COLOR").is_some() {
                false
            } else if var("CLICOLOR_FORCE").is_some_and(|v| v != "0") {
                true
            } else if var("TERM").is_some_and(|v| v == "dumb") {
                false
            } else {
                is_terminal
            }
        }
    }
}

pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Prints diagnostics in the chosen format. Human output goes to stderr (messages for a person
/// beside whatever the command prints); every machine format (short, JSON, SARIF, GitHub) goes
/// to stdout, alone, so it can be piped or redirected whole.
pub fn emit(diagnostics: &[Diagnostic], output: &OutputArgs, io: &mut Io<'_>) {
    emit_rendered(diagnostics, None, output, io);
}

/// [`emit`] after a compile: the JSON report also says how many manifests each output
/// directory holds.
pub fn emit_rendered(
    diagnostics: &[Diagnostic],
    manifests: Option<&[(String, usize)]>,
    output: &OutputArgs,
    io: &mut Io<'_>,
) {
    match output.format {
        Format::Human => {
            let color = use_color(output.color, io.stderr_is_terminal);
            let dumb = std::env::var_os("TERM").is_some_and(|v| v == "dumb");
            let _ = io
                .stderr
                .write_all(report::human::render_drawn(diagnostics, color, !dumb).as_bytes());
        }
        Format::Short => {
            let _ = io
                .stdout
                .write_all(report::human::render_short(diagnostics).as_bytes());
        }
        Format::Json => {
            let _ = io
                .stdout
                .write_all(report::json::render(diagnostics, manifests).as_bytes());
        }
        Format::Sarif => {
            let _ = io
                .stdout
                .write_all(report::sarif::render(diagnostics).as_bytes());
        }
        Format::Github => {
            let _ = io
                .stdout
                .write_all(report::github::render(diagnostics).as_bytes());
        }
    }
}

/// Reports a failed stage (bad input or usage, or an output directory shipshape must not touch)
/// and returns exit code 2.
pub fn fail(failure: Failure, output: &OutputArgs, io: &mut Io<'_>) -> i32 {
    let mut diags = failure.diagnostics;
    crate::diagnostic::normalise(&mut diags);
    emit(&diags, output, io);
    let n = diags.len();
    let place = if diags.iter().all(|d| d.code.starts_with("output/")) {
        "with the output directory"
    } else {
        "in the input"
    };
    let _ = writeln!(
        io.stderr,
        "shipshape: {n} problem{} {place}; nothing was written",
        if n == 1 { "" } else { "s" }
    );
    EXIT_BAD_INPUT
}

/// `N errors, N warnings, N infos` for a summary line: findings as the report prints them, one
/// for the same finding in several environments.
/// [`tally`] of a compile, followed by the kinds it rendered without a schema to validate them.
pub fn tally_rendered(diagnostics: &[Diagnostic]) -> String {
    format!(
        "{}{}",
        tally(diagnostics),
        crate::pipeline::not_validated_summary(diagnostics)
    )
}

pub fn tally(diagnostics: &[Diagnostic]) -> String {
    let (errors, warnings, infos) = report::group::counts(diagnostics);
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}, {}",
        plural(errors, "error"),
        plural(warnings, "warning"),
        plural(infos, "info")
    )
}

pub fn compile_or_fail(
    opts: &CompileOptions,
    sink: &mut dyn Sink,
    output: &OutputArgs,
    io: &mut Io<'_>,
) -> Result<crate::pipeline::Compiled, i32> {
    compile(opts, sink).map_err(|f| fail(f, output, io))
}
