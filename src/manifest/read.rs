//! Reading manifests shipshape did not render: any mix of files and directories of YAML, or a
//! stream on standard input, read as Kubernetes reads them (YAML 1.1).

use crate::catalogue::load::display_path;
use crate::diagnostic::Diagnostic;
use crate::manifest::{Manifest, ManifestOrigin};
use crate::yaml::{input, parse_documents_in, Limits, Schema, SourceFile};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// The path that names standard input.
pub const STDIN: &str = "-";

/// How the files read form clusters, each linted on its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum GroupBy {
    /// Everything given is one cluster.
    #[default]
    All,
    /// Each PATH on the command line is a cluster.
    Path,
    /// Each top-level directory under a PATH is a cluster (files directly in PATH form one more).
    Dir,
}

/// Where a manifest is applied: the namespace a kustomization forces on it and its cluster.
#[derive(Debug, Clone, Default)]
pub struct Place {
    pub kustomize_namespace: Option<Arc<str>>,
    /// Name of the cluster (see [`GroupBy`]); empty for the only one.
    pub cluster: Arc<str>,
}

/// What reading produced: manifests with their places, notes about what was skipped, and hard
/// errors.
#[derive(Default)]
pub struct ReadResult {
    pub manifests: Vec<Manifest>,
    /// Per manifest, in manifest order.
    pub places: Vec<Place>,
    pub skipped: Vec<String>,
    pub errors: Vec<Diagnostic>,
}

/// The one-line hint for input that needs rendering before it is Kubernetes YAML.
pub const RENDER_FIRST: &str = "render it first, e.g. `helm template CHART | shipshape lint -`";

/// A Helm chart: `Chart.yaml` beside `templates/`. Its templates are Go templates, not YAML.
fn is_helm_chart(dir: &Path) -> bool {
    dir.join("Chart.yaml").is_file() && dir.join("templates").is_dir()
}

fn is_kustomization(path: &Path) -> bool {
    matches!(
        path.file_name().and_then(|n| n.to_str()),
        Some("kustomization.yaml" | "kustomization.yml")
    )
}

/// The YAML files to read for one path the user named, each with the boundary it must resolve
/// inside, and notes about the Helm charts left out.
///
/// A file named directly may be a link, but only to a place beside it: `lint *.yaml` in a
/// cloned repository expands to whatever links the repository holds, and one to a credentials
/// file would otherwise have its text quoted in the findings. Files found by walking a
/// directory must resolve inside that directory.
fn yaml_files(path: &Path) -> (Vec<PathBuf>, PathBuf, Vec<String>) {
    if !path.is_dir() {
        return (
            vec![path.to_path_buf()],
            input::boundary_around(path),
            Vec::new(),
        );
    }
    let mut charts = Vec::new();
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(path)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| {
            // Hidden directories (.git, .github) hold no manifests to lint.
            if e.depth() > 0 && e.file_name().to_string_lossy().starts_with('.') {
                return false;
            }
            if e.file_type().is_dir() && is_helm_chart(e.path()) {
                charts.push(format!(
                    "{}: a Helm chart, whose templates are not YAML until rendered: {RENDER_FIRST}",
                    display_path(e.path())
                ));
                return false;
            }
            true
        })
        .filter_map(Result::ok)
        // Links and special files are kept, to be read or refused with a reason.
        .filter(|e| !e.file_type().is_dir())
        .map(walkdir::DirEntry::into_path)
        .filter(|p| {
            matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) && !p.is_dir()
        })
        .collect();
    files.sort();
    (files, input::boundary_within(path), charts)
}

/// `path` with `.` and `..` worked out on its text, so a kustomization's `../x.yaml` and the
/// walker's path of that file compare equal.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// What a kustomization says about the files around it.
#[derive(Default)]
struct Kustomization {
    namespace: Option<Arc<str>>,
    /// Files it applies as patches: partial resources, not resources of their own.
    patches: Vec<PathBuf>,
}

impl Kustomization {
    fn of(dir: &Path, doc: &Value) -> Kustomization {
        let namespace = doc
            .get("namespace")
            .and_then(Value::as_str)
            .filter(|ns| !ns.is_empty())
            .map(Arc::from);
        let mut patches = Vec::new();
        let mut add = |p: Option<&str>| {
            if let Some(p) = p {
                patches.push(lexical(&dir.join(p)));
            }
        };
        for key in ["patchesStrategicMerge", "patches", "patchesJson6902"] {
            for entry in doc.get(key).and_then(Value::as_array).into_iter().flatten() {
                add(entry
                    .as_str()
                    .or_else(|| entry.get("path").and_then(Value::as_str)));
            }
        }
        Kustomization { namespace, patches }
    }
}

/// The cluster of a file under `root` (the PATH it was found through).
fn cluster_of(group_by: GroupBy, root: &Path, file: &Path) -> Arc<str> {
    match group_by {
        GroupBy::All => Arc::from(""),
        GroupBy::Path => Arc::from(display_path(root)),
        GroupBy::Dir => {
            let rel = file.strip_prefix(root).unwrap_or(file);
            let mut parts = rel.components();
            match (parts.next(), parts.next()) {
                (Some(top), Some(_)) => Arc::from(display_path(&root.join(top))),
                _ => Arc::from(display_path(root)),
            }
        }
    }
}

pub fn read_paths(paths: &[PathBuf], limits: &Limits, group_by: GroupBy) -> ReadResult {
    let mut result = ReadResult::default();
    for root in paths {
        if root.as_os_str() == STDIN {
            read_stdin(limits, group_by, &mut result);
            continue;
        }
        if std::fs::symlink_metadata(root).is_err() {
            result.errors.push(
                Diagnostic::error(
                    "usage/path",
                    format!("{} does not exist", display_path(root)),
                )
                .with_help(
                    "pass files or directories of Kubernetes YAML, or `-` for standard input",
                ),
            );
            continue;
        }
        if root.is_dir() && is_helm_chart(root) {
            result.skipped.push(format!(
                "{}: a Helm chart, whose templates are not YAML until rendered: {RENDER_FIRST}",
                display_path(root)
            ));
            continue;
        }
        let (files, boundary, charts) = yaml_files(root);
        result.skipped.extend(charts);
        // Kustomizations first: they say where the files beside them land.
        let mut kustomizations: BTreeMap<PathBuf, Kustomization> = BTreeMap::new();
        for path in files.iter().filter(|p| is_kustomization(p)) {
            let dir = lexical(path.parent().unwrap_or(Path::new("")));
            let Some(doc) = read_one(path, &boundary, limits, &mut result) else {
                continue;
            };
            kustomizations.insert(dir.clone(), Kustomization::of(&dir, &doc));
        }
        // Patch file -> the directory of the kustomization that applies it.
        let patches: BTreeMap<&PathBuf, &PathBuf> = kustomizations
            .iter()
            .flat_map(|(dir, k)| k.patches.iter().map(move |p| (p, dir)))
            .collect();
        for path in &files {
            let normal = lexical(path);
            if is_kustomization(path) {
                // Not a resource; reading it as one would only count it as not validated.
                continue;
            }
            if let Some(dir) = patches.get(&normal) {
                result.skipped.push(format!(
                    "{}: a kustomize patch, not a whole resource: lint `kustomize build {} | shipshape lint -` to see it applied",
                    display_path(path),
                    display_path(dir)
                ));
                continue;
            }
            // The nearest kustomization above the file that sets a namespace.
            let kustomize_namespace = normal
                .ancestors()
                .skip(1)
                .find_map(|d| kustomizations.get(d).and_then(|k| k.namespace.clone()));
            let place = Place {
                kustomize_namespace,
                cluster: cluster_of(group_by, root, path),
            };
            read_file(path, &boundary, limits, &place, &mut result);
        }
    }
    result
}

fn read_stdin(limits: &Limits, group_by: GroupBy, result: &mut ReadResult) {
    let mut bytes = Vec::new();
    // One byte past the limit is enough for the parser to refuse the input with its message.
    let cap = limits.max_file_bytes as u64 + 1;
    if let Err(e) = std::io::stdin().lock().take(cap).read_to_end(&mut bytes) {
        result.errors.push(
            Diagnostic::error("input/io", format!("cannot read standard input: {e}"))
                .with_help("pipe a stream of Kubernetes YAML documents into `shipshape lint -`"),
        );
        return;
    }
    let place = Place {
        kustomize_namespace: None,
        cluster: match group_by {
            GroupBy::All => Arc::from(""),
            GroupBy::Path | GroupBy::Dir => Arc::from("<stdin>"),
        },
    };
    read_text("<stdin>".to_owned(), bytes, &place, limits, result);
}

/// The first document of a file shipshape reads for what it says, not to lint (a kustomization).
fn read_one(
    path: &Path,
    boundary: &Path,
    limits: &Limits,
    result: &mut ReadResult,
) -> Option<Value> {
    let name = display_path(path);
    let bytes = input::read_input(path, &name, boundary, limits).ok()?;
    let file = SourceFile::new(name, String::from_utf8(bytes).ok()?);
    match parse_documents_in(&file, limits, Schema::Kubernetes) {
        Ok(docs) => docs.into_iter().next().map(|d| d.value),
        Err(e) => {
            if !file.text.contains("{{") {
                result.errors.push(Diagnostic::from_yaml(&file, e));
            }
            None
        }
    }
}

fn read_file(
    path: &Path,
    boundary: &Path,
    limits: &Limits,
    place: &Place,
    result: &mut ReadResult,
) {
    let name = display_path(path);
    match input::read_input(path, &name, boundary, limits) {
        Ok(bytes) => read_text(name, bytes, place, limits, result),
        Err(e) => result.errors.push(Diagnostic::from_input(e)),
    }
}

fn read_text(
    name: String,
    bytes: Vec<u8>,
    place: &Place,
    limits: &Limits,
    result: &mut ReadResult,
) {
    let Ok(text) = String::from_utf8(bytes) else {
        result.skipped.push(format!("{name}: not UTF-8 text"));
        return;
    };
    let file = SourceFile::new(name.clone(), text);
    let docs = match parse_documents_in(&file, limits, Schema::Kubernetes) {
        Ok(d) => d,
        // `{{ ... }}` that breaks the YAML: a template (Helm, Jinja, envsubst-style tools).
        Err(_) if file.text.contains("{{") => {
            result.skipped.push(format!(
                "{name}: a template (`{{{{ ... }}}}`), not YAML until rendered: {RENDER_FIRST}"
            ));
            return;
        }
        Err(e) => {
            result.errors.push(Diagnostic::from_yaml(&file, e));
            return;
        }
    };
    let mut push = |value: Value, origin: ManifestOrigin| {
        result.manifests.push(Manifest { value, origin });
        result.places.push(place.clone());
    };
    for (i, doc) in docs.into_iter().enumerate() {
        if doc.value.is_null() {
            continue;
        }
        let is_manifest = doc.value.get("apiVersion").is_some_and(Value::is_string)
            && doc.value.get("kind").is_some_and(Value::is_string);
        if !is_manifest {
            result.skipped.push(format!(
                "{name}:{}: document {} is not a Kubernetes manifest (no apiVersion and kind)",
                doc.start.line,
                i + 1
            ));
            continue;
        }
        if doc.value.get("kind").and_then(Value::as_str) == Some("List") {
            // `kubectl get -o yaml` output: lint the items.
            if let Some(items) = doc.value.get("items").and_then(Value::as_array) {
                for (n, item) in items.iter().enumerate().filter(|(_, v)| v.is_object()) {
                    let base = format!("/items/{n}");
                    let start = doc.spans.get(&base).map_or(doc.start, |s| s.value);
                    push(
                        item.clone(),
                        ManifestOrigin::File {
                            file: file.clone(),
                            spans: doc.spans.clone(),
                            start,
                            base,
                        },
                    );
                }
            }
            continue;
        }
        push(
            doc.value,
            ManifestOrigin::File {
                file: file.clone(),
                spans: doc.spans,
                start: doc.start,
                base: String::new(),
            },
        );
    }
}
