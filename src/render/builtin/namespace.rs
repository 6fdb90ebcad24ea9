//! The documents that cover a whole environment, in `namespace.yaml`: the Namespace, the
//! namespace-wide NetworkPolicies and (with Istio) the namespace's PeerAuthentication.

use super::{array, match_label};
use crate::catalogue::ResolvedEnvironment;
use crate::render::context::{object, NAMESPACE_WAVE};
use crate::vocabulary::{annotation, label};
use serde_json::{Map, Value};

/// Istio's mTLS mode when the environment names none: callers without a sidecar are refused.
const DEFAULT_MTLS: &str = "STRICT";

/// Every namespace-level document of `env`, in the order they are written.
pub fn environment_documents(env: &ResolvedEnvironment) -> Vec<Value> {
    let mut docs = Vec::with_capacity(4);
    docs.push(namespace(env));
    docs.push(default_deny(env));
    if env.settings.istio.enabled {
        docs.push(allow_istiod(env));
        docs.push(peer_authentication(env));
    }
    docs
}

fn namespace(env: &ResolvedEnvironment) -> Value {
    let mut labels = Map::with_capacity(7);
    let mut set = |k: &str, v: &str| labels.insert(k.to_owned(), Value::from(v));
    set(label::PART_OF, &env.platform);
    set(label::MANAGED_BY, label::MANAGED_BY_SHIPSHAPE);
    // The restricted Pod Security profile, enforced by the API server for every pod.
    set(label::POD_SECURITY_ENFORCE, "restricted");
    set(label::POD_SECURITY_ENFORCE_VERSION, "latest");
    set(label::POD_SECURITY_AUDIT, "restricted");
    set(label::POD_SECURITY_WARN, "restricted");
    if env.settings.istio.enabled {
        set(label::ISTIO_INJECTION, "enabled");
    }
    object([
        ("apiVersion", Value::from("v1")),
        ("kind", Value::from("Namespace")),
        (
            "metadata",
            object([
                ("name", Value::from(env.namespace.as_str())),
                ("labels", Value::Object(labels)),
                ("annotations", wave_annotation()),
            ]),
        ),
    ])
}

/// The metadata of a namespace-wide object named `name`.
fn metadata(env: &ResolvedEnvironment, name: &str) -> Value {
    object([
        ("name", Value::from(name)),
        ("namespace", Value::from(env.namespace.as_str())),
        (
            "labels",
            object([
                (label::PART_OF, Value::from(env.platform.as_str())),
                (label::MANAGED_BY, Value::from(label::MANAGED_BY_SHIPSHAPE)),
            ]),
        ),
        ("annotations", wave_annotation()),
    ])
}

/// Namespace-wide objects sync with the Namespace, before any phase.
fn wave_annotation() -> Value {
    object([(
        annotation::SYNC_WAVE,
        Value::from(NAMESPACE_WAVE.to_string()),
    )])
}

fn manifest(api_version: &str, kind: &str, metadata: Value, spec: Value) -> Value {
    object([
        ("apiVersion", Value::from(api_version)),
        ("kind", Value::from(kind)),
        ("metadata", metadata),
        ("spec", spec),
    ])
}

/// Denies all traffic in and out of every pod of the namespace, with or without Istio; each
/// service's own NetworkPolicy then admits exactly its callers, its dependencies and DNS.
fn default_deny(env: &ResolvedEnvironment) -> Value {
    manifest(
        "networking.k8s.io/v1",
        "NetworkPolicy",
        metadata(env, "default-deny"),
        object([
            ("podSelector", Value::Object(Map::new())),
            (
                "policyTypes",
                array([Value::from("Ingress"), Value::from("Egress")]),
            ),
        ]),
    )
}

/// Sidecars fetch their configuration and certificates from istiod (XDS over mTLS on 15012);
/// without this the default deny keeps every injected pod from starting.
fn allow_istiod(env: &ResolvedEnvironment) -> Value {
    let to = object([
        (
            "namespaceSelector",
            match_label(label::NAMESPACE_NAME, "istio-system"),
        ),
        ("podSelector", match_label("app", "istiod")),
    ]);
    let port = object([
        ("protocol", Value::from("TCP")),
        ("port", Value::from(15012)),
    ]);
    manifest(
        "networking.k8s.io/v1",
        "NetworkPolicy",
        metadata(env, "allow-istiod"),
        object([
            ("podSelector", Value::Object(Map::new())),
            ("policyTypes", array([Value::from("Egress")])),
            (
                "egress",
                array([object([("to", array([to])), ("ports", array([port]))])]),
            ),
        ]),
    )
}

/// Namespace-wide mutual TLS. With STRICT, a caller without a sidecar is refused, so namespaces
/// listed under a service's `ingress.fromNamespaces` must run their pods in the mesh: the
/// AuthorizationPolicy identifies them by their mTLS identity.
fn peer_authentication(env: &ResolvedEnvironment) -> Value {
    let mode = env.settings.istio.mtls.as_deref().unwrap_or(DEFAULT_MTLS);
    manifest(
        "security.istio.io/v1",
        "PeerAuthentication",
        metadata(env, "default"),
        object([("mtls", object([("mode", Value::from(mode))]))]),
    )
}

/// The environment directory's `kustomization.yaml`: every file, in order.
///
/// No `namespace:` transformer: every namespaced document already names its namespace, and
/// kustomize sets the transformer's namespace on any kind it does not know to be cluster-scoped
/// (a ValidatingAdmissionPolicy among them, with the schema kubectl embeds), which the API
/// server and Argo CD then see on an object that has none.
pub fn kustomization(_env: &ResolvedEnvironment, files: &[&str]) -> Value {
    object([
        ("apiVersion", Value::from("kustomize.config.k8s.io/v1beta1")),
        ("kind", Value::from("Kustomization")),
        (
            "resources",
            Value::Array(files.iter().map(|f| Value::from(*f)).collect()),
        ),
    ])
}
