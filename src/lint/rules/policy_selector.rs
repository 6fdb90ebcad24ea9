//! `policy-selector`: a NetworkPolicy or AuthorizationPolicy applies to pods that exist.

use crate::diagnostic::Severity;
use crate::example;
use crate::lint::index::selects_everything;
use crate::lint::{Code, LintContext, Rule, Sink};
use crate::manifest::{at, Field};
use serde_json::Value;

pub const RULE: Rule = Rule {
    id: "policy-selector",
    codes: &[&SELECTS_NOTHING],
    summary: "A NetworkPolicy or AuthorizationPolicy whose selector matches no pods",
    doc: r#"## What it checks
The pod selector of every NetworkPolicy (`spec.podSelector`, with `matchLabels` and
`matchExpressions`) and every Istio AuthorizationPolicy (`spec.selector.matchLabels`) must match
the pods of at least one workload in the policy's namespace. An empty selector (`{}`) selects every
pod and is fine, and so is an AuthorizationPolicy without a selector (it covers the namespace).

Nothing is said when the linted manifests hold no workload in the policy's namespace: the pods are
then elsewhere, not missing. A manifest without a namespace is in the namespace kubectl applies it
to (`default`, `shipshape lint --namespace`, or its kustomization's `namespace:`).

## Why it matters
A selector with a typo protects nothing, and says nothing about it: the pods it was written for
fall under the other policies only. Under a default-deny NetworkPolicy they stay cut off, because
the policy meant to let their callers in applies to no pod; an Istio DENY policy that selects
nothing denies nothing.

## Bad
```yaml
kind: NetworkPolicy
metadata: { name: api }
spec:
  podSelector:
    matchLabels: { app: api-server }   # the pods are labelled app: api
  policyTypes: [Ingress]
  ingress:
    - from: [{ podSelector: { matchLabels: { app: web } } }]
```

## Good
```yaml
spec:
  podSelector:
    matchLabels: { app: api }
```
"#,
    check,
};

pub static SELECTS_NOTHING: Code = Code {
    id: "policy-selector/selects-nothing",
    severity: Severity::Error,
    summary: "A NetworkPolicy or AuthorizationPolicy selects no pod of its namespace",
    bad: example!("policy-selector/fires/network-policy-typo.yaml"),
    good: example!("policy-selector/quiet/match-expressions.yaml"),
};

/// Policy kinds and where their pod selector is, as a pointer and as its keys.
const POLICIES: &[(&str, &str, &str, &[&str])] = &[
    (
        "NetworkPolicy",
        "networking.k8s.io/",
        "/spec/podSelector",
        &["spec", "podSelector"],
    ),
    (
        "AuthorizationPolicy",
        "security.istio.io/",
        "/spec/selector",
        &["spec", "selector"],
    ),
];

fn check(ctx: &LintContext, out: &mut Sink) {
    for &(kind, api_group, pointer, path) in POLICIES {
        for &pi in ctx.index.of_kind(kind) {
            let policy = &ctx.manifests[pi];
            if !policy.api_version().starts_with(api_group) {
                continue;
            }
            let Some(selector) = at(&policy.value, path) else {
                continue;
            };
            if selects_everything(selector) {
                continue;
            }
            let ns = ctx.index.namespace(pi);
            if !ctx.index.has_workloads_in(ns) {
                continue;
            }
            let Some(selected) = ctx.index.policy_pods(pi) else {
                continue;
            };
            if !selected.is_empty() {
                continue;
            }
            let wanted = describe(selector);
            // Only a policy that selects nothing pays for the search of a near miss.
            let closest = closest(ctx, &ctx.index.workloads_in(ns), selector);
            let d = out.report(
                &SELECTS_NOTHING,
                Some(pi),
                format!(
                    "{kind} `{}` selects pods matching `{wanted}`, but no pod{} does",
                    policy.name(),
                    ns.map(|n| format!(" in namespace `{n}`"))
                        .unwrap_or_default()
                ),
            );
            d.place(Some(ctx.locate(pi, pointer, "")), "selects no pod");
            let consequence = "the policy applies to no pod, so the pods it was written for get none of its rules";
            match closest {
                Some((wi, differences)) => {
                    d.also(
                        Some(ctx.locate(wi, &pod_labels_pointer(ctx, wi), "")),
                        "closest pod labels",
                    )
                    .help(format!(
                        "{consequence}; the closest pods, of `{}`, differ in {differences}",
                        ctx.manifests[wi].resource_id()
                    ));
                }
                None => {
                    d.help(format!(
                        "{consequence}: make the selector match the labels of the pod template it is meant for"
                    ));
                }
            }
        }
    }
}

/// `app=api, tier In (web)` for a message.
fn describe(selector: &Value) -> String {
    let mut parts: Vec<String> = selector
        .field("matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("?")))
        .collect();
    for e in selector
        .field("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = e.field("key").and_then(Value::as_str).unwrap_or("?");
        let op = e.field("operator").and_then(Value::as_str).unwrap_or("?");
        let values: Vec<&str> = e
            .field("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        parts.push(if values.is_empty() {
            format!("{key} {op}")
        } else {
            format!("{key} {op} ({})", values.join(", "))
        });
    }
    parts.join(", ")
}

/// The workload whose pods match the most of the selector's `matchLabels` (at least one), and
/// how the rest differ: the likely target of a typo.
fn closest(ctx: &LintContext, workloads: &[usize], selector: &Value) -> Option<(usize, String)> {
    let wanted = selector.field("matchLabels").and_then(Value::as_object)?;
    let mut best: Option<(usize, usize, Vec<String>)> = None;
    for &w in workloads {
        let labels = ctx.index.pod_labels(w);
        let mut matched = 0;
        let mut differences = Vec::new();
        for (k, v) in wanted {
            let want = v.as_str().unwrap_or("");
            match labels.and_then(|l| l.field(k)).and_then(Value::as_str) {
                Some(have) if have == want => matched += 1,
                Some(have) => differences.push(format!("`{k}` (`{have}`, not `{want}`)")),
                None => differences.push(format!("`{k}` (absent)")),
            }
        }
        if matched > 0 && best.as_ref().is_none_or(|(_, m, _)| matched > *m) {
            best = Some((w, matched, differences));
        }
    }
    best.filter(|(_, _, d)| !d.is_empty())
        .map(|(w, _, d)| (w, d.join(", ")))
}

/// Where a workload's pod labels are: beside its pod spec.
fn pod_labels_pointer(ctx: &LintContext, w: usize) -> String {
    let base = ctx.index.pod_spec(w).map_or("/spec", |(_, b)| b);
    format!(
        "{}/metadata/labels",
        base.strip_suffix("/spec").unwrap_or("")
    )
}
