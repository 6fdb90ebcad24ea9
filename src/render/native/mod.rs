//! The built-in service templates as Rust: each function builds the very document its template
//! produces once the text is read back as YAML, without rendering text and parsing it again
//! (together most of `check`'s CPU time).
//!
//! A template replaced with `--templates` still goes through minijinja, file by file; an
//! override of `_metadata.yaml.j2`, which every service template includes, sends them all there.
//!
//! Values carry the types the read-back gives the template's text: `{{ x }}` is written as JSON,
//! so strings stay strings, numbers numbers, maps maps; literal text follows the YAML core schema
//! (`port: 53` is an integer, `- ALL` and `type: RuntimeDefault` strings). Keys are inserted in
//! the template's order, which is the order they are written in. `tests/native_render.rs` renders
//! projects both ways and requires identical bytes and values.

pub mod argocd;
mod basics;
mod istio;
pub mod namespace;
mod networkpolicy;
mod workload;

use crate::render::context::{object, ServiceFacts};
use serde_json::{Map, Value};

/// Builds one service template's document, or `None` where the template renders nothing.
pub type NativeFn = fn(&ServiceFacts<'_>) -> Option<Value>;

/// The native rendering of a built-in service template, if it has one.
pub fn renderer(template: &str) -> Option<NativeFn> {
    let f: NativeFn = match template {
        "serviceaccount.yaml.j2" => basics::service_account,
        "service.yaml.j2" => basics::service,
        "service-headless.yaml.j2" => basics::headless_service,
        "workload.yaml.j2" => workload::workload,
        "hpa.yaml.j2" => basics::hpa,
        "pdb.yaml.j2" => basics::pdb,
        "networkpolicy.yaml.j2" => networkpolicy::network_policy,
        "virtualservice.yaml.j2" => istio::virtual_service,
        "destinationrule.yaml.j2" => istio::destination_rule,
        "authorizationpolicy.yaml.j2" => istio::authorization_policy,
        _ => return None,
    };
    Some(f)
}

/// `apiVersion`, `kind` and the shared metadata (`_metadata.yaml.j2`), then `rest`.
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

/// An optional text as a template's `{% if x %}` sees it: absent and empty are both false.
fn present(text: Option<&String>) -> Option<&str> {
    text.map(String::as_str).filter(|t| !t.is_empty())
}

fn array<const N: usize>(items: [Value; N]) -> Value {
    Value::Array(Vec::from(items))
}
