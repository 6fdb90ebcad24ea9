//! `pdb`: a PodDisruptionBudget protects pods that exist and still lets a node drain.

use crate::diagnostic::Severity;
use crate::example;
use crate::lint::index::api_group;
use crate::lint::rules::hpa::Autoscaler;
use crate::lint::{Code, LintContext, Rule, Sink};
use crate::manifest::{at, Field, Manifest};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

pub const RULE: Rule = Rule {
    id: "pdb",
    codes: &[
        &NEVER_EVICTS,
        &BLOCKS_DRAIN_AT_MIN,
        &SELECTS_NOTHING,
        &OVERLAPPING,
        &BOTH_BUDGETS,
    ],
    summary: "A PodDisruptionBudget that never allows an eviction (always, or at the HPA minimum), selects no pod, shares pods with another, or sets both budget amounts",
    doc: r#"## What it checks
Every PodDisruptionBudget (`policy/v1`), against the workloads its `spec.selector` picks in its
namespace:
- `maxUnavailable` is not `0` (or `0%`), and `minAvailable` is below the number of pods the
  workloads run. A workload runs `spec.replicas` pods (1 when unset); one an HPA scales runs
  between the HPA's `minReplicas` and `maxReplicas`. A budget that allows no eviction even at the
  most pods there can be is an error; one that allows none at the HPA's minimum only (where the
  workload sits whenever load is low) is a warning. Percentages round up, as the disruption
  controller rounds them (`minAvailable: 50%` of 3 pods is 2 pods). Workloads whose count depends on
  the cluster (DaemonSets, Jobs) are not counted: then only `maxUnavailable: 0` and
  `minAvailable: 100%` are judged.
- the selector matches the pods of at least one workload of its namespace (judged only when the
  linted manifests hold workloads of that namespace, as `policy-selector` does; a custom resource
  with a pod template, such as an Argo Rollout, whose labels the selector matches counts too). In `policy/v1` a
  budget without a selector selects no pod; `selector: {}` selects every pod of the namespace.
- no two budgets select the same workload's pods.
- the budget sets one of `minAvailable` and `maxUnavailable`, not both: the API server refuses a
  budget that sets both, so it is never created. Such a budget is reported for that alone; the
  other checks skip it (it protects no pod and overlaps no other budget, since it never exists).

A workload whose controller (`metadata.ownerReferences`) is among the linted manifests, as the
ReplicaSets and Pods of a `kubectl get -o yaml` dump are, is counted through that controller; a
Helm test hook is not counted.

shipshape itself renders a budget only for a service of two or more minimum replicas, with
`minAvailable` one below that minimum, so its own output allows one eviction at every size; these
findings come from patches, extra templates and manifests shipshape did not render.

## Why it matters
`kubectl drain` (and every node upgrade or autoscaler scale-down built on it) evicts pods through
the eviction API, which refuses any eviction a budget does not allow: a budget that never allows
one makes the drain hang until someone deletes it by hand. A budget that selects nothing protects
nothing, usually because of a label typo. And the eviction API refuses to evict a pod that two
budgets cover at all, so overlapping budgets block drains too.
"#,
    check,
};

pub static NEVER_EVICTS: Code = Code {
    id: "pdb/never-evicts",
    severity: Severity::Error,
    summary: "A PodDisruptionBudget allows no voluntary eviction (minAvailable at or above the replicas, or maxUnavailable 0), so node drains hang",
    bad: example!("pdb/fires/never-evicts.yaml"),
    good: example!("pdb/quiet/allows-one-eviction.yaml"),
};

pub static BLOCKS_DRAIN_AT_MIN: Code = Code {
    id: "pdb/blocks-drain-at-min",
    severity: Severity::Warning,
    summary: "A PodDisruptionBudget allows no eviction while the HPA runs the workload at its minReplicas",
    bad: example!("pdb/fires/blocks-drain-at-min.yaml"),
    good: example!("pdb/quiet/allows-one-eviction.yaml"),
};

pub static SELECTS_NOTHING: Code = Code {
    id: "pdb/selects-nothing",
    severity: Severity::Warning,
    summary: "A PodDisruptionBudget's selector matches no pod of its namespace",
    bad: example!("pdb/fires/selects-nothing.yaml"),
    good: example!("pdb/quiet/allows-one-eviction.yaml"),
};

pub static OVERLAPPING: Code = Code {
    id: "pdb/overlapping",
    severity: Severity::Warning,
    summary:
        "Two PodDisruptionBudgets select the same pods, which the eviction API refuses to evict",
    bad: example!("pdb/fires/overlapping.yaml"),
    good: example!("pdb/quiet/allows-one-eviction.yaml"),
};

pub static BOTH_BUDGETS: Code = Code {
    id: "pdb/both-budgets",
    severity: Severity::Error,
    summary: "A PodDisruptionBudget sets both minAvailable and maxUnavailable, which the API server refuses",
    bad: example!("pdb/fires/both-budgets.yaml"),
    good: example!("pdb/quiet/allows-one-eviction.yaml"),
};

/// `minAvailable` or `maxUnavailable`: a number of pods or a percentage of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Amount {
    Pods(u64),
    Percent(u64),
}

impl Amount {
    /// An int-or-string as the API reads it: an integer, or a string of digits ending in `%`.
    fn read(v: &Value) -> Option<Amount> {
        match v {
            Value::Number(n) => n.as_u64().map(Amount::Pods),
            Value::String(s) => s
                .strip_suffix('%')
                .and_then(|p| p.parse().ok())
                .map(Amount::Percent),
            _ => None,
        }
    }

    /// The number of pods out of `total`. The disruption controller scales both `minAvailable`
    /// and `maxUnavailable` percentages with rounding up (kubernetes
    /// pkg/controller/disruption/disruption.go, getExpectedPodCount:
    /// `intstr.GetScaledValueFromIntOrPercent(..., expectedCount, true)`), and the task page
    /// "Specifying a Disruption Budget for your Application" says so for minAvailable: 50% of 7
    /// pods is 4.
    fn of(self, total: u64) -> u64 {
        match self {
            Amount::Pods(n) => n,
            Amount::Percent(p) => (p.saturating_mul(total)).div_ceil(100),
        }
    }

    fn shown(self) -> String {
        match self {
            Amount::Pods(n) => n.to_string(),
            Amount::Percent(p) => format!("{p}%"),
        }
    }
}

/// How many pods the selected workloads run: at their fewest and at their most (the same unless
/// an HPA scales one), and the first HPA involved.
#[derive(Debug, Clone, Copy, Default)]
struct PodCount {
    min: u64,
    max: u64,
    hpa: Option<usize>,
}

/// The pods workload `wi` runs, or `None` when that depends on the cluster (a DaemonSet runs one
/// per node, a Job as many as it has work for) or is not a count.
fn pod_count(ctx: &LintContext, wi: usize) -> Option<PodCount> {
    let f = ctx.index.facts(wi);
    match f.kind {
        "Pod" => {
            return Some(PodCount {
                min: 1,
                max: 1,
                hpa: None,
            })
        }
        "Deployment" | "StatefulSet" | "ReplicaSet" => {}
        _ => return None,
    }
    if let Some(h) = ctx.index.hpa_for(f.namespace, f.kind, f.name) {
        let hpa = Autoscaler::read(ctx, h)?;
        let min = hpa.min?;
        let max = hpa.max.unwrap_or(min).max(min);
        return Some(PodCount {
            min,
            max,
            hpa: Some(h),
        });
    }
    let replicas = match at(&ctx.manifests[wi].value, &["spec", "replicas"]) {
        None | Some(Value::Null) => 1,
        Some(v) => v.as_u64()?,
    };
    Some(PodCount {
        min: replicas,
        max: replicas,
        hpa: None,
    })
}

/// A workload whose controller (`metadata.ownerReferences` with `controller: true`) is among the
/// linted manifests: its pods are that owner's pods (a Deployment's ReplicaSet, a ReplicaSet's
/// Pods in a `kubectl get -o yaml` dump), counted through the owner.
fn owned(ctx: &LintContext, wi: usize) -> bool {
    let refs = at(&ctx.manifests[wi].value, &["metadata", "ownerReferences"])
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    refs.iter().any(|r| {
        let field = |key: &str| r.field(key).and_then(Value::as_str);
        let (Some(api_version), Some(kind), Some(name)) =
            (field("apiVersion"), field("kind"), field("name"))
        else {
            return false;
        };
        r.field("controller").and_then(Value::as_bool) == Some(true)
            && ctx
                .index
                .find(api_group(api_version), kind, ctx.index.namespace(wi), name)
                .is_some()
    })
}

fn is_pdb(m: &Manifest) -> bool {
    api_group(m.api_version()) == "policy"
}

fn check(ctx: &LintContext, out: &mut Sink) {
    // Workload -> the budgets selecting it, in manifest order.
    let mut covering: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &pi in ctx.index.of_kind("PodDisruptionBudget") {
        let m = &ctx.manifests[pi];
        if !is_pdb(m) {
            continue;
        }
        if sets_both_budgets(m) {
            both_budgets(ctx, out, pi);
            continue;
        }
        let selected = selection(ctx, pi);
        if let Some(workloads) = &selected {
            for &w in workloads {
                covering.entry(w).or_default().push(pi);
            }
            if workloads.is_empty()
                && ctx.index.has_workloads_in(ctx.index.namespace(pi))
                && !custom_workload_matches(ctx, pi)
            {
                selects_nothing(ctx, out, pi);
            }
        }
        budget(ctx, out, pi, selected.as_deref());
    }
    overlapping(ctx, out, &covering);
}

/// The workloads budget `pi` covers, without those counted through an owner and Helm test hooks;
/// `None` for a selector shipshape cannot evaluate.
fn selection(ctx: &LintContext, pi: usize) -> Option<Vec<usize>> {
    // policy/v1: a null selector selects no pod (only policy/v1beta1 read it as every pod).
    let selected = match at(&ctx.manifests[pi].value, &["spec", "selector"]) {
        None | Some(Value::Null) => return Some(Vec::new()),
        Some(_) => ctx.index.policy_pods(pi)?,
    };
    Some(
        selected
            .iter()
            .copied()
            .filter(|&w| !owned(ctx, w) && !ctx.index.facts(w).helm_test)
            .collect(),
    )
}

/// Whether a manifest of a kind the index does not read pods from (an Argo Rollout, any custom
/// resource with a `spec.template`) carries pod labels budget `pi`'s `matchLabels` match in its
/// namespace: its pods may be what the budget is for. Read only for a budget that selects nothing.
fn custom_workload_matches(ctx: &LintContext, pi: usize) -> bool {
    let ns = ctx.index.namespace(pi);
    let wanted = at(
        &ctx.manifests[pi].value,
        &["spec", "selector", "matchLabels"],
    )
    .and_then(Value::as_object);
    ctx.manifests.iter().enumerate().any(|(i, m)| {
        if ctx.index.pod_spec(i).is_some() || ctx.index.namespace(i) != ns {
            return false;
        }
        let Some(labels) =
            at(&m.value, &["spec", "template", "metadata", "labels"]).and_then(Value::as_object)
        else {
            return false;
        };
        wanted
            .into_iter()
            .flatten()
            .all(|(k, v)| labels.field(k) == Some(v))
    })
}

fn budget(ctx: &LintContext, out: &mut Sink, pi: usize, selected: Option<&[usize]>) {
    let spec = ctx.manifests[pi].value.field("spec");
    let field = |key: &str| spec.and_then(|s| s.field(key)).and_then(Amount::read);
    if let Some(max_unavailable) = field("maxUnavailable") {
        if max_unavailable.of(100) == 0 {
            never_evicts(
                ctx,
                out,
                pi,
                "/spec/maxUnavailable",
                format!(
                    "maxUnavailable {}: no pod may ever be evicted",
                    max_unavailable.shown()
                ),
                None,
            );
        }
        return;
    }
    let Some(min_available) = field("minAvailable") else {
        return;
    };
    if matches!(min_available, Amount::Percent(p) if p >= 100) {
        never_evicts(
            ctx,
            out,
            pi,
            "/spec/minAvailable",
            format!(
                "minAvailable {}: every pod must stay, so none may be evicted",
                min_available.shown()
            ),
            None,
        );
        return;
    }
    let Some(selected) = selected.filter(|s| !s.is_empty()) else {
        return;
    };
    let Some(pods) =
        selected
            .iter()
            .map(|&w| pod_count(ctx, w))
            .try_fold(PodCount::default(), |sum, c| {
                let c = c?;
                Some(PodCount {
                    min: sum.min.saturating_add(c.min),
                    max: sum.max.saturating_add(c.max),
                    hpa: sum.hpa.or(c.hpa),
                })
            })
    else {
        return;
    };
    if pods.max == 0 {
        // Scaled to zero: no pod to evict, nothing to block.
        return;
    }
    let first = selected[0];
    if min_available.of(pods.max) >= pods.max {
        let at_most = if pods.hpa.is_some() {
            format!("even at the HPA's maximum of {} pods", pods.max)
        } else {
            format!("of the {} pod(s) its workloads run", pods.max)
        };
        never_evicts(
            ctx,
            out,
            pi,
            "/spec/minAvailable",
            format!(
                "minAvailable {} {at_most}: none may be evicted",
                min_available.shown()
            ),
            Some(match pods.hpa {
                Some(h) => (h, "/spec/maxReplicas", "/replicas/max", "HPA maximum"),
                None => (
                    first,
                    "/spec/replicas",
                    "/replicas",
                    "replicas of the selected pods",
                ),
            }),
        );
    } else if let Some(h) = pods.hpa {
        // A minimum of 0 is hpa/min-above-max's to report.
        if pods.min > 0 && min_available.of(pods.min) >= pods.min {
            blocks_drain_at_min(ctx, out, pi, min_available, pods.min, h);
        }
    }
}

/// Whether a budget sets both amounts, which the API server's validation refuses ("minAvailable
/// and maxUnavailable cannot be both set"); a null one counts as unset, as it does there.
fn sets_both_budgets(m: &Manifest) -> bool {
    let set = |key: &str| at(&m.value, &["spec", key]).is_some_and(|v| !v.is_null());
    set("minAvailable") && set("maxUnavailable")
}

fn both_budgets(ctx: &LintContext, out: &mut Sink, pi: usize) {
    out.report(
        &BOTH_BUDGETS,
        Some(pi),
        format!(
            "PodDisruptionBudget `{}` sets both minAvailable and maxUnavailable: the API server refuses it, so the budget is never created and protects nothing",
            ctx.manifests[pi].name()
        ),
    )
    .place(
        Some(ctx.locate(pi, "/spec/maxUnavailable", "/replicas")),
        "maxUnavailable beside minAvailable",
    )
    .also(
        Some(ctx.locate(pi, "/spec/minAvailable", "/replicas")),
        "minAvailable",
    )
    .help("keep one of them: maxUnavailable: 1 lets one pod go at any size; minAvailable fixes how many must stay");
}

fn never_evicts(
    ctx: &LintContext,
    out: &mut Sink,
    pi: usize,
    pointer: &str,
    why: String,
    // Where the pod count comes from: manifest, pointer, catalogue field, label.
    count: Option<(usize, &str, &str, &str)>,
) {
    let d = out
        .report(
            &NEVER_EVICTS,
            Some(pi),
            format!(
                "PodDisruptionBudget `{}` allows no voluntary eviction ({why}), so draining a node that runs its pods hangs",
                ctx.manifests[pi].name()
            ),
        )
        .place(Some(ctx.locate(pi, pointer, "/replicas")), "allows no eviction")
        .help("let at least one pod go: minAvailable below the replicas (e.g. replicas - 1), or maxUnavailable: 1");
    if let Some((i, pointer, field, label)) = count {
        d.also(Some(ctx.locate(i, pointer, field)), label);
    }
}

fn blocks_drain_at_min(
    ctx: &LintContext,
    out: &mut Sink,
    pi: usize,
    min_available: Amount,
    pods: u64,
    hpa: usize,
) {
    out.report(
        &BLOCKS_DRAIN_AT_MIN,
        Some(pi),
        format!(
            "PodDisruptionBudget `{}` asks minAvailable {}, and HorizontalPodAutoscaler `{}` runs as few as {pods} pod(s): at that minimum no pod may be evicted, so node drains hang whenever load is low",
            ctx.manifests[pi].name(),
            min_available.shown(),
            ctx.manifests[hpa].name()
        ),
    )
    .place(Some(ctx.locate(pi, "/spec/minAvailable", "/replicas")), "blocks eviction at the minimum")
    .also(Some(ctx.locate(hpa, "/spec/minReplicas", "/replicas/min")), "HPA minimum")
    .help("keep minAvailable below the HPA's minReplicas, or use maxUnavailable: 1 (it scales with the pods)");
}

fn selects_nothing(ctx: &LintContext, out: &mut Sink, pi: usize) {
    let m = &ctx.manifests[pi];
    let ns = ctx.index.namespace(pi).unwrap_or("");
    let has_selector = at(&m.value, &["spec", "selector"]).is_some_and(|s| !s.is_null());
    let (message, help) = if has_selector {
        (
            format!(
                "PodDisruptionBudget `{}` selects no pod of namespace `{ns}`: it protects nothing",
                m.name()
            ),
            "make spec.selector match the pod template labels of the workload it is meant for",
        )
    } else {
        (
            format!("PodDisruptionBudget `{}` has no selector, which in policy/v1 selects no pod: it protects nothing", m.name()),
            "add spec.selector with the matchLabels of the workload's pods (`selector: {}` would cover every pod of the namespace)",
        )
    };
    out.report(&SELECTS_NOTHING, Some(pi), message)
        .place(
            Some(ctx.locate(pi, "/spec/selector", "/replicas")),
            "selects no pod",
        )
        .help(help);
}

fn overlapping(ctx: &LintContext, out: &mut Sink, covering: &BTreeMap<usize, Vec<usize>>) {
    // (earlier budget, later budget) -> the first workload both select.
    let mut pairs: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for (&w, budgets) in covering {
        let distinct: BTreeSet<usize> = budgets.iter().copied().collect();
        let distinct: Vec<usize> = distinct.into_iter().collect();
        for (i, &a) in distinct.iter().enumerate() {
            for &b in &distinct[i + 1..] {
                pairs.entry((a, b)).or_insert(w);
            }
        }
    }
    for ((a, b), w) in pairs {
        let workload = &ctx.manifests[w];
        out.report(
            &OVERLAPPING,
            Some(b),
            format!(
                "PodDisruptionBudgets `{}` and `{}` both select the pods of {} `{}`: the eviction API refuses to evict a pod more than one budget covers",
                ctx.manifests[a].name(),
                ctx.manifests[b].name(),
                workload.kind(),
                workload.name()
            ),
        )
        .place(Some(ctx.locate(b, "/spec/selector", "/replicas")), "second budget")
        .also(Some(ctx.locate(a, "/spec/selector", "/replicas")), "first budget")
        .help("give each workload's pods one budget: narrow one selector, or merge the budgets");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_as_the_api_reads_int_or_string() {
        assert_eq!(Amount::read(&Value::from(2)), Some(Amount::Pods(2)));
        assert_eq!(Amount::read(&Value::from("50%")), Some(Amount::Percent(50)));
        // A string must be a percentage; a fraction of a percent is no amount.
        assert_eq!(Amount::read(&Value::from("2")), None);
        assert_eq!(Amount::read(&Value::from("50.5%")), None);
        assert_eq!(Amount::read(&Value::from(-1)), None);
    }

    #[test]
    fn percentages_round_up_as_the_disruption_controller_rounds_them() {
        assert_eq!(Amount::Percent(50).of(7), 4);
        assert_eq!(Amount::Percent(50).of(3), 2);
        assert_eq!(Amount::Percent(67).of(3), 3);
        assert_eq!(Amount::Percent(10).of(3), 1);
        assert_eq!(Amount::Percent(0).of(3), 0);
        assert_eq!(Amount::Percent(100).of(5), 5);
        assert_eq!(Amount::Pods(2).of(5), 2);
    }
}
