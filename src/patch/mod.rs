//! Patches for the last mile: changes a platform makes to a service's rendered resources that the
//! catalogue has no field for. Written per service in the catalogue and per service in each
//! environment file; applied after the built-in resources are rendered and before anything is
//! emitted, validated or linted, so patched output is checked like the rest.
//!
//! Two forms, as Kustomize users know them: a strategic-merge-style `merge` ([`strategic`]) and
//! JSON Patch operations ([`json_patch`], RFC 6902). Every value a patch writes is remembered
//! (a [`Trail`] per patched resource), so a finding about it points at the patch.

pub mod json_patch;
pub mod pointer;
#[cfg(test)]
mod properties;
pub mod read;
pub mod strategic;

use crate::catalogue::origin::Origin;
use crate::catalogue::ResolvedEnvironment;
use crate::diagnostic::{Diagnostic, Failure, Location};
use crate::manifest::{Field, Manifest, ManifestOrigin};
use crate::render::{EnvironmentDocuments, FileDocuments};
use serde_json::Value;
use std::sync::{Arc, Mutex, PoisonError};

pub use read::read_patches;

/// A patch names a resource the service does not render.
pub const CODE_TARGET: &str = "input/patch-target-missing";
/// A JSON Patch path that leads nowhere (or a `move` into itself).
pub const CODE_PATH: &str = "input/patch-path";
/// A patch value whose type cannot go where the target has another.
pub const CODE_TYPE: &str = "input/patch-type";
/// A JSON Patch `test` that did not hold.
pub const CODE_TEST: &str = "input/patch-test";
/// An item of a list that merges by key, without its key.
pub const CODE_MERGE_KEY: &str = "input/patch-merge-key";
/// A `$patch` directive that is neither `delete` nor `replace`.
pub const CODE_DIRECTIVE: &str = "input/patch-directive";
/// A patch entry the schema accepts but that cannot be read (a malformed pointer, an operation
/// without its `value`).
pub const CODE_SHAPE: &str = "input/patch";

/// One patch entry of a service, read from the catalogue or an environment file.
pub struct Patch {
    pub service: String,
    /// Position in the service's `patches` list.
    pub index: usize,
    pub target: Target,
    pub body: Body,
    /// The entry itself (`/services/<name>/patches/<i>`), for locations.
    pub origin: Origin,
}

/// The resource a patch changes: one of its service's rendered documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub kind: String,
    pub name: String,
}

#[derive(Debug)]
pub enum Body {
    Merge(Value),
    Json(Vec<json_patch::Operation>),
}

impl Body {
    /// The key the body is written under, the start of every pointer into it.
    fn key(&self) -> &'static str {
        match self {
            Body::Merge(_) => "/merge",
            Body::Json(_) => "/jsonPatch",
        }
    }
}

/// Names the entry rather than dumping its origin, whose span index is the whole file's.
impl std::fmt::Debug for Patch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Patch")
            .field("file", &self.origin.file.name)
            .field("pointer", &self.origin.pointer)
            .field("target", &self.target)
            .field("body", &self.body)
            .finish()
    }
}

impl Patch {
    /// How messages name the patch.
    pub fn describe(&self) -> String {
        format!("patch {} of service `{}`", self.index + 1, self.service)
    }

    /// Whether `location` lies inside this entry.
    pub fn contains(&self, location: &Location) -> bool {
        let Some(entry) = self.origin.spans.get(&self.origin.pointer) else {
            return false;
        };
        // By name: a finding about a secret points into a masked copy of the file.
        location.file.name == self.origin.file.name
            && location.span.start >= entry.value.start
            && location.span.end <= entry.value.end
    }

    /// The place `relative` (a pointer inside the entry) names: its value (with `value`) or its
    /// key, else the entry.
    pub fn locate(&self, relative: &str, value: bool) -> Location {
        let found = if value {
            self.origin.value_at(relative)
        } else {
            self.origin.key_at(relative)
        };
        found.unwrap_or_else(|| self.origin.location())
    }
}

/// A value a patch wrote or deleted: where in the target, and where in the patch entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// JSON pointer in the patched document.
    pub pointer: String,
    /// JSON pointer inside the patch entry.
    pub source: String,
}

/// Why a patch could not apply, before it is placed in its file.
#[derive(Debug, Clone)]
pub struct PatchError {
    pub code: &'static str,
    pub message: String,
    /// Pointer inside the patch entry of the node to underline.
    pub at: String,
    pub label: String,
    pub help: String,
    /// Underline the node's value rather than its key.
    pub value: bool,
}

impl PatchError {
    pub fn new(code: &'static str, message: String, at: &str, label: &str, help: &str) -> Self {
        PatchError {
            code,
            message,
            at: at.to_owned(),
            label: label.to_owned(),
            help: help.to_owned(),
            value: false,
        }
    }

    pub fn at_value(mut self) -> Self {
        self.value = true;
        self
    }
}

/// What patches did to one rendered document: each value written, in order of application.
#[derive(Debug, Default)]
pub struct Trail {
    marks: Vec<(Arc<Patch>, Mark)>,
}

impl Trail {
    /// The patch entry that last wrote the value at `pointer` or a value holding it (the deepest
    /// such value; the latest of equals, as `max_by_key` keeps the last), and the pointer inside
    /// the entry that corresponds to `pointer`. A value a patch wrote whole is a copy of the
    /// patch's own, so the rest of `pointer` below it is the same path in the patch.
    fn find(&self, pointer: &str) -> Option<(&Arc<Patch>, String)> {
        let (patch, mark) = self
            .marks
            .iter()
            .filter(|(_, m)| holds(&m.pointer, pointer))
            .max_by_key(|(_, m)| m.pointer.len())?;
        let rest = &pointer[mark.pointer.len()..];
        Some((patch, format!("{}{rest}", mark.source)))
    }

    /// Where to point a finding about `pointer`: in the patch that wrote it, at the node itself
    /// or its nearest ancestor the patch spells out. `None` when no patch wrote there.
    pub fn locate(&self, pointer: &str) -> Option<Location> {
        let (patch, source) = self.find(pointer)?;
        let full = format!("{}{source}", patch.origin.pointer);
        let span = patch.origin.spans.nearest(&full)?;
        Some(Location::new(
            &patch.origin.file,
            span.key.unwrap_or(span.value),
        ))
    }

    /// The scalar a patch wrote at `pointer`, exactly (for masking a secret in an excerpt).
    pub fn value_node(&self, pointer: &str) -> Option<Location> {
        let (patch, source) = self.find(pointer)?;
        patch.origin.value_at(&source)
    }

    /// For a finding about the document placed at `location`: where each patch that changed
    /// the document is, so the reader knows the resource is not what the catalogue alone
    /// renders. None when the finding already points into one of them.
    pub fn notes(&self, location: Option<&Location>) -> Vec<(Location, String)> {
        let patches = self.patches();
        if location.is_some_and(|l| patches.iter().any(|p| p.contains(l))) {
            return Vec::new();
        }
        patches
            .into_iter()
            .map(|p| {
                (
                    p.locate("/target", false),
                    format!("the resource is changed by {}", p.describe()),
                )
            })
            .collect()
    }

    /// The patch entry `location` lies in, if it lies in one of the patches that changed the
    /// document.
    pub fn owner(&self, location: Option<&Location>) -> Option<&Arc<Patch>> {
        let location = location?;
        self.patches().into_iter().find(|p| p.contains(location))
    }

    /// The patches that changed the document, in order, once each.
    pub fn patches(&self) -> Vec<&Arc<Patch>> {
        let mut out: Vec<&Arc<Patch>> = Vec::new();
        for (p, _) in &self.marks {
            if !out.iter().any(|q| Arc::ptr_eq(q, p)) {
                out.push(p);
            }
        }
        out
    }
}

/// Whether the node at `outer` holds (or is) the node at `inner`.
fn holds(outer: &str, inner: &str) -> bool {
    inner
        .strip_prefix(outer)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Applies every service's patches to its file of `documents` (built-in and extra documents
/// alike), the catalogue's then the environment's. Reports every service whose patches failed.
pub fn apply_environment(
    env: &ResolvedEnvironment,
    documents: &mut EnvironmentDocuments,
) -> Result<(), Failure> {
    if env.services.iter().all(|s| s.patches.is_empty()) {
        return Ok(());
    }
    let t = std::time::Instant::now();
    // Services patch independently: spread them over the cores like their rendering. Each file
    // is taken by one thread, so its lock is never contended.
    let files: Vec<Mutex<&mut FileDocuments>> =
        documents.files.iter_mut().map(Mutex::new).collect();
    let results = crate::parallel::map(&files, 64, |file| {
        let mut file = file.lock().unwrap_or_else(PoisonError::into_inner);
        let service = file.manifests.first().and_then(|m| m.service())?;
        let svc = env.service(service).filter(|s| !s.patches.is_empty())?;
        apply(&mut file.manifests, &svc.patches, &env.name).err()
    });
    let problems: Vec<Diagnostic> = results.into_iter().flatten().flatten().collect();
    crate::profile::mark("  patches", t);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.into())
    }
}

/// Applies `patches` in order to the documents of one service in one environment, and hands each
/// changed document the trail of what was written into it. On failure, returns the first patch
/// that failed (the later ones are not tried); the documents are then half patched, and the
/// caller reports and writes nothing.
pub fn apply(
    manifests: &mut [Manifest],
    patches: &[Arc<Patch>],
    environment: &str,
) -> Result<(), Vec<Diagnostic>> {
    let mut trails: Vec<Option<Trail>> = manifests.iter().map(|_| None).collect();
    for patch in patches {
        // A service renders a handful of documents: a scan beats building an index.
        let Some(i) = manifests
            .iter()
            .position(|m| is_target(&m.value, &patch.target))
        else {
            // The patches after it were written for the documents it would have left: their
            // own errors would only echo this one.
            return Err(vec![target_missing(manifests, patch, environment)]);
        };
        let mut marks = Vec::new();
        let doc = &mut manifests[i].value;
        let applied = match &patch.body {
            Body::Merge(body) => strategic::apply(doc, body, patch.body.key(), &mut marks),
            Body::Json(ops) => json_patch::apply(doc, ops, patch.body.key(), &mut marks),
        };
        if let Err(e) = applied {
            return Err(vec![failed(patch, &patch.target, e, environment)]);
        }
        let trail = trails[i].get_or_insert_with(Trail::default);
        trail
            .marks
            .extend(marks.into_iter().map(|m| (Arc::clone(patch), m)));
    }
    for (m, trail) in manifests.iter_mut().zip(trails) {
        if let (ManifestOrigin::Rendered { patches, .. }, Some(trail)) = (&mut m.origin, trail) {
            *patches = Some(Arc::new(trail));
        }
    }
    Ok(())
}

fn kind_and_name(doc: &Value) -> (&str, &str) {
    let kind = doc.field("kind").and_then(Value::as_str).unwrap_or("");
    let name = doc
        .field("metadata")
        .and_then(|m| m.field("name"))
        .and_then(Value::as_str)
        .unwrap_or("");
    (kind, name)
}

fn is_target(doc: &Value, target: &Target) -> bool {
    kind_and_name(doc) == (target.kind.as_str(), target.name.as_str())
}

fn target_missing(docs: &[Manifest], patch: &Patch, environment: &str) -> Diagnostic {
    let rendered: Vec<String> = docs
        .iter()
        .map(|d| {
            let (kind, name) = kind_and_name(&d.value);
            format!("{kind}/{name}")
        })
        .collect();
    let wanted = format!("{}/{}", patch.target.kind, patch.target.name);
    let renders = format!(
        "in environment `{environment}`, service `{}` renders {}",
        patch.service,
        rendered.join(", ")
    );
    let help = match crate::catalogue::schema::closest(&wanted, &rendered) {
        Some(s) => format!("did you mean `{s}`? {renders}"),
        None => renders,
    };
    Diagnostic::error(
        CODE_TARGET,
        format!(
            "{} targets {wanted}, which service `{}` does not render",
            patch.describe(),
            patch.service
        ),
    )
    .at(Some(patch.locate("/target", false)), "no such resource")
    .with_help(help)
    .in_environment(environment)
}

fn failed(patch: &Patch, target: &Target, e: PatchError, environment: &str) -> Diagnostic {
    Diagnostic::error(e.code, format!("{}: {}", patch.describe(), e.message))
        .at(Some(patch.locate(&e.at, e.value)), e.label)
        .with_help(e.help)
        .in_environment(environment)
        .on_resource(format!("{}/{}", target.kind, target.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::load::parse_single;
    use crate::yaml::{Limits, SourceFile};
    use serde_json::json;

    /// The patches of service `api` in a catalogue `text`, and the problems reading them.
    fn patches(text: &str) -> (Vec<Arc<Patch>>, Vec<Diagnostic>) {
        let doc = parse_single(SourceFile::new("c.yaml", text), &Limits::default()).unwrap();
        let origin = doc.root().child("services").child("api");
        let mut problems = Vec::new();
        let read = read_patches("api", &doc.value["services"]["api"], &origin, &mut problems);
        (read, problems)
    }

    fn docs() -> Vec<Manifest> {
        [
            json!({"kind": "Service", "metadata": {"name": "api"}, "spec": {"ports": [{"port": 80}]}}),
            json!({"kind": "Deployment", "metadata": {"name": "api"}, "spec": {"replicas": 1}}),
        ]
        .into_iter()
        .map(|value| Manifest {
            value,
            origin: ManifestOrigin::Rendered {
                service: Some("api".into()),
                file: "api.yaml".into(),
                template: None,
                patches: None,
            },
        })
        .collect()
    }

    fn trail(m: &Manifest) -> Option<&Trail> {
        match &m.origin {
            ManifestOrigin::Rendered { patches, .. } => patches.as_deref(),
            ManifestOrigin::File { .. } => None,
        }
    }

    const TWO: &str = "\
services:
  api:
    patches:
      - target: { kind: Deployment }
        merge:
          spec:
            replicas: 3
            paused: true
      - target: { kind: Deployment, name: api }
        jsonPatch:
          - op: replace
            path: /spec/replicas
            value: 4
";

    #[test]
    fn patches_apply_in_order_and_findings_point_at_the_last_writer() {
        let (read, problems) = patches(TWO);
        assert!(problems.is_empty(), "{problems:?}");
        let mut docs = docs();
        apply(&mut docs, &read, "dev").unwrap();
        assert_eq!(
            docs[1].value["spec"],
            json!({"replicas": 4, "paused": true})
        );
        assert!(trail(&docs[0]).is_none(), "the Service is untouched");
        let trail = trail(&docs[1]).unwrap();
        let at = |pointer: &str| trail.locate(pointer).map(|l| (l.span.line, l.span.column));
        // The JSON Patch wrote replicas last: its `value` key (line 13, column 13).
        assert_eq!(at("/spec/replicas"), Some((13, 13)));
        assert_eq!(at("/spec/paused"), Some((8, 13)));
        assert_eq!(at("/spec/paused/below"), Some((8, 13)));
        assert_eq!(at("/metadata/name"), None);
        assert_eq!(trail.patches().len(), 2);
        // A finding placed in a patch needs no note; one placed elsewhere names both patches.
        let inside = trail.locate("/spec/paused");
        assert!(trail.notes(inside.as_ref()).is_empty());
        let notes = trail.notes(None);
        assert_eq!(notes.len(), 2);
        assert_eq!(
            notes[0].1,
            "the resource is changed by patch 1 of service `api`"
        );
        assert_eq!(notes[1].0.span.line, 9);
    }

    #[test]
    fn no_patches_leave_no_trail() {
        let mut docs = docs();
        apply(&mut docs, &[], "dev").unwrap();
        assert!(docs.iter().all(|d| trail(d).is_none()));
    }

    #[test]
    fn a_missing_target_stops_the_service_s_patches() {
        let (read, _) = patches(&TWO.replace("kind: Deployment }", "kind: Deploymnet }"));
        let mut docs = docs();
        let problems = apply(&mut docs, &read, "dev").unwrap_err();
        assert_eq!(problems.len(), 1);
        let d = &problems[0];
        assert_eq!(d.code, CODE_TARGET);
        assert_eq!(
            d.message,
            "patch 1 of service `api` targets Deploymnet/api, which service `api` does not render"
        );
        assert_eq!(
            d.help.as_deref(),
            Some("did you mean `Deployment/api`? in environment `dev`, service `api` renders Service/api, Deployment/api")
        );
        let at = d.location.as_ref().unwrap();
        assert_eq!((at.span.line, at.span.column), (4, 9));
        assert_eq!(d.environment.as_deref(), Some("dev"));
        assert_eq!(
            docs[1].value["spec"]["replicas"], 1,
            "the second patch was not tried"
        );
    }

    #[test]
    fn entries_that_cannot_be_read() {
        let text = "\
services:
  api:
    patches:
      - target: { kind: Deployment }
      - target: { kind: Deployment }
        merge: {}
        jsonPatch: []
      - target: { kind: Service }
        jsonPatch:
          - { op: add, path: /a }
          - { op: copy, path: /a }
          - { op: replace, path: 'spec', value: 1 }
          - { op: frobnicate, path: /a }
          - { op: remove, path: /a~2 }
";
        let (read, problems) = patches(text);
        assert!(read.is_empty());
        let messages: Vec<(&str, u32, String)> = problems
            .iter()
            .map(|d| {
                let line = d.location.as_ref().map_or(0, |l| l.span.line);
                (d.code.as_str(), line, d.message.clone())
            })
            .collect();
        assert_eq!(
            messages,
            [
                (CODE_SHAPE, 4, "patch 1 of service `api` has neither `merge` nor `jsonPatch`".to_owned()),
                (CODE_SHAPE, 7, "patch 2 of service `api` has both `merge` and `jsonPatch`".to_owned()),
                (CODE_SHAPE, 10, "patch 3 of service `api`: `add` needs `value`".to_owned()),
                (CODE_SHAPE, 11, "patch 3 of service `api`: `copy` needs `from`, the path to take the value from".to_owned()),
                (CODE_SHAPE, 12, "patch 3 of service `api`: `spec` is not a JSON Pointer: a JSON Pointer starts with `/` (or is empty for the whole document), not `s`".to_owned()),
                (CODE_SHAPE, 13, "patch 3 of service `api`: `frobnicate` is not a JSON Patch operation".to_owned()),
                (CODE_SHAPE, 14, "patch 3 of service `api`: `/a~2` is not a JSON Pointer: `~2` is not an escape of a JSON Pointer: write `~0` for `~` and `~1` for `/`".to_owned()),
            ]
        );
    }

    #[test]
    fn holds_is_segment_wise() {
        assert!(holds("/a/b", "/a/b"));
        assert!(holds("/a/b", "/a/b/c"));
        assert!(!holds("/a/b", "/a/bc"));
        assert!(holds("", "/a"));
        assert!(!holds("/a/b", "/a"));
    }
}
