//! The Kubernetes objects on each side of a drifted file, by `Kind/name`, and what a change does
//! to them: added, changed or removed, its sync wave, its requests, the calls its policies allow.
//! Read from the rendered text on disk (the base) and the text rendered now, so the pull-request
//! plan needs nothing but the two trees.

use crate::catalogue::quantity::{parse_cpu, parse_memory};
use crate::output::Drift;
use crate::plan::Usage;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Change {
    Added,
    Changed,
    Removed,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Changed => "changed",
            Change::Removed => "removed",
        }
    }
}

/// The objects of one file, by `Kind/name`. A file that does not read as YAML has none: the
/// line diff still shows it.
pub fn objects(text: &str) -> BTreeMap<String, Value> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).unwrap_or_default();
    docs.into_iter()
        .filter(Value::is_object)
        .map(|d| {
            let kind = d.get("kind").and_then(Value::as_str).unwrap_or("?");
            let name = d
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("?");
            (format!("{kind}/{name}"), d)
        })
        .collect()
}

/// Both sides of one drifted file.
pub struct Sides<'a> {
    pub drift: &'a Drift,
    pub old: BTreeMap<String, Value>,
    pub new: BTreeMap<String, Value>,
}

impl<'a> Sides<'a> {
    pub fn of(drift: &'a Drift) -> Sides<'a> {
        Sides {
            drift,
            old: objects(&drift.old),
            new: objects(&drift.new),
        }
    }

    /// Object-level changes, sorted by `Kind/name`.
    pub fn changes(&self) -> Vec<(String, Change)> {
        let mut out = Vec::new();
        for (id, v) in &self.new {
            match self.old.get(id) {
                None => out.push((id.clone(), Change::Added)),
                Some(o) if o != v => out.push((id.clone(), Change::Changed)),
                Some(_) => {}
            }
        }
        for id in self.old.keys().filter(|id| !self.new.contains_key(*id)) {
            out.push((id.clone(), Change::Removed));
        }
        out.sort();
        out
    }
}

use crate::vocabulary::annotation::{PHASE, SYNC_WAVE};
const WORKLOADS: [&str; 5] = ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"];

fn is_workload(o: &Value) -> bool {
    o.get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| WORKLOADS.contains(&k))
}

fn annotation<'v>(o: &'v Value, name: &str) -> Option<&'v str> {
    o.pointer("/metadata/annotations")?.get(name)?.as_str()
}

/// The sync wave of a workload whose wave the change moves: `(Kind/name, before, after)`, a
/// side being `None` where the workload is not there (or has no wave).
pub fn wave_moves(sides: &Sides<'_>) -> Vec<(String, Option<String>, Option<String>)> {
    let ids: BTreeSet<&String> = sides.old.keys().chain(sides.new.keys()).collect();
    ids.into_iter()
        .filter_map(|id| {
            let old = sides.old.get(id).filter(|o| is_workload(o));
            let new = sides.new.get(id).filter(|o| is_workload(o));
            if old.is_none() && new.is_none() {
                return None;
            }
            let wave =
                |o: Option<&Value>| o.and_then(|o| annotation(o, SYNC_WAVE)).map(str::to_owned);
            let (before, after) = (wave(old), wave(new));
            (before != after).then(|| (id.clone(), before, after))
        })
        .collect()
}

/// What the workloads of one side of a file request, by phase (`shipshape.dev/phase`; empty
/// when the workload names none): per-pod requests of every container times the replicas that
/// start (`spec.replicas`, else the minimum of an HPA scaling it, else 1), as `shipshape plan`
/// counts them.
pub fn requests_by_phase(objects: &BTreeMap<String, Value>) -> BTreeMap<String, Usage> {
    let mut out: BTreeMap<String, Usage> = BTreeMap::new();
    for (id, o) in objects.iter().filter(|(_, o)| is_workload(o)) {
        let name = id.split_once('/').map_or("", |(_, n)| n);
        let replicas = o
            .pointer("/spec/replicas")
            .and_then(Value::as_u64)
            .or_else(|| hpa_minimum(objects, name))
            .unwrap_or(1);
        let template = if o.get("kind").and_then(Value::as_str) == Some("CronJob") {
            "/spec/jobTemplate/spec/template/spec/containers"
        } else {
            "/spec/template/spec/containers"
        };
        let per_pod = o
            .pointer(template)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(container_requests)
            .fold(Usage::default(), Usage::plus);
        let phase = annotation(o, PHASE).unwrap_or_default().to_owned();
        let entry = out.entry(phase).or_default();
        *entry = entry.plus(per_pod.times(replicas));
    }
    out
}

fn hpa_minimum(objects: &BTreeMap<String, Value>, workload: &str) -> Option<u64> {
    objects
        .values()
        .filter(|o| o.get("kind").and_then(Value::as_str) == Some("HorizontalPodAutoscaler"))
        .find(|o| {
            o.pointer("/spec/scaleTargetRef/name")
                .and_then(Value::as_str)
                == Some(workload)
        })
        .map(|o| {
            o.pointer("/spec/minReplicas")
                .and_then(Value::as_u64)
                .unwrap_or(1)
        })
}

fn container_requests(c: &Value) -> Usage {
    let quantity = |name: &str| -> Option<String> {
        match c.pointer(&format!("/resources/requests/{name}"))? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    Usage {
        cpu: quantity("cpu")
            .and_then(|q| parse_cpu(&q).ok())
            .unwrap_or(0),
        memory: quantity("memory")
            .and_then(|q| parse_memory(&q).ok())
            .unwrap_or(0),
    }
}

/// The calls the NetworkPolicies and Istio AuthorizationPolicies of one side of a file allow,
/// each as one line (`` `web` → `api-gateway` TCP 9001 (NetworkPolicy ingress) ``). Selectors
/// are named by their `app.kubernetes.io/name` (or `app`) label, as shipshape renders them.
pub fn allowed_calls(objects: &BTreeMap<String, Value>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for o in objects.values() {
        let namespace = o.pointer("/metadata/namespace").and_then(Value::as_str);
        match o.get("kind").and_then(Value::as_str) {
            Some("NetworkPolicy") => network_policy_calls(o, &mut out),
            Some("AuthorizationPolicy") => authorization_calls(o, namespace, &mut out),
            _ => {}
        }
    }
    out
}

fn network_policy_calls(o: &Value, out: &mut BTreeSet<String>) {
    let target = pods(o.pointer("/spec/podSelector"));
    for (direction, peers_key) in [("ingress", "from"), ("egress", "to")] {
        for rule in o
            .pointer(&format!("/spec/{direction}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let ports = ports(rule.get("ports"));
            let peers: Vec<String> = match rule.get(peers_key).and_then(Value::as_array) {
                Some(peers) if !peers.is_empty() => peers.iter().map(peer).collect(),
                _ => vec!["anyone".to_owned()],
            };
            for p in peers {
                let (from, to) = if direction == "ingress" {
                    (p.as_str(), target.as_str())
                } else {
                    (target.as_str(), p.as_str())
                };
                out.insert(format!("{from} → {to}{ports} (NetworkPolicy {direction})"));
            }
        }
    }
}

fn authorization_calls(o: &Value, namespace: Option<&str>, out: &mut BTreeSet<String>) {
    let target = pods(o.pointer("/spec/selector"));
    let action = o
        .pointer("/spec/action")
        .and_then(Value::as_str)
        .unwrap_or("ALLOW");
    for rule in o
        .pointer("/spec/rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let ports: Vec<&str> = rule
            .get("to")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| t.pointer("/operation/ports")?.as_array())
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let ports = if ports.is_empty() {
            String::new()
        } else {
            format!(" port {}", ports.join(", "))
        };
        let mut sources = Vec::new();
        for source in rule
            .get("from")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|f| f.get("source"))
        {
            for p in strings(source.get("principals")) {
                sources.push(principal(p, namespace));
            }
            for n in strings(source.get("namespaces")) {
                sources.push(format!("namespace `{n}`"));
            }
        }
        if sources.is_empty() {
            sources.push("anyone".to_owned());
        }
        for s in sources {
            out.insert(format!(
                "{s} → {target}{ports} (AuthorizationPolicy {action})"
            ));
        }
    }
}

fn strings(v: Option<&Value>) -> impl Iterator<Item = &str> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// `cluster.local/ns/NS/sa/NAME` as `` `NAME` `` (its namespace named when it is another).
fn principal(p: &str, namespace: Option<&str>) -> String {
    let parts: Vec<&str> = p.split('/').collect();
    match parts.as_slice() {
        [_, "ns", ns, "sa", sa] if Some(*ns) == namespace => format!("`{sa}`"),
        [_, "ns", ns, "sa", sa] => format!("`{sa}` in `{ns}`"),
        _ => format!("`{p}`"),
    }
}

/// The pods a selector picks, by name label: `` `api` ``, `every pod`, or its labels.
fn pods(selector: Option<&Value>) -> String {
    let labels = selector
        .and_then(|s| s.get("matchLabels"))
        .and_then(Value::as_object);
    let has_expressions = selector
        .and_then(|s| s.get("matchExpressions"))
        .and_then(Value::as_array)
        .is_some_and(|e| !e.is_empty());
    match labels {
        Some(l) if !l.is_empty() => {
            for key in [crate::vocabulary::label::NAME, "app"] {
                if let Some(name) = l.get(key).and_then(Value::as_str) {
                    return format!("`{name}`");
                }
            }
            let pairs: Vec<String> = l
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("?")))
                .collect();
            format!("pods `{}`", pairs.join(","))
        }
        _ if has_expressions => "pods matching expressions".to_owned(),
        _ => "every pod".to_owned(),
    }
}

fn peer(p: &Value) -> String {
    if let Some(cidr) = p.pointer("/ipBlock/cidr").and_then(Value::as_str) {
        return format!("`{cidr}`");
    }
    let namespaces = p.get("namespaceSelector").map(|ns| {
        match ns
            .pointer("/matchLabels/kubernetes.io~1metadata.name")
            .and_then(Value::as_str)
        {
            Some(name) => format!("namespace `{name}`"),
            None if ns.get("matchLabels").is_none() && ns.get("matchExpressions").is_none() => {
                "every namespace".to_owned()
            }
            None => "selected namespaces".to_owned(),
        }
    });
    match (p.get("podSelector"), namespaces) {
        (Some(s), Some(ns)) => format!("{} in {ns}", pods(Some(s))),
        (None, Some(ns)) => ns,
        (Some(s), None) => pods(Some(s)),
        (None, None) => "anyone".to_owned(),
    }
}

fn ports(v: Option<&Value>) -> String {
    let list: Vec<String> = v
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let protocol = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            let port = match p.get("port") {
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::String(s)) => s.clone(),
                _ => "any".to_owned(),
            };
            match p.get("endPort").and_then(Value::as_u64) {
                Some(end) => format!("{protocol} {port}-{end}"),
                None => format!("{protocol} {port}"),
            }
        })
        .collect();
    if list.is_empty() {
        String::new()
    } else {
        format!(" {}", list.join(", "))
    }
}
