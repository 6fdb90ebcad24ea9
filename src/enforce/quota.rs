//! The namespace's ResourceQuota and LimitRange.
//!
//! The quota holds the namespace to the very figures `resource-overcommit` and `plan` judge by
//! ([`crate::plan::ledger`]): requests up to capacity x `maxUtilisation`, limits up to the
//! `cluster.limits` policy, each rounded down to a whole millicore or byte exactly as
//! [`ledger::allowed`] rounds, so a platform the build passes is admitted and one it refuses is
//! not. Pods and claims are counted from the rendered, patched workloads ([`Counts`]) at the HPA
//! maxima plus one rolling update's surge, so the quota never stops a scale-up or a rollout the
//! plan allows.

use super::{metadata, object};
use crate::catalogue::quantity::{format_cpu, format_memory, parse_cpu, parse_memory};
use crate::catalogue::ResolvedEnvironment;
use crate::manifest::{at, pod_template, Field};
use crate::plan::ledger::{self, Policy, Surge};
use serde_json::{Map, Value};

/// Name of both objects: one of each per namespace.
pub const NAME: &str = "platform";

/// The quota's `hard` map: the ceiling and limits policy from the environment, pods and claims
/// from the rendered documents (see [`Counts`]).
pub fn resource_quota<'a>(
    env: &ResolvedEnvironment,
    rendered: impl IntoIterator<Item = &'a Value>,
) -> Value {
    let policy = Policy::of(env);
    let mut hard = Map::new();
    let requests = policy.max_utilisation;
    if let Some(cpu) = env.settings.capacity.cpu {
        hard.insert(
            "requests.cpu".into(),
            Value::from(format_cpu(ledger::allowed(cpu, requests))),
        );
    }
    if let Some(memory) = env.settings.capacity.memory {
        hard.insert(
            "requests.memory".into(),
            Value::from(format_memory(ledger::allowed(memory, requests))),
        );
    }
    // Limits are held only where the environment wrote a policy: the default (memory limits up
    // to the capacity) is a warning at build time, and a quota would make it a refusal.
    if let (Some(cpu), Some(share)) = (env.settings.capacity.cpu, policy.limits_cpu) {
        hard.insert(
            "limits.cpu".into(),
            Value::from(format_cpu(ledger::allowed(cpu, share))),
        );
    }
    if let (Some(memory), Some(share)) = (env.settings.capacity.memory, policy.limits_memory) {
        hard.insert(
            "limits.memory".into(),
            Value::from(format_memory(ledger::allowed(memory, share))),
        );
    }
    let counts = Counts::of(&env.namespace, rendered);
    hard.insert("pods".into(), Value::from(counts.pods.to_string()));
    if counts.claims > 0 {
        hard.insert(
            "persistentvolumeclaims".into(),
            Value::from(counts.claims.to_string()),
        );
        hard.insert(
            "requests.storage".into(),
            Value::from(format_memory(counts.storage)),
        );
    }
    object([
        ("apiVersion", Value::from("v1")),
        ("kind", Value::from("ResourceQuota")),
        ("metadata", metadata(env, NAME, true)),
        ("spec", object([("hard", Value::Object(hard))])),
    ])
}

/// What the namespace's workloads can hold at once, read from the rendered (and patched)
/// documents rather than the catalogue: a patch may set `maxSurge`, the replicas, an HPA's
/// maximum or a claim template, and an extra template may add a workload, and the API server
/// counts what is applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Every Deployment and StatefulSet at its most replicas (the HPA maximum where an HPA
    /// scales it), plus what one rolling update of each adds ([`Surge::of`], as `plan` and
    /// `resource-overcommit` read it).
    pub pods: u64,
    /// One claim per volume claim template of a StatefulSet, per replica it ever ran.
    pub claims: u64,
    /// Bytes those claims request.
    pub storage: u64,
}

impl Counts {
    /// Counts the workloads of `rendered` that land in `namespace` ([`in_namespace`]).
    pub fn of<'a>(namespace: &str, rendered: impl IntoIterator<Item = &'a Value>) -> Counts {
        let mut workloads = Vec::new();
        // (kind, name) an HPA scales, and the most replicas it scales to.
        let mut scaled: Vec<(&str, &str, u64)> = Vec::new();
        for doc in rendered {
            if !in_namespace(doc, namespace) {
                continue;
            }
            match doc.field("kind").and_then(Value::as_str) {
                Some(kind @ ("Deployment" | "StatefulSet")) => workloads.push((kind, doc)),
                Some("HorizontalPodAutoscaler") => {
                    let target =
                        |key| at(doc, &["spec", "scaleTargetRef", key]).and_then(Value::as_str);
                    if let (Some(kind), Some(name)) = (target("kind"), target("name")) {
                        scaled.push((kind, name, ledger::hpa_range(doc).1));
                    }
                }
                _ => {}
            }
        }
        let mut counts = Counts::default();
        for (kind, doc) in workloads {
            let name = at(doc, &["metadata", "name"]).and_then(Value::as_str);
            // Kubernetes' default of one replica; an HPA scales up to its maximum (the largest,
            // if two claim the workload), and never below the count the workload asks for.
            let mut most = at(doc, &["spec", "replicas"])
                .and_then(Value::as_u64)
                .unwrap_or(1);
            for &(k, n, hpa_most) in &scaled {
                if k == kind && Some(n) == name {
                    most = most.max(hpa_most);
                }
            }
            counts.pods = counts
                .pods
                .saturating_add(most)
                .saturating_add(Surge::of(doc, kind).pods(most));
            if kind != "StatefulSet" {
                continue;
            }
            let templates = at(doc, &["spec", "volumeClaimTemplates"]).and_then(Value::as_array);
            for template in templates.into_iter().flatten() {
                counts.claims = counts.claims.saturating_add(most);
                let size = at(template, &["spec", "resources", "requests", "storage"])
                    .and_then(Value::as_str)
                    .and_then(|t| parse_memory(t).ok());
                if let Some(size) = size {
                    counts.storage = counts.storage.saturating_add(size.saturating_mul(most));
                }
            }
        }
        counts
    }
}

/// Whether `doc` lands in `namespace`: it names it, or names none and the environment's
/// Application deploys it there.
fn in_namespace(doc: &Value, namespace: &str) -> bool {
    at(doc, &["metadata", "namespace"])
        .and_then(Value::as_str)
        .is_none_or(|ns| ns == namespace)
}

/// Defaults for containers that set no requests or limits (the catalogue's `defaults`), and
/// maxima no container of the platform exceeds.
pub fn limit_range<'a>(
    env: &ResolvedEnvironment,
    rendered: impl IntoIterator<Item = &'a Value>,
) -> Value {
    let d = &env.default_resources;
    let pair = |cpu: Option<&str>, memory: Option<&str>| {
        let mut m = Map::new();
        if let Some(c) = cpu {
            m.insert("cpu".into(), Value::from(c));
        }
        if let Some(mem) = memory {
            m.insert("memory".into(), Value::from(mem));
        }
        m
    };
    let text = |q: &Option<crate::catalogue::model::QuantityText>| q.as_ref().map(|q| q.0.clone());
    let (dr_cpu, dr_mem) = (text(&d.requests.cpu), text(&d.requests.memory));
    let (dl_cpu, dl_mem) = (text(&d.limits.cpu), text(&d.limits.memory));
    let mut item = Map::new();
    item.insert("type".into(), Value::from("Container"));
    let default = pair(dl_cpu.as_deref(), dl_mem.as_deref());
    if !default.is_empty() {
        item.insert("default".into(), Value::Object(default));
    }
    let default_request = pair(dr_cpu.as_deref(), dr_mem.as_deref());
    if !default_request.is_empty() {
        item.insert("defaultRequest".into(), Value::Object(default_request));
    }
    if let Some(max) = maxima(env, rendered) {
        item.insert("max".into(), max);
    }
    object([
        ("apiVersion", Value::from("v1")),
        ("kind", Value::from("LimitRange")),
        ("metadata", metadata(env, NAME, true)),
        (
            "spec",
            object([("limits", Value::Array(vec![Value::Object(item)]))]),
        ),
    ])
}

/// The largest CPU and memory limit of any container the namespace runs, read from the rendered
/// (and patched) pod templates: a patch may raise a container's limits or add a sidecar, and a
/// maximum below them would refuse the pods. `None` in an Istio namespace whose proxy limits are
/// unknown: the injected sidecar sets its own, and a maximum below them would refuse every pod.
fn maxima<'a>(
    env: &ResolvedEnvironment,
    rendered: impl IntoIterator<Item = &'a Value>,
) -> Option<Value> {
    let (_, proxy_limits) = env.settings.pod_overhead;
    if env.settings.istio.enabled && proxy_limits.cpu.is_none() && proxy_limits.memory.is_none() {
        return None;
    }
    let (mut cpu, mut memory) = (proxy_limits.cpu, proxy_limits.memory);
    let raise = |largest: &mut Option<u64>, found: Option<u64>| {
        if found > *largest {
            *largest = found;
        }
    };
    for doc in rendered {
        if !in_namespace(doc, &env.namespace) {
            continue;
        }
        let Some(kind) = doc.field("kind").and_then(Value::as_str) else {
            continue;
        };
        let Some(pod) = pod_template(doc, kind) else {
            continue;
        };
        let lists = ["initContainers", "containers"].map(|key| pod.spec.field(key));
        let containers = lists.into_iter().flatten().filter_map(Value::as_array);
        for c in containers.flatten() {
            let limit = |key| at(c, &["resources", "limits", key]).and_then(quantity_text);
            raise(&mut cpu, limit("cpu").and_then(|t| parse_cpu(&t).ok()));
            raise(
                &mut memory,
                limit("memory").and_then(|t| parse_memory(&t).ok()),
            );
        }
    }
    let mut m = Map::new();
    if let Some(cpu) = cpu {
        m.insert("cpu".into(), Value::from(format_cpu(cpu)));
    }
    if let Some(memory) = memory {
        m.insert("memory".into(), Value::from(format_memory(memory)));
    }
    (!m.is_empty()).then_some(Value::Object(m))
}

/// A quantity as a manifest may write it: text, or a bare number (`cpu: 2`).
fn quantity_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::Counts;
    use serde_json::{json, Value};

    fn deployment(name: &str, namespace: Option<&str>, spec: Value) -> Value {
        let mut meta = json!({ "name": name });
        if let Some(ns) = namespace {
            meta["namespace"] = json!(ns);
        }
        json!({ "apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec })
    }

    #[test]
    fn workloads_are_counted_as_the_api_server_will_see_them() {
        let docs = [
            // Unset replicas: Kubernetes' 1, and its 25% surge rounded up.
            deployment("a", Some("shop"), json!({})),
            // An HPA's maximum above the replicas; 50% of 6 is 3 surge pods.
            deployment(
                "b",
                None,
                json!({ "replicas": 2, "strategy": { "rollingUpdate": { "maxSurge": "50%" } } }),
            ),
            json!({
                "kind": "HorizontalPodAutoscaler",
                "metadata": { "name": "b" },
                "spec": {
                    "scaleTargetRef": { "kind": "Deployment", "name": "b" },
                    "minReplicas": 2,
                    "maxReplicas": 6
                }
            }),
            // Another namespace's pods are another quota's.
            deployment("c", Some("elsewhere"), json!({ "replicas": 9 })),
            // Two claim templates, one without a size: both are claims.
            json!({
                "kind": "StatefulSet",
                "metadata": { "name": "db" },
                "spec": {
                    "replicas": 2,
                    "volumeClaimTemplates": [
                        { "spec": { "resources": { "requests": { "storage": "1Gi" } } } },
                        { "spec": {} }
                    ]
                }
            }),
            // An HPA of a workload that is not rendered, and a kind that runs no pods.
            json!({
                "kind": "HorizontalPodAutoscaler",
                "spec": { "scaleTargetRef": { "kind": "Deployment", "name": "gone" }, "maxReplicas": 5 }
            }),
            json!({ "kind": "Service", "metadata": { "name": "a" } }),
        ];
        assert_eq!(
            Counts::of("shop", &docs),
            Counts {
                pods: (1 + 1) + (6 + 3) + 2,
                claims: 4,
                storage: 2 << 30,
            }
        );
    }
}
