//! `unreachable-service`: a Service whose pods the policies let nobody reach.

use crate::diagnostic::Severity;
use crate::example;
use crate::lint::fxhash::{map_with_capacity, FxHashMap};
use crate::lint::index::{same_namespace, selects_everything};
use crate::lint::{Code, LintContext, Rule, Sink};
use crate::manifest::{at, Field};
use serde_json::Value;

pub const RULE: Rule = Rule {
    id: "unreachable-service",
    codes: &[&NO_INGRESS, &OTHER_PORTS, &ISTIO_DENIES_ALL],
    summary: "A Service whose pods no NetworkPolicy admits ingress to (under a default-deny or their own policy), or only on other ports, or whose Istio ALLOW policies have no rules",
    doc: r#"## What it checks
For every Service with a selector, whether anything may call its pods:
- **NetworkPolicy**: a pod selected by a policy with `Ingress` among its `policyTypes` is isolated;
  the namespace's default-deny (`podSelector: {}`, no `ingress` rules) isolates every pod. An
  isolated pod is reachable only if one of the policies selecting it has an `ingress` rule, and
  through the Service only if such a rule admits a port the Service sends to: a rule with `ports`
  admits just those (a number, a range up to `endPort`, or a container port's name, with the
  protocol, TCP unless given); a rule without `ports` admits every port.
- **Istio**: when ALLOW AuthorizationPolicies apply to a pod, a request must match one of their
  rules; ALLOW policies without rules deny everything.

A Service none of whose pods is reachable this way is reported. Whether the admitted peers exist is
not checked, nor the ports in Istio rules; a target port the pods do not expose is
`port-conflict`'s finding, and this rule then assumes it reachable.

## Why it matters
A Service nobody may call is either dead weight or, more often, a caller nobody declared: the
first request from it times out (NetworkPolicy drops packets) or gets `403 RBAC: access denied`
(Istio). In shipshape's catalogue, a service is callable only by the services that list it in
`dependsOn` or `calls`, by every other service when it is `callableFromAll` (error reporting,
monitoring), and by its `ingress.fromNamespaces`.

## Bad
```yaml
services:
  web: { phase: utility, port: 3000, image: web, dependsOn: [api-gateway] }   # nobody calls web
```

## Good
```yaml
services:
  web:
    phase: utility
    port: 3000
    image: web
    dependsOn: [api-gateway]
    ingress: { fromNamespaces: [ingress-nginx] }   # the ingress controller serves it
```
A worker that serves only its probes can say so: `suppress: { unreachable-service: "queue worker, nobody calls it" }`.
"#,
    check,
};

pub static NO_INGRESS: Code = Code {
    id: "unreachable-service/no-ingress",
    severity: Severity::Warning,
    summary: "No NetworkPolicy selecting a Service's pods admits any ingress, under a default-deny or their own policy",
    bad: example!("unreachable-service/fires/default-deny-without-allow.yaml"),
    good: example!("unreachable-service/quiet/default-deny-with-allow.yaml"),
};

pub static OTHER_PORTS: Code = Code {
    id: "unreachable-service/other-ports",
    severity: Severity::Warning,
    summary: "The NetworkPolicies of a Service's pods admit ingress, but not on the ports the Service sends to",
    bad: example!("unreachable-service/fires/ingress-on-another-port.yaml"),
    good: example!("unreachable-service/quiet/ingress-on-the-named-port.yaml"),
};

pub static ISTIO_DENIES_ALL: Code = Code {
    id: "unreachable-service/istio-allow-without-rules",
    severity: Severity::Warning,
    summary: "An Istio ALLOW AuthorizationPolicy without rules selects a Service's pods, so every request is denied",
    bad: example!("unreachable-service/fires/istio-allow-without-rules.yaml"),
    good: example!("unreachable-service/quiet/istio-allow-with-rule.yaml"),
};

struct NetworkPolicy<'a> {
    manifest: usize,
    /// Workloads it selects; `None` for a selector that cannot be evaluated.
    selects: Option<&'a [usize]>,
    /// The `ports` of each ingress rule; `None` for a rule that lists none (every port).
    rules: Vec<Option<&'a [Value]>>,
    default_deny: bool,
}

impl NetworkPolicy<'_> {
    /// Whether it has an ingress rule at all.
    fn admits(&self) -> bool {
        !self.rules.is_empty()
    }

    fn admits_port(&self, port: &PodPort) -> bool {
        self.rules.iter().any(|rule| match rule {
            None => true,
            Some(ports) => ports.iter().any(|p| policy_port_matches(p, port)),
        })
    }
}

/// Where one port of a Service lands on one pod.
struct PodPort<'a> {
    number: i64,
    /// The container port's name, if it has one: a policy may admit it by name.
    name: Option<&'a str>,
    protocol: &'a str,
}

/// Whether an entry of a NetworkPolicy ingress rule's `ports` admits `port`. What cannot be read
/// (a port of another type) admits it: the rule warns only about what it can show.
fn policy_port_matches(entry: &Value, port: &PodPort) -> bool {
    let protocol = entry
        .field("protocol")
        .and_then(Value::as_str)
        .unwrap_or("TCP");
    if protocol != port.protocol {
        return false;
    }
    match entry.field("port") {
        Some(Value::Number(n)) => {
            let Some(low) = n.as_i64() else { return true };
            let high = entry
                .field("endPort")
                .and_then(Value::as_i64)
                .unwrap_or(low);
            (low..=high).contains(&port.number)
        }
        Some(Value::String(name)) => port.name == Some(name.as_str()),
        _ => true,
    }
}

/// The ports Service `si` sends to on workload `w`: each `targetPort` (the `port` when unset)
/// as the pod exposes it. A target the pod does not expose is left out. Lazy, and without
/// allocating: it runs for every Service whose pods a policy isolates.
fn pod_ports<'c, 'a: 'c>(
    ctx: &'c LintContext<'a>,
    si: usize,
    w: usize,
) -> impl Iterator<Item = PodPort<'a>> + 'c {
    let containers = ctx.index.containers(w);
    let exposed = move || {
        containers
            .iter()
            .flat_map(|c| &c.ports)
            .filter_map(|p| Some((p.number?, p.name)))
    };
    let service_ports: &'a [Value] = at(&ctx.manifests[si].value, &["spec", "ports"])
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    service_ports.iter().filter_map(move |sp| {
        let protocol = sp
            .field("protocol")
            .and_then(Value::as_str)
            .unwrap_or("TCP");
        let target = match sp.field("targetPort") {
            Some(t) => t,
            None => sp.field("port")?,
        };
        let (number, name) = match target {
            Value::Number(n) => {
                let n = n.as_i64()?;
                (n, exposed().find(|e| e.0 == n).and_then(|e| e.1))
            }
            Value::String(name) => exposed().find(|e| e.1 == Some(name.as_str()))?,
            _ => return None,
        };
        Some(PodPort {
            number,
            name,
            protocol,
        })
    })
}

struct AllowPolicy<'a> {
    manifest: usize,
    /// Workloads it applies to; `None` for a selector that cannot be evaluated.
    selects: Option<&'a [usize]>,
    has_rules: bool,
}

fn network_policies<'a>(ctx: &'a LintContext) -> Vec<NetworkPolicy<'a>> {
    let mut out = Vec::new();
    for &i in ctx.index.of_kind("NetworkPolicy") {
        let m = &ctx.manifests[i];
        if !m.api_version().starts_with("networking.k8s.io/") {
            continue;
        }
        let spec = m.value.field("spec").unwrap_or(&Value::Null);
        let ingress_rules = spec.field("ingress").and_then(Value::as_array);
        // Without policyTypes, Kubernetes assumes Ingress (and Egress only with egress rules).
        let isolates_ingress = match spec.field("policyTypes").and_then(Value::as_array) {
            Some(types) => types.iter().any(|t| t.as_str() == Some("Ingress")),
            None => true,
        };
        if !isolates_ingress {
            continue;
        }
        let selector = spec.field("podSelector").unwrap_or(&Value::Null);
        let rules: Vec<Option<&[Value]>> = ingress_rules
            .into_iter()
            .flatten()
            .map(|r| {
                r.field("ports")
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .filter(|p| !p.is_empty())
            })
            .collect();
        let everything = selector.is_null() || selects_everything(selector);
        out.push(NetworkPolicy {
            manifest: i,
            selects: ctx.index.policy_pods(i),
            default_deny: everything && rules.is_empty(),
            rules,
        });
    }
    out
}

fn allow_policies<'a>(ctx: &'a LintContext) -> Vec<AllowPolicy<'a>> {
    let mut out = Vec::new();
    for &i in ctx.index.of_kind("AuthorizationPolicy") {
        let m = &ctx.manifests[i];
        if !m.api_version().starts_with("security.istio.io/") {
            continue;
        }
        let spec = m.value.field("spec").unwrap_or(&Value::Null);
        if spec
            .field("action")
            .and_then(Value::as_str)
            .unwrap_or("ALLOW")
            != "ALLOW"
        {
            continue;
        }
        // Without a selector the policy covers the whole namespace (as `policy_pods` reads it).
        let selects = ctx.index.policy_pods(i);
        out.push(AllowPolicy {
            manifest: i,
            selects,
            has_rules: spec
                .field("rules")
                .and_then(Value::as_array)
                .is_some_and(|r| !r.is_empty()),
        });
    }
    out
}

/// Whether policies stop every request to a pod: some apply to it and none lets anything in.
fn shuts_out<'p, P: 'p>(
    applying: impl IntoIterator<Item = &'p P>,
    lets_in: impl Fn(&P) -> bool,
) -> bool {
    let mut any = false;
    for p in applying {
        if lets_in(p) {
            return false;
        }
        any = true;
    }
    any
}

/// Workload -> indexes of the policies that apply to it, in policy order. A policy's selection
/// holds only workloads of its namespace, so nothing is left to check per workload.
fn policies_by_workload<'s>(
    selections: impl Iterator<Item = Option<&'s [usize]>>,
) -> FxHashMap<usize, Vec<usize>> {
    let mut by_workload: FxHashMap<usize, Vec<usize>> = map_with_capacity(selections.size_hint().0);
    for (k, selects) in selections.enumerate() {
        for &w in selects.unwrap_or(&[]) {
            by_workload.entry(w).or_default().push(k);
        }
    }
    by_workload
}

fn check(ctx: &LintContext, out: &mut Sink) {
    let nps = network_policies(ctx);
    let aps = allow_policies(ctx);
    if nps.is_empty() && aps.is_empty() {
        return;
    }
    // A policy whose selector cannot be evaluated might be the one admitting the pods.
    if nps.iter().any(|p| p.selects.is_none()) || aps.iter().any(|p| p.selects.is_none()) {
        return;
    }
    // Built once so each Service costs only its pods.
    let np_for = policies_by_workload(nps.iter().map(|p| p.selects));
    let ap_for = policies_by_workload(aps.iter().map(|p| p.selects));
    let nps_of = |w: usize| np_for.get(&w).into_iter().flatten().map(|&k| &nps[k]);
    let aps_of = |w: usize| ap_for.get(&w).into_iter().flatten().map(|&k| &aps[k]);
    for &si in ctx.index.of_kind("Service") {
        let svc = &ctx.manifests[si];
        let selects_pods = at(&svc.value, &["spec", "selector"])
            .and_then(Value::as_object)
            .is_some_and(|s| !s.is_empty());
        if !selects_pods {
            continue;
        }
        let namespace = ctx.index.namespace(si);
        let pods: Vec<usize> = ctx
            .index
            .service_pods(si)
            .iter()
            .copied()
            .filter(|&w| same_namespace(ctx.index.namespace(w), namespace))
            .collect();
        let Some(&first) = pods.first() else {
            continue;
        };
        let no_rules = |w: usize| shuts_out(nps_of(w), NetworkPolicy::admits);
        // Isolated, with ingress rules, none of which admits a port the Service sends to.
        let other_ports = |w: usize| {
            if nps_of(w).next().is_none() {
                return false;
            }
            let mut any = false;
            for t in pod_ports(ctx, si, w) {
                if nps_of(w).any(|p| p.admits_port(&t)) {
                    return false;
                }
                any = true;
            }
            any
        };
        let np_blocked = pods.iter().all(|&w| no_rules(w) || other_ports(w));
        let by_ports = np_blocked && pods.iter().any(|&w| !no_rules(w));
        let ap_blocked = pods.iter().all(|&w| shuts_out(aps_of(w), |p| p.has_rules));
        if !np_blocked && !ap_blocked {
            continue;
        }
        let names = |list: Vec<usize>| {
            list.iter()
                .map(|&i| format!("`{}`", ctx.manifests[i].name()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let np_involved: Vec<&NetworkPolicy> = nps_of(first).collect();
        let ap_involved: Vec<&AllowPolicy> = aps_of(first).collect();
        let mut reasons = Vec::new();
        let targets = || {
            let mut numbers: Vec<String> = pod_ports(ctx, si, first)
                .map(|t| format!("{}/{}", t.number, t.protocol))
                .collect();
            numbers.dedup();
            numbers.join(", ")
        };
        if by_ports {
            reasons.push(format!(
                "the NetworkPolicies that admit ingress to its pods ({}) admit other ports than the ones it sends to ({})",
                names(
                    np_involved
                        .iter()
                        .filter(|p| p.admits())
                        .map(|p| p.manifest)
                        .collect()
                ),
                targets()
            ));
        } else if np_blocked {
            let deny = np_involved.iter().any(|p| p.default_deny);
            reasons.push(format!(
                "{}no NetworkPolicy that selects its pods ({}) has an ingress rule",
                if deny {
                    "under the namespace's default-deny, "
                } else {
                    ""
                },
                names(np_involved.iter().map(|p| p.manifest).collect())
            ));
        }
        if ap_blocked {
            reasons.push(format!(
                "no Istio ALLOW policy for its pods ({}) has a rule, so every request is denied",
                names(ap_involved.iter().map(|p| p.manifest).collect())
            ));
        }
        let rendered = ctx.platform.is_some();
        let code = if by_ports {
            &OTHER_PORTS
        } else if np_blocked {
            &NO_INGRESS
        } else {
            &ISTIO_DENIES_ALL
        };
        let d = out.report(
            code,
            Some(si),
            format!(
                "nothing can reach Service `{}`: {}",
                svc.name(),
                reasons.join("; ")
            ),
        );
        d.place(
            Some(ctx.locate(si, "/spec/selector", "/ingress")),
            "reachable by nobody",
        );
        if !rendered {
            if by_ports {
                for p in np_involved.iter().filter(|p| p.admits()) {
                    d.also(
                        Some(ctx.locate(p.manifest, "/spec/ingress", "")),
                        "admits other ports only",
                    );
                }
            } else if np_blocked {
                for p in &np_involved {
                    d.also(
                        Some(ctx.locate(p.manifest, "/spec/policyTypes", "")),
                        "isolates the pods, admits nothing",
                    );
                }
            }
            if ap_blocked {
                for p in &ap_involved {
                    d.also(
                        Some(ctx.locate(p.manifest, "/spec", "")),
                        "ALLOW policy without rules",
                    );
                }
            }
        }
        d.help(if by_ports {
            format!(
                "admit {} in an ingress rule of a NetworkPolicy that selects its pods, or send the Service to the port the policy admits",
                targets()
            )
        } else if rendered {
            format!(
                "no service lists `{}` in `dependsOn` or `calls`, it is not `callableFromAll`, and it has no `ingress.fromNamespaces`; declare its callers, or, for a worker that nobody calls, suppress with the reason",
                svc.name()
            )
        } else {
            let fix = match (np_blocked, ap_blocked) {
                (true, false) => "add an ingress rule admitting its callers to a NetworkPolicy that selects its pods",
                (false, _) => "add a rule admitting its callers to an ALLOW AuthorizationPolicy for its pods",
                (true, true) => "admit its callers in both layers: an ingress rule in a NetworkPolicy that selects its pods, and a rule in an ALLOW AuthorizationPolicy for them",
            };
            format!("{fix}; or drop the Service if nothing should call it")
        });
    }
}
