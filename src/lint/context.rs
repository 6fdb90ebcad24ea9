//! What rules read: the manifests, their indexes, and what the platform knows beyond them.

use crate::catalogue::ResolvedEnvironment;
use crate::diagnostic::Location;
use crate::lint::index::{Index, Placement};
use crate::lint::kubernetes_version::KubernetesVersion;
use crate::manifest::{at, Manifest, ManifestOrigin};
use crate::plan::ledger::Policy;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Cluster capacity and what may be asked of it: the same policy `shipshape plan` judges by.
#[derive(Debug, Clone)]
pub struct Capacity {
    pub policy: Policy,
    /// The environment's `cluster` section, when the capacity comes from one.
    pub location: Option<Location>,
}

/// A phase, in rollout order, with its cumulative budgets.
#[derive(Debug, Clone)]
pub struct PhaseInfo {
    pub name: String,
    pub memory_budget: Option<f64>,
    pub cpu_budget: Option<f64>,
    pub location: Option<Location>,
}

pub struct LintContext<'a> {
    pub environment: String,
    pub manifests: &'a [Manifest],
    pub index: Index<'a>,
    /// The resolved catalogue when the manifests were rendered by shipshape.
    pub platform: Option<&'a ResolvedEnvironment>,
    pub capacity: Option<Capacity>,
    pub phases: Vec<PhaseInfo>,
    /// The directories Argo CD Applications may deploy, when the manifests hold Applications.
    pub tree: Option<Tree>,
    /// The release the manifests are applied to (`cluster.kubernetesVersion`,
    /// `--kubernetes-version`).
    pub kubernetes: KubernetesVersion,
}

impl<'a> LintContext<'a> {
    pub fn for_rendered(
        env: &'a ResolvedEnvironment,
        manifests: &'a [Manifest],
    ) -> LintContext<'a> {
        let cluster = env.origin.child("cluster");
        LintContext {
            environment: env.name.clone(),
            manifests,
            index: Index::build(manifests),
            platform: Some(env),
            capacity: Some(Capacity {
                policy: Policy::of(env),
                location: Some(cluster.location()),
            }),
            phases: env
                .phases
                .iter()
                .map(|p| PhaseInfo {
                    name: p.name.clone(),
                    memory_budget: p.memory_budget,
                    cpu_budget: p.cpu_budget,
                    location: Some(
                        p.origin
                            .key_at("/budget")
                            .unwrap_or_else(|| p.origin.location()),
                    ),
                })
                .collect(),
            tree: None,
            kubernetes: kubernetes_version(env),
        }
    }

    /// The Argo CD Applications rendered for `env` (or, for the root app, beside it), checked
    /// against every directory of the rendered tree. Findings about them point into the
    /// environment file.
    pub fn for_applications(
        environment: &str,
        env: &'a ResolvedEnvironment,
        manifests: &'a [Manifest],
        tree: Tree,
    ) -> LintContext<'a> {
        LintContext {
            environment: environment.to_owned(),
            manifests,
            index: Index::build(manifests),
            platform: Some(env),
            capacity: None,
            phases: Vec::new(),
            tree: Some(tree),
            kubernetes: kubernetes_version(env),
        }
    }

    /// Manifests read from files, placed in namespaces as kubectl would apply them.
    pub fn for_files(
        environment: &str,
        manifests: &'a [Manifest],
        placement: Placement<'a>,
        capacity: Option<Capacity>,
        phases: Vec<PhaseInfo>,
    ) -> LintContext<'a> {
        LintContext {
            environment: environment.to_owned(),
            manifests,
            index: Index::build_placed(manifests, placement),
            platform: None,
            capacity,
            phases,
            tree: Tree::from_files(manifests, placement.forced),
            kubernetes: KubernetesVersion::default(),
        }
    }

    /// Where to point a finding about `pointer` in manifest `i`: the manifest's own line for a
    /// file shipshape did not write, the patch that wrote the value for a patched one, else the
    /// catalogue value (`catalogue_rel`, relative to the
    /// service) that produced it. A rendered manifest of no service (the namespace, the Argo CD
    /// Applications) comes from the environment, so there `catalogue_rel` is relative to the
    /// environment file, then to the catalogue's top level, where the environment inherits it.
    pub fn locate(&self, i: usize, pointer: &str, catalogue_rel: &str) -> Location {
        let m = &self.manifests[i];
        if let Some(l) = m.file_location(pointer) {
            return l;
        }
        if let Some(l) = m.patch_location(pointer) {
            return l;
        }
        let platform = self.platform;
        match (&m.origin, platform) {
            (
                ManifestOrigin::Rendered {
                    service: Some(s), ..
                },
                Some(env),
            ) => match env.service(s) {
                Some(svc) if catalogue_rel.is_empty() => svc.declaration(),
                Some(svc) => svc.locate(catalogue_rel),
                None => env.catalogue_origin.location(),
            },
            (_, Some(env)) if !catalogue_rel.is_empty() => env
                .origin
                .key_at(catalogue_rel)
                .or_else(|| env.catalogue_origin.key_at(catalogue_rel))
                .unwrap_or_else(|| env.origin.location()),
            (_, Some(env)) => env.origin.location(),
            (_, None) => Location::new(
                &crate::yaml::SourceFile::new("<unknown>", ""),
                Default::default(),
            ),
        }
    }

    /// The service of the catalogue a workload was rendered from, by name.
    pub fn service_of(&self, i: usize) -> Option<&crate::catalogue::ResolvedService> {
        let name = self.manifests[i].service()?;
        self.platform?.service(name)
    }
}

/// The environment's `cluster.kubernetesVersion`; its schema refuses a malformed one, so the
/// fallback is only for a resolved environment built without it.
fn kubernetes_version(env: &ResolvedEnvironment) -> KubernetesVersion {
    env.settings
        .cluster
        .kubernetes_version
        .as_deref()
        .and_then(KubernetesVersion::parse)
        .unwrap_or_default()
}

/// The directories Argo CD Applications can deploy, and the namespaces their manifests go to.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    /// Directory as an Application names it (relative to the repository root, `/`-separated, no
    /// trailing slash; `.` for the root) -> namespaces of the manifests in it.
    pub dirs: BTreeMap<String, BTreeSet<String>>,
    /// Directories Applications name that exist on disk but hold no manifest linted here:
    /// deployable, but their namespaces are unknown.
    pub on_disk: BTreeSet<String>,
    /// Whether `dirs` is every directory there is (shipshape's own output). If not, a path outside
    /// `dirs` and `on_disk` may still live in another repository.
    pub complete: bool,
    /// Sources in another repository than this one (see [`crate::lint::repository`]), as
    /// (manifest index, pointer to the source's `path`): their directories are not on this disk.
    pub elsewhere: BTreeSet<(usize, String)>,
    /// AppProjects rendered beside the linted Applications (shipshape's own output), which the
    /// Applications' own lint context does not hold.
    pub projects: Vec<Value>,
}

impl Tree {
    /// shipshape's output: one directory per environment (and `argocd`), each given by the
    /// repository path the Applications name it by, and the AppProjects rendered with them.
    /// Takes each directory's namespaces rather than its manifests, so a build can drop an
    /// environment's manifests once it is linted.
    pub fn rendered(
        dirs: impl IntoIterator<Item = (String, BTreeSet<String>)>,
        projects: Vec<Value>,
    ) -> Tree {
        Tree {
            complete: true,
            dirs: dirs.into_iter().collect(),
            projects,
            ..Tree::default()
        }
    }

    /// Manifests read from files: each file's directory, relative to the root of the repository
    /// holding it (the nearest directory with `.git`, else the current directory, as Argo CD
    /// paths are relative to the repository). `None` without Applications, so linting plain
    /// manifests touches no disk beyond what was read.
    /// `forced`: per manifest, the namespace a kustomization beside it forces (as
    /// [`Placement::forced`]).
    pub fn from_files(manifests: &[Manifest], forced: &[Option<&str>]) -> Option<Tree> {
        if !manifests.iter().any(is_application) {
            return None;
        }
        let cwd = std::env::current_dir()
            .and_then(|d| d.canonicalize())
            .unwrap_or_default();
        let mut roots: HashMap<PathBuf, PathBuf> = HashMap::new();
        let mut by_dir: BTreeMap<String, Vec<(&Manifest, Option<&str>)>> = BTreeMap::new();
        let mut app_roots: Vec<(PathBuf, usize, &Manifest)> = Vec::new();
        for (i, m) in manifests.iter().enumerate() {
            let ManifestOrigin::File { file, .. } = &m.origin else {
                continue;
            };
            // Canonical, so `..` and symlinks cannot hide that two files share a directory.
            let dir = cwd
                .join(&file.name)
                .parent()
                .and_then(|d| d.canonicalize().ok())
                .unwrap_or_else(|| cwd.clone());
            let root = roots
                .entry(dir.clone())
                .or_insert_with(|| repository_root(&dir).unwrap_or_else(|| cwd.clone()))
                .clone();
            let rel = dir
                .strip_prefix(&root)
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .unwrap_or_else(|_| dir.to_string_lossy().replace('\\', "/"));
            by_dir
                .entry(normalise_dir(&rel))
                .or_default()
                .push((m, forced.get(i).copied().flatten()));
            if is_application(m) {
                app_roots.push((root, i, m));
            }
        }
        let mut tree = Tree::default();
        for (dir, ms) in by_dir {
            tree.dirs.insert(dir, placed_namespaces(&ms));
        }
        let mut known: HashMap<PathBuf, Vec<String>> = HashMap::new();
        for (root, i, app) in app_roots {
            let ours = known
                .entry(root.clone())
                .or_insert_with(|| crate::lint::repository::this_repository(&root));
            for (pointer, path) in application_sources(app) {
                let repo_pointer = format!("{}/repoURL", pointer.trim_end_matches("/path"));
                let repo_url = app.value.pointer(&repo_pointer).and_then(Value::as_str);
                if repo_url.is_some_and(|u| crate::lint::repository::is_elsewhere(ours, u)) {
                    tree.elsewhere.insert((i, pointer));
                    continue;
                }
                let path = normalise_dir(path);
                if !tree.dirs.contains_key(&path) && root.join(&path).is_dir() {
                    tree.on_disk.insert(path);
                }
            }
        }
        Some(tree)
    }

    pub fn exists(&self, dir: &str) -> bool {
        self.dirs.contains_key(dir) || self.on_disk.contains(dir)
    }
}

/// [`namespaces`] of manifests read from files, where a kustomization file beside them (not
/// among the manifests) may force a namespace on them.
fn placed_namespaces(manifests: &[(&Manifest, Option<&str>)]) -> BTreeSet<String> {
    let forced: BTreeSet<String> = manifests
        .iter()
        .filter_map(|(_, f)| f.map(str::to_owned))
        .collect();
    if !forced.is_empty() {
        return forced;
    }
    namespaces(manifests.iter().map(|(m, _)| *m))
}

/// The namespaces manifests go to: kustomize's `namespace` overrides every manifest's own. An
/// Application beside other manifests (one that manages its own directory) lives in Argo CD's
/// namespace whatever it deploys, so it counts only in a directory of Applications (app of apps).
pub fn namespaces<'m>(manifests: impl Iterator<Item = &'m Manifest>) -> BTreeSet<String> {
    let mut own = BTreeSet::new();
    let mut applications = BTreeSet::new();
    let mut kustomize = BTreeSet::new();
    for m in manifests {
        if m.kind() == "Kustomization" {
            if let Some(ns) = m.value.get("namespace").and_then(Value::as_str) {
                kustomize.insert(ns.to_owned());
            }
        } else if let Some(ns) = m.namespace() {
            if is_application(m) {
                applications.insert(ns.to_owned());
            } else {
                own.insert(ns.to_owned());
            }
        }
    }
    [kustomize, own, applications]
        .into_iter()
        .find(|set| !set.is_empty())
        .unwrap_or_default()
}

fn repository_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// A directory as Argo CD compares it: no `./` in front, no `/` behind, `.` for the root.
pub fn normalise_dir(path: &str) -> String {
    let mut p = path.trim();
    while let Some(rest) = p.strip_prefix("./") {
        p = rest;
    }
    let p = p.trim_end_matches('/');
    if p.is_empty() || p == "." {
        ".".to_owned()
    } else {
        p.to_owned()
    }
}

pub fn is_application(m: &Manifest) -> bool {
    m.kind() == "Application" && m.api_version().starts_with("argoproj.io/")
}

/// Every directory an Application deploys, with the pointer to its `path`: `spec.source` and each
/// of `spec.sources` (a Helm chart from a chart repository has no path and is left out).
pub fn application_sources(m: &Manifest) -> Vec<(String, &str)> {
    let mut out = Vec::new();
    if let Some(p) = at(&m.value, &["spec", "source", "path"]).and_then(Value::as_str) {
        out.push(("/spec/source/path".to_owned(), p));
    }
    if let Some(sources) = at(&m.value, &["spec", "sources"]).and_then(Value::as_array) {
        for (i, s) in sources.iter().enumerate() {
            if let Some(p) = s.get("path").and_then(Value::as_str) {
                out.push((format!("/spec/sources/{i}/path"), p));
            }
        }
    }
    out
}
