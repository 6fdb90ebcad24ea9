//! `mesh-routing`: every VirtualService route leads to a subset that exists and to pods that run.

use crate::diagnostic::Severity;
use crate::example;
use crate::lint::fxhash::{map_with_capacity, FxHashMap, FxHashSet};
use crate::lint::index::same_namespace;
use crate::lint::rules::mesh_hosts::{
    DESTINATION_WITHOUT_SERVICE, DUPLICATE_HOST, HOST_WITHOUT_SERVICE,
};
use crate::lint::rules::mesh_protocol::PORT_PROTOCOL;
use crate::lint::{Code, LintContext, Rule, Sink};
use crate::manifest::{at, Field};
use serde_json::{Map, Value};

pub const RULE: Rule = Rule {
    id: "mesh-routing",
    codes: &[
        &WEIGHTS,
        &NO_DESTINATION_RULE,
        &UNDEFINED_SUBSET,
        &SUBSET_WITHOUT_PODS,
        &HOST_WITHOUT_SERVICE,
        &DESTINATION_WITHOUT_SERVICE,
        &DUPLICATE_HOST,
        &PORT_PROTOCOL,
    ],
    summary: "A VirtualService route to a subset no DestinationRule defines or to a Service that does not exist, weights not adding up to 100, traffic to a subset without pods, two VirtualServices on one host, or a Service port Istio reads the wrong protocol for",
    doc: r#"## What it checks
For every route of every Istio VirtualService (`http`, `tcp` and `tls`; gRPC routes are `http`):
- each destination `subset` is defined by a DestinationRule for the destination's host (an exact
  host wins over a wildcard one, as in Istio; short hosts are in the VirtualService's namespace);
- the destination weights add up to 100 (a lone destination may leave its weight out);
- a subset that receives traffic (weight above 0) has pods: some workload's pods carry the
  subset's labels *and* the selector of the host's Service (a warning, since the canary workload
  is often deployed by another pipeline; nothing is said when the Service's own pods are not
  among the linted manifests);
- each host a mesh VirtualService routes (one bound to `mesh`, or to no gateway) and each route
  destination that names a Service (`svc`, `svc.ns`, `svc.ns.svc.cluster.local`; short names in
  the VirtualService's namespace) has that Service, or a ServiceEntry for the name. External
  names and wildcards are not Services and are left alone, as are hosts of a namespace with no
  Service or workload among the linted manifests (its Services may be linted elsewhere);
- no two VirtualServices claim one host on the same gateway, or both on the mesh (a warning);
- in a namespace with Istio's sidecar (labelled `istio-injection: enabled` or `istio.io/rev`, pods
  labelled `sidecar.istio.io/inject: "true"`, or shipshape's own output with `istio.enabled`),
  every Service port whose pods get the sidecar (not those that opt out with the label or the
  older annotation `sidecar.istio.io/inject: "false"`, nor any in a namespace labelled
  `istio-injection: disabled`) names its protocol by `appProtocol` or a name prefix Istio knows
  (`http`, `http2`, `https`, `grpc`, `grpc-web`, `tcp`, `tls`, `mongo`, `mysql`, `redis`), and that
  protocol is the one its pods serve (the target container port's own name prefix, or a gRPC
  probe on it): a warning.

## Why it matters
Envoy has no cluster for a subset no DestinationRule defines, so every request routed there fails
with 503. Weights that do not add up to 100 are rejected by older Istio and silently rescaled by
newer releases, so the split is not the one written down. And a subset without pods is traffic to
nowhere: with a 90/10 canary and no canary pods, one request in ten fails. A destination host no
Service has fails the same way; a VirtualService host no Service has is ignored by the sidecars,
so its retries and timeouts never apply. Two VirtualServices for one host are merged in an order
nobody chose, or one of them is dropped. And a port Istio cannot read the protocol of is sniffed:
HTTP routing and metrics may not apply, and a port named `http` in front of a gRPC server is
proxied as HTTP/1.1, which breaks the streams.

## Bad
```yaml
services:
  api-gateway:
    phase: user-interface
    port: 9001
    image: api-gateway
    mesh: { canary: { v2: 10 } }   # 10% to pods labelled version=v2, and none exist
```

## Good
Deploy the canary workload (pods labelled `version: v2` beside the Service's selector) before the
weight goes above 0, or keep the canary at 0 until it runs:
```yaml
    mesh: { canary: { v2: 0 } }
```
When the canary Deployment is shipped by another pipeline, say so:
`suppress: { mesh-routing: "v2 pods are deployed by the release pipeline" }`.
"#,
    check,
};

pub static WEIGHTS: Code = Code {
    id: "mesh-routing/weights",
    severity: Severity::Error,
    summary: "The destination weights of a VirtualService route do not add up to 100",
    bad: example!("mesh-routing/fires/weights-not-100.yaml"),
    good: example!("mesh-routing/quiet/canary-with-pods.yaml"),
};

pub static NO_DESTINATION_RULE: Code = Code {
    id: "mesh-routing/no-destination-rule",
    severity: Severity::Error,
    summary: "A route names a subset of a host no DestinationRule is for",
    bad: example!("mesh-routing/fires/no-destination-rule.yaml"),
    good: example!("mesh-routing/quiet/wildcard-destination-rule.yaml"),
};

pub static UNDEFINED_SUBSET: Code = Code {
    id: "mesh-routing/undefined-subset",
    severity: Severity::Error,
    summary: "A route names a subset the host's DestinationRule does not define",
    bad: example!("mesh-routing/fires/undefined-subset.yaml"),
    good: example!("mesh-routing/quiet/canary-with-pods.yaml"),
};

pub static SUBSET_WITHOUT_PODS: Code = Code {
    id: "mesh-routing/subset-without-pods",
    severity: Severity::Warning,
    summary:
        "A route sends traffic to a subset no running pod of the Service carries the labels of",
    bad: example!("mesh-routing/fires/canary-without-pods.yaml"),
    good: example!("mesh-routing/quiet/canary-at-zero.yaml"),
};

/// Route sections of a VirtualService; gRPC is routed as HTTP.
const SECTIONS: &[&str] = &["http", "tcp", "tls"];

/// Where the catalogue decides subsets and weights.
const CANARY: &str = "/mesh/canary";

/// A destination host as Istio resolves it.
#[derive(Debug, Clone, Copy)]
enum Host<'a> {
    /// A Kubernetes Service: a short name (in the manifest's namespace) or
    /// `name.namespace.svc.cluster.local`. The namespace is unknown for a short name in a
    /// manifest without one.
    Service {
        name: &'a str,
        namespace: Option<&'a str>,
    },
    /// Anything else, wildcards included, compared as written.
    Other(&'a str),
}

fn parse_host<'a>(host: &'a str, namespace: Option<&'a str>) -> Host<'a> {
    if !host.contains('.') && !host.contains('*') {
        return Host::Service {
            name: host,
            namespace,
        };
    }
    if let Some((name, ns)) = host
        .strip_suffix(".svc.cluster.local")
        .and_then(|rest| rest.split_once('.'))
    {
        if !ns.contains('.') && !name.contains('*') {
            return Host::Service {
                name,
                namespace: Some(ns),
            };
        }
    }
    Host::Other(host)
}

impl Host<'_> {
    fn fqdn(&self) -> Option<String> {
        match self {
            Host::Service {
                name,
                namespace: Some(ns),
            } => Some(format!("{name}.{ns}.svc.cluster.local")),
            Host::Service {
                namespace: None, ..
            } => None,
            Host::Other(h) => Some((*h).to_owned()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Match {
    Wildcard,
    Exact,
}

/// Whether a DestinationRule for host `rule` applies to traffic for `dest`, and how closely.
fn host_match(dest: Host<'_>, rule: Host<'_>) -> Option<Match> {
    match (dest, rule) {
        (
            Host::Service {
                name: a,
                namespace: na,
            },
            Host::Service {
                name: b,
                namespace: nb,
            },
        ) => (a == b && same_namespace(na, nb)).then_some(Match::Exact),
        (_, Host::Other(pattern)) if pattern.starts_with('*') => {
            let suffix = &pattern[1..];
            let matched = match dest {
                // A short host of unknown namespace can only fall under a wildcard that names
                // no namespace, such as `*.svc.cluster.local`.
                Host::Service {
                    namespace: None, ..
                } => ".svc.cluster.local".ends_with(suffix),
                _ => dest.fqdn().is_some_and(|f| f.ends_with(suffix)),
            };
            matched.then_some(Match::Wildcard)
        }
        (a, b) => (a.fqdn().is_some() && a.fqdn() == b.fqdn()).then_some(Match::Exact),
    }
}

/// One DestinationRule: where it is, which host it is for, its subsets.
struct DestinationRule<'a> {
    manifest: usize,
    host: Host<'a>,
    subsets: Vec<Subset<'a>>,
}

/// A subset: its position in `spec.subsets`, its name, its pod labels.
type Subset<'a> = (usize, &'a str, Option<&'a Map<String, Value>>);

fn destination_rules<'a>(ctx: &'a LintContext<'_>) -> Vec<DestinationRule<'a>> {
    let mut out = Vec::new();
    for &di in ctx.index.of_kind("DestinationRule") {
        let m = &ctx.manifests[di];
        let Some(host) = at(&m.value, &["spec", "host"]).and_then(Value::as_str) else {
            continue;
        };
        let subsets = at(&m.value, &["spec", "subsets"])
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .enumerate()
                    .filter_map(|(si, s)| {
                        let name = s.field("name").and_then(Value::as_str)?;
                        Some((si, name, s.field("labels").and_then(Value::as_object)))
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(DestinationRule {
            manifest: di,
            host: parse_host(host, ctx.index.namespace(di)),
            subsets,
        });
    }
    out
}

/// The first DNS label of a host: the Service name. Hosts that can match exactly share it, so it
/// narrows the rules to compare without changing the answer.
fn first_label<'a>(host: Host<'a>) -> Option<&'a str> {
    match host {
        Host::Service { name, .. } => Some(name),
        Host::Other(h) if h.starts_with('*') => None,
        Host::Other(h) => h.split('.').next(),
    }
}

/// DestinationRules by the first label of their host; wildcard rules apart, since they may
/// apply to any host.
struct RuleIndex<'a> {
    by_label: FxHashMap<&'a str, Vec<usize>>,
    wildcards: Vec<usize>,
}

impl<'a> RuleIndex<'a> {
    fn build(rules: &[DestinationRule<'a>]) -> RuleIndex<'a> {
        let mut by_label: FxHashMap<&'a str, Vec<usize>> = map_with_capacity(rules.len());
        let mut wildcards = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            match first_label(r.host) {
                Some(label) => by_label.entry(label).or_default().push(i),
                None => wildcards.push(i),
            }
        }
        RuleIndex {
            by_label,
            wildcards,
        }
    }
}

/// The DestinationRules Istio would apply to `dest`: the exact ones, else the wildcard ones.
fn rules_for<'r, 'a>(
    rules: &'r [DestinationRule<'a>],
    index: &RuleIndex<'_>,
    dest: Host<'_>,
) -> Vec<&'r DestinationRule<'a>> {
    let exact = first_label(dest)
        .and_then(|l| index.by_label.get(l))
        .map_or(&[][..], Vec::as_slice);
    let merged: Vec<usize>;
    let candidates = if index.wildcards.is_empty() {
        exact
    } else {
        let mut all = exact.to_vec();
        all.extend(&index.wildcards);
        all.sort_unstable();
        merged = all;
        &merged
    };
    // The rules of the closest match, in manifest order.
    let mut best: Option<Match> = None;
    let mut out = Vec::new();
    for r in candidates.iter().map(|&i| &rules[i]) {
        let Some(m) = host_match(dest, r.host) else {
            continue;
        };
        if best.is_some_and(|b| m < b) {
            continue;
        }
        if best.is_some_and(|b| m > b) {
            out.clear();
        }
        best = Some(m);
        out.push(r);
    }
    out
}

fn check(ctx: &LintContext, out: &mut Sink) {
    crate::lint::rules::mesh_hosts::check(ctx, out);
    crate::lint::rules::mesh_protocol::check(ctx, out);
    let rules = destination_rules(ctx);
    let rule_index = RuleIndex::build(&rules);
    let mut reported_empty: FxHashSet<(usize, usize)> = FxHashSet::default();
    for &vi in ctx.index.of_kind("VirtualService") {
        let Some(spec) = ctx.manifests[vi].value.field("spec") else {
            continue;
        };
        for &section in SECTIONS {
            let Some(routes) = spec.field(section).and_then(Value::as_array) else {
                continue;
            };
            for (ri, route) in routes.iter().enumerate() {
                let Some(dests) = route.field("route").and_then(Value::as_array) else {
                    continue;
                };
                let place = RoutePlace { section, route: ri };
                check_weights(ctx, out, vi, place, dests);
                for (di, d) in dests.iter().enumerate() {
                    let destination = d.field("destination");
                    let dest_field = |key: &str| {
                        destination
                            .and_then(|t| t.field(key))
                            .and_then(Value::as_str)
                    };
                    let Some(host) = dest_field("host") else {
                        continue;
                    };
                    let Some(subset) = dest_field("subset") else {
                        continue;
                    };
                    let to = RouteTo {
                        vs: vi,
                        place,
                        destination: di,
                        host,
                        dest: parse_host(host, ctx.index.namespace(vi)),
                        subset,
                        weight: effective_weight(d, dests.len()),
                    };
                    let applicable = rules_for(&rules, &rule_index, to.dest);
                    let defined = applicable.iter().find_map(|r| {
                        r.subsets
                            .iter()
                            .find(|(_, name, _)| *name == subset)
                            .map(|&(si, _, labels)| (*r, si, labels))
                    });
                    let Some((rule, si, labels)) = defined else {
                        undefined_subset(ctx, out, &to, &applicable);
                        continue;
                    };
                    if to.weight > 0 && reported_empty.insert((rule.manifest, si)) {
                        empty_subset(ctx, out, &to, rule, si, labels);
                    }
                }
            }
        }
    }
}

/// A route of a VirtualService: its section (`http`, `tcp`, `tls`) and position there. Its
/// pointer and name are spelled out only for a finding.
#[derive(Clone, Copy)]
struct RoutePlace<'a> {
    section: &'a str,
    route: usize,
}

impl RoutePlace<'_> {
    /// Pointer to the route's destinations.
    fn pointer(&self) -> String {
        format!("/spec/{}/{}/route", self.section, self.route)
    }

    /// `http[0]`, for messages.
    fn name(&self) -> String {
        format!("{}[{}]", self.section, self.route)
    }
}

/// One destination of a route that names a subset.
struct RouteTo<'a> {
    vs: usize,
    place: RoutePlace<'a>,
    /// Position of the destination in the route.
    destination: usize,
    host: &'a str,
    dest: Host<'a>,
    subset: &'a str,
    /// Its share of the route's traffic, in percent.
    weight: i64,
}

/// The share of a route's traffic a destination receives: a lone destination without a weight
/// takes everything, otherwise a missing weight is 0.
fn effective_weight(d: &Value, destinations: usize) -> i64 {
    match d.field("weight") {
        None | Some(Value::Null) if destinations == 1 => 100,
        Some(w) => w.as_i64().unwrap_or(0),
        None => 0,
    }
}

impl RouteTo<'_> {
    /// Pointer to the destination's `subset`.
    fn pointer(&self) -> String {
        format!(
            "{}/{}/destination/subset",
            self.place.pointer(),
            self.destination
        )
    }
}

fn check_weights(
    ctx: &LintContext,
    out: &mut Sink,
    vi: usize,
    place: RoutePlace<'_>,
    dests: &[Value],
) {
    let weighted: Vec<(usize, i64)> = dests
        .iter()
        .enumerate()
        .filter_map(|(i, d)| d.field("weight").and_then(Value::as_i64).map(|w| (i, w)))
        .collect();
    if dests.len() == 1 && weighted.is_empty() {
        return;
    }
    let total: i64 = weighted.iter().map(|(_, w)| w).sum();
    if total == 100 {
        return;
    }
    let vs = &ctx.manifests[vi];
    let base = place.pointer();
    let route_name = place.name();
    let pointer = match weighted.first() {
        Some((i, _)) => format!("{base}/{i}/weight"),
        None => base,
    };
    let missing = dests.len() - weighted.len();
    out.report(
        &WEIGHTS,
        Some(vi),
        format!(
            "the destination weights of route `{route_name}` of VirtualService `{}` add up to {total}, not 100{}",
            vs.name(),
            match missing {
                0 => String::new(),
                1 => " (one destination has no weight, which counts as 0)".to_owned(),
                n => format!(" ({n} destinations have no weight, which counts as 0)"),
            }
        ),
    )
    .place(
        Some(ctx.locate(vi, &pointer, CANARY)),
        format!("weights add up to {total}"),
    )
    .help("weights are the percentages of the route's traffic each destination gets: make them add up to 100");
}

fn undefined_subset(
    ctx: &LintContext,
    out: &mut Sink,
    to: &RouteTo<'_>,
    applicable: &[&DestinationRule<'_>],
) {
    let (vi, pointer, host, subset) = (to.vs, to.pointer(), to.host, to.subset);
    let vs = &ctx.manifests[vi];
    let code = if applicable.is_empty() {
        &NO_DESTINATION_RULE
    } else {
        &UNDEFINED_SUBSET
    };
    let d = out.report(
        code,
        Some(vi),
        match applicable {
            [] => format!(
                "VirtualService `{}` routes to subset `{subset}` of `{host}`, but no DestinationRule is for that host",
                vs.name()
            ),
            rules => format!(
                "VirtualService `{}` routes to subset `{subset}` of `{host}`, which DestinationRule {} does not define",
                vs.name(),
                rules
                    .iter()
                    .map(|r| format!("`{}`", ctx.manifests[r.manifest].name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    );
    d.place(Some(ctx.locate(vi, &pointer, CANARY)), "no such subset");
    for r in applicable {
        d.also(
            Some(ctx.locate(r.manifest, "/spec/subsets", CANARY)),
            "the subsets defined for this host",
        );
    }
    let known: Vec<&str> = applicable
        .iter()
        .flat_map(|r| r.subsets.iter().map(|(_, name, _)| *name))
        .collect();
    d.help(if known.is_empty() {
        format!("without a DestinationRule subset Envoy has no cluster to send to and answers 503: define `{subset}` (name and pod labels) in a DestinationRule for the host")
    } else {
        format!(
            "Envoy has no cluster for an undefined subset and answers 503: define `{subset}` in the DestinationRule, or route to one it defines ({})",
            known.join(", ")
        )
    });
}

fn empty_subset(
    ctx: &LintContext,
    out: &mut Sink,
    to: &RouteTo<'_>,
    rule: &DestinationRule<'_>,
    si: usize,
    labels: Option<&Map<String, Value>>,
) {
    let (vi, dest, host, subset, weight) = (to.vs, to.dest, to.host, to.subset, to.weight);
    // Only a Kubernetes Service among the linted manifests says which pods the host has.
    let Host::Service { name, namespace } = dest else {
        return;
    };
    // The Service of that name: through the index when its namespace is known.
    let candidates: Vec<usize> = match namespace {
        Some(ns) => ctx
            .index
            .find("", "Service", Some(ns), name)
            .into_iter()
            .collect(),
        None => ctx.index.of_kind("Service").to_vec(),
    };
    let Some((svc_i, selector)) = candidates.iter().find_map(|&i| {
        let f = ctx.index.facts(i);
        if f.name != name || !same_namespace(f.namespace, namespace) {
            return None;
        }
        let selector =
            at(&ctx.manifests[i].value, &["spec", "selector"]).and_then(Value::as_object)?;
        (!selector.is_empty()).then_some((i, selector))
    }) else {
        return;
    };
    let svc_ns = ctx.index.namespace(svc_i).or(namespace);
    let in_namespace = |w: &usize| same_namespace(ctx.index.namespace(*w), svc_ns);
    if !ctx.index.service_pods(svc_i).iter().any(in_namespace) {
        // The Service's pods are not among the linted manifests: nothing to compare with.
        return;
    }
    // Pods of the subset carry the Service's selector and the subset's labels; a label the two
    // set to different values leaves none.
    let subset_labels = labels.into_iter().flatten();
    let conflict = subset_labels
        .clone()
        .any(|(k, v)| selector.field(k).is_some_and(|existing| existing != v));
    if !conflict {
        let mut pods = ctx.index.select_all(selector.iter().chain(subset_labels));
        ctx.index.keep_in(&mut pods, svc_ns);
        if !pods.is_empty() {
            return;
        }
    }
    let pointer = to.pointer();
    let vs = &ctx.manifests[vi];
    let wanted = labels
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("?")))
        .collect::<Vec<_>>()
        .join(", ");
    let rendered = ctx.platform.is_some();
    let d = out.report(
        &SUBSET_WITHOUT_PODS,
        Some(vi),
        format!(
            "VirtualService `{}` sends {weight}% of its traffic to subset `{subset}` of `{host}`, but no pod of Service `{name}` carries the subset's labels ({})",
            vs.name(),
            if wanted.is_empty() { "none".to_owned() } else { wanted.clone() }
        ),
    );
    d.place(
        Some(ctx.locate(vi, &pointer, CANARY)),
        format!("{weight}% to a subset without pods"),
    );
    let subset_at = ctx.locate(rule.manifest, &format!("/spec/subsets/{si}/labels"), CANARY);
    if !rendered {
        d.also(Some(subset_at), "the subset's labels");
    }
    d.help(if conflict {
        format!("the subset's labels contradict Service `{name}`'s selector, so no pod can match both: fix the subset's labels")
    } else if rendered {
        format!("shipshape renders only the stable `v1` workload: until pods labelled {wanted} run (deployed by another pipeline), {weight}% of requests fail with 503; lower the canary weight to 0 until they do, or suppress with the reason")
    } else {
        format!("until a workload whose pods carry {wanted} and the Service's selector runs, {weight}% of requests fail with 503: deploy it, or route no weight to the subset until it does")
    });
}
