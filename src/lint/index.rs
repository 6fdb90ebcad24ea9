//! Indexes over one environment's manifests, built once so every rule stays linear.

use crate::lint::fxhash::{map_with_capacity, FxHashMap};
use crate::manifest::containers::{self, Container};
use crate::manifest::{at, pod_template, Field, Manifest};
use crate::vocabulary::annotation;
use serde_json::{Map, Value};
use std::sync::OnceLock;

/// What rules ask of a manifest again and again, read once. Manifests are large trees spread
/// over the heap, so each walk down to a field costs a hash and a few cache misses per level;
/// rules that cross-reference manifests (selectors, namespaces) would pay it per comparison.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'m> {
    /// API group: `apps` of `apps/v1`, empty for the core group (`v1`).
    pub group: &'m str,
    pub kind: &'m str,
    pub name: &'m str,
    /// The namespace the resource lands in, as kubectl applies it (see [`Placement`]); `None`
    /// for a cluster-scoped kind.
    pub namespace: Option<&'m str>,
    /// As [`Manifest::pod_spec`]: `Some` exactly for workloads.
    pub pod_spec: Option<(&'m Value, &'static str)>,
    /// As [`Manifest::pod`]'s labels, for workloads only.
    pub pod_labels: Option<&'m Map<String, Value>>,
    /// A Helm test hook (`helm.sh/hook: test`): a pod `helm test` runs once to completion, not a
    /// service, so what long-running workloads need (probes, a share of capacity) does not apply.
    pub helm_test: bool,
}

/// Where manifests without `metadata.namespace` land: kubectl puts them in the namespace of its
/// context (`default`, or `--namespace`), and a kustomization's `namespace:` replaces every
/// resource's own.
#[derive(Debug, Clone, Copy)]
pub struct Placement<'a> {
    pub default: &'a str,
    /// Per manifest (when not empty), the namespace a kustomization forces on it.
    pub forced: &'a [Option<&'a str>],
}

/// The namespace kubectl applies to when none is given.
pub const DEFAULT_NAMESPACE: &str = "default";

impl Default for Placement<'_> {
    fn default() -> Self {
        Placement {
            default: DEFAULT_NAMESPACE,
            forced: &[],
        }
    }
}

/// Kinds that belong to no namespace (the built-in ones a GitOps repository commonly holds, and
/// the cluster-wide kinds of cert-manager and Gatekeeper); any other kind is taken as namespaced,
/// as custom resources mostly are. A `match`, so the common kinds cost a length comparison.
pub fn is_cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "APIService"
            | "CSIDriver"
            | "CertificateSigningRequest"
            | "ClusterIssuer"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "ConstraintTemplate"
            | "CustomResourceDefinition"
            | "IngressClass"
            | "MutatingWebhookConfiguration"
            | "Namespace"
            | "Node"
            | "PersistentVolume"
            | "PriorityClass"
            | "RuntimeClass"
            | "StorageClass"
            | "ValidatingAdmissionPolicy"
            | "ValidatingAdmissionPolicyBinding"
            | "ValidatingWebhookConfiguration"
            | "VolumeAttachment"
    )
}

/// `apps` of `apps/v1`; the core group (`v1`) is empty.
pub fn api_group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// Whether `helm.sh/hook` lists a test hook (`test`, or Helm 2's `test-success`/`test-failure`).
fn is_helm_test(annotations: Option<&Value>) -> bool {
    annotations
        .and_then(|a| a.field(annotation::HELM_HOOK))
        .and_then(Value::as_str)
        .is_some_and(|hooks| {
            hooks
                .split(',')
                .any(|h| matches!(h.trim(), "test" | "test-success" | "test-failure"))
        })
}

impl<'m> Facts<'m> {
    /// As the [`Manifest`] accessors answer, with `kind` and `metadata` read once for all, and
    /// the namespace as placed.
    fn of(m: &'m Manifest, forced: Option<&'m str>, default: &'m str) -> Facts<'m> {
        let v = &m.value;
        let kind = v.field("kind").and_then(Value::as_str).unwrap_or("");
        let api_version = v.field("apiVersion").and_then(Value::as_str).unwrap_or("");
        let metadata = v.field("metadata");
        let meta = |key: &str| {
            metadata
                .and_then(|md| md.field(key))
                .and_then(Value::as_str)
        };
        let pod = pod_template(v, kind);
        let namespace = if is_cluster_scoped(kind) {
            None
        } else {
            Some(
                forced
                    .or_else(|| meta("namespace").filter(|ns| !ns.is_empty()))
                    .unwrap_or(default),
            )
        };
        Facts {
            group: api_group(api_version),
            kind,
            name: meta("name").unwrap_or(""),
            namespace,
            pod_spec: pod.map(|p| (p.spec, p.pointer)),
            pod_labels: pod.and_then(|p| p.labels),
            helm_test: pod.is_some()
                && is_helm_test(metadata.and_then(|md| md.field("annotations"))),
        }
    }
}

/// Keys borrow from the manifests, so building the index copies no string.
#[derive(Debug, Default)]
pub struct Index<'m> {
    /// Per manifest, in manifest order.
    facts: Vec<Facts<'m>>,
    by_kind: FxHashMap<&'m str, Vec<usize>>,
    /// A resource's identity, (group, kind, namespace or "" when cluster-scoped, name) -> the
    /// first manifest with it.
    by_identity: FxHashMap<(&'m str, &'m str, &'m str, &'m str), usize>,
    /// Workloads (anything with a pod template), in manifest order.
    pub workloads: Vec<usize>,
    /// Per manifest, its pod's containers as read once (empty for anything but a workload).
    containers: Vec<Vec<Container<'m>>>,
    /// Namespace -> its workloads, in manifest order.
    workloads_by_namespace: FxHashMap<&'m str, Vec<usize>>,
    /// (label key, value) -> workloads whose pods carry that label.
    pod_label: FxHashMap<(&'m str, &'m str), Vec<usize>>,
    /// (namespace, target kind, target name) -> HorizontalPodAutoscaler.
    hpa_for: FxHashMap<(&'m str, &'m str, &'m str), usize>,
    /// Per manifest, the workloads its own selector picks, once a rule asked (see
    /// [`Index::service_pods`], [`Index::policy_pods`]).
    selections: Vec<OnceLock<Option<Vec<usize>>>>,
    manifests: &'m [Manifest],
}

impl<'m> Index<'m> {
    /// The index of manifests applied with kubectl's defaults (see [`Placement`]).
    pub fn build(manifests: &'m [Manifest]) -> Index<'m> {
        Index::build_placed(manifests, Placement::default())
    }

    pub fn build_placed(manifests: &'m [Manifest], placement: Placement<'m>) -> Index<'m> {
        // Sized up front: growing a map of every manifest rehashes all its keys each time.
        let mut ix = Index {
            facts: Vec::with_capacity(manifests.len()),
            containers: Vec::with_capacity(manifests.len()),
            selections: (0..manifests.len()).map(|_| OnceLock::new()).collect(),
            by_identity: map_with_capacity(manifests.len()),
            manifests,
            ..Index::default()
        };
        for (i, m) in manifests.iter().enumerate() {
            let forced = placement.forced.get(i).copied().flatten();
            let f = Facts::of(m, forced, placement.default);
            ix.facts.push(f);
            ix.containers.push(
                f.pod_spec
                    .map_or_else(Vec::new, |(pod, _)| containers::read(pod)),
            );
            ix.by_kind.entry(f.kind).or_default().push(i);
            ix.by_identity
                .entry((f.group, f.kind, f.namespace.unwrap_or(""), f.name))
                .or_insert(i);
            if f.pod_spec.is_some() {
                ix.workloads.push(i);
                ix.workloads_by_namespace
                    .entry(f.namespace.unwrap_or(""))
                    .or_default()
                    .push(i);
                for (k, v) in f.pod_labels.into_iter().flatten() {
                    if let Some(v) = v.as_str() {
                        ix.pod_label.entry((k.as_str(), v)).or_default().push(i);
                    }
                }
            }
            if f.kind == "HorizontalPodAutoscaler" {
                let target = |key: &str| {
                    at(&m.value, &["spec", "scaleTargetRef", key])
                        .and_then(Value::as_str)
                        .unwrap_or("")
                };
                ix.hpa_for.insert(
                    (f.namespace.unwrap_or(""), target("kind"), target("name")),
                    i,
                );
            }
        }
        ix
    }

    /// What the index read of manifest `i`.
    pub fn facts(&self, i: usize) -> &Facts<'m> {
        &self.facts[i]
    }

    pub fn namespace(&self, i: usize) -> Option<&'m str> {
        self.facts[i].namespace
    }

    /// The pod spec of workload `i` and its pointer, as [`Manifest::pod_spec`].
    pub fn pod_spec(&self, i: usize) -> Option<(&'m Value, &'static str)> {
        self.facts[i].pod_spec
    }

    /// The containers of workload `i`'s pods (`spec.containers`), with their ports, probes and
    /// resources read once for every rule; empty for anything but a workload.
    pub fn containers(&self, i: usize) -> &[Container<'m>] {
        &self.containers[i]
    }

    /// The labels of workload `i`'s pods, as [`Manifest::pod`] reads them.
    pub fn pod_labels(&self, i: usize) -> Option<&'m Map<String, Value>> {
        self.facts[i].pod_labels
    }

    /// Workloads in `namespace`; with `None` (a cluster-scoped resource asking), every workload.
    pub fn workloads_in(&self, namespace: Option<&str>) -> Vec<usize> {
        match namespace {
            None => self.workloads.clone(),
            Some(ns) => self
                .workloads_by_namespace
                .get(ns)
                .cloned()
                .unwrap_or_default(),
        }
    }

    pub fn has_workloads_in(&self, namespace: Option<&str>) -> bool {
        match namespace {
            None => !self.workloads.is_empty(),
            Some(ns) => self
                .workloads_by_namespace
                .get(ns)
                .is_some_and(|v| !v.is_empty()),
        }
    }

    pub fn of_kind(&self, kind: &str) -> &[usize] {
        self.by_kind.get(kind).map_or(&[], Vec::as_slice)
    }

    /// The resource with this identity: API group (empty for the core group), kind, namespace
    /// (`None` for a cluster-scoped kind) and name.
    pub fn find(
        &self,
        group: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<usize> {
        self.by_identity
            .get(&(group, kind, namespace.unwrap_or(""), name))
            .copied()
    }

    /// The HorizontalPodAutoscaler in `namespace` that scales `kind`/`name`.
    pub fn hpa_for(&self, namespace: Option<&str>, kind: &str, name: &str) -> Option<usize> {
        self.hpa_for
            .get(&(namespace.unwrap_or(""), kind, name))
            .copied()
    }

    /// Workloads whose pod labels satisfy every pair of `selector` (an empty selector selects none,
    /// as a Service without selector manages its endpoints by hand).
    pub fn select(&self, selector: &Map<String, Value>) -> Vec<usize> {
        self.select_all(selector)
    }

    /// [`Index::select`] over pairs from several maps; a pair may repeat.
    pub fn select_all<'s>(
        &self,
        pairs: impl IntoIterator<Item = (&'s String, &'s Value)>,
    ) -> Vec<usize> {
        let mut lists: Vec<&[usize]> = Vec::new();
        for (k, v) in pairs {
            let Some(v) = v.as_str() else {
                return Vec::new();
            };
            match self.pod_label.get(&(k.as_str(), v)) {
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

    /// [`Index::select`], keeping the workloads that can share `namespace` (see
    /// [`same_namespace`]). For a Service's `spec.selector`, this is what
    /// [`Index::select_pods`] answers for `{ matchLabels: selector }` when it is not empty.
    pub fn select_in(&self, selector: &Map<String, Value>, namespace: Option<&str>) -> Vec<usize> {
        let mut pods = self.select(selector);
        self.keep_in(&mut pods, namespace);
        pods
    }

    /// The workloads of its namespace Service `i` selects (`spec.selector`,
    /// [`Index::select_in`]), worked out once for all the rules that ask.
    pub fn service_pods(&self, i: usize) -> &[usize] {
        self.remembered(i, || {
            let selector =
                at(&self.manifests[i].value, &["spec", "selector"]).and_then(Value::as_object)?;
            Some(self.select_in(selector, self.namespace(i)))
        })
        .unwrap_or(&[])
    }

    /// The workloads policy `i` applies to in its namespace ([`Index::select_pods`] of a
    /// NetworkPolicy's `spec.podSelector`, of anything else's `spec.selector`; without one, every
    /// workload there), worked out once for all the rules that ask. `None` for a selector
    /// shipshape cannot evaluate.
    pub fn policy_pods(&self, i: usize) -> Option<&[usize]> {
        self.remembered(i, || {
            let field = match self.facts[i].kind {
                "NetworkPolicy" => "podSelector",
                _ => "selector",
            };
            let selector = at(&self.manifests[i].value, &["spec", field]).unwrap_or(&Value::Null);
            self.select_pods(selector, self.namespace(i))
        })
    }

    /// What `select` answers for manifest `i`. Rules run side by side and several select the pods
    /// of the same Services and policies; the selector is read from the manifest here, not passed
    /// in, so every rule gets the answer for the same question.
    fn remembered(
        &self,
        i: usize,
        select: impl FnOnce() -> Option<Vec<usize>>,
    ) -> Option<&[usize]> {
        let cell = &self.selections[i];
        if cell.get().is_none() {
            // Not `get_or_init`: a rule that meets another on the same manifest works out the same
            // answer rather than wait for it.
            let _ = cell.set(select());
        }
        cell.get().and_then(Option::as_deref)
    }

    /// Drops the workloads that cannot share `namespace`.
    pub fn keep_in(&self, workloads: &mut Vec<usize>, namespace: Option<&str>) {
        workloads.retain(|&i| same_namespace(self.facts[i].namespace, namespace));
    }
}

/// Whether two resources can meet in one namespace: their namespaces as placed are the same, or
/// one of them is cluster-scoped.
pub fn same_namespace(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

/// A label selector selects nothing in particular: `{}`, or only empty `matchLabels` and
/// `matchExpressions`. In a NetworkPolicy or an Istio policy that means every pod.
pub fn selects_everything(selector: &Value) -> bool {
    let empty = |key: &str| match selector.field(key) {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(_) => false,
    };
    selector.is_object() && empty("matchLabels") && empty("matchExpressions")
}

impl Index<'_> {
    /// Workloads whose pods a Kubernetes label selector (`matchLabels` and `matchExpressions`)
    /// picks in `namespace`, in manifest order. Unlike [`Index::select`], an empty selector picks
    /// every pod, as a NetworkPolicy's `podSelector: {}` does. `None` when the selector is not
    /// one Kubernetes would accept (an unknown operator, a non-string value): rules then say
    /// nothing rather than guess.
    pub fn select_pods(&self, selector: &Value, namespace: Option<&str>) -> Option<Vec<usize>> {
        let labels = match selector.field("matchLabels") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(m),
            Some(_) => return None,
        };
        if labels.is_some_and(|l| l.values().any(|v| !v.is_string())) {
            return None;
        }
        let expressions = match selector.field("matchExpressions") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(a)) => a.as_slice(),
            Some(_) => return None,
        };
        let requirements = expressions
            .iter()
            .map(Requirement::parse)
            .collect::<Option<Vec<_>>>()?;
        let mut pods = match labels {
            Some(l) if !l.is_empty() => self.select(l),
            _ => self.workloads.clone(),
        };
        self.keep_in(&mut pods, namespace);
        pods.retain(|&i| {
            let labels = self.facts[i].pod_labels;
            requirements.iter().all(|r| r.matches(labels))
        });
        Some(pods)
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
        let key = e.field("key").and_then(Value::as_str)?;
        let operator = match e.field("operator").and_then(Value::as_str)? {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            _ => return None,
        };
        let values = match e.field("values") {
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
        let value = labels
            .and_then(|l| l.field(self.key))
            .and_then(Value::as_str);
        match self.operator {
            Operator::In => value.is_some_and(|v| self.values.contains(&v)),
            Operator::NotIn => value.is_none_or(|v| !self.values.contains(&v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::ManifestOrigin;

    fn deployment(name: &str, namespace: Option<&str>) -> Manifest {
        let mut metadata = serde_json::json!({ "name": name });
        if let Some(ns) = namespace {
            metadata["namespace"] = ns.into();
        }
        Manifest {
            value: serde_json::json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": metadata,
                "spec": { "template": { "metadata": { "labels": { "app": "x" } }, "spec": {} } },
            }),
            origin: ManifestOrigin::Rendered {
                service: None,
                file: "test.yaml".into(),
                template: None,
                patches: None,
            },
        }
    }

    #[test]
    fn facts_agree_with_the_manifest_accessors() {
        let pod = |kind: &str, spec: Value| Manifest {
            value: serde_json::json!({
                "kind": kind,
                "metadata": { "name": "n", "namespace": "ns", "labels": { "own": "1" } },
                "spec": spec,
            }),
            origin: ManifestOrigin::Rendered {
                service: None,
                file: "test.yaml".into(),
                template: None,
                patches: None,
            },
        };
        let template = serde_json::json!({ "metadata": { "labels": { "app": "x" } }, "spec": {} });
        let manifests = [
            pod("Pod", serde_json::json!({ "containers": [] })),
            pod("Deployment", serde_json::json!({ "template": template })),
            pod("Job", serde_json::json!({ "template": { "spec": {} } })),
            pod(
                "StatefulSet",
                serde_json::json!({ "template": { "metadata": {} } }),
            ),
            pod(
                "CronJob",
                serde_json::json!({ "jobTemplate": { "spec": { "template": template } } }),
            ),
            pod("Service", serde_json::json!({ "template": template })),
            deployment("unset", None),
        ];
        for m in &manifests {
            let f = Facts::of(m, None, "default");
            assert_eq!(f.kind, m.kind());
            assert_eq!(f.name, m.name());
            assert_eq!(f.namespace, m.namespace().or(Some("default")));
            assert_eq!(f.pod_spec, m.pod_spec());
            assert_eq!(f.pod_labels, m.pod().and_then(|p| p.labels));
        }
    }

    #[test]
    fn a_manifest_without_namespace_is_in_the_default_one() {
        let manifests = [
            deployment("empty", Some("")),
            deployment("unset", None),
            deployment("a", Some("a")),
            deployment("b", Some("b")),
        ];
        let ix = Index::build(&manifests);
        assert_eq!(ix.namespace(0), Some("default"));
        assert_eq!(ix.namespace(1), Some("default"));
        // Both ways of asking agree: what shares namespace `a`, and what `default`.
        assert_eq!(ix.workloads_in(Some("a")), vec![2]);
        assert_eq!(ix.workloads_in(Some("default")), vec![0, 1]);
        let selector: Map<String, Value> =
            [("app".to_owned(), Value::from("x"))].into_iter().collect();
        assert_eq!(ix.select_in(&selector, Some("a")), vec![2]);
        assert_eq!(ix.select_in(&selector, Some("default")), vec![0, 1]);
        assert!(!ix.has_workloads_in(Some("c")));
        assert_eq!(ix.find("apps", "Deployment", Some("b"), "b"), Some(3));
        assert_eq!(ix.find("apps", "Deployment", Some("a"), "b"), None);
    }

    #[test]
    fn a_placement_decides_where_manifests_without_namespace_go() {
        let manifests = [
            deployment("unset", None),
            deployment("own", Some("own")),
            deployment("forced", Some("own")),
        ];
        let forced = [None, None, Some("kustomized")];
        let ix = Index::build_placed(
            &manifests,
            Placement {
                default: "team",
                forced: &forced,
            },
        );
        assert_eq!(ix.namespace(0), Some("team"));
        assert_eq!(ix.namespace(1), Some("own"));
        assert_eq!(ix.namespace(2), Some("kustomized"));
    }

    #[test]
    fn cluster_scoped_kinds_have_no_namespace() {
        let mut ns = deployment("n", Some("ignored"));
        ns.value["kind"] = "Namespace".into();
        ns.value["apiVersion"] = "v1".into();
        let manifests = [ns];
        let ix = Index::build(&manifests);
        assert_eq!(ix.namespace(0), None);
        assert_eq!(ix.find("", "Namespace", None, "n"), Some(0));
    }

    #[test]
    fn a_service_selects_pods_of_its_own_namespace_only() {
        let mut svc = deployment("svc", Some("a"));
        svc.value["kind"] = "Service".into();
        svc.value["apiVersion"] = "v1".into();
        svc.value["spec"] = serde_json::json!({ "selector": { "app": "x" } });
        let manifests = [
            deployment("in-a", Some("a")),
            deployment("in-b", Some("b")),
            svc,
        ];
        let ix = Index::build(&manifests);
        assert_eq!(ix.service_pods(2), &[0]);
    }

    #[test]
    fn a_workload_s_containers_are_read_once_for_every_rule() {
        let mut d = deployment("d", None);
        d.value["spec"]["template"]["spec"] = serde_json::json!({ "containers": [
            { "name": "a", "ports": [{ "containerPort": 80 }] },
            { "name": "b" },
        ]});
        let mut svc = deployment("svc", None);
        svc.value["kind"] = "Service".into();
        let manifests = [d, svc];
        let ix = Index::build(&manifests);
        let containers = ix.containers(0);
        let names: Vec<_> = containers.iter().map(|c| c.name).collect();
        assert_eq!(names, [Some("a"), Some("b")]);
        assert_eq!(containers[0].ports[0].number, Some(80));
        assert!(ix.containers(1).is_empty(), "a Service has no containers");
    }

    #[test]
    fn helm_test_hooks_are_marked() {
        let mut hook = deployment("t", None);
        hook.value["metadata"]["annotations"] =
            serde_json::json!({ "helm.sh/hook": "pre-install, test" });
        let manifests = [hook, deployment("d", None)];
        let ix = Index::build(&manifests);
        assert!(ix.facts(0).helm_test);
        assert!(!ix.facts(1).helm_test);
    }
}
