//! The order of the stages, from catalogue to checked manifests: load, resolve, render, check
//! and lint each environment, then hand it to the command's [`Sink`] and let its manifests go.
//! What happens to a finished environment (compared, staged, kept) is the sink's business.

use crate::catalogue::{Project, ProjectPaths, ResolvedEnvironment};
use crate::diagnostic::{Diagnostic, Failure, Severity};
use crate::lint::context::Tree;
use crate::lint::{self, LintContext};
use crate::manifest::schema;
use crate::render::{self, RenderedEnvironment, Templates};
use crate::yaml::Limits;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Clone)]
pub struct CompileOptions {
    pub paths: ProjectPaths,
    pub envs: Vec<String>,
    pub templates: Option<PathBuf>,
    pub limits: Limits,
}

/// What a command does with each environment once it is rendered, validated and linted: the
/// pipeline drives, the command's sink decides (compare with the tree, stage, keep).
pub trait Sink {
    /// Whether the environments' manifests must outlive their turn (plan, graph and tests read
    /// them afterwards). Otherwise they are let go as soon as the sink has the environment, so
    /// peak memory is one environment's manifests.
    fn keeps_manifests(&self) -> bool {
        false
    }

    /// Takes one output directory as soon as it is checked: each environment in order, then the
    /// Argo CD directory. `clean` says that no error-severity finding was made so far. An error
    /// stops the run; it is reported like bad input (exit code 2).
    fn finished(&mut self, dir: &mut RenderedEnvironment, clean: bool) -> Result<(), Diagnostic>;
}

/// The sink of commands that read the compiled result afterwards (plan, graph, tests).
pub struct KeepEverything;

impl Sink for KeepEverything {
    fn keeps_manifests(&self) -> bool {
        true
    }

    fn finished(&mut self, _: &mut RenderedEnvironment, _: bool) -> Result<(), Diagnostic> {
        Ok(())
    }
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
}

impl Compiled {
    /// Every manifest rendered, in all output directories.
    pub fn manifest_count(&self) -> usize {
        self.manifest_counts.iter().map(|(_, n)| n).sum()
    }

    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|d| d.severity == Severity::Error)
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

/// Loads, resolves, renders and checks, handing each finished environment to `sink`. `Err`
/// means the input itself is wrong, or the sink refused to go on (exit code 2).
pub fn compile(opts: &CompileOptions, sink: &mut dyn Sink) -> Result<Compiled, Failure> {
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
        let freeing = if sink.keeps_manifests() {
            None
        } else {
            let_go(&mut compiled.rendered.manifests, &mut unfreed)
        };
        if problems.is_empty() {
            let t = std::time::Instant::now();
            sink.finished(&mut compiled.rendered, !has_errors)?;
            crate::profile::mark("sink", t);
        }
        // Freed before the next environment allocates, so two environments never share the
        // peak: that is what handing each one over early is for. Nothing as large follows the
        // last environment, so its free runs on while the run finishes (or ends with it).
        if let Some(freeing) = freeing.filter(|_| position != last) {
            let t = std::time::Instant::now();
            for half in freeing {
                let _ = half.join();
            }
            crate::profile::mark("wait for the free", t);
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
    let clean = !findings.iter().any(|d| d.severity == Severity::Error);
    sink.finished(&mut argocd, clean)?;
    Ok(Compiled {
        environments,
        argocd,
        findings,
        manifest_counts,
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
