//! Manifests as the linter sees them: a JSON value plus where it came from.

pub mod containers;
pub mod read;
pub mod schema;

use crate::diagnostic::Location;
use crate::yaml::{SourceFile, SpanIndex};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Where a manifest came from, so findings point at what the user must change.
#[derive(Debug, Clone)]
pub enum ManifestOrigin {
    /// Rendered by shipshape; findings point into the catalogue through the service.
    Rendered {
        service: Option<String>,
        /// Path of the output file, relative to the environment's directory.
        file: String,
        /// The extra template that wrote it (`None`: a built-in resource), so what is wrong with
        /// the document itself is reported in the template.
        template: Option<Arc<SourceFile>>,
        /// What the catalogue's and environment's patches wrote into it, if they changed it:
        /// findings about those values point at the patch.
        patches: Option<Arc<crate::patch::Trail>>,
    },
    /// Read from a YAML file shipshape did not write; findings point into that file.
    File {
        file: Arc<SourceFile>,
        spans: Arc<SpanIndex>,
        start: crate::yaml::Span,
        /// Pointer of the manifest inside its document: empty, or `/items/N` in a `kind: List`.
        base: String,
    },
}

#[derive(Debug, Clone)]
pub struct Manifest {
    pub value: Value,
    pub origin: ManifestOrigin,
}

impl Manifest {
    pub fn api_version(&self) -> &str {
        self.value
            .field("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn kind(&self) -> &str {
        self.value
            .field("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn name(&self) -> &str {
        at(&self.value, &["metadata", "name"])
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// `metadata.namespace`; an empty one is unset, as the API server and kubectl read it.
    pub fn namespace(&self) -> Option<&str> {
        at(&self.value, &["metadata", "namespace"])
            .and_then(Value::as_str)
            .filter(|ns| !ns.is_empty())
    }

    pub fn annotations(&self) -> Option<&Map<String, Value>> {
        at(&self.value, &["metadata", "annotations"]).and_then(Value::as_object)
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations()
            .and_then(|a| a.field(key))
            .and_then(Value::as_str)
    }

    pub fn labels(&self) -> Option<&Map<String, Value>> {
        at(&self.value, &["metadata", "labels"]).and_then(Value::as_object)
    }

    /// `Kind/name`, the way kubectl names a resource.
    pub fn resource_id(&self) -> String {
        format!("{}/{}", self.kind(), self.name())
    }

    pub fn service(&self) -> Option<&str> {
        match &self.origin {
            ManifestOrigin::Rendered { service, .. } => service.as_deref(),
            ManifestOrigin::File { .. } => None,
        }
    }

    /// The extra template that rendered this manifest, if one did.
    pub fn template(&self) -> Option<&Arc<SourceFile>> {
        match &self.origin {
            ManifestOrigin::Rendered { template, .. } => template.as_ref(),
            ManifestOrigin::File { .. } => None,
        }
    }

    /// For a rendered manifest a patch changed: the patch that wrote the value at `pointer` (or
    /// a value holding it).
    pub fn patch_location(&self, pointer: &str) -> Option<Location> {
        match &self.origin {
            ManifestOrigin::Rendered {
                patches: Some(trail),
                ..
            } => trail.locate(pointer),
            _ => None,
        }
    }

    /// For a finding about a manifest patches changed, placed at `location`: where the patches
    /// are (those it does not already point into).
    pub fn patch_notes(&self, location: Option<&Location>) -> Vec<(Location, String)> {
        match &self.origin {
            ManifestOrigin::Rendered {
                patches: Some(trail),
                ..
            } => trail.notes(location),
            _ => Vec::new(),
        }
    }

    /// For a lint finding about a manifest patches changed: a help that says which patch to
    /// change when the finding points into one (a rule's own advice speaks of the catalogue),
    /// else the patches as related places.
    pub fn explain_patches(&self, d: &mut crate::diagnostic::Diagnostic) {
        let ManifestOrigin::Rendered {
            patches: Some(trail),
            ..
        } = &self.origin
        else {
            return;
        };
        match trail.owner(d.location.as_ref()) {
            Some(patch) => {
                let note = format!("this comes from {}: change it there", patch.describe());
                d.help = Some(match d.help.take() {
                    Some(help) => format!("{note}; {help}"),
                    None => note,
                });
            }
            None => d.related.extend(trail.notes(d.location.as_ref())),
        }
    }

    /// For a rendered manifest a patch changed: the scalar the patch wrote at `pointer`.
    pub fn patch_value_node(&self, pointer: &str) -> Option<Location> {
        match &self.origin {
            ManifestOrigin::Rendered {
                patches: Some(trail),
                ..
            } => trail.value_node(pointer),
            _ => None,
        }
    }

    /// For a manifest read from a file: the node at `pointer` or its nearest ancestor.
    pub fn file_location(&self, pointer: &str) -> Option<Location> {
        match &self.origin {
            ManifestOrigin::File {
                file,
                spans,
                start,
                base,
            } => {
                let full = format!("{base}{pointer}");
                let span = spans
                    .nearest(&full)
                    .map(|s| s.key.unwrap_or(s.value))
                    .unwrap_or(*start);
                Some(Location::new(file, span))
            }
            ManifestOrigin::Rendered { .. } => None,
        }
    }

    /// The pod template of a workload, or the pod itself: its spec and that spec's pointer.
    pub fn pod_spec(&self) -> Option<(&Value, &'static str)> {
        self.pod().map(|p| (p.spec, p.pointer))
    }

    /// What a workload (or a Pod) says about its pods; `None` for every other kind.
    pub fn pod(&self) -> Option<PodTemplate<'_>> {
        pod_template(&self.value, self.kind())
    }

    pub fn is_workload(&self) -> bool {
        self.pod_spec().is_some()
    }
}

/// The pods a workload creates, as its manifest describes them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PodTemplate<'a> {
    pub spec: &'a Value,
    /// Pointer of `spec` in the manifest.
    pub pointer: &'static str,
    /// The pods' labels.
    pub labels: Option<&'a Map<String, Value>>,
}

/// [`Manifest::pod`] for a manifest whose `kind` the caller has read already (the lint index
/// reads each manifest once).
pub fn pod_template<'a>(v: &'a Value, kind: &str) -> Option<PodTemplate<'a>> {
    let labels = |meta: Option<&'a Value>| {
        meta.and_then(|m| m.field("labels"))
            .and_then(Value::as_object)
    };
    let (template, pointer) = match kind {
        "Pod" => {
            return Some(PodTemplate {
                spec: v.field("spec")?,
                pointer: "/spec",
                labels: labels(v.field("metadata")),
            })
        }
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
            (at(v, &["spec", "template"]), "/spec/template/spec")
        }
        "CronJob" => (
            at(v, &["spec", "jobTemplate", "spec", "template"]),
            "/spec/jobTemplate/spec/template/spec",
        ),
        _ => return None,
    };
    let template = template?;
    Some(PodTemplate {
        spec: template.field("spec")?,
        pointer,
        labels: labels(template.field("metadata")),
    })
}

/// The value at `path`, one object key per segment: what `Value::pointer` finds for
/// `/a/b/c` (without `~` escapes or array indexes), without allocating each segment.
pub fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.field(key))
}

/// Objects up to this size are searched by scanning their entries.
const SCAN_MAX: usize = 8;

/// `get` for the objects of a manifest, which the linter reads many times over. They mostly have
/// a handful of keys of distinct lengths, so scanning the entries (comparing lengths first) reads
/// less memory than hashing the key with SipHash and probing the map's index; keys are unique, so
/// it finds the same entry.
pub trait Field {
    fn field(&self, key: &str) -> Option<&Value>;
}

impl Field for Map<String, Value> {
    fn field(&self, key: &str) -> Option<&Value> {
        if self.len() > SCAN_MAX {
            return self.get(key);
        }
        self.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
    }
}

impl Field for Value {
    fn field(&self, key: &str) -> Option<&Value> {
        self.as_object()?.field(key)
    }
}
