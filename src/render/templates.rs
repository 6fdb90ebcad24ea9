//! The platform's extra templates: the files of the template directory (`templates/` of the
//! project, or `--templates DIR`), each rendering resources once per service or once per
//! environment through minijinja, within the budgets below.

use super::extra::Fields;
use crate::diagnostic::{Diagnostic, Failure, Location};
use crate::yaml::{Limits, SourceFile};
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};
use std::cell::Cell;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

pub const TEMPLATE_FUEL_VAR: &str = "SHIPSHAPE_TEMPLATE_FUEL";
pub const MAX_TEMPLATE_OUTPUT_BYTES_VAR: &str = "SHIPSHAPE_MAX_TEMPLATE_OUTPUT_BYTES";

/// Budgets for one render of one template. A template is a program the build runs; without
/// them `{% for i in range(99999) %}{% for j in range(99999) %}` runs for hours and a recursive
/// macro grows its output until memory runs out.
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

/// How often an extra template renders, from its file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `<name>.service.yaml.j2`: once per service, into the service's file.
    Service,
    /// `<name>.environment.yaml.j2`: once per environment, into `namespace.yaml`.
    Environment,
}

pub const SERVICE_SUFFIX: &str = ".service.yaml.j2";
pub const ENVIRONMENT_SUFFIX: &str = ".environment.yaml.j2";

/// The names of the templates that built the built-in resources before they were built in Rust.
/// A file named like one would once have replaced that resource; now it is refused, so an old
/// override is not taken for an extra resource (or silently ignored).
pub const RETIRED_NAMES: &[&str] = &[
    "_metadata.yaml.j2",
    "namespace.yaml.j2",
    "networkpolicy-namespace.yaml.j2",
    "peerauthentication.yaml.j2",
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
    "kustomization.yaml.j2",
    "application.yaml.j2",
];

/// What a file in the template directory is, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Extra(Scope),
    /// `_<name>.j2`: included or imported by other templates, never rendered on its own.
    Partial,
}

/// A leading `_` wins: `_common.service.yaml.j2` is a partial, as the underscore says.
fn role(name: &str) -> Option<Role> {
    let stem_before = |suffix: &str| name.strip_suffix(suffix).filter(|s| !s.is_empty());
    if name.starts_with('_') {
        Some(Role::Partial)
    } else if stem_before(SERVICE_SUFFIX).is_some() {
        Some(Role::Extra(Scope::Service))
    } else if stem_before(ENVIRONMENT_SUFFIX).is_some() {
        Some(Role::Extra(Scope::Environment))
    } else {
        None
    }
}

/// One extra template: a file of the template directory that renders resources.
#[derive(Debug, Clone)]
pub struct Extra {
    pub name: String,
    pub scope: Scope,
}

pub struct Templates {
    env: Environment<'static>,
    /// The templates that render resources, in name order (the order their documents follow
    /// the built-in ones in).
    extras: Vec<Extra>,
    /// The text of every template read, as a source file, so an error can point into it.
    files: HashMap<String, Arc<SourceFile>>,
    budget: TemplateLimits,
    /// The first render that ran out of a budget. Every later render fails with it at once:
    /// a template that loops for each of 10,000 services costs one budget, not 10,000.
    spent: OnceLock<Diagnostic>,
    /// The fields of `svc` the templates read: the only ones built for each service.
    service_fields: Fields,
    /// Budgets for reading rendered text back: the run's, so a limit raised for a large
    /// catalogue is raised for what the templates make of it too.
    pub(crate) limits: Limits,
}

impl Templates {
    fn with_budget(budget: TemplateLimits) -> Templates {
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
        // Every template here writes YAML (partials included), so every value is inserted
        // JSON-quoted: one scalar, whatever the catalogue holds.
        env.set_auto_escape_callback(|_| AutoEscape::Json);
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        Templates {
            env,
            extras: Vec::new(),
            files: HashMap::new(),
            budget,
            spent: OnceLock::new(),
            service_fields: Fields::Only(Vec::new()),
            limits: Limits::default(),
        }
    }

    /// The extra templates in `dir` (none without one).
    ///
    /// Templates are read from that one directory only (no subdirectories, no symlinks that leave
    /// it), and have no loader: `include` and `import` resolve among these names, so a template
    /// cannot read any other file.
    ///
    /// Every render runs within the budgets of [`TemplateLimits::from_env`].
    pub fn load(dir: Option<&Path>) -> Result<Templates, Failure> {
        Templates::load_within(dir, TemplateLimits::from_env())
    }

    /// Like [`Templates::load`], with every render within `budget`.
    pub fn load_within(dir: Option<&Path>, budget: TemplateLimits) -> Result<Templates, Failure> {
        let mut templates = Templates::with_budget(budget);
        let Some(dir) = dir else {
            return Ok(templates);
        };
        let shown = crate::catalogue::load::display_path(dir);
        let mut problems = Vec::new();
        for (name, text) in read_dir(dir)? {
            let file = SourceFile::new(format!("{shown}/{name}"), text.as_str());
            templates.files.insert(name.clone(), file);
            if let Err(e) = templates.env.add_template_owned(name.clone(), text) {
                problems.push(templates.template_error(&name, &e));
                continue;
            }
            if let Some(Role::Extra(scope)) = role(&name) {
                templates.extras.push(Extra { name, scope });
            }
        }
        if !problems.is_empty() {
            return Err(problems.into());
        }
        templates.extras.sort_by(|a, b| a.name.cmp(&b.name));
        // Every file counts, partials too: an include reads the including template's context.
        let mut variables: Vec<String> = Vec::new();
        for name in templates.files.keys() {
            if let Ok(t) = templates.env.get_template(name) {
                variables.extend(t.undeclared_variables(true));
            }
        }
        templates.service_fields = Fields::read_by(variables.iter().map(String::as_str));
        Ok(templates)
    }

    /// The same set, reading rendered text back within `limits` (the defaults otherwise).
    #[must_use]
    pub fn reading_back_within(self, limits: Limits) -> Templates {
        Templates { limits, ..self }
    }

    /// The extra templates of `scope`, in name order.
    pub fn extras(&self, scope: Scope) -> impl Iterator<Item = &Extra> {
        self.extras.iter().filter(move |e| e.scope == scope)
    }

    /// The fields of `svc` some template reads.
    pub fn service_fields(&self) -> &Fields {
        &self.service_fields
    }

    /// The template file `name` as read, for locations in it.
    pub fn file(&self, name: &str) -> Option<&Arc<SourceFile>> {
        self.files.get(name)
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

    /// Where in a template an error happened: the file and line, when minijinja names them.
    fn error_location(&self, e: &minijinja::Error) -> Option<Location> {
        let file = self.files.get(e.name()?)?;
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
            .with_help("fix the template: minijinja syntax, with every value the template reads in the context docs/templates.md lists");
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

/// The name and text of every template file in `dir` (`*.j2`; other files are left alone, so a
/// README can sit beside the templates), in name order. A name that fits no role, or that a
/// built-in template had, is refused with what to do instead.
fn read_dir(dir: &Path) -> Result<Vec<(String, String)>, Failure> {
    let shown = crate::catalogue::load::display_path(dir);
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Diagnostic::error(
            "usage/templates",
            format!("cannot read template directory {shown}: {e}"),
        )
        .with_help(format!(
            "pass a directory of extra templates (*{SERVICE_SUFFIX}, *{ENVIRONMENT_SUFFIX})"
        ))
    })?;
    let mut problems = Vec::new();
    let mut found = Vec::new();
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
        if RETIRED_NAMES.contains(&name.as_str()) {
            problems.push(retired(&shown, &name));
            continue;
        }
        if role(&name).is_none() {
            problems.push(
                Diagnostic::error(
                    "usage/templates",
                    format!("template {shown}/{name} does not say how often it renders"),
                )
                .with_help(format!(
                    "name it `<name>{SERVICE_SUFFIX}` to render it once per service, `<name>{ENVIRONMENT_SUFFIX}` once per environment, or `_<name>.j2` for a file other templates include"
                )),
            );
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(text) => found.push((name, text)),
            Err(e) => problems.push(Diagnostic::error(
                "usage/templates",
                format!("cannot read template {shown}/{name}: {e}"),
            )),
        }
    }
    if !problems.is_empty() {
        return Err(problems.into());
    }
    found.sort();
    Ok(found)
}

/// A file named like a built-in template, which used to replace that resource.
fn retired(shown: &str, name: &str) -> Diagnostic {
    Diagnostic::error(
        "usage/templates",
        format!(
            "template {shown}/{name} is named like a built-in template: replacing a built-in resource by template is retired"
        ),
    )
    .with_help(format!(
        "the built-in resources are built in by shipshape; to change a field of one, write a patch (docs/templates.md, \"Patches\"); to add resources of your own, rename the file `<name>{SERVICE_SUFFIX}` (once per service) or `<name>{ENVIRONMENT_SUFFIX}` (once per environment)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_name_says_what_the_template_is() {
        for (name, expected) in [
            ("monitor.service.yaml.j2", Some(Role::Extra(Scope::Service))),
            (
                "quota.environment.yaml.j2",
                Some(Role::Extra(Scope::Environment)),
            ),
            ("_helpers.j2", Some(Role::Partial)),
            ("_common.service.yaml.j2", Some(Role::Partial)),
            (".service.yaml.j2", None),
            ("monitor.yaml.j2", None),
            ("monitor.services.yaml.j2", None),
            ("workload.yaml.j2", None),
        ] {
            assert_eq!(role(name), expected, "{name}");
        }
    }

    #[test]
    fn every_retired_name_is_refused_before_its_role_is_asked() {
        // `_metadata.yaml.j2` would otherwise pass as a partial and be ignored.
        assert!(RETIRED_NAMES.contains(&"_metadata.yaml.j2"));
        assert!(RETIRED_NAMES.iter().all(|n| n.ends_with(".yaml.j2")));
        let shown = retired("templates", "workload.yaml.j2");
        assert!(
            shown.message.contains("workload.yaml.j2"),
            "{}",
            shown.message
        );
        assert!(shown.help.unwrap_or_default().contains(SERVICE_SUFFIX));
    }
}
