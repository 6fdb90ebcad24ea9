//! The template set: embedded in the binary, replaceable file by file with `--templates DIR`.

use crate::diagnostic::{Diagnostic, Failure};
use crate::yaml::Limits;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use std::path::Path;

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
    pub fn load(overrides: Option<&Path>) -> Result<Templates, Failure> {
        let mut env = Environment::new();
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
        let mut problems = Vec::new();
        for (name, text) in sources {
            if let Err(e) = env.add_template_owned(name.clone(), text) {
                problems.push(template_error(&name, &e));
            }
        }
        if !problems.is_empty() {
            return Err(problems.into());
        }
        Ok(Templates {
            env,
            overridden,
            native: true,
            limits: Limits::default(),
        })
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

    pub fn render(&self, name: &str, ctx: &minijinja::Value) -> Result<String, Diagnostic> {
        let t = self
            .env
            .get_template(name)
            .map_err(|e| template_error(name, &e))?;
        t.render(ctx).map_err(|e| template_error(name, &e))
    }
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

fn template_error(name: &str, e: &minijinja::Error) -> Diagnostic {
    let line = e.line().map(|l| format!(" (line {l})")).unwrap_or_default();
    Diagnostic::error("render/template", format!("template {name}{line}: {e}"))
        .with_help("fix the template; `shipshape build` without --templates uses the built-in set")
}
