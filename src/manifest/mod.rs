//! Manifests as the linter sees them: a JSON value plus where it came from.

pub mod read;
pub mod schema;

use crate::diagnostic::Location;
use crate::yaml::{SourceFile, SpanIndex};
use serde_json::Value;
use std::sync::Arc;

/// Where a manifest came from, so findings point at what the user must change.
#[derive(Debug, Clone)]
pub enum ManifestOrigin {
    /// Rendered by shipshape; findings point into the catalogue through the service.
    Rendered {
        service: Option<String>,
        /// Path of the output file, relative to the environment's directory.
        file: String,
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
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn kind(&self) -> &str {
        self.value.get("kind").and_then(Value::as_str).unwrap_or("")
    }

    pub fn name(&self) -> &str {
        self.value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn namespace(&self) -> Option<&str> {
        self.value
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.value
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
    }

    pub fn labels(&self) -> Option<&serde_json::Map<String, Value>> {
        self.value
            .get("metadata")
            .and_then(|m| m.get("labels"))
            .and_then(Value::as_object)
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

    /// The pod template of a workload, or the pod itself.
    pub fn pod_spec(&self) -> Option<(&Value, &'static str)> {
        match self.kind() {
            "Pod" => self.value.get("spec").map(|s| (s, "/spec")),
            "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => self
                .value
                .pointer("/spec/template/spec")
                .map(|s| (s, "/spec/template/spec")),
            "CronJob" => self
                .value
                .pointer("/spec/jobTemplate/spec/template/spec")
                .map(|s| (s, "/spec/jobTemplate/spec/template/spec")),
            _ => None,
        }
    }

    /// Labels of the pods this workload creates.
    pub fn pod_labels(&self) -> Option<&serde_json::Map<String, Value>> {
        match self.kind() {
            "Pod" => self.labels(),
            "CronJob" => self
                .value
                .pointer("/spec/jobTemplate/spec/template/metadata/labels")
                .and_then(Value::as_object),
            _ => self
                .value
                .pointer("/spec/template/metadata/labels")
                .and_then(Value::as_object),
        }
    }

    pub fn is_workload(&self) -> bool {
        self.pod_spec().is_some()
    }
}
