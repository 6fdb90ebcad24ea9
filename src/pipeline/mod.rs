//! The order of the stages, from catalogue to checked manifests: load, resolve, render, check
//! and lint each environment, then hand it to the command's [`Sink`] and let its manifests go.
//! What happens to a finished environment (compared, staged, kept) is the sink's business.

use crate::catalogue::{Project, ProjectPaths, ResolvedEnvironment};
use crate::diagnostic::{Diagnostic, Failure, Severity};
use crate::render::{self, RenderedEnvironment, Templates};
use crate::yaml::Limits;
use std::path::PathBuf;

mod checks;
mod release;

use checks::{check_argocd_schemas, check_environment, lint_argocd, reserved_environment_names};
pub use checks::{not_validated_summary, OUTPUT_SCHEMA_CODE};
pub use release::allow_unfreed_manifests;
use release::let_go;

#[derive(Debug, Clone)]
pub struct CompileOptions {
    pub paths: ProjectPaths,
    pub envs: Vec<String>,
    pub templates: Option<PathBuf>,
    pub limits: Limits,
    /// Where the output directory sits in the repository, as the Argo CD Applications name it.
    pub layout: render::builtin::argocd::Layout,
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

    /// Sees one output directory as soon as it is rendered, before it is checked: a sink that
    /// compares with the output tree does it here, so the text of every file the tree already
    /// holds is never held beside the environment's manifests (at N = 10,000 services, an
    /// environment's text is about 80 MB). An error stops the run, as in [`Sink::finished`].
    ///
    /// By default every file's text is written here: a sink that compares writes each text as it
    /// compares it, and holds only those that differ.
    fn rendered(&mut self, dir: &mut RenderedEnvironment) -> Result<(), Diagnostic> {
        dir.write_texts();
        Ok(())
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
    /// What the rendered, patched workloads say of replicas, autoscaling, resources and rolling
    /// updates, read before the manifests are let go: `plan` (and `diff`'s plan) need it after.
    pub workloads: crate::plan::Workloads,
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

/// An environment and what rendering it gave.
type Rendering = (ResolvedEnvironment, Result<RenderedEnvironment, Failure>);

fn render_one(templates: &Templates, env: ResolvedEnvironment) -> Rendering {
    let rendered = render::render_environment(templates, &env);
    (env, rendered)
}

/// Loads, resolves, renders and checks, handing each finished environment to `sink`. `Err`
/// means the input itself is wrong, or the sink refused to go on (exit code 2).
pub fn compile(opts: &CompileOptions, sink: &mut dyn Sink) -> Result<Compiled, Failure> {
    crate::manifest::schema::warm_up();
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
    problems.extend(reserved_environment_names(&resolved));
    problems.extend(render::builtin::argocd::disagreements(&resolved));
    let complete = resolved.len() == project.environments.len();
    let mut kinds = std::collections::BTreeMap::new();
    crate::profile::mark("templates", t);
    // One environment at a time: render, check, lint, then (unless asked to keep them) let its
    // manifests go, so peak memory is one environment's manifests plus the text still held:
    // everyone's for `diff`, only what differs from the tree for `check`, none for `build`.
    let mut findings = Vec::new();
    let mut dir_namespaces = Vec::new();
    let mut manifest_counts = Vec::new();
    let mut has_errors = false;
    let last = resolved.len().saturating_sub(1);
    let mut unfreed = 0;
    let templates = &templates;
    std::thread::scope(|scope| -> Result<(), Failure> {
        let mut pending = resolved.into_iter();
        // The next environment, rendering on a thread of its own while this one is checked and
        // handed over (see `release::stays_unfreed`).
        let mut ahead: Option<std::thread::ScopedJoinHandle<'_, Rendering>> = None;
        // The previous environment's manifests, being freed on other threads.
        let mut previous_free = None;
        for position in 0..=last {
            let t = std::time::Instant::now();
            let (env, rendered) = match ahead.take() {
                Some(handle) => match handle.join() {
                    Ok(done) => done,
                    Err(e) => std::panic::resume_unwind(e),
                },
                None => match pending.next() {
                    Some(env) => render_one(templates, env),
                    None => break,
                },
            };
            let rendered = match rendered {
                Ok(r) => r,
                Err(f) => {
                    problems.extend(f.diagnostics);
                    continue;
                }
            };
            crate::profile::mark("render+parse+emit", t);
            if let Some(freeing) = previous_free.take() {
                release::wait_for(freeing);
            }
            let mut rendered = rendered;
            if problems.is_empty() {
                let t = std::time::Instant::now();
                sink.rendered(&mut rendered)?;
                crate::profile::mark("sink: rendered", t);
            }
            if sink.keeps_manifests() || release::stays_unfreed(unfreed, rendered.manifests.len()) {
                if let Some(next) = pending.next() {
                    // Its text too: memory is not the limit where environments render ahead,
                    // and written here it is off the critical path (the sink's comparison then
                    // reads it instead of writing it).
                    ahead = Some(scope.spawn(move || {
                        let (env, rendered) = render_one(templates, next);
                        let rendered = rendered.map(|mut r| {
                            r.write_texts();
                            r
                        });
                        (env, rendered)
                    }));
                }
            }
            let mut compiled = CompiledEnvironment {
                workloads: crate::plan::Workloads::rendered(&env, &rendered.manifests),
                resolved: env,
                rendered,
            };
            if problems.is_empty() {
                findings.extend(check_environment(&compiled));
                has_errors = has_errors || findings.iter().any(|d| d.severity == Severity::Error);
            }
            if compiled.resolved.argocd.is_some() {
                kinds.insert(
                    compiled.resolved.name.clone(),
                    render::builtin::argocd::RenderedKinds::of(&compiled.rendered.manifests),
                );
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
                crate::profile::mark("sink: finished", t);
            }
            // Freed while the next environment renders, and done before its checks: the peak
            // is an environment's checks (its manifests and the lint index), and the text is
            // never held whole, so a render beside a free stays under it. Waiting before the
            // render left a core idle for 150 ms per environment at N = 10,000. Nothing as
            // large follows the last environment, so its free runs on while the run finishes
            // (or ends with it).
            if freeing.is_some() {
                release::move_out_of_freed_pages(&mut compiled.rendered.files);
            }
            if let Some(freeing) = freeing.filter(|_| position != last) {
                previous_free = Some(freeing);
            }
            environments.push(compiled);
        }
        Ok(())
    })?;
    crate::profile::report_counters();
    if !problems.is_empty() {
        return Err(problems.into());
    }
    let t = std::time::Instant::now();
    let resolved: Vec<&ResolvedEnvironment> = environments.iter().map(|e| &e.resolved).collect();
    let argocd = render::render_argocd(&resolved, complete, &opts.layout, &kinds);
    crate::profile::mark("render argocd", t);
    findings.extend(check_argocd_schemas(&argocd, &environments));
    dir_namespaces.push((
        argocd.name.clone(),
        crate::lint::context::namespaces(argocd.manifests.iter()),
    ));
    findings.extend(lint_argocd(
        &argocd,
        &environments,
        dir_namespaces,
        &opts.layout,
    ));
    if !argocd.files.is_empty() {
        manifest_counts.push((argocd.name.clone(), argocd.manifests.len()));
    }
    crate::diagnostic::normalise(&mut findings);
    let mut argocd = argocd;
    let clean = !findings.iter().any(|d| d.severity == Severity::Error);
    sink.rendered(&mut argocd)?;
    sink.finished(&mut argocd, clean)?;
    Ok(Compiled {
        environments,
        argocd,
        findings,
        manifest_counts,
    })
}
