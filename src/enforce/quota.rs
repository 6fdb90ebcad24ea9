//! The namespace's ResourceQuota and LimitRange.
//!
//! The quota holds the namespace to the very figures `resource-overcommit` and `plan` judge by
//! ([`crate::plan::ledger`]): requests up to capacity x `maxUtilisation`, limits up to the
//! `cluster.limits` policy, each rounded down to a whole millicore or byte exactly as
//! [`ledger::allowed`] rounds, so a platform the build passes is admitted and one it refuses is
//! not. Pods and claims are counted at the HPA maxima plus one rolling update's surge, so the
//! quota never stops a scale-up or a rollout the plan allows.

use super::{metadata, object};
use crate::catalogue::model::Workload;
use crate::catalogue::quantity::{format_cpu, format_memory, parse_memory};
use crate::catalogue::ResolvedEnvironment;
use crate::plan::ledger::{self, Policy};
use serde_json::{Map, Value};

/// Name of both objects: one of each per namespace.
pub const NAME: &str = "platform";

/// The most replicas a service runs: its HPA maximum, or its fixed count.
fn max_replicas(min: u32, max: Option<u32>) -> u32 {
    max.unwrap_or(min).max(min)
}

pub fn resource_quota(env: &ResolvedEnvironment) -> Value {
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
    let mut pods: u64 = 0;
    let mut claims: u64 = 0;
    let mut storage: u64 = 0;
    for s in &env.services {
        let most = max_replicas(s.replicas_min, s.replicas_max);
        let deployment = s.workload == Workload::Deployment;
        pods += u64::from(most) + ledger::surge_pods(deployment, u64::from(most));
        let size = s.storage_size.as_deref().and_then(|t| parse_memory(t).ok());
        if let (Workload::StatefulSet, Some(size)) = (s.workload, size) {
            // A StatefulSet keeps one claim per replica it ever ran.
            claims += u64::from(most);
            storage = storage.saturating_add(size.saturating_mul(u64::from(most)));
        }
    }
    hard.insert("pods".into(), Value::from(pods.to_string()));
    if claims > 0 {
        hard.insert(
            "persistentvolumeclaims".into(),
            Value::from(claims.to_string()),
        );
        hard.insert(
            "requests.storage".into(),
            Value::from(format_memory(storage)),
        );
    }
    object([
        ("apiVersion", Value::from("v1")),
        ("kind", Value::from("ResourceQuota")),
        ("metadata", metadata(env, NAME, true)),
        ("spec", object([("hard", Value::Object(hard))])),
    ])
}

/// Defaults for containers that set no requests or limits (the catalogue's `defaults`), and
/// maxima no container of the platform exceeds.
pub fn limit_range(env: &ResolvedEnvironment) -> Value {
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
    if let Some(max) = maxima(env) {
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

/// The largest CPU and memory limit of any container the namespace runs. `None` in an Istio
/// namespace whose proxy limits are unknown: the injected sidecar sets its own, and a maximum
/// below them would refuse every pod.
fn maxima(env: &ResolvedEnvironment) -> Option<Value> {
    let (_, proxy_limits) = env.settings.pod_overhead;
    if env.settings.istio.enabled && proxy_limits.cpu.is_none() && proxy_limits.memory.is_none() {
        return None;
    }
    let largest = |pick: fn(&crate::catalogue::resolve::Amount) -> Option<u64>| {
        env.services
            .iter()
            .filter_map(|s| pick(&s.limits))
            .chain(pick(&proxy_limits))
            .max()
    };
    let mut m = Map::new();
    if let Some(cpu) = largest(|a| a.cpu) {
        m.insert("cpu".into(), Value::from(format_cpu(cpu)));
    }
    if let Some(memory) = largest(|a| a.memory) {
        m.insert("memory".into(), Value::from(format_memory(memory)));
    }
    (!m.is_empty()).then_some(Value::Object(m))
}
