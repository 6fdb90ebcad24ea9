//! The Argo CD resources under `<out>/argocd/`: one Application per environment with an `argocd`
//! section (source `<repoPath>/<out>/<env>`), the AppProjects those Applications belong to, and
//! the root app-of-apps over that directory.

use crate::catalogue::model::ArgoSpec;
use crate::catalogue::ResolvedEnvironment;
use crate::diagnostic::Diagnostic;
use crate::lint::index::is_cluster_scoped;
use crate::manifest::Manifest;
use crate::render::context::{object, ARGOCD_DIR, IN_CLUSTER_SERVER, RENDERED_PATH};
use crate::vocabulary::argocd::{BUILTIN_PROJECT, FINALIZER};
use crate::vocabulary::{annotation, label};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

/// Namespace Argo CD runs in unless `argocd.namespace` says otherwise.
pub const DEFAULT_NAMESPACE: &str = "argocd";
/// The file of `<out>/argocd/` holding the AppProjects.
pub const PROJECTS_FILE: &str = "appprojects.yaml";

/// The root app's revision unless `rootRevision` says otherwise: the default branch.
pub const DEFAULT_ROOT_REVISION: &str = "HEAD";
const DEFAULT_RETRY_LIMIT: u32 = 5;
const DEFAULT_BACKOFF: &str = "5s";
const DEFAULT_BACKOFF_FACTOR: u32 = 2;
const DEFAULT_MAX_BACKOFF: &str = "3m";

/// The output directory as the repository names it: relative to the project root, `/`-separated
/// (`rendered` by default, `deploy` for `--out deploy`, empty for the root itself), or `None`
/// when `out` is outside the project, where no repository path can name it.
pub fn output_path(root: &Path, out: &Path) -> Option<String> {
    let root = absolute(root);
    let out = absolute(out);
    let relative = out.strip_prefix(&root).ok()?;
    let mut parts = Vec::new();
    for c in relative.components() {
        match c {
            Component::Normal(p) => parts.push(p.to_str()?.to_owned()),
            _ => return None,
        }
    }
    Some(parts.join("/"))
}

/// `path` made absolute and free of `.`/`..`, with its longest existing ancestor canonical, so
/// a symlinked or relative spelling of the same directory compares equal.
fn absolute(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut lexical = PathBuf::new();
    for c in cwd.join(path).components() {
        match c {
            Component::ParentDir => {
                lexical.pop();
            }
            Component::CurDir => {}
            other => lexical.push(other),
        }
    }
    let mut existing = lexical.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        let (Some(parent), Some(name)) = (existing.parent(), existing.file_name()) else {
            return lexical;
        };
        rest.push(name.to_owned());
        existing = parent;
    }
    let mut out = existing
        .canonicalize()
        .unwrap_or_else(|_| existing.to_path_buf());
    out.extend(rest.iter().rev());
    out
}

/// How the rendered tree is laid out in the repository.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The output directory relative to the project root (see [`output_path`]).
    pub output: String,
}

impl Default for Layout {
    fn default() -> Layout {
        Layout {
            output: RENDERED_PATH.to_owned(),
        }
    }
}

impl Layout {
    /// The repository path of output directory `dir` for an environment set up as `argo`.
    pub fn source_path(&self, argo: &ArgoSpec, dir: &str) -> String {
        self.path_in(argo.repo_path.as_deref(), dir)
    }

    /// The repository path of output directory `dir` when the project sits at `repo_path`.
    pub fn path_in(&self, repo_path: Option<&str>, dir: &str) -> String {
        [repo_path.unwrap_or(""), &self.output, dir]
            .iter()
            .filter(|p| !p.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// What one Application says, before it is laid out as a document.
pub struct Application<'a> {
    pub name: String,
    pub namespace: &'a str,
    pub platform: &'a str,
    /// `None` for the root app, which belongs to no environment.
    pub environment: Option<&'a str>,
    pub project: &'a str,
    pub repo_url: &'a str,
    pub target_revision: &'a str,
    pub path: String,
    /// `server` or `name`, then `namespace`.
    pub destination: Map<String, Value>,
    pub prune: bool,
    pub self_heal: bool,
    pub sync_options: Vec<&'static str>,
    pub retry: Option<Value>,
    pub finalizer: bool,
}

pub fn namespace(argo: &ArgoSpec) -> &str {
    argo.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE)
}

pub fn project<'a>(env: &'a ResolvedEnvironment, argo: &'a ArgoSpec) -> &'a str {
    argo.project.as_deref().unwrap_or(&env.platform)
}

fn target_revision(argo: &ArgoSpec) -> &str {
    argo.target_revision.as_deref().unwrap_or("HEAD")
}

/// The destination cluster: by name if one is given, else by API server.
fn cluster(argo: &ArgoSpec) -> (&'static str, &str) {
    match (&argo.destination.server, &argo.destination.name) {
        (None, Some(name)) => ("name", name.as_str()),
        (server, _) => ("server", server.as_deref().unwrap_or(IN_CLUSTER_SERVER)),
    }
}

fn retry(argo: &ArgoSpec) -> Option<Value> {
    let retry = &argo.sync_policy.retry;
    let limit = retry.limit.unwrap_or(DEFAULT_RETRY_LIMIT);
    if limit == 0 {
        return None;
    }
    let backoff = &retry.backoff;
    Some(object([
        ("limit", Value::from(limit)),
        (
            "backoff",
            object([
                (
                    "duration",
                    Value::from(backoff.duration.as_deref().unwrap_or(DEFAULT_BACKOFF)),
                ),
                (
                    "factor",
                    Value::from(backoff.factor.unwrap_or(DEFAULT_BACKOFF_FACTOR)),
                ),
                (
                    "maxDuration",
                    Value::from(
                        backoff
                            .max_duration
                            .as_deref()
                            .unwrap_or(DEFAULT_MAX_BACKOFF),
                    ),
                ),
            ]),
        ),
    ]))
}

/// The Application of one environment, or `None` without an `argocd` section.
pub fn environment_application<'a>(
    env: &'a ResolvedEnvironment,
    layout: &Layout,
) -> Option<Application<'a>> {
    let argo = env.argocd.as_ref()?;
    let mut destination = Map::with_capacity(2);
    let (key, cluster) = cluster(argo);
    destination.insert(key.into(), Value::from(cluster));
    destination.insert("namespace".into(), Value::from(env.namespace.as_str()));
    let policy = &argo.sync_policy;
    let sync_options = [
        (policy.create_namespace, "CreateNamespace=true"),
        (policy.server_side_apply, "ServerSideApply=true"),
        (policy.prune_last, "PruneLast=true"),
    ]
    .into_iter()
    .filter(|(on, _)| on.unwrap_or(true))
    .map(|(_, option)| option)
    .collect();
    Some(Application {
        name: format!("{}-{}", env.platform, env.name),
        namespace: namespace(argo),
        platform: &env.platform,
        environment: Some(&env.name),
        project: project(env, argo),
        repo_url: &argo.repo_url,
        target_revision: target_revision(argo),
        path: layout.source_path(argo, &env.name),
        destination,
        prune: policy.prune.unwrap_or(false),
        self_heal: policy.self_heal.unwrap_or(false),
        sync_options,
        retry: retry(argo),
        finalizer: true,
    })
}

/// The app-of-apps over `<out>/argocd`, or `None` when no environment uses Argo CD.
///
/// It reads the Application files from the repository (and `repoPath`) most environments use
/// (ties: the first environment in name order), at `rootRevision` or else `HEAD`, the
/// repository's default branch: where changes to the environment files are merged, whatever
/// revision each environment follows. It creates them in Argo CD's own cluster and namespace. It
/// has no finalizer: deleting the root app leaves the environments running.
pub fn root_application<'a>(
    envs: &[&'a ResolvedEnvironment],
    layout: &Layout,
) -> Option<Application<'a>> {
    let argos: Vec<&ArgoSpec> = envs.iter().filter_map(|e| e.argocd.as_ref()).collect();
    fn key(a: &ArgoSpec) -> (&str, Option<&str>) {
        (a.repo_url.as_str(), a.repo_path.as_deref())
    }
    let mut best: Option<(&ArgoSpec, usize)> = None;
    for candidate in &argos {
        let count = argos.iter().filter(|a| key(a) == key(candidate)).count();
        if best.is_none_or(|(_, c)| count > c) {
            best = Some((candidate, count));
        }
    }
    let (argo, _) = best?;
    let root_revision = argos.iter().find_map(|a| a.root_revision.as_deref());
    let root_project = argos.iter().find_map(|a| a.root_project.as_deref());
    let platform = envs.first().map_or("", |e| e.platform.as_str());
    let mut destination = Map::with_capacity(2);
    destination.insert("server".into(), Value::from(IN_CLUSTER_SERVER));
    destination.insert("namespace".into(), Value::from(namespace(argo)));
    Some(Application {
        name: platform.to_owned(),
        namespace: namespace(argo),
        platform,
        environment: None,
        project: root_project.unwrap_or(BUILTIN_PROJECT),
        repo_url: &argo.repo_url,
        target_revision: root_revision.unwrap_or(DEFAULT_ROOT_REVISION),
        path: layout.source_path(argo, ARGOCD_DIR),
        destination,
        prune: true,
        self_heal: true,
        sync_options: Vec::new(),
        retry: retry(argo),
        finalizer: false,
    })
}

/// The Application as a document.
pub fn application(app: &Application<'_>) -> Value {
    let mut metadata = Map::with_capacity(4);
    metadata.insert("name".into(), Value::from(app.name.as_str()));
    metadata.insert("namespace".into(), Value::from(app.namespace));
    metadata.insert("labels".into(), labels(app.platform, app.environment));
    if app.finalizer {
        metadata.insert("finalizers".into(), Value::from(vec![FINALIZER]));
    }
    let mut sync = Map::with_capacity(3);
    sync.insert(
        "automated".into(),
        object([
            ("prune", Value::Bool(app.prune)),
            ("selfHeal", Value::Bool(app.self_heal)),
        ]),
    );
    if !app.sync_options.is_empty() {
        sync.insert(
            "syncOptions".into(),
            app.sync_options.iter().map(|o| Value::from(*o)).collect(),
        );
    }
    if let Some(retry) = &app.retry {
        sync.insert("retry".into(), retry.clone());
    }
    object([
        ("apiVersion", Value::from("argoproj.io/v1alpha1")),
        ("kind", Value::from("Application")),
        ("metadata", Value::Object(metadata)),
        (
            "spec",
            object([
                ("project", Value::from(app.project)),
                (
                    "source",
                    object([
                        ("repoURL", Value::from(app.repo_url)),
                        ("targetRevision", Value::from(app.target_revision)),
                        ("path", Value::from(app.path.as_str())),
                    ]),
                ),
                ("destination", Value::Object(app.destination.clone())),
                ("syncPolicy", Value::Object(sync)),
            ]),
        ),
    ])
}

fn labels(platform: &str, environment: Option<&str>) -> Value {
    let mut labels = Map::with_capacity(3);
    labels.insert(label::PART_OF.into(), Value::from(platform));
    labels.insert(
        label::MANAGED_BY.into(),
        Value::from(label::MANAGED_BY_SHIPSHAPE),
    );
    if let Some(env) = environment {
        labels.insert(label::ENVIRONMENT.into(), Value::from(env));
    }
    Value::Object(labels)
}

/// The kinds one environment renders, as `(group, kind)`, split by scope.
#[derive(Debug, Clone, Default)]
pub struct RenderedKinds {
    pub namespaced: BTreeSet<(String, String)>,
    pub cluster: BTreeSet<(String, String)>,
}

impl RenderedKinds {
    pub fn of(manifests: &[Manifest]) -> RenderedKinds {
        let mut kinds = RenderedKinds::default();
        for m in manifests {
            let kind = m.kind();
            // kustomize's own file is read by Argo CD, never applied.
            if kind.is_empty() || m.api_version().starts_with("kustomize.config.k8s.io/") {
                continue;
            }
            let group = m
                .api_version()
                .rsplit_once('/')
                .map_or("", |(group, _)| group)
                .to_owned();
            let set = if is_cluster_scoped(kind) {
                &mut kinds.cluster
            } else {
                &mut kinds.namespaced
            };
            set.insert((group, kind.to_owned()));
        }
        kinds
    }
}

/// One AppProject per project the environments' Applications name (Argo CD's built-in
/// `default` excepted), limited to what those environments need: their repositories, their
/// clusters and namespaces, and the kinds they render. `kinds` is per environment, by name.
pub fn projects(
    envs: &[&ResolvedEnvironment],
    kinds: &BTreeMap<String, RenderedKinds>,
) -> Vec<Value> {
    #[derive(Default)]
    struct Scope<'a> {
        namespace: &'a str,
        platform: &'a str,
        environments: Vec<&'a str>,
        repos: BTreeSet<&'a str>,
        destinations: BTreeSet<(&'static str, &'a str, &'a str)>,
        kinds: RenderedKinds,
    }
    let mut scopes: BTreeMap<&str, Scope> = BTreeMap::new();
    for env in envs {
        let Some(argo) = &env.argocd else {
            continue;
        };
        let name = project(env, argo);
        if name == BUILTIN_PROJECT {
            continue;
        }
        let scope = scopes.entry(name).or_default();
        scope.namespace = namespace(argo);
        scope.platform = &env.platform;
        scope.environments.push(&env.name);
        scope.repos.insert(&argo.repo_url);
        let (key, cluster) = cluster(argo);
        scope.destinations.insert((key, cluster, &env.namespace));
        if let Some(k) = kinds.get(&env.name) {
            scope.kinds.namespaced.extend(k.namespaced.iter().cloned());
            scope.kinds.cluster.extend(k.cluster.iter().cloned());
        }
        // CreateNamespace makes Argo CD create the namespace itself.
        if argo.sync_policy.create_namespace.unwrap_or(true) {
            scope
                .kinds
                .cluster
                .insert((String::new(), "Namespace".to_owned()));
        }
    }
    scopes
        .into_iter()
        .map(|(name, scope)| {
            let kind_list = |set: &BTreeSet<(String, String)>| -> Value {
                set.iter()
                    .map(|(group, kind)| {
                        object([
                            ("group", Value::from(group.as_str())),
                            ("kind", Value::from(kind.as_str())),
                        ])
                    })
                    .collect()
            };
            let destinations: Value = scope
                .destinations
                .iter()
                .map(|(key, cluster, namespace)| {
                    object([
                        (key, Value::from(*cluster)),
                        ("namespace", Value::from(*namespace)),
                    ])
                })
                .collect();
            let mut metadata = Map::with_capacity(4);
            metadata.insert("name".into(), Value::from(name));
            metadata.insert("namespace".into(), Value::from(scope.namespace));
            metadata.insert("labels".into(), labels(scope.platform, None));
            // Before the Applications that name it: Argo CD refuses an Application whose
            // project does not exist yet.
            metadata.insert(
                "annotations".into(),
                object([(annotation::SYNC_WAVE, Value::from("-1"))]),
            );
            object([
                ("apiVersion", Value::from("argoproj.io/v1alpha1")),
                ("kind", Value::from("AppProject")),
                ("metadata", Value::Object(metadata)),
                (
                    "spec",
                    object([
                        (
                            "description",
                            Value::from(format!(
                                "{} environments {} (rendered by shipshape)",
                                scope.platform,
                                scope.environments.join(", ")
                            )),
                        ),
                        (
                            "sourceRepos",
                            scope.repos.iter().map(|r| Value::from(*r)).collect(),
                        ),
                        ("destinations", destinations),
                        ("clusterResourceWhitelist", kind_list(&scope.kinds.cluster)),
                        (
                            "namespaceResourceWhitelist",
                            kind_list(&scope.kinds.namespaced),
                        ),
                    ]),
                ),
            ])
        })
        .collect()
}

/// Settings that hold for all of Argo CD rather than one environment must agree across the
/// environment files: the namespace Argo CD runs in, and the root app's revision and project.
pub fn disagreements(envs: &[ResolvedEnvironment]) -> Vec<Diagnostic> {
    type Setting = fn(&ArgoSpec) -> Option<&str>;
    let settings: [(&str, Setting); 3] = [
        ("namespace", |a| Some(namespace(a))),
        ("rootRevision", |a| a.root_revision.as_deref()),
        ("rootProject", |a| a.root_project.as_deref()),
    ];
    let mut out = Vec::new();
    for (key, get) in settings {
        let mut first: Option<(&str, &str)> = None;
        for env in envs {
            let Some(value) = env.argocd.as_ref().and_then(get) else {
                continue;
            };
            match first {
                None => first = Some((&env.name, value)),
                Some((_, seen)) if seen == value => {}
                Some((other, seen)) => {
                    let at = env.origin.child("argocd");
                    out.push(
                        Diagnostic::error(
                            "input/argocd-disagreement",
                            format!(
                                "`argocd.{key}` is `{value}` here but `{seen}` in environment `{other}`; Argo CD has one"
                            ),
                        )
                        .at(at.value_at(&format!("/{key}")).or(Some(at.location())), "here")
                        .with_help(format!(
                            "`argocd.{key}` is shared by every environment (docs/argocd.md): set the same value in each environment file, or leave it out of all but one"
                        )),
                    );
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_output_path_is_relative_to_the_project_root() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        assert_eq!(
            output_path(r, &r.join("rendered")).as_deref(),
            Some("rendered")
        );
        assert_eq!(
            output_path(r, &r.join("deploy/./gitops/../out")).as_deref(),
            Some("deploy/out")
        );
        assert_eq!(output_path(r, r).as_deref(), Some(""));
        let elsewhere = tempfile::tempdir().unwrap();
        assert_eq!(output_path(r, elsewhere.path()), None);
    }

    fn spec(repo_path: Option<&str>) -> ArgoSpec {
        serde_json::from_value(serde_json::json!({
            "repoURL": "https://git.example.com/x.git",
            "repoPath": repo_path,
        }))
        .unwrap()
    }

    #[test]
    fn source_paths_join_the_repository_path_the_output_and_the_directory() {
        let layout = Layout {
            output: "deploy".into(),
        };
        assert_eq!(layout.source_path(&spec(None), "prod"), "deploy/prod");
        assert_eq!(
            layout.source_path(&spec(Some("platform/a")), "prod"),
            "platform/a/deploy/prod"
        );
        let at_root = Layout {
            output: String::new(),
        };
        assert_eq!(at_root.source_path(&spec(None), "prod"), "prod");
    }
}
