//! Rendering, one environment at a time, in stages with a function each:
//!
//! 1. [`build_documents`]: the built-in resources ([`builtin`]), then the documents the extra
//!    templates add ([`extra`], [`templates`]), each with its origin, as `serde_json::Value`s;
//! 2. patches edit those documents in place (the seam is in [`render_environment`]);
//! 3. [`write_documents`]: canonical YAML text ([`emit`]), file by file, and `kustomization.yaml`.
//!
//! Validation and lint follow in `crate::pipeline`, on the documents the last stage hands over.

pub mod builtin;
pub mod context;
pub mod emit;
pub mod extra;
pub mod templates;

use crate::catalogue::{ResolvedEnvironment, ResolvedService};
use crate::diagnostic::{Diagnostic, Failure};
use crate::manifest::{Manifest, ManifestOrigin};
use crate::yaml::SourceFile;
use serde_json::Value;
use std::sync::Arc;
use templates::Scope;
pub use templates::Templates;

/// One output file of an environment.
#[derive(Debug, Clone)]
pub struct RenderedFile {
    /// Path relative to the environment's output directory.
    pub path: String,
    /// Empty unless `text_at` is [`TextAt::Memory`].
    pub text: String,
    pub text_at: TextAt,
    /// What the header names as the file's source, and which of the environment's manifests
    /// the file holds: what its text is written from while it is [`TextAt::Unwritten`].
    pub source: String,
    pub documents: std::ops::Range<usize>,
}

impl RenderedFile {
    /// A file whose text is written already (it holds no manifest of the environment).
    fn written(path: String, text: String) -> RenderedFile {
        RenderedFile {
            path,
            text,
            text_at: TextAt::Memory,
            source: String::new(),
            documents: 0..0,
        }
    }

    /// The file's text: held, or written now from `manifests` (its environment's) when it is
    /// [`TextAt::Unwritten`]; empty once it is only on disk.
    pub fn text_from(&self, manifests: &[Manifest]) -> std::borrow::Cow<'_, str> {
        match self.text_at {
            TextAt::Unwritten => std::borrow::Cow::Owned(document_text(
                &self.source,
                manifests
                    .get(self.documents.clone())
                    .unwrap_or_default()
                    .iter()
                    .map(|m| &m.value),
            )),
            _ => std::borrow::Cow::Borrowed(&self.text),
        }
    }
}

impl RenderedEnvironment {
    /// Writes the text of every file still [`TextAt::Unwritten`], on both cores. Sinks that
    /// compare with the output tree write each file's text as they compare it instead, and keep
    /// only the ones that differ.
    pub fn write_texts(&mut self) {
        let manifests = &self.manifests;
        let texts = crate::parallel::map(&self.files, 16, |f| {
            (f.text_at == TextAt::Unwritten).then(|| {
                let t = std::time::Instant::now();
                let text = f.text_from(manifests).into_owned();
                crate::profile::add(crate::profile::Counter::Emit, t);
                text
            })
        });
        for (file, text) in self.files.iter_mut().zip(texts) {
            if let Some(text) = text {
                file.text = text;
                file.text_at = TextAt::Memory;
            }
        }
    }
}

/// Where a rendered file's text is. Check and build compare each environment with the output
/// tree as soon as it is linted (their pipeline sinks) and let go of the text held
/// elsewhere: at N = 10,000 services the text of three environments is a fifth of peak memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextAt {
    /// Not written yet: the file's documents are among the environment's manifests, and its
    /// text is written when it is needed ([`RenderedFile::text_from`]). An environment's text
    /// never has to be held whole beside its manifests: at N = 10,000 services that is 80 MB.
    Unwritten,
    /// In the file's `text`.
    Memory,
    /// Only in the output tree, which already holds exactly this file; a build links it.
    Tree,
    /// Only in the staging directory of the build under way ([`crate::output::Writer`]).
    Staging,
}

/// Everything one environment renders: one directory under the output directory.
///
/// The Argo CD Applications form a pseudo-environment named [`context::ARGOCD_DIR`], whose
/// directory sits beside the environments' directories.
#[derive(Debug, Clone)]
pub struct RenderedEnvironment {
    pub name: String,
    pub files: Vec<RenderedFile>,
    pub manifests: Vec<Manifest>,
    /// Whether `files` is everything this directory should hold. When it is, generated files on
    /// disk that are not in `files` are removed (build) or reported as orphaned (check); when it
    /// is not (the Argo CD directory of a build restricted with `--env`), they are left alone.
    pub complete: bool,
}

/// The first line of every generated file: how a person (and shipshape) knows it is generated.
pub const GENERATED_MARKER: &str = "# Generated by shipshape";

fn header(source: &str) -> String {
    format!("{GENERATED_MARKER} from {source}. Do not edit: change the catalogue and run `shipshape build`.\n")
}

/// One output file's documents, built and not yet written as text.
#[derive(Debug, Clone)]
pub struct FileDocuments {
    /// Path relative to the environment's output directory.
    pub path: String,
    /// What the file's header names as its source ("service `api`, environment `dev`").
    pub source: String,
    /// The documents, in the order they are written, each with its origin (service and file).
    pub manifests: Vec<Manifest>,
}

impl FileDocuments {
    fn new(path: String, source: String) -> Self {
        FileDocuments {
            path,
            source,
            manifests: Vec::new(),
        }
    }

    /// Adds `docs`, rendered for `service` by `template` (`None`: built in).
    fn extend(
        &mut self,
        service: Option<&str>,
        template: Option<&Arc<SourceFile>>,
        docs: impl IntoIterator<Item = Value>,
    ) {
        let docs = docs.into_iter();
        self.manifests.reserve(docs.size_hint().0);
        for value in docs {
            self.manifests.push(Manifest {
                value,
                origin: ManifestOrigin::Rendered {
                    service: service.map(str::to_owned),
                    file: self.path.clone(),
                    template: template.cloned(),
                    patches: None,
                },
            });
        }
    }
}

/// What one environment renders, as documents: `namespace.yaml`, then each service's file in
/// catalogue order. `kustomization.yaml` is not among them: it lists the files, and is written
/// with them.
#[derive(Debug, Clone)]
pub struct EnvironmentDocuments {
    pub name: String,
    pub files: Vec<FileDocuments>,
}

/// Renders one environment: its documents, then their text.
pub fn render_environment(
    templates: &Templates,
    env: &ResolvedEnvironment,
) -> Result<RenderedEnvironment, Failure> {
    let mut documents = build_documents(templates, env)?;
    // Every built-in and extra document exists with its origin, and no text is written yet, so
    // what a patch changes is validated, linted and written like the rest.
    crate::patch::apply_environment(env, &mut documents)?;
    add_enforcement(env, &mut documents);
    Ok(write_documents(env, documents))
}

/// `enforcement.yaml`, after `namespace.yaml`. Built once the patches have applied, because the
/// quota counts the pods the patched workloads run (a patched `maxSurge` or replica count moves
/// it); patches target a service's own documents, so none is lost by building it last.
fn add_enforcement(env: &ResolvedEnvironment, documents: &mut EnvironmentDocuments) {
    let rendered = documents
        .files
        .iter()
        .flat_map(|f| f.manifests.iter().map(|m| &m.value));
    let enforcement = crate::enforce::documents(env, rendered);
    if enforcement.is_empty() {
        return;
    }
    let mut file = FileDocuments::new(
        crate::enforce::FILE.into(),
        format!("environment `{}`", env.name),
    );
    file.extend(None, None, enforcement);
    let at = usize::from(!documents.files.is_empty());
    documents.files.insert(at, file);
}

/// The built-in documents of `env`, then those its extra templates add: per service after the
/// service's own (in the service's file), per environment after the namespace's (in
/// `namespace.yaml`), each template's in template name order.
pub fn build_documents(
    templates: &Templates,
    env: &ResolvedEnvironment,
) -> Result<EnvironmentDocuments, Failure> {
    let extras = Extras::new(templates, env);
    // Services build independently; spread them over the cores and keep catalogue order.
    let results = crate::parallel::map(&env.services, 16, |svc| {
        service_documents(templates, &extras, env, svc)
    });
    let mut problems = Vec::new();
    let mut services = Vec::with_capacity(env.services.len());
    let mut contexts = Vec::new();
    for result in results {
        match result {
            Ok((file, ctx)) => {
                services.push(file);
                contexts.extend(ctx);
            }
            Err(p) => problems.extend(p),
        }
    }
    let mut namespace = FileDocuments::new(
        "namespace.yaml".into(),
        format!("environment `{}`", env.name),
    );
    namespace.extend(None, None, builtin::namespace::environment_documents(env));
    if let Some(env_value) = extras
        .env_value
        .as_ref()
        .filter(|_| extras.environment_scope)
    {
        let ctx = minijinja::context! { env => env_value, services => contexts };
        for extra in templates.extras(Scope::Environment) {
            match extra::render(templates, extra, &ctx, None) {
                Ok(docs) => namespace.extend(None, templates.file(&extra.name), docs),
                Err(d) => problems.push(d.in_environment(&env.name)),
            }
        }
    }
    if !problems.is_empty() {
        return Err(collapse_repeats(problems).into());
    }
    let mut files = Vec::with_capacity(2 + services.len());
    files.push(namespace);
    files.extend(services);
    Ok(EnvironmentDocuments {
        name: env.name.clone(),
        files,
    })
}

/// One report per template mistake, not one per service: a template that fails the same way
/// (same code, same place in the template) for every service of a large catalogue says so once,
/// with how many more services it failed for.
fn collapse_repeats(problems: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let place = |d: &Diagnostic| {
        d.location
            .as_ref()
            .map(|l| (d.code.clone(), l.file.name.clone(), l.span.start))
    };
    let mut out: Vec<(Diagnostic, usize)> = Vec::with_capacity(problems.len());
    for d in problems {
        let key = place(&d);
        match out
            .iter_mut()
            .find(|(seen, _)| key.is_some() && place(seen) == key)
        {
            Some((_, more)) => *more += 1,
            None => out.push((d, 0)),
        }
    }
    out.into_iter()
        .map(|(mut d, more)| {
            if more > 0 {
                let s = if more == 1 { "" } else { "s" };
                d.message
                    .push_str(&format!(" (and the same for {more} more service{s})"));
            }
            d
        })
        .collect()
}

/// What the extra templates of a run need in every service of an environment.
struct Extras {
    /// `env` as templates see it; `None` without extra templates.
    env_value: Option<minijinja::Value>,
    service_scope: bool,
    /// Whether per-environment templates will want every service's context.
    environment_scope: bool,
}

impl Extras {
    fn new(templates: &Templates, env: &ResolvedEnvironment) -> Extras {
        let service_scope = templates.extras(Scope::Service).next().is_some();
        let environment_scope = templates.extras(Scope::Environment).next().is_some();
        Extras {
            env_value: (service_scope || environment_scope).then(|| extra::environment_value(env)),
            service_scope,
            environment_scope,
        }
    }
}

type ServiceOutput = Result<(FileDocuments, Option<minijinja::Value>), Vec<Diagnostic>>;

/// One service's file: its built-in documents, then those of the per-service templates. Also
/// hands back the service's template context when per-environment templates will list it.
fn service_documents(
    templates: &Templates,
    extras: &Extras,
    env: &ResolvedEnvironment,
    svc: &ResolvedService,
) -> ServiceOutput {
    let t = std::time::Instant::now();
    let facts = context::ServiceFacts::new(env, svc);
    crate::profile::add(crate::profile::Counter::Context, t);
    let mut file = FileDocuments::new(
        format!("{}.yaml", svc.name),
        format!("service `{}`, environment `{}`", svc.name, env.name),
    );
    let service = Some(svc.name.as_str());
    let t = std::time::Instant::now();
    file.extend(service, None, builtin::service_documents(&facts));
    crate::profile::add(crate::profile::Counter::Native, t);
    let mut svc_value = None;
    if let Some(env_value) = &extras.env_value {
        let t = std::time::Instant::now();
        let value = extra::service_value(&facts, templates.service_fields());
        crate::profile::add(crate::profile::Counter::Context, t);
        if extras.service_scope {
            let ctx = minijinja::context! { env => env_value, svc => &value };
            let mut problems = Vec::new();
            for extra in templates.extras(Scope::Service) {
                match extra::render(templates, extra, &ctx, service) {
                    Ok(docs) => file.extend(service, templates.file(&extra.name), docs),
                    Err(d) => problems.push(d.in_environment(&env.name)),
                }
            }
            if !problems.is_empty() {
                return Err(problems);
            }
        }
        svc_value = extras.environment_scope.then_some(value);
    }
    Ok((file, svc_value))
}

/// The text of an environment's files (a file without documents is not written), and its
/// `kustomization.yaml` listing them.
pub fn write_documents(
    env: &ResolvedEnvironment,
    documents: EnvironmentDocuments,
) -> RenderedEnvironment {
    let mut out = RenderedEnvironment {
        name: documents.name,
        files: Vec::with_capacity(documents.files.len() + 1),
        manifests: Vec::new(),
        complete: true,
    };
    write_files(&mut out, documents.files);
    let paths: Vec<&str> = out.files.iter().map(|f| f.path.as_str()).collect();
    let text = document_text(
        &format!("environment `{}`", env.name),
        std::iter::once(&builtin::namespace::kustomization(env, &paths)),
    );
    out.files
        .push(RenderedFile::written("kustomization.yaml".into(), text));
    out
}

/// Lists each file with documents in `out`, and moves its documents to `out`'s manifests. The
/// text is written later, by the sink ([`RenderedEnvironment::write_texts`]).
fn write_files(out: &mut RenderedEnvironment, files: Vec<FileDocuments>) {
    out.manifests
        .reserve(files.iter().map(|f| f.manifests.len()).sum());
    for file in files {
        if file.manifests.is_empty() {
            continue;
        }
        let start = out.manifests.len();
        out.manifests.extend(file.manifests);
        out.files.push(RenderedFile {
            path: file.path,
            text: String::new(),
            text_at: TextAt::Unwritten,
            source: file.source,
            documents: start..out.manifests.len(),
        });
    }
}

/// The generated header, then `docs` as a YAML stream.
fn document_text<'v>(source: &str, docs: impl Iterator<Item = &'v Value>) -> String {
    emit::text_of(|text| {
        text.push_str(&header(source));
        for (i, doc) in docs.enumerate() {
            if i > 0 {
                text.push_str("---\n");
            }
            emit::write_yaml(text, doc);
        }
    })
}

/// The Argo CD pseudo-environment: `<env>.yaml` with the Application of every environment in
/// `envs` that has an `argocd` section, the AppProjects they name, and `root.yaml`, the
/// app-of-apps over this directory. `kinds` are the kinds each environment rendered, by name.
///
/// `complete` says `envs` are all of the project's environments; otherwise (a build restricted
/// with `--env`) only the selected environments' Applications are rendered, the AppProjects
/// and the root app are not (they depend on every environment), and the other files on disk
/// are kept.
pub fn render_argocd(
    envs: &[&ResolvedEnvironment],
    complete: bool,
    layout: &builtin::argocd::Layout,
    kinds: &std::collections::BTreeMap<String, builtin::argocd::RenderedKinds>,
) -> RenderedEnvironment {
    let mut files: Vec<FileDocuments> = envs
        .iter()
        .filter_map(|env| {
            builtin::argocd::environment_application(env, layout).map(|app| {
                let mut file = FileDocuments::new(
                    format!("{}.yaml", env.name),
                    format!("environment `{}`", env.name),
                );
                file.extend(None, None, [builtin::argocd::application(&app)]);
                file
            })
        })
        .collect();
    if complete {
        let projects = builtin::argocd::projects(envs, kinds);
        if !projects.is_empty() {
            let mut file = FileDocuments::new(
                builtin::argocd::PROJECTS_FILE.into(),
                "all environments".into(),
            );
            file.extend(None, None, projects);
            files.push(file);
        }
        if let Some(root) = builtin::argocd::root_application(envs, layout) {
            let mut file = FileDocuments::new("root.yaml".into(), "all environments".into());
            file.extend(None, None, [builtin::argocd::application(&root)]);
            files.push(file);
        }
    }
    let mut out = RenderedEnvironment {
        name: context::ARGOCD_DIR.to_owned(),
        files: Vec::with_capacity(files.len() + 1),
        manifests: Vec::new(),
        complete,
    };
    write_files(&mut out, files);
    // So `kubectl kustomize` (and Argo CD, which runs it when the file is there) reads the
    // directory like an environment's. Only a complete render knows every Application; a build
    // restricted with `--env` keeps the one on disk.
    if complete && !out.files.is_empty() {
        let resources: Vec<&str> = out.files.iter().map(|f| f.path.as_str()).collect();
        let doc = serde_json::json!({
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": resources,
        });
        let text = document_text("all environments", std::iter::once(&doc));
        out.files
            .push(RenderedFile::written("kustomization.yaml".into(), text));
    }
    out
}
