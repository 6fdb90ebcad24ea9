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

/// Builds one built-in kind of a service, or `None` where the service has none of it.
pub type BuildFn = fn(&ServiceFacts<'_>) -> Option<Value>;

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

/// `apiVersion`, `kind` and the metadata every service manifest shares, then `rest`.
fn manifest<const N: usize>(
    f: &ServiceFacts<'_>,
    api_version: &str,
    kind: &str,
    rest: [(&str, Value); N],
) -> Value {
    let mut map = Map::with_capacity(3 + N);
    map.insert("apiVersion".into(), Value::from(api_version));
    map.insert("kind".into(), Value::from(kind));
    map.insert("metadata".into(), metadata(f));
    for (key, value) in rest {
        map.insert(key.to_owned(), value);
    }
    Value::Object(map)
}

/// [`manifest`] under another name (a second object of the same kind or purpose).
fn manifest_named<const N: usize>(
    f: &ServiceFacts<'_>,
    name: &str,
    api_version: &str,
    kind: &str,
    rest: [(&str, Value); N],
) -> Value {
    let mut doc = manifest(f, api_version, kind, rest);
    if let Some(m) = doc.as_object_mut() {
        m.insert("metadata".into(), metadata_named(f, name));
    }
    doc
}

fn metadata(f: &ServiceFacts<'_>) -> Value {
    metadata_named(f, &f.svc.name)
}

/// The shared metadata under another name (a second object of the same service).
fn metadata_named(f: &ServiceFacts<'_>, name: &str) -> Value {
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
