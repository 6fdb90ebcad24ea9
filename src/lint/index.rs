//! Indexes over one environment's manifests, built once so every rule stays linear.

use crate::manifest::Manifest;
use serde_json::{Map, Value};
use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct Index {
    by_kind: HashMap<String, Vec<usize>>,
    by_kind_name: HashMap<(String, String), usize>,
    /// Workloads (anything with a pod template), in manifest order.
    pub workloads: Vec<usize>,
    /// Namespace ("" when unset) -> its workloads, in manifest order.
    workloads_by_namespace: HashMap<String, Vec<usize>>,
    /// (label key, value) -> workloads whose pods carry that label.
    pod_label: HashMap<(String, String), Vec<usize>>,
    /// (target kind, target name) -> HorizontalPodAutoscaler.
    hpa_for: HashMap<(String, String), usize>,
}

impl Index {
    pub fn build(manifests: &[Manifest]) -> Index {
        let mut ix = Index::default();
        for (i, m) in manifests.iter().enumerate() {
            ix.by_kind.entry(m.kind().to_owned()).or_default().push(i);
            ix.by_kind_name
                .entry((m.kind().to_owned(), m.name().to_owned()))
                .or_insert(i);
            if m.is_workload() {
                ix.workloads.push(i);
                ix.workloads_by_namespace
                    .entry(m.namespace().unwrap_or("").to_owned())
                    .or_default()
                    .push(i);
                if let Some(labels) = m.pod_labels() {
                    for (k, v) in labels {
                        if let Some(v) = v.as_str() {
                            ix.pod_label
                                .entry((k.clone(), v.to_owned()))
                                .or_default()
                                .push(i);
                        }
                    }
                }
            }
            if m.kind() == "HorizontalPodAutoscaler" {
                let target = |key: &str| {
                    m.value
                        .pointer(&format!("/spec/scaleTargetRef/{key}"))
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned()
                };
                ix.hpa_for.insert((target("kind"), target("name")), i);
            }
        }
        ix
    }

    /// Workloads in `namespace`; with `None`, every workload (a manifest without a namespace goes
    /// wherever it is applied, so it may meet any of them).
    pub fn workloads_in(&self, namespace: Option<&str>) -> Vec<usize> {
        match namespace {
            None => self.workloads.clone(),
            Some(ns) => {
                let mut v = self
                    .workloads_by_namespace
                    .get(ns)
                    .cloned()
                    .unwrap_or_default();
                if ns.is_empty() {
                    return v;
                }
                if let Some(unset) = self.workloads_by_namespace.get("") {
                    v.extend(unset);
                    v.sort_unstable();
                }
                v
            }
        }
    }

    pub fn has_workloads_in(&self, namespace: Option<&str>) -> bool {
        match namespace {
            None => !self.workloads.is_empty(),
            Some(ns) => {
                self.workloads_by_namespace
                    .get(ns)
                    .is_some_and(|v| !v.is_empty())
                    || self
                        .workloads_by_namespace
                        .get("")
                        .is_some_and(|v| !v.is_empty())
            }
        }
    }

    pub fn of_kind(&self, kind: &str) -> &[usize] {
        self.by_kind.get(kind).map_or(&[], Vec::as_slice)
    }

    pub fn named(&self, kind: &str, name: &str) -> Option<usize> {
        self.by_kind_name
            .get(&(kind.to_owned(), name.to_owned()))
            .copied()
    }

    /// The workload with this name, whatever its kind.
    pub fn workload_named(&self, manifests: &[Manifest], name: &str) -> Option<usize> {
        self.workloads
            .iter()
            .copied()
            .find(|&i| manifests[i].name() == name)
    }

    pub fn hpa_for(&self, kind: &str, name: &str) -> Option<usize> {
        self.hpa_for
            .get(&(kind.to_owned(), name.to_owned()))
            .copied()
    }

    /// Workloads whose pod labels satisfy every pair of `selector` (an empty selector selects none,
    /// as a Service without selector manages its endpoints by hand).
    pub fn select(&self, selector: &Map<String, Value>) -> Vec<usize> {
        let mut lists: Vec<&Vec<usize>> = Vec::new();
        for (k, v) in selector {
            let Some(v) = v.as_str() else {
                return Vec::new();
            };
            match self.pod_label.get(&(k.clone(), v.to_owned())) {
                Some(list) => lists.push(list),
                None => return Vec::new(),
            }
        }
        lists.sort_by_key(|l| l.len());
        let Some((first, rest)) = lists.split_first() else {
            return Vec::new();
        };
        first
            .iter()
            .copied()
            .filter(|i| rest.iter().all(|l| l.binary_search(i).is_ok()))
            .collect()
    }
}

/// Whether two manifests can be in one namespace: a manifest without `metadata.namespace` lands
/// in whichever namespace it is applied to, so it is taken to match any.
pub fn same_namespace(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

/// A label selector selects nothing in particular: `{}`, or only empty `matchLabels` and
/// `matchExpressions`. In a NetworkPolicy or an Istio policy that means every pod.
pub fn selects_everything(selector: &Value) -> bool {
    let empty = |key: &str| match selector.get(key) {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(_) => false,
    };
    selector.is_object() && empty("matchLabels") && empty("matchExpressions")
}

impl Index {
    /// Workloads whose pods a Kubernetes label selector (`matchLabels` and `matchExpressions`)
    /// picks in `namespace`, in manifest order. Unlike [`Index::select`], an empty selector picks
    /// every pod, as a NetworkPolicy's `podSelector: {}` does. `None` when the selector is not
    /// one Kubernetes would accept (an unknown operator, a non-string value): rules then say
    /// nothing rather than guess.
    pub fn select_pods(
        &self,
        manifests: &[Manifest],
        selector: &Value,
        namespace: Option<&str>,
    ) -> Option<Vec<usize>> {
        let labels = match selector.get("matchLabels") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return None,
        };
        if labels.values().any(|v| !v.is_string()) {
            return None;
        }
        let expressions = match selector.get("matchExpressions") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(a)) => a.as_slice(),
            Some(_) => return None,
        };
        let mut requirements = Vec::with_capacity(expressions.len());
        for e in expressions {
            requirements.push(Requirement::parse(e)?);
        }
        let candidates = if labels.is_empty() {
            self.workloads.clone()
        } else {
            self.select(&labels)
        };
        Some(
            candidates
                .into_iter()
                .filter(|&i| same_namespace(manifests[i].namespace(), namespace))
                .filter(|&i| {
                    let pod = manifests[i].pod_labels();
                    requirements.iter().all(|r| r.matches(pod))
                })
                .collect(),
        )
    }
}

/// One `matchExpressions` entry.
struct Requirement<'a> {
    key: &'a str,
    operator: Operator,
    values: Vec<&'a str>,
}

enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl<'a> Requirement<'a> {
    fn parse(e: &'a Value) -> Option<Requirement<'a>> {
        let key = e.get("key").and_then(Value::as_str)?;
        let operator = match e.get("operator").and_then(Value::as_str)? {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            _ => return None,
        };
        let values = match e.get("values") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a.iter().map(Value::as_str).collect::<Option<Vec<&str>>>()?,
            Some(_) => return None,
        };
        Some(Requirement {
            key,
            operator,
            values,
        })
    }

    fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        let value = labels.and_then(|l| l.get(self.key)).and_then(Value::as_str);
        match self.operator {
            Operator::In => value.is_some_and(|v| self.values.contains(&v)),
            Operator::NotIn => value.is_none_or(|v| !self.values.contains(&v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
        }
    }
}
