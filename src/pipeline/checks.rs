//! The checks over what was rendered: output schemas and lint rules per environment, and the
//! Argo CD Applications against the whole tree.

use super::CompiledEnvironment;
use crate::catalogue::ResolvedEnvironment;
use crate::diagnostic::Diagnostic;
use crate::lint::context::Tree;
use crate::lint::{self, LintContext};
use crate::manifest::schema;
use crate::manifest::Manifest;
use crate::render::{self, RenderedEnvironment};
use crate::yaml::SourceFile;
use std::sync::Arc;

/// Environments whose names collide with a directory shipshape renders itself, or whose
/// Application file would take the place of another file of the Argo CD directory.
pub(super) fn reserved_environment_names(resolved: &[ResolvedEnvironment]) -> Vec<Diagnostic> {
    let argocd_files = ["root", "kustomization", "appprojects"];
    resolved
        .iter()
        .filter_map(|env| {
            let why = if env.name == render::context::ARGOCD_DIR {
                format!(
                    "rendered/{}/ holds the Argo CD Applications",
                    render::context::ARGOCD_DIR
                )
            } else if env.argocd.is_some() && argocd_files.contains(&env.name.as_str()) {
                format!(
                    "rendered/{}/{}.yaml is a file of the Argo CD directory, where the environment's Application would go",
                    render::context::ARGOCD_DIR,
                    env.name
                )
            } else {
                return None;
            };
            Some(
                Diagnostic::error(
                    "input/bad-name",
                    format!("environment name `{}` is reserved: {why}", env.name),
                )
                .at(Some(env.origin.location()), "this environment")
                .with_help("rename the environment file"),
            )
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
        let linted = lint::run(&ctx, &env.resolved.settings.rule_levels);
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

fn check_schemas(env: &CompiledEnvironment) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let ctx_env = &env.resolved;
    let results = crate::parallel::map(&env.rendered.manifests, 64, |m| schema::validate(&m.value));
    out.extend(
        not_validated(&env.rendered.manifests, &results)
            .into_iter()
            .map(|kind| {
                let m = &env.rendered.manifests[kind.first];
                let location = match m.template() {
                    Some(file) => kind_line(file, m),
                    None => match m.service().and_then(|s| ctx_env.service(s)) {
                        Some(svc) => svc.declaration(),
                        None => ctx_env.origin.location(),
                    },
                };
                Diagnostic::new(
                    NOT_VALIDATED_CODE,
                    crate::diagnostic::Severity::Info,
                    not_validated_message(kind.kind, kind.api_version, kind.count),
                )
                .at(Some(location), "rendered from here")
                .with_help("shipshape has no schema for this kind at this apiVersion (an extra template rendered it; docs/templates.md lists the kinds shipshape validates); validate the output with a tool that has, such as kubeconform")
                .in_environment(&ctx_env.name)
                .on_resource(m.resource_id())
            }),
    );
    for (m, violations) in env.rendered.manifests.iter().zip(results) {
        let Some(violations) = violations else {
            continue;
        };
        for v in violations {
            // A value a patch wrote is the patch's to fix; a document an extra template wrote,
            // the template's; a built-in one, what the service declares.
            let patched = m.patch_location(&v.pointer);
            let (location, label, help) = match (patched, m.template()) {
                (Some(at), _) => (
                    at,
                    "written by this patch",
                    "a patch wrote a value the resource's schema refuses; correct the patch",
                ),
                (None, Some(file)) => (
                    kind_line(file, m),
                    "rendered from here",
                    "this template wrote an invalid manifest; fix the template",
                ),
                (None, None) => (
                    match m.service().and_then(|s| ctx_env.service(s)) {
                        Some(svc) => svc.declaration(),
                        None => ctx_env.origin.location(),
                    },
                    "rendered from here",
                    "a value of this service produced an invalid manifest",
                ),
            };
            let what = match m.template() {
                Some(file) => extra_document(m, file),
                None => m.api_version().to_owned(),
            };
            let mut d = Diagnostic::error(
                OUTPUT_SCHEMA_CODE,
                format!(
                    "rendered {what} breaks its schema at `{}`: {}",
                    v.pointer, v.message
                ),
            )
            .at(Some(location), label)
            .with_help(help)
            .in_environment(&ctx_env.name)
            .on_resource(m.resource_id());
            d.related.extend(m.patch_notes(d.location.as_ref()));
            out.push(d);
        }
    }
    out
}

/// The `kind: <Kind>` line of the extra template that wrote `m`: where its schema findings go.
fn kind_line(template: &Arc<SourceFile>, m: &Manifest) -> crate::diagnostic::Location {
    render::extra::line_like(template, &format!("kind: {}", m.kind()))
}

/// A document an extra template wrote, in a message: `<apiVersion> <Kind/name> (template X,
/// service `s`)`, since its schema findings point into the template, not at the service.
fn extra_document(m: &Manifest, template: &SourceFile) -> String {
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

/// Code of the information that rendered manifests of a kind were not validated.
pub const NOT_VALIDATED_CODE: &str = "output-schema/not-validated";

const NOT_VALIDATED_PREFIX: &str = "not validated: no schema for ";

fn not_validated_message(kind: &str, api_version: &str, count: usize) -> String {
    format!(
        "{NOT_VALIDATED_PREFIX}{kind} {api_version} ({count} rendered manifest{})",
        if count == 1 { "" } else { "s" }
    )
}

/// ` (not validated, no schema: 26 ServiceMonitor)` for a summary line: the kinds the findings
/// say were rendered without a schema, with their manifests counted over every environment.
pub fn not_validated_summary(findings: &[Diagnostic]) -> String {
    let mut kinds: std::collections::BTreeMap<&str, usize> = Default::default();
    for d in findings.iter().filter(|d| d.code == NOT_VALIDATED_CODE) {
        // Read back from the message written above.
        let Some(rest) = d.message.strip_prefix(NOT_VALIDATED_PREFIX) else {
            continue;
        };
        let kind = rest.split(' ').next().unwrap_or_default();
        let count = rest
            .rsplit_once(" (")
            .and_then(|(_, c)| c.split(' ').next())
            .and_then(|c| c.parse::<usize>().ok())
            .unwrap_or(0);
        *kinds.entry(kind).or_default() += count;
    }
    if kinds.is_empty() {
        return String::new();
    }
    let list: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
    format!(" (not validated, no schema: {})", list.join(", "))
}

/// Manifests of one kind that no schema validated.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NotValidated<'m> {
    pub kind: &'m str,
    pub api_version: &'m str,
    pub count: usize,
    /// Index of the first of them.
    pub first: usize,
}

/// The kinds among `manifests` whose validation (`results`, in the same order) found no schema,
/// in the order they first appear; kustomize's own files are not resources and not counted.
pub(crate) fn not_validated<'m, T>(
    manifests: &'m [crate::manifest::Manifest],
    results: &[Option<T>],
) -> Vec<NotValidated<'m>> {
    let mut out: Vec<NotValidated<'m>> = Vec::new();
    for (i, (m, r)) in manifests.iter().zip(results).enumerate() {
        if r.is_some() || !schema::needs_schema(m.api_version(), m.kind()) {
            continue;
        }
        let (kind, api_version) = (m.kind(), m.api_version());
        match out
            .iter_mut()
            .find(|k| k.kind == kind && k.api_version == api_version)
        {
            Some(k) => k.count += 1,
            None => out.push(NotValidated {
                kind,
                api_version,
                count: 1,
                first: i,
            }),
        }
    }
    out
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
    layout: &render::builtin::argocd::Layout,
) -> Vec<Diagnostic> {
    // Each directory as the Applications name it: `<repoPath>/<out>/<name>`, with the root
    // app's `repoPath` for the Argo CD directory.
    let root_spec = render::builtin::argocd::root_application(
        &environments.iter().map(|e| &e.resolved).collect::<Vec<_>>(),
        layout,
    )
    .map(|root| root.path);
    let paths = dir_namespaces.into_iter().map(|(name, namespaces)| {
        let spec = environments
            .iter()
            .find(|e| e.resolved.name == name)
            .and_then(|e| e.resolved.argocd.as_ref());
        let path = match (spec, &root_spec) {
            (Some(spec), _) => layout.source_path(spec, &name),
            (None, Some(root)) if name == render::context::ARGOCD_DIR => root.clone(),
            (None, _) => layout.path_in(None, &name),
        };
        (path, namespaces)
    });
    let projects = argocd
        .manifests
        .iter()
        .filter(|m| m.kind() == "AppProject")
        .map(|m| m.value.clone())
        .collect();
    let tree = Tree::rendered(paths, projects);
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
            out.extend(lint::run(&ctx, &env.resolved.settings.rule_levels));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Manifest, ManifestOrigin};

    fn manifest(api_version: &str, kind: &str) -> Manifest {
        Manifest {
            value: serde_json::json!({ "apiVersion": api_version, "kind": kind }),
            origin: ManifestOrigin::Rendered {
                service: None,
                file: "x.yaml".into(),
                template: None,
                patches: None,
            },
        }
    }

    #[test]
    fn kinds_without_schema_are_counted_once_each() {
        let manifests = [
            manifest("v1", "ConfigMap"),
            manifest("apps/v1", "Deployment"),
            manifest("v1", "ConfigMap"),
            manifest("kustomize.config.k8s.io/v1beta1", "Kustomization"),
            manifest("networking.istio.io/v1beta1", "Gateway"),
        ];
        let results = [None, Some(()), None, None, None];
        let found = not_validated(&manifests, &results);
        assert_eq!(
            found,
            vec![
                NotValidated {
                    kind: "ConfigMap",
                    api_version: "v1",
                    count: 2,
                    first: 0
                },
                NotValidated {
                    kind: "Gateway",
                    api_version: "networking.istio.io/v1beta1",
                    count: 1,
                    first: 4
                },
            ]
        );
    }
}
