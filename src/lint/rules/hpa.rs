//! `hpa`: a HorizontalPodAutoscaler scales one workload that exists, alone, within a range that
//! makes sense, and nothing else sets that workload's replica count.

use crate::diagnostic::Severity;
use crate::example;
use crate::lint::index::api_group;
use crate::lint::{Code, LintContext, Rule, Sink};
use crate::manifest::{at, Field, Manifest};
use serde_json::Value;
use std::collections::HashMap;

pub const RULE: Rule = Rule {
    id: "hpa",
    codes: &[&DUPLICATE_TARGET, &MISSING_TARGET, &REPLICAS_SET, &MIN_ABOVE_MAX],
    summary: "Two HPAs on one workload, an HPA whose target does not exist, `replicas` set on a scaled workload, or minReplicas above maxReplicas",
    doc: r#"## What it checks
Every HorizontalPodAutoscaler (`autoscaling/v2` or `autoscaling/v1`):
- is the only one that scales its workload (`spec.scaleTargetRef`: kind and name, in the HPA's
  namespace);
- scales a workload that is among the linted manifests. Like `policy-selector`, this is judged only
  when the linted manifests hold workloads of the HPA's namespace: linting an HPA on its own (its
  Deployment lives in another file or repository) says nothing, but an HPA beside the workloads of
  its namespace that names none of them is an error. A target of a custom kind (an Argo Rollout)
  is judged only when the linted manifests hold that kind in the namespace. shipshape's own output
  is always complete. The finding suggests the workload of that kind and namespace the name most
  likely meant: a near spelling, or the same name with a `-`/`.`-separated prefix or suffix added
  or dropped (`api` for `api-server`, `shop-web` for `web`);
- has `minReplicas` (1 when unset) at most `maxReplicas`, and not 0 (scaling to zero needs the
  alpha `HPAScaleToZero` feature gate; the API server refuses it otherwise).

And the workload an HPA scales leaves `spec.replicas` unset. Workloads read back from a cluster
(`kubectl get -o yaml`, recognisable by `metadata.uid` or `metadata.resourceVersion`) always carry
the replicas the API server recorded, and are not held to this.

## Why it matters
Two autoscalers on one workload each set its replicas from their own metrics: the count flaps
between their answers. An HPA whose target does not exist (a typo, a renamed Deployment) scales
nothing, and the workload silently runs at its fixed count. With `minReplicas` above `maxReplicas`
the API server rejects the HPA, so the sync fails. And a `replicas` in Git that an HPA also sets
is a tug of war: every sync puts the Git value back (Argo CD shows the app out of sync, or resets
the count to it), then the HPA scales again.
"#,
    check,
};

pub static DUPLICATE_TARGET: Code = Code {
    id: "hpa/duplicate-target",
    severity: Severity::Error,
    summary: "Two HorizontalPodAutoscalers scale the same workload",
    bad: example!("hpa/fires/duplicate-target.yaml"),
    good: example!("hpa/quiet/same-name-other-namespace.yaml"),
};

pub static MISSING_TARGET: Code = Code {
    id: "hpa/missing-target",
    severity: Severity::Error,
    summary:
        "A HorizontalPodAutoscaler's scaleTargetRef names a workload its namespace does not have",
    bad: example!("hpa/fires/missing-target.yaml"),
    good: example!("hpa/quiet/target-exists.yaml"),
};

pub static REPLICAS_SET: Code = Code {
    id: "hpa/replicas-set",
    severity: Severity::Warning,
    summary:
        "A workload an HPA scales also sets spec.replicas, so every sync fights the autoscaler",
    bad: example!("hpa/fires/replicas-set.yaml"),
    good: example!("hpa/quiet/target-exists.yaml"),
};

pub static MIN_ABOVE_MAX: Code = Code {
    id: "hpa/min-above-max",
    severity: Severity::Error,
    summary: "A HorizontalPodAutoscaler's minReplicas is above its maxReplicas, or 0",
    bad: example!("hpa/fires/min-above-max.yaml"),
    good: example!("hpa/quiet/target-exists.yaml"),
};

/// An HPA, as this rule and `pdb` read it.
#[derive(Debug, Clone, Copy)]
pub struct Autoscaler<'m> {
    pub manifest: usize,
    /// `spec.scaleTargetRef`: API group (from its `apiVersion`, when given), kind and name.
    pub target_group: Option<&'m str>,
    pub target_kind: &'m str,
    pub target_name: &'m str,
    /// `spec.minReplicas`, 1 when unset; `None` when it is not a count.
    pub min: Option<u64>,
    /// `spec.maxReplicas`; `None` when missing or not a count.
    pub max: Option<u64>,
}

impl<'m> Autoscaler<'m> {
    /// The HPA manifest `i` holds, if it is one and names a target.
    pub fn read(ctx: &LintContext<'m>, i: usize) -> Option<Autoscaler<'m>> {
        let m: &'m Manifest = &ctx.manifests[i];
        if !is_hpa(m) {
            return None;
        }
        let target = |key: &str| {
            at(&m.value, &["spec", "scaleTargetRef", key])
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let count = |key: &str| at(&m.value, &["spec", key]);
        Some(Autoscaler {
            manifest: i,
            target_group: target("apiVersion").map(api_group),
            target_kind: target("kind")?,
            target_name: target("name")?,
            min: match count("minReplicas") {
                None | Some(Value::Null) => Some(1),
                Some(v) => v.as_u64(),
            },
            max: count("maxReplicas").and_then(Value::as_u64),
        })
    }

    /// The workload the HPA scales, in its namespace. The group of `scaleTargetRef.apiVersion`
    /// is asked first; a target of the same kind and name under another group (an old
    /// `extensions/v1beta1` reference) is still the one meant, and no business of this rule.
    pub fn target(&self, ctx: &LintContext) -> Option<usize> {
        let ns = ctx.index.namespace(self.manifest);
        if let Some(group) = self.target_group {
            if let Some(i) = ctx
                .index
                .find(group, self.target_kind, ns, self.target_name)
            {
                return Some(i);
            }
        }
        ctx.index
            .of_kind(self.target_kind)
            .iter()
            .copied()
            .find(|&i| {
                let f = ctx.index.facts(i);
                f.name == self.target_name && f.namespace == ns
            })
    }
}

fn is_hpa(m: &Manifest) -> bool {
    m.kind() == "HorizontalPodAutoscaler" && api_group(m.api_version()) == "autoscaling"
}

/// A manifest read back from a cluster rather than written by hand: the API server stamps these.
pub fn from_live_cluster(m: &Manifest) -> bool {
    m.value
        .field("metadata")
        .is_some_and(|md| md.field("uid").is_some() || md.field("resourceVersion").is_some())
}

fn check(ctx: &LintContext, out: &mut Sink) {
    // (namespace, kind, name) of a target -> the first HPA scaling it.
    let mut first: HashMap<(Option<&str>, &str, &str), usize> = HashMap::new();
    for &hi in ctx.index.of_kind("HorizontalPodAutoscaler") {
        let Some(hpa) = Autoscaler::read(ctx, hi) else {
            continue;
        };
        range(ctx, out, &hpa);
        let ns = ctx.index.namespace(hi);
        let key = (ns, hpa.target_kind, hpa.target_name);
        if let Some(&earlier) = first.get(&key) {
            duplicate(ctx, out, &hpa, earlier);
            continue;
        }
        first.insert(key, hi);
        match hpa.target(ctx) {
            Some(wi) => replicas_set(ctx, out, &hpa, wi),
            None if ctx.platform.is_some() || judged(ctx, &hpa) => missing(ctx, out, &hpa),
            None => {}
        }
    }
}

/// Whether the linted set is where `hpa`'s target would be: it holds workloads of the HPA's
/// namespace, and the target's kind is a built-in one with a scale subresource or one the set
/// holds in that namespace. An HPA on a custom resource (an Argo Rollout) linted beside
/// Deployments, without its Rollout, is not judged.
fn judged(ctx: &LintContext, hpa: &Autoscaler) -> bool {
    let ns = ctx.index.namespace(hpa.manifest);
    if !ctx.index.has_workloads_in(ns) {
        return false;
    }
    let built_in = matches!(
        hpa.target_kind,
        "Deployment" | "StatefulSet" | "ReplicaSet" | "ReplicationController"
    );
    built_in
        || ctx
            .index
            .of_kind(hpa.target_kind)
            .iter()
            .any(|&i| ctx.index.namespace(i) == ns)
}

fn target_pointer() -> &'static str {
    "/spec/scaleTargetRef/name"
}

fn duplicate(ctx: &LintContext, out: &mut Sink, hpa: &Autoscaler, earlier: usize) {
    let hi = hpa.manifest;
    out.report(
        &DUPLICATE_TARGET,
        Some(hi),
        format!(
            "HorizontalPodAutoscalers `{}` and `{}` both scale {} `{}`",
            ctx.manifests[earlier].name(),
            ctx.manifests[hi].name(),
            hpa.target_kind,
            hpa.target_name
        ),
    )
    .place(Some(ctx.locate(hi, target_pointer(), "/replicas")), "second autoscaler")
    .also(
        Some(ctx.locate(earlier, target_pointer(), "/replicas")),
        "first autoscaler",
    )
    .help("keep one HPA per workload and give it every metric (an HPA scales on the largest of its metrics' answers)");
}

fn missing(ctx: &LintContext, out: &mut Sink, hpa: &Autoscaler) {
    let hi = hpa.manifest;
    let ns = ctx.index.namespace(hi);
    let candidates: Vec<String> = ctx
        .index
        .of_kind(hpa.target_kind)
        .iter()
        .filter(|&&i| ctx.index.namespace(i) == ns)
        .map(|&i| ctx.index.facts(i).name.to_owned())
        .collect();
    let help = match suggestion(hpa.target_name, &candidates) {
        Some(c) => format!("did you mean `{c}`?"),
        None => format!(
            "name a {} of namespace `{}` in `spec.scaleTargetRef`, or remove the HPA",
            hpa.target_kind,
            ns.unwrap_or("")
        ),
    };
    out.report(
        &MISSING_TARGET,
        Some(hi),
        format!(
            "HorizontalPodAutoscaler `{}` scales {} `{}`, which namespace `{}` does not have: it scales nothing",
            ctx.manifests[hi].name(),
            hpa.target_kind,
            hpa.target_name,
            ns.unwrap_or("")
        ),
    )
    .place(Some(ctx.locate(hi, target_pointer(), "/replicas")), "no such workload")
    .help(help);
}

/// The workload an HPA's target name most likely meant: a near spelling (the catalogue's own
/// typo finder), else a name that differs from it only by a dash- or dot-separated prefix or
/// suffix (`api` for `api-server`, `web` for `shop-web`): a rename or a chart's name prefix
/// more often than a typo. Of several, the one closest in length.
fn suggestion(name: &str, candidates: &[String]) -> Option<String> {
    crate::catalogue::schema::closest(name, candidates).or_else(|| {
        candidates
            .iter()
            .filter(|c| differs_by_affix(name, c))
            .min_by_key(|c| (c.len().abs_diff(name.len()), c.as_str()))
            .cloned()
    })
}

/// Whether the longer of two names is the shorter with a separated prefix or suffix added.
fn differs_by_affix(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let separated = |rest: &str, at_start: bool| {
        let sep = if at_start {
            rest.chars().next()
        } else {
            rest.chars().last()
        };
        rest.len() > 1 && matches!(sep, Some('-' | '.'))
    };
    short.len() >= 2
        && (long
            .strip_prefix(short)
            .is_some_and(|rest| separated(rest, true))
            || long
                .strip_suffix(short)
                .is_some_and(|rest| separated(rest, false)))
}

fn replicas_set(ctx: &LintContext, out: &mut Sink, hpa: &Autoscaler, wi: usize) {
    let w = &ctx.manifests[wi];
    if at(&w.value, &["spec", "replicas"]).is_none_or(Value::is_null) || from_live_cluster(w) {
        return;
    }
    out.report(
        &REPLICAS_SET,
        Some(wi),
        format!(
            "{} `{}` sets spec.replicas, but HorizontalPodAutoscaler `{}` scales it: every sync puts the replicas back and the autoscaler scales again",
            w.kind(),
            w.name(),
            ctx.manifests[hpa.manifest].name()
        ),
    )
    .place(Some(ctx.locate(wi, "/spec/replicas", "/replicas")), "set here")
    .also(
        Some(ctx.locate(hpa.manifest, target_pointer(), "/replicas")),
        "scaled by this HPA",
    )
    .help("remove spec.replicas from the workload (the HPA's minReplicas is its starting count)");
}

fn range(ctx: &LintContext, out: &mut Sink, hpa: &Autoscaler) {
    let hi = hpa.manifest;
    let name = ctx.manifests[hi].name();
    match (hpa.min, hpa.max) {
        (Some(0), _) => {
            out.report(
                &MIN_ABOVE_MAX,
                Some(hi),
                format!("HorizontalPodAutoscaler `{name}` has minReplicas 0, which the API server refuses unless the alpha HPAScaleToZero feature gate is on"),
            )
            .place(Some(ctx.locate(hi, "/spec/minReplicas", "/replicas/min")), "minReplicas 0")
            .help("set minReplicas to 1 or more (scaling to zero needs an event-driven autoscaler such as KEDA)");
        }
        (Some(min), Some(max)) if min > max => {
            out.report(
                &MIN_ABOVE_MAX,
                Some(hi),
                format!("HorizontalPodAutoscaler `{name}` has minReplicas {min} above maxReplicas {max}: the API server refuses it"),
            )
            .place(Some(ctx.locate(hi, "/spec/minReplicas", "/replicas/min")), "above maxReplicas")
            .also(Some(ctx.locate(hi, "/spec/maxReplicas", "/replicas/max")), "maxReplicas")
            .help("make minReplicas at most maxReplicas");
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_with_a_prefix_or_suffix_added_or_dropped_is_suggested() {
        let known = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let deployments = known(&["api", "shop-web", "billing"]);
        assert_eq!(
            suggestion("api-server", &deployments).as_deref(),
            Some("api")
        );
        assert_eq!(suggestion("web", &deployments).as_deref(), Some("shop-web"));
        assert_eq!(
            suggestion("billing.v2", &deployments).as_deref(),
            Some("billing")
        );
        // The shortest change wins; a typo is still found as before.
        let versions = known(&["api-v2", "api-v2-canary"]);
        assert_eq!(suggestion("api", &versions).as_deref(), Some("api-v2"));
        assert_eq!(
            suggestion("bliling", &deployments).as_deref(),
            Some("billing")
        );
        // An affix must be separated, and more than a separator.
        assert_eq!(suggestion("webhook", &known(&["hook"])), None);
        assert!(!differs_by_affix("api", "api-"));
        assert!(!differs_by_affix("a", "a-b"));
        assert_eq!(suggestion("payments", &deployments), None);
    }
}
