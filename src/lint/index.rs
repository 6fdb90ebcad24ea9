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
