//! Validation of manifests against the Kubernetes, Istio and Argo CD schemas in `schemas/`.
//!
//! Validators are compiled once, on first use of each kind, and shared by every environment.

use jsonschema::Validator;
use serde_json::Value;
use std::sync::OnceLock;

struct KnownKind {
    api_version: &'static str,
    kind: &'static str,
    schema: &'static str,
}

const KINDS: &[KnownKind] = &[
    KnownKind {
        api_version: "v1",
        kind: "Namespace",
        schema: include_str!("../../schemas/kubernetes/namespace-v1.json"),
    },
    KnownKind {
        api_version: "v1",
        kind: "Service",
        schema: include_str!("../../schemas/kubernetes/service-v1.json"),
    },
    KnownKind {
        api_version: "v1",
        kind: "ServiceAccount",
        schema: include_str!("../../schemas/kubernetes/serviceaccount-v1.json"),
    },
    KnownKind {
        api_version: "v1",
        kind: "ResourceQuota",
        schema: include_str!("../../schemas/kubernetes/resourcequota-v1.json"),
    },
    KnownKind {
        api_version: "v1",
        kind: "LimitRange",
        schema: include_str!("../../schemas/kubernetes/limitrange-v1.json"),
    },
    KnownKind {
        api_version: "admissionregistration.k8s.io/v1",
        kind: "ValidatingAdmissionPolicy",
        schema: include_str!(
            "../../schemas/kubernetes/validatingadmissionpolicy-admissionregistration-v1.json"
        ),
    },
    KnownKind {
        api_version: "admissionregistration.k8s.io/v1",
        kind: "ValidatingAdmissionPolicyBinding",
        schema: include_str!(
            "../../schemas/kubernetes/validatingadmissionpolicybinding-admissionregistration-v1.json"
        ),
    },
    KnownKind {
        api_version: "apps/v1",
        kind: "Deployment",
        schema: include_str!("../../schemas/kubernetes/deployment-apps-v1.json"),
    },
    KnownKind {
        api_version: "apps/v1",
        kind: "StatefulSet",
        schema: include_str!("../../schemas/kubernetes/statefulset-apps-v1.json"),
    },
    KnownKind {
        api_version: "autoscaling/v2",
        kind: "HorizontalPodAutoscaler",
        schema: include_str!(
            "../../schemas/kubernetes/horizontalpodautoscaler-autoscaling-v2.json"
        ),
    },
    KnownKind {
        api_version: "policy/v1",
        kind: "PodDisruptionBudget",
        schema: include_str!("../../schemas/kubernetes/poddisruptionbudget-policy-v1.json"),
    },
    KnownKind {
        api_version: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        schema: include_str!("../../schemas/kubernetes/networkpolicy-networking-v1.json"),
    },
    KnownKind {
        api_version: "networking.istio.io/v1",
        kind: "VirtualService",
        schema: include_str!("../../schemas/istio/virtualservice_v1.strict.json"),
    },
    KnownKind {
        api_version: "networking.istio.io/v1",
        kind: "DestinationRule",
        schema: include_str!("../../schemas/istio/destinationrule_v1.strict.json"),
    },
    KnownKind {
        api_version: "security.istio.io/v1",
        kind: "PeerAuthentication",
        schema: include_str!("../../schemas/istio/peerauthentication_v1.strict.json"),
    },
    KnownKind {
        api_version: "security.istio.io/v1",
        kind: "AuthorizationPolicy",
        schema: include_str!("../../schemas/istio/authorizationpolicy_v1.strict.json"),
    },
    KnownKind {
        api_version: "networking.istio.io/v1",
        kind: "ServiceEntry",
        schema: include_str!("../../schemas/istio/serviceentry_v1.strict.json"),
    },
    KnownKind {
        api_version: "argoproj.io/v1alpha1",
        kind: "Application",
        schema: include_str!("../../schemas/argocd/application_v1alpha1.strict.json"),
    },
    KnownKind {
        api_version: "argoproj.io/v1alpha1",
        kind: "AppProject",
        schema: include_str!("../../schemas/argocd/appproject_v1alpha1.strict.json"),
    },
    // Not a built-in resource: extra templates render it (the repository's own does).
    KnownKind {
        api_version: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        schema: include_str!("../../schemas/prometheus-operator/servicemonitor_v1.strict.json"),
    },
];

/// One schema violation: where in the manifest, and what is wrong.
#[derive(Debug, Clone)]
pub struct SchemaViolation {
    pub pointer: String,
    pub message: String,
}

type Compiled = Result<&'static Validator, String>;

/// One slot per known kind. Read on every manifest by both validating threads, so a lookup is
/// an atomic load, not a lock.
fn cache() -> &'static [OnceLock<Compiled>] {
    static CACHE: OnceLock<Vec<OnceLock<Compiled>>> = OnceLock::new();
    CACHE.get_or_init(|| KINDS.iter().map(|_| OnceLock::new()).collect())
}

fn validator(index: usize) -> Compiled {
    let Some(slot) = cache().get(index) else {
        return Err("unknown schema".to_owned());
    };
    slot.get_or_init(|| {
        KINDS
            .get(index)
            .ok_or_else(|| "unknown schema".to_owned())
            .and_then(|k| serde_json::from_str::<Value>(k.schema).map_err(|e| e.to_string()))
            .and_then(|schema| {
                jsonschema::options()
                    .should_validate_formats(false)
                    .build(&schema)
                    .map_err(|e| e.to_string())
            })
            // Validators live for the whole run and are shared across threads; leaking one per
            // kind is a bounded, deliberate cost that keeps the cache free of lifetimes.
            .map(|v| &*Box::leak(Box::new(v)))
    })
    .clone()
}

/// Starts compiling every kind's validator on a thread of its own, once per process. Compiling
/// them is about 90 million instructions (the Deployment and Application schemas alone are
/// 0.2 and 0.4 MB of JSON), work a run otherwise does on its critical path, inside the first
/// environment's validation; started before the catalogue is read, it runs on the core that
/// loading and resolving leave idle. A validator not ready when it is wanted is waited for (the
/// cache's `OnceLock`), never compiled twice.
pub fn warm_up() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        // Without a thread (a failed spawn) each validator is compiled on first use, as before.
        let _ = std::thread::Builder::new()
            .name("schema-warm-up".into())
            .spawn(|| {
                for index in 0..KINDS.len() {
                    let _ = validator(index);
                }
            });
    });
}

/// Every (apiVersion, kind) shipshape has a schema for.
pub fn known_kinds() -> impl Iterator<Item = (&'static str, &'static str)> {
    KINDS.iter().map(|k| (k.api_version, k.kind))
}

/// Whether shipshape has a schema for this apiVersion and kind.
pub fn has_schema(api_version: &str, kind: &str) -> bool {
    KINDS
        .iter()
        .any(|k| k.api_version == api_version && k.kind == kind)
}

/// Whether a kind is a resource a schema should validate: not kustomize's own configuration
/// (`Kustomization`, `Component`), which is read by kustomize and never reaches a cluster.
pub fn needs_schema(api_version: &str, _kind: &str) -> bool {
    !api_version.starts_with("kustomize.config.k8s.io/")
}

/// Validates one manifest. `None` when no schema is known for its kind.
pub fn validate(value: &Value) -> Option<Vec<SchemaViolation>> {
    let api_version = value.get("apiVersion").and_then(Value::as_str)?;
    let kind = value.get("kind").and_then(Value::as_str)?;
    let index = KINDS
        .iter()
        .position(|k| k.api_version == api_version && k.kind == kind)?;
    match validator(index) {
        Ok(v) => {
            if v.is_valid(value) {
                return Some(Vec::new());
            }
            Some(
                v.iter_errors(value)
                    .map(|e| SchemaViolation {
                        pointer: e.instance_path().as_str().to_owned(),
                        message: e.masked().to_string(),
                    })
                    .collect(),
            )
        }
        Err(e) => Some(vec![SchemaViolation {
            pointer: String::new(),
            message: format!(
                "internal error: schema for {api_version} {kind} did not compile: {e}"
            ),
        }]),
    }
}
