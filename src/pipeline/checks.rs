//! The checks over what was rendered: output schemas and lint rules per environment, and the
//! Argo CD Applications against the whole tree.

use super::CompiledEnvironment;
use crate::catalogue::ResolvedEnvironment;
use crate::diagnostic::Diagnostic;
use crate::lint::context::Tree;
use crate::lint::{self, LintContext};
use crate::manifest::schema;
use crate::render::{self, RenderedEnvironment};

/// Environments whose names collide with a directory shipshape renders itself.
pub(super) fn reserved_environment_names(resolved: &[ResolvedEnvironment]) -> Vec<Diagnostic> {
    resolved
        .iter()
        .filter(|env| env.name == render::context::ARGOCD_DIR)
        .map(|env| {
            Diagnostic::error(
                "input/bad-name",
                format!(
                    "environment name `{}` is reserved: rendered/{}/ holds the Argo CD Applications",
                    env.name,
                    render::context::ARGOCD_DIR
                ),
            )
            .at(Some(env.origin.location()), "this environment")
            .with_help("rename the environment file")
        })
        .collect()
}

/// Schema validation and lint of one environment. They read the same manifests and share
/// nothing else; side by side they fill the gaps each leaves on two cores (the lint rules are few
/// and unequal, and building the lint index is serial).
pub(super) fn check_environment(env: &CompiledEnvironment) -> Vec<Diagnostic> {
    let t = std::time::Instant::now();
    let (mut found, linted) = std::thread::scope(|scope| {
        let schema = scope.spawn(|| {
            let t = std::time::Instant::now();
            let found = check_schemas(env);
            crate::profile::mark("  schema", t);
            found
        });
        let ctx = LintContext::for_rendered(&env.resolved, &env.rendered.manifests);
        let linted = lint::run(&ctx, &env.resolved.rule_levels);
        crate::profile::mark("  lint", t);
        let validated = match schema.join() {
            Ok(v) => v,
            Err(e) => std::panic::resume_unwind(e),
        };
        (validated, linted)
    });
    found.extend(linted);
    crate::profile::mark("schema+lint", t);
    found
}

/// Code of findings about rendered output that breaks the Kubernetes, Istio or Argo CD schemas.
pub const OUTPUT_SCHEMA_CODE: &str = "output-schema";

/// Code of the note that rendered manifests of a kind were not schema-checked (no schema known).
pub const OUTPUT_UNVALIDATED_CODE: &str = "output-unvalidated";

fn check_schemas(env: &CompiledEnvironment) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let ctx_env = &env.resolved;
    let results = crate::parallel::map(&env.rendered.manifests, 64, |m| schema::validate(&m.value));
    // Kinds with no schema, in order of first appearance: how many, and the first one.
    let mut unvalidated: Vec<(String, usize, &crate::manifest::Manifest)> = Vec::new();
    for (m, violations) in env.rendered.manifests.iter().zip(results) {
        let Some(violations) = violations else {
            let kind = format!("{} {}", m.api_version(), m.kind());
            match unvalidated.iter_mut().find(|(k, _, _)| *k == kind) {
                Some((_, count, _)) => *count += 1,
                None => unvalidated.push((kind, 1, m)),
            }
            continue;
        };
        for v in violations {
            // A document an extra template wrote is wrong in the template; a built-in one, in
            // what the service declares.
            let (location, what, help) = match m.template() {
                Some(file) => (
                    render::extra::line_like(file, &format!("kind: {}", m.kind())),
                    extra_document(m, file),
                    "this template wrote an invalid manifest; fix the template",
                ),
                None => (
                    match m.service().and_then(|s| ctx_env.service(s)) {
                        Some(svc) => svc.declaration(),
                        None => ctx_env.origin.location(),
                    },
                    m.api_version().to_owned(),
                    "a value of this service produced an invalid manifest",
                ),
            };
            out.push(
                Diagnostic::error(
                    OUTPUT_SCHEMA_CODE,
                    format!(
                        "rendered {what} breaks its schema at `{}`: {}",
                        v.pointer, v.message
                    ),
                )
                .at(Some(location), "rendered from here")
                .with_help(help)
                .in_environment(&ctx_env.name)
                .on_resource(m.resource_id()),
            );
        }
    }
    for (kind, count, first) in unvalidated {
        let location = first
            .template()
            .map(|file| render::extra::line_like(file, &format!("kind: {}", first.kind())));
        let some = if count == 1 {
            "1 manifest"
        } else {
            &format!("{count} manifests")
        };
        out.push(
            Diagnostic::new(
                OUTPUT_UNVALIDATED_CODE,
                crate::diagnostic::Severity::Info,
                format!("{some} of kind {kind} not validated: shipshape has no schema for this kind (linted all the same)"),
            )
            .at(location, "rendered from here")
            .with_help("check the kind against its CRD in CI (kubeconform, or a dry-run apply); docs/templates.md lists the kinds shipshape validates")
            .in_environment(&ctx_env.name)
            .on_resource(first.resource_id()),
        );
    }
    out
}

/// A document an extra template wrote, in a message: `<apiVersion> <Kind/name> (template X,
/// service `s`)`, since its schema findings point into the template, not at the service.
fn extra_document(m: &crate::manifest::Manifest, template: &crate::yaml::SourceFile) -> String {
    let name = template.name.rsplit('/').next().unwrap_or_default();
    let service = m
        .service()
        .map(|s| format!(", service `{s}`"))
        .unwrap_or_default();
    format!(
        "{} {} (template {name}{service})",
        m.api_version(),
        m.resource_id()
    )
}

/// Schema check of the Argo CD Applications; findings point at the environment's `argocd`
/// section (the root app: at the first environment's).
pub(super) fn check_argocd_schemas(
    argocd: &RenderedEnvironment,
    environments: &[CompiledEnvironment],
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for m in &argocd.manifests {
        let Some(violations) = schema::validate(&m.value) else {
            continue;
        };
        let file = match &m.origin {
            crate::manifest::ManifestOrigin::Rendered { file, .. } => file.as_str(),
            crate::manifest::ManifestOrigin::File { .. } => "",
        };
        let env = environments
            .iter()
            .find(|e| format!("{}.yaml", e.resolved.name) == file)
            .or_else(|| environments.first());
        for v in violations {
            let mut d = Diagnostic::error(
                OUTPUT_SCHEMA_CODE,
                format!(
                    "rendered {} breaks its schema at `{}`: {}",
                    m.api_version(),
                    v.pointer,
                    v.message
                ),
            )
            .with_help("a value of the `argocd` section produced an invalid Application; if you use --templates, check the template")
            .on_resource(m.resource_id());
            if let Some(env) = env {
                let origin = env.resolved.origin.child("argocd");
                d = d
                    .at(Some(origin.location()), "rendered from here")
                    .in_environment(&env.resolved.name);
            }
            out.push(d);
        }
    }
    out
}

/// Lints the Argo CD Applications against the whole rendered tree, which no single environment
/// sees: each environment's Application with that environment's rule levels and locations, the
/// root app (in no environment's file) with the first environment's.
pub(super) fn lint_argocd(
    argocd: &RenderedEnvironment,
    environments: &[CompiledEnvironment],
    dir_namespaces: Vec<(String, std::collections::BTreeSet<String>)>,
) -> Vec<Diagnostic> {
    let tree = Tree::rendered(dir_namespaces);
    let owner = |m: &crate::manifest::Manifest| match &m.origin {
        crate::manifest::ManifestOrigin::Rendered { file, .. } => environments
            .iter()
            .position(|e| format!("{}.yaml", e.resolved.name) == *file),
        crate::manifest::ManifestOrigin::File { .. } => None,
    };
    let mut out = Vec::new();
    for (ei, env) in environments.iter().enumerate() {
        let own: Vec<_> = argocd
            .manifests
            .iter()
            .filter(|m| owner(m) == Some(ei))
            .cloned()
            .collect();
        let root: Vec<_> = if ei == 0 {
            argocd
                .manifests
                .iter()
                .filter(|m| owner(m).is_none())
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        for (name, manifests) in [
            (env.resolved.name.as_str(), own),
            (argocd.name.as_str(), root),
        ] {
            if manifests.is_empty() {
                continue;
            }
            let ctx = LintContext::for_applications(name, &env.resolved, &manifests, tree.clone());
            out.extend(lint::run(&ctx, &env.resolved.rule_levels));
        }
    }
    out
}
