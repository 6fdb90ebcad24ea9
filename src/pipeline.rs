//! The whole compile, from catalogue to checked manifests, shared by `build`, `check` and `diff`.

use crate::catalogue::{Project, ProjectPaths, ResolvedEnvironment};
use crate::diagnostic::{Diagnostic, Failure, Severity};
use crate::lint::context::Tree;
use crate::lint::{self, LintContext};
use crate::manifest::schema;
use crate::render::write::Staging;
use crate::render::{self, RenderedEnvironment, Templates, TextAt};
use crate::yaml::Limits;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Clone)]
pub struct CompileOptions {
    pub paths: ProjectPaths,
    pub envs: Vec<String>,
    pub templates: Option<PathBuf>,
    pub limits: Limits,
    /// Keep every environment's manifests in the result (plan, graph and tests read them);
    /// build, check and diff only need the text and drop them once linted.
    pub keep_manifests: bool,
    /// Compare each environment's files with this output tree as soon as the environment is
    /// linted, record the drift in [`Compiled::drifts`] and let go of the text the tree already
    /// holds (`check`, `build`): at N = 10,000 services the three environments' text is a sixth
    /// of peak memory. `build` must hold the output lock from before the comparison.
    pub compare_with: Option<PathBuf>,
}

pub struct CompiledEnvironment {
    pub resolved: ResolvedEnvironment,
    pub rendered: RenderedEnvironment,
}

pub struct Compiled {
    pub environments: Vec<CompiledEnvironment>,
    /// The Argo CD Applications: a pseudo-environment whose directory (`argocd/`) sits beside
    /// the environments' directories.
    pub argocd: RenderedEnvironment,
    /// Schema violations and lint findings over everything rendered.
    pub findings: Vec<Diagnostic>,
    /// How many manifests each output directory holds (environments, then `argocd/`), counted
    /// before any were dropped.
    pub manifest_counts: Vec<(String, usize)>,
    /// With [`CompileOptions::compare_with`]: how every output directory differs from the tree
    /// there. Files the tree already holds as they are keep only their path ([`TextAt::Tree`]),
    /// and the drifts leave `new` empty: the text is in the rendered file
    /// ([`Compiled::kept_texts`]) or, for a build, in its staging directory.
    pub drifts: Option<Vec<crate::diff::Drift>>,
}

impl Compiled {
    /// Every manifest rendered, in all output directories.
    pub fn manifest_count(&self) -> usize {
        self.manifest_counts.iter().map(|(_, n)| n).sum()
    }

    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|d| d.severity == Severity::Error)
    }

    /// The text of every rendered file still in memory, by `env/path`: a drift's path.
    pub fn kept_texts(&self) -> std::collections::HashMap<String, &str> {
        self.rendered()
            .into_iter()
            .flat_map(|e| {
                e.files
                    .iter()
                    .filter(|f| f.text_at == TextAt::Memory)
                    .map(move |f| (format!("{}/{}", e.name, f.path), f.text.as_str()))
            })
            .collect()
    }

    /// Every output directory to write or compare: the environments, then `argocd/`.
    pub fn rendered(&self) -> Vec<&RenderedEnvironment> {
        self.environments
            .iter()
            .map(|e| &e.rendered)
            .chain(std::iter::once(&self.argocd))
            .collect()
    }
}

/// Loads, resolves, renders and checks. `Err` means the input itself is wrong (exit code 2).
pub fn compile(opts: &CompileOptions) -> Result<Compiled, Failure> {
    compile_staging(opts, None)
}

/// [`compile`] for a build: with [`CompileOptions::compare_with`] set, each environment's files
/// that differ from the tree are written to `staging` as soon as the environment is compared
/// (while nothing so far is an error), so no environment's text waits in memory for the others.
pub fn compile_staging(
    opts: &CompileOptions,
    mut staging: Option<&mut Staging>,
) -> Result<Compiled, Failure> {
    let t = std::time::Instant::now();
    let project = Project::load(&opts.paths, opts.limits.clone())?;
    crate::profile::mark("load+validate", t);
    let t = std::time::Instant::now();
    let resolved = project.resolve(&opts.envs)?;
    crate::profile::mark("resolve", t);
    let t = std::time::Instant::now();
    let templates =
        Templates::load(opts.templates.as_deref())?.reading_back_within(opts.limits.clone());
    let mut environments = Vec::new();
    let mut problems = Vec::new();
    for env in &resolved {
        if env.name == render::context::ARGOCD_DIR {
            problems.push(
                Diagnostic::error(
                    "input/bad-name",
                    format!(
                        "environment name `{}` is reserved: rendered/{}/ holds the Argo CD Applications",
                        env.name,
                        render::context::ARGOCD_DIR
                    ),
                )
                .at(Some(env.origin.location()), "this environment")
                .with_help("rename the environment file"),
            );
        }
    }
    let complete = resolved.len() == project.environments.len();
    let argocd = match render::render_argocd(&templates, &resolved, complete) {
        Ok(a) => Some(a),
        Err(f) => {
            problems.extend(f.diagnostics);
            None
        }
    };
    crate::profile::mark("render argocd", t);
    // One environment at a time: render, check, lint, then (unless asked to keep them) let its
    // manifests go, so peak memory is one environment's manifests plus the text still held:
    // everyone's for `diff`, only what differs from the tree for `check`, none for `build`.
    let mut findings = Vec::new();
    let mut dir_namespaces = Vec::new();
    let mut manifest_counts = Vec::new();
    let mut drifts = Vec::new();
    let mut has_errors = false;
    let last = resolved.len().saturating_sub(1);
    let mut unfreed = 0;
    for (position, env) in resolved.into_iter().enumerate() {
        let t = std::time::Instant::now();
        let rendered = match render::render_environment(&templates, &env) {
            Ok(r) => r,
            Err(f) => {
                problems.extend(f.diagnostics);
                continue;
            }
        };
        crate::profile::mark("render+parse+emit", t);
        let mut compiled = CompiledEnvironment {
            resolved: env,
            rendered,
        };
        if problems.is_empty() {
            findings.extend(check_environment(&compiled));
            has_errors = has_errors || findings.iter().any(|d| d.severity == Severity::Error);
        }
        dir_namespaces.push((
            compiled.rendered.name.clone(),
            crate::lint::context::namespaces(compiled.rendered.manifests.iter()),
        ));
        manifest_counts.push((
            compiled.rendered.name.clone(),
            compiled.rendered.manifests.len(),
        ));
        let freeing = if opts.keep_manifests {
            None
        } else {
            let_go(&mut compiled.rendered.manifests, &mut unfreed)
        };
        if let Some(out) = &opts.compare_with {
            let stage_into = staging
                .as_deref_mut()
                .filter(|_| !has_errors && problems.is_empty());
            let t = std::time::Instant::now();
            drifts.extend(compare_and_stage(out, &mut compiled.rendered, stage_into));
            crate::profile::mark("compare (and stage)", t);
            // Freed before the next environment allocates, so two environments never share
            // the peak: that is what comparing early is for. Nothing as large follows the last
            // environment, so its free runs on while the run finishes (or ends with it).
            if let Some(freeing) = freeing.filter(|_| position != last) {
                let t = std::time::Instant::now();
                for half in freeing {
                    let _ = half.join();
                }
                crate::profile::mark("wait for the free", t);
            }
        }
        environments.push(compiled);
    }
    crate::profile::report_counters();
    let argocd = match argocd {
        Some(a) if problems.is_empty() => a,
        _ => return Err(problems.into()),
    };
    findings.extend(check_argocd_schemas(&argocd, &environments));
    dir_namespaces.push((
        argocd.name.clone(),
        crate::lint::context::namespaces(argocd.manifests.iter()),
    ));
    findings.extend(lint_argocd(&argocd, &environments, dir_namespaces));
    if !argocd.files.is_empty() {
        manifest_counts.push((argocd.name.clone(), argocd.manifests.len()));
    }
    crate::diagnostic::normalise(&mut findings);
    let mut argocd = argocd;
    if let Some(out) = &opts.compare_with {
        let stage_into =
            staging.filter(|_| !findings.iter().any(|d| d.severity == Severity::Error));
        drifts.extend(compare_and_stage(out, &mut argocd, stage_into));
    }
    let drifts = opts.compare_with.is_some().then_some(drifts);
    Ok(Compiled {
        environments,
        argocd,
        findings,
        manifest_counts,
        drifts,
    })
}

/// How many manifests of finished environments a run may let go of without freeing them.
static UNFREED_BUDGET: AtomicUsize = AtomicUsize::new(0);

/// Lets a run leave up to `manifests` manifests of finished environments unfreed, for a process
/// that exits right after the command (the binary; library callers keep the default, 0). The
/// renderer's threads allocate the manifests and have exited by the time they are freed, so every
/// free takes the allocator's slow cross-thread path: at N = 1,000 freeing was a quarter of a
/// `check`'s CPU for memory the process was about to return whole. Above the budget (large
/// platforms, where peak memory is the limit) environments are freed as before.
pub fn allow_unfreed_manifests(manifests: usize) {
    UNFREED_BUDGET.store(manifests, Ordering::Relaxed);
}

/// Takes an environment's manifests away once they are checked: left unfreed while the run's
/// budget allows ([`allow_unfreed_manifests`]), otherwise freed on other threads, which the
/// caller joins. Freeing is hundreds of thousands of small frees: done while this thread compares
/// the text with the tree (check, build), or while the next environment renders (diff, whose
/// peak is everyone's text anyway).
fn let_go(
    manifests: &mut Vec<crate::manifest::Manifest>,
    unfreed: &mut usize,
) -> Option<[std::thread::JoinHandle<()>; 2]> {
    let taken = std::mem::take(manifests);
    if *unfreed + taken.len() <= UNFREED_BUDGET.load(Ordering::Relaxed) {
        *unfreed += taken.len();
        std::mem::forget(taken);
        return None;
    }
    Some(free_in_background(taken))
}

/// Drops `manifests` on two threads, half each: a free walks every node of every tree, and
/// one thread alone took longer than the comparison it runs beside.
fn free_in_background(
    mut manifests: Vec<crate::manifest::Manifest>,
) -> [std::thread::JoinHandle<()>; 2] {
    let second = manifests.split_off(manifests.len() / 2);
    [
        std::thread::spawn(move || drop(manifests)),
        std::thread::spawn(move || drop(second)),
    ]
}

/// Schema validation and lint of one environment. They read the same manifests and share
/// nothing else; side by side they fill the gaps each leaves on two cores (the lint rules are few
/// and unequal, and building the lint index is serial).
fn check_environment(env: &CompiledEnvironment) -> Vec<Diagnostic> {
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

/// Compares one output directory with the tree at `out`, keeps each text once (see
/// [`keep_text_once`]) and, for a build, writes the files that differ to its staging directory
/// at once, so their text does not wait in memory for the other environments.
fn compare_and_stage(
    out: &std::path::Path,
    rendered: &mut RenderedEnvironment,
    staging: Option<&mut Staging>,
) -> Vec<crate::diff::Drift> {
    let found = crate::diff::drift_without_text(out, &[rendered]);
    keep_text_once(rendered, &found);
    if let Some(staging) = staging {
        staging.stage_changed(rendered);
    }
    found
}

/// After a comparison without text, each text is held once: files the output tree already
/// holds as they are keep only their path ([`TextAt::Tree`]); files that differ keep their text
/// in the file ([`Compiled::kept_texts`] finds it for a drift).
fn keep_text_once(rendered: &mut RenderedEnvironment, found: &[crate::diff::Drift]) {
    let differing: std::collections::HashSet<&str> = found
        .iter()
        .filter(|d| d.kind != crate::diff::DriftKind::Orphaned)
        .map(|d| d.path.as_str())
        .collect();
    for file in &mut rendered.files {
        if !differing.contains(format!("{}/{}", rendered.name, file.path).as_str()) {
            file.text = String::new();
            file.text_at = TextAt::Tree;
        }
    }
}

/// Code of findings about rendered output that breaks the Kubernetes, Istio or Argo CD schemas.
pub const OUTPUT_SCHEMA_CODE: &str = "output-schema";

fn check_schemas(env: &CompiledEnvironment) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let ctx_env = &env.resolved;
    let results = crate::parallel::map(&env.rendered.manifests, 64, |m| schema::validate(&m.value));
    for (m, violations) in env.rendered.manifests.iter().zip(results) {
        let Some(violations) = violations else {
            continue;
        };
        for v in violations {
            let location = match m.service().and_then(|s| ctx_env.service(s)) {
                Some(svc) => svc.declaration(),
                None => ctx_env.origin.location(),
            };
            out.push(
                Diagnostic::error(
                    OUTPUT_SCHEMA_CODE,
                    format!("rendered {} breaks its schema at `{}`: {}", m.api_version(), v.pointer, v.message),
                )
                .at(Some(location), "rendered from here")
                .with_help("a value of this service produced an invalid manifest; if you use --templates, check the template")
                .in_environment(&ctx_env.name)
                .on_resource(m.resource_id()),
            );
        }
    }
    out
}

/// Schema check of the Argo CD Applications; findings point at the environment's `argocd`
/// section (the root app: at the first environment's).
fn check_argocd_schemas(
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
fn lint_argocd(
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
