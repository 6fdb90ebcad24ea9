//! The built-in resources, built in Rust as `serde_json::Value` documents: the per-service kinds
//! ([`SERVICE_BUILDERS`]), the namespace-level documents and `kustomization.yaml`
//! ([`namespace`]) and the Argo CD Applications ([`argocd`]). They are the only source of these
//! resources; what a platform adds comes from its extra templates (`render::templates`).
//!
//! Keys are inserted in the order they are written (`serde_json`'s `preserve_order`), so the map
//! built here is the layout of the output.

pub mod argocd;
mod basics;
mod configmap;
mod egress;
mod istio;
pub mod namespace;
mod networkpolicy;
mod workload;

use crate::render::context::{object, ServiceFacts};
use serde_json::{Map, Value};

/// What a service's builders read: its facts, and the metadata every one of its manifests
/// shares (name, namespace, labels, annotations), built once. Each builder clones it: a clone
/// copies the maps' hash tables as they are, while building them again hashed every key with
/// SipHash, about a fifteenth of a `check`'s instructions at N = 1,000.
pub struct Service<'f, 'a> {
    facts: &'f ServiceFacts<'a>,
    metadata: Value,
}

impl<'a> std::ops::Deref for Service<'_, 'a> {
    type Target = ServiceFacts<'a>;

    fn deref(&self) -> &ServiceFacts<'a> {
        self.facts
    }
}

/// Builds one built-in kind of a service, or `None` where the service has none of it.
pub type BuildFn = fn(&Service<'_, '_>) -> Option<Value>;

/// Every built-in kind of a service, in the order they are written into the service's file.
pub const SERVICE_BUILDERS: [BuildFn; 12] = [
    basics::service_account,
    configmap::config_map,
    basics::service,
    basics::headless_service,
    workload::workload,
    basics::hpa,
    basics::pdb,
    networkpolicy::network_policy,
    istio::virtual_service,
    istio::destination_rule,
    istio::authorization_policy,
    egress::service_entry,
];

/// The built-in documents of a service, in [`SERVICE_BUILDERS`] order.
pub fn service_documents(facts: &ServiceFacts<'_>) -> Vec<Value> {
    let service = Service {
        facts,
        metadata: build_metadata(facts, &facts.svc.name),
    };
    SERVICE_BUILDERS
        .iter()
        .filter_map(|build| build(&service))
        .collect()
}

/// `apiVersion`, `kind` and the metadata every service manifest shares, then `rest`.
fn manifest<const N: usize>(
    f: &Service<'_, '_>,
    api_version: &str,
    kind: &str,
    rest: [(&str, Value); N],
) -> Value {
    manifest_with(f.metadata.clone(), api_version, kind, rest)
}

/// [`manifest`] under another name (a second object of the same kind or purpose).
fn manifest_named<const N: usize>(
    f: &Service<'_, '_>,
    name: &str,
    api_version: &str,
    kind: &str,
    rest: [(&str, Value); N],
) -> Value {
    manifest_with(metadata_named(f, name), api_version, kind, rest)
}

fn manifest_with<const N: usize>(
    metadata: Value,
    api_version: &str,
    kind: &str,
    rest: [(&str, Value); N],
) -> Value {
    let mut map = Map::with_capacity(3 + N);
    map.insert("apiVersion".into(), Value::from(api_version));
    map.insert("kind".into(), Value::from(kind));
    map.insert("metadata".into(), metadata);
    for (key, value) in rest {
        map.insert(key.to_owned(), value);
    }
    Value::Object(map)
}

/// The shared metadata under another name (a second object of the same service).
fn metadata_named(f: &Service<'_, '_>, name: &str) -> Value {
    let mut metadata = f.metadata.clone();
    if let Some(slot) = metadata.get_mut("name") {
        *slot = Value::from(name);
    }
    metadata
}

fn build_metadata(f: &ServiceFacts<'_>, name: &str) -> Value {
    object([
        ("name", Value::from(name)),
        ("namespace", Value::from(f.env.namespace.as_str())),
        ("labels", strings_map(f.labels())),
        (
            "annotations",
            strings_map(f.annotations.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))),
        ),
    ])
}

fn strings_map<'x>(pairs: impl IntoIterator<Item = (&'x str, &'x str)>) -> Value {
    let pairs = pairs.into_iter();
    let mut map = Map::with_capacity(pairs.size_hint().0);
    for (k, v) in pairs {
        map.insert(k.to_owned(), Value::from(v));
    }
    Value::Object(map)
}

/// `matchLabels` over the service's selector labels.
fn match_selector(f: &ServiceFacts<'_>) -> Value {
    object([("matchLabels", strings_map(f.selector()))])
}

/// `matchLabels` with one label.
fn match_label(key: &str, value: &str) -> Value {
    object([("matchLabels", object([(key, Value::from(value))]))])
}

/// An optional text that counts only when set and not empty.
fn present(text: Option<&String>) -> Option<&str> {
    text.map(String::as_str).filter(|t| !t.is_empty())
}

fn array<const N: usize>(items: [Value; N]) -> Value {
    Value::Array(Vec::from(items))
}
