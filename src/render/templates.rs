//! The template set: embedded in the binary, replaceable file by file with `--templates DIR`.

use crate::diagnostic::{Diagnostic, Failure, Location};
use crate::yaml::{Limits, SourceFile};
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};
use std::cell::Cell;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

pub const TEMPLATE_FUEL_VAR: &str = "SHIPSHAPE_TEMPLATE_FUEL";
pub const MAX_TEMPLATE_OUTPUT_BYTES_VAR: &str = "SHIPSHAPE_MAX_TEMPLATE_OUTPUT_BYTES";

/// Budgets for one render of one template. A template given with `--templates` is a program the
/// build runs; without them `{% for i in range(99999) %}{% for j in range(99999) %}` runs for
/// hours and a recursive macro grows its output until memory runs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemplateLimits {
    /// minijinja fuel: about one unit per instruction and per 64 bytes of text the template
    /// makes. It is the time budget: unlike a clock it ends a render at the same place on every
    /// machine and under any load, so a build does not pass or fail with the CI runner's speed.
    /// It also bounds text held in memory that is not output yet (`{% set %}` blocks, macros).
    pub fuel: u64,
    /// Output of one render. Text past it is dropped rather than kept, and the render fails.
    pub max_output_bytes: usize,
}

impl Default for TemplateLimits {
    fn default() -> Self {
        TemplateLimits {
            fuel: 5_000_000,
            max_output_bytes: 16 * 1024 * 1024,
        }
    }
}

impl TemplateLimits {
    /// The defaults, with any budget raised or lowered through its environment variable.
    pub fn from_env() -> TemplateLimits {
        let d = TemplateLimits::default();
        let read = |var: &str| std::env::var(var).ok().and_then(|v| v.trim().parse().ok());
        TemplateLimits {
            fuel: read(TEMPLATE_FUEL_VAR).unwrap_or(d.fuel),
            max_output_bytes: read(MAX_TEMPLATE_OUTPUT_BYTES_VAR)
                .and_then(|n: u64| usize::try_from(n).ok())
                .unwrap_or(d.max_output_bytes),
        }
    }
}

thread_local! {
    /// Whether the render under way on this thread went over its output budget. The output
    /// writer sets it; the formatter reads it, because an error the formatter returns carries the
    /// template's name and line, and one the writer returns does not.
    static OUTPUT_OVER: Cell<bool> = const { Cell::new(false) };
}

/// The output of one render, kept up to `limit` bytes; anything after that is counted as over
/// and dropped, so memory stays bounded however long the template goes on writing.
struct BoundedOutput {
    text: Vec<u8>,
    limit: usize,
    over: bool,
}

impl std::io::Write for BoundedOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.over && self.text.len().saturating_add(buf.len()) > self.limit {
            self.over = true;
            self.text = Vec::new();
            OUTPUT_OVER.with(|o| o.set(true));
        }
        if !self.over {
            self.text.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Templates rendered once per environment, in this order, into `namespace.yaml`: the namespace
/// and the policies that cover all of it.
pub const ENVIRONMENT_TEMPLATES: &[&str] = &[
    "namespace.yaml.j2",
    "networkpolicy-namespace.yaml.j2",
    "peerauthentication.yaml.j2",
];
/// Templates rendered once per service, in this order, into the service's file.
pub const SERVICE_TEMPLATES: &[&str] = &[
    "serviceaccount.yaml.j2",
    "service.yaml.j2",
    "service-headless.yaml.j2",
    "workload.yaml.j2",
    "hpa.yaml.j2",
    "pdb.yaml.j2",
    "networkpolicy.yaml.j2",
    "virtualservice.yaml.j2",
    "destinationrule.yaml.j2",
    "authorizationpolicy.yaml.j2",
];
/// Included by every service template: its metadata block.
pub const METADATA_TEMPLATE: &str = "_metadata.yaml.j2";
pub const KUSTOMIZATION_TEMPLATE: &str = "kustomization.yaml.j2";
/// An Argo CD Application (per environment, and the root app-of-apps) under `rendered/argocd/`.
pub const APPLICATION_TEMPLATE: &str = "application.yaml.j2";

const EMBEDDED: &[(&str, &str)] = &[
    (
        METADATA_TEMPLATE,
        include_str!("../../templates/_metadata.yaml.j2"),
    ),
    (
        "namespace.yaml.j2",
        include_str!("../../templates/namespace.yaml.j2"),
    ),
    (
        "serviceaccount.yaml.j2",
        include_str!("../../templates/serviceaccount.yaml.j2"),
    ),
    (
        "service.yaml.j2",
        include_str!("../../templates/service.yaml.j2"),
    ),
    (
        "service-headless.yaml.j2",
        include_str!("../../templates/service-headless.yaml.j2"),
    ),
    (
        "workload.yaml.j2",
        include_str!("../../templates/workload.yaml.j2"),
    ),
    ("hpa.yaml.j2", include_str!("../../templates/hpa.yaml.j2")),
    ("pdb.yaml.j2", include_str!("../../templates/pdb.yaml.j2")),
    (
        "networkpolicy-namespace.yaml.j2",
        include_str!("../../templates/networkpolicy-namespace.yaml.j2"),
    ),
    (
        "peerauthentication.yaml.j2",
        include_str!("../../templates/peerauthentication.yaml.j2"),
    ),
    (
        "networkpolicy.yaml.j2",
        include_str!("../../templates/networkpolicy.yaml.j2"),
    ),
    (
        "virtualservice.yaml.j2",
        include_str!("../../templates/virtualservice.yaml.j2"),
    ),
    (
        "destinationrule.yaml.j2",
        include_str!("../../templates/destinationrule.yaml.j2"),
    ),
    (
        "authorizationpolicy.yaml.j2",
        include_str!("../../templates/authorizationpolicy.yaml.j2"),
    ),
    (
        "application.yaml.j2",
        include_str!("../../templates/application.yaml.j2"),
    ),
    (
        "kustomization.yaml.j2",
        include_str!("../../templates/kustomization.yaml.j2"),
    ),
];

/// Names a user may override; anything else in an override directory is a mistake worth reporting.
pub fn known_names() -> impl Iterator<Item = &'static str> {
    EMBEDDED.iter().map(|(n, _)| *n)
}

pub struct Templates {
    env: Environment<'static>,
    /// Names whose text came from the override directory.
    overridden: Vec<String>,
    /// The text of each overridden template as a source file, so an error can point into it.
    override_files: HashMap<String, Arc<SourceFile>>,
    budget: TemplateLimits,
    /// The first render that ran out of a budget. Every later render fails with it at once:
    /// a template that loops for each of 10,000 services costs one budget, not 10,000.
    spent: OnceLock<Diagnostic>,
    /// Whether built-in service templates may take the native path (`render::native`).
    native: bool,
    /// Budgets for reading rendered text back: the run's, so a limit raised for a large
    /// catalogue is raised for what the templates make of it too.
    pub(crate) limits: Limits,
}

impl Templates {
    /// The embedded set, with any same-named file in `overrides` taking its place.
    ///
    /// Overrides are read from that one directory only (no subdirectories, no symlinks that leave
    /// it), and templates have no loader: `include` and `import` resolve among these names, so a
    /// template cannot read any other file.
    ///
    /// Every render runs within the budgets of [`TemplateLimits::from_env`].
    pub fn load(overrides: Option<&Path>) -> Result<Templates, Failure> {
        Templates::load_within(overrides, TemplateLimits::from_env())
    }

    /// Like [`Templates::load`], with every render within `budget`.
    pub fn load_within(
        overrides: Option<&Path>,
        budget: TemplateLimits,
    ) -> Result<Templates, Failure> {
        let mut env = Environment::new();
        env.set_fuel(Some(budget.fuel));
        env.set_formatter(|out, state, value| {
            minijinja::escape_formatter(out, state, value)?;
            if OUTPUT_OVER.with(Cell::get) {
                return Err(minijinja::Error::new(
                    ErrorKind::InvalidOperation,
                    OUTPUT_OVER_DETAIL,
                ));
            }
            Ok(())
        });
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".yaml.j2") {
                AutoEscape::Json
            } else {
                AutoEscape::None
            }
        });
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let mut sources: Vec<(String, String)> = EMBEDDED
            .iter()
            .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
            .collect();
        let overridden = match overrides {
            Some(dir) => read_overrides(dir, &mut sources)?,
            None => Vec::new(),
        };
        let shown = overrides.map(crate::catalogue::load::display_path);
        let override_files: HashMap<String, Arc<SourceFile>> = sources
            .iter()
            .filter(|(name, _)| overridden.contains(name))
            .filter_map(|(name, text)| {
                let dir = shown.as_deref()?;
                Some((
                    name.clone(),
                    SourceFile::new(format!("{dir}/{name}"), text.as_str()),
                ))
            })
            .collect();
        let mut templates = Templates {
            env,
            overridden,
            override_files,
            budget,
            spent: OnceLock::new(),
            native: true,
            limits: Limits::default(),
        };
        let mut problems = Vec::new();
        for (name, text) in sources {
            if let Err(e) = templates.env.add_template_owned(name.clone(), text) {
                problems.push(templates.template_error(&name, &e));
            }
        }
        if !problems.is_empty() {
            return Err(problems.into());
        }
        Ok(templates)
    }

    /// The same set, reading rendered text back within `limits` (the defaults otherwise).
    #[must_use]
    pub fn reading_back_within(self, limits: Limits) -> Templates {
        Templates { limits, ..self }
    }

    /// Whether `name` is a built-in template that no override replaced: its output is exactly
    /// what the embedded text produces.
    pub fn is_embedded(&self, name: &str) -> bool {
        EMBEDDED.iter().any(|(n, _)| *n == name) && !self.overridden.iter().any(|n| n == name)
    }

    /// The same set, rendered through minijinja only. The native renderer promises the
    /// templates' output; differential tests and benchmarks hold it to that with this.
    #[must_use]
    pub fn without_native(mut self) -> Templates {
        self.native = false;
        self
    }

    /// Whether the built-in service template `name` may be rendered natively: it and the
    /// metadata block it includes are the embedded ones, and native rendering is on.
    pub fn native_allowed(&self, name: &str) -> bool {
        self.native && self.is_embedded(name) && self.is_embedded(METADATA_TEMPLATE)
    }

    /// Whether a built-in template that includes nothing (namespace documents, kustomization,
    /// Application) may be built natively: it is the embedded one and native rendering is on.
    pub fn native_standalone(&self, name: &str) -> bool {
        self.native && self.is_embedded(name)
    }

    pub fn render(&self, name: &str, ctx: &minijinja::Value) -> Result<String, Diagnostic> {
        if let Some(spent) = self.spent.get() {
            return Err(spent.clone());
        }
        let t = self
            .env
            .get_template(name)
            .map_err(|e| self.template_error(name, &e))?;
        let mut out = BoundedOutput {
            text: Vec::new(),
            limit: self.budget.max_output_bytes,
            over: false,
        };
        OUTPUT_OVER.with(|o| o.set(false));
        let result = t.render_captured_to(ctx.clone(), &mut out).map(drop);
        OUTPUT_OVER.with(|o| o.set(false));
        let spent = match &result {
            _ if out.over => Some(self.output_error(name, result.as_ref().err())),
            Err(e) if e.kind() == ErrorKind::OutOfFuel => Some(self.fuel_error(name, e)),
            _ => None,
        };
        if let Some(d) = spent {
            return Err(self.spent.get_or_init(|| d).clone());
        }
        result.map_err(|e| self.template_error(name, &e))?;
        Ok(String::from_utf8(out.text)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }

    /// Where in a template an error happened: the overridden file and line when minijinja
    /// names them (built-in templates have no file the user could open).
    fn error_location(&self, e: &minijinja::Error) -> Option<Location> {
        let file = self.override_files.get(e.name()?)?;
        let line = u32::try_from(e.line()?).ok()?;
        let text = file.line_text(line);
        let indent = text.len() - text.trim_start().len();
        let start = line_start(&file.text, line)? + indent;
        Some(Location::new(
            file,
            file.span_of(start, text.trim().len().max(1)),
        ))
    }

    /// "template X (line N)", or "template X (line N of Y)" when N is in included template Y.
    fn whereabouts(name: &str, e: Option<&minijinja::Error>) -> String {
        match e.map(|e| (e.name(), e.line())) {
            Some((Some(inner), Some(line))) if inner == name => {
                format!("template {name} (line {line})")
            }
            Some((Some(inner), Some(line))) => {
                format!("template {name} (line {line} of {inner})")
            }
            _ => format!("template {name}"),
        }
    }

    fn fuel_error(&self, name: &str, e: &minijinja::Error) -> Diagnostic {
        let fuel = self.budget.fuel;
        Diagnostic::error(
            "render/template-budget",
            format!(
                "{} did not finish within its budget of {fuel} steps (minijinja fuel): it loops for too long or builds too much text",
                Templates::whereabouts(name, Some(e))
            ),
        )
        .at(self.error_location(e), "still running here when the budget ran out")
        .with_help(format!(
            "look for a loop that does not end, a macro that calls itself, or a loop over a large range; if the template is right and the catalogue is large, raise {TEMPLATE_FUEL_VAR} (now {fuel})"
        ))
    }

    fn output_error(&self, name: &str, e: Option<&minijinja::Error>) -> Diagnostic {
        let limit = self.budget.max_output_bytes;
        let d = Diagnostic::error(
            "render/template-budget",
            format!(
                "{} wrote more than {limit} bytes of output",
                Templates::whereabouts(name, e)
            ),
        )
        .with_help(format!(
            "one template renders one service's or environment's manifests, which are far smaller; look for a loop that repeats output; if the output is right, raise {MAX_TEMPLATE_OUTPUT_BYTES_VAR} (now {limit})"
        ));
        match e.and_then(|e| self.error_location(e)) {
            Some(at) => d.at(Some(at), "writing here when the output went over the limit"),
            None => d,
        }
    }

    fn template_error(&self, name: &str, e: &minijinja::Error) -> Diagnostic {
        let line = e.line().map(|l| format!(" (line {l})")).unwrap_or_default();
        let d = Diagnostic::error("render/template", format!("template {name}{line}: {e}"))
            .with_help(
                "fix the template; `shipshape build` without --templates uses the built-in set",
            );
        match self.error_location(e) {
            Some(at) => d.at(Some(at), "here"),
            None => d,
        }
    }
}

/// The detail of the error the formatter raises once the output went over its budget.
const OUTPUT_OVER_DETAIL: &str = "output is over its size limit";

/// Byte offset of 1-based line `line` in `text`.
fn line_start(text: &str, line: u32) -> Option<usize> {
    if line <= 1 {
        return Some(0);
    }
    text.match_indices('\n')
        .nth(usize::try_from(line).ok()?.checked_sub(2)?)
        .map(|(i, _)| i + 1)
}

/// Replaces the text of every template `dir` holds a file for; returns their names.
fn read_overrides(dir: &Path, sources: &mut [(String, String)]) -> Result<Vec<String>, Failure> {
    let shown = crate::catalogue::load::display_path(dir);
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Diagnostic::error(
            "usage/templates",
            format!("cannot read template directory {shown}: {e}"),
        )
        .with_help("pass a directory that holds *.yaml.j2 files")
    })?;
    let mut problems = Vec::new();
    let mut replaced = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        if !name.ends_with(".j2") {
            continue;
        }
        let meta = std::fs::symlink_metadata(&path);
        if !meta.as_ref().is_ok_and(|m| m.file_type().is_file()) {
            problems.push(
                Diagnostic::error(
                    "usage/templates",
                    format!("template {shown}/{name} is not a regular file"),
                )
                .with_help(
                    "templates must be plain files inside the templates directory (no symlinks)",
                ),
            );
            continue;
        }
        let Some(slot) = sources.iter_mut().find(|(n, _)| *n == name) else {
            problems.push(
                Diagnostic::error(
                    "usage/templates",
                    format!("unknown template {shown}/{name}"),
                )
                .with_help(format!(
                    "an override replaces one of: {}",
                    known_names().collect::<Vec<_>>().join(", ")
                )),
            );
            continue;
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                slot.1 = text;
                replaced.push(name);
            }
            Err(e) => problems.push(Diagnostic::error(
                "usage/templates",
                format!("cannot read template {shown}/{name}: {e}"),
            )),
        }
    }
    if problems.is_empty() {
        Ok(replaced)
    } else {
        Err(problems.into())
    }
}
