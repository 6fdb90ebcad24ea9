//! The host conditions of `mesh-routing`: the Services a VirtualService names exist, and no two
//! VirtualServices claim one host.

use crate::diagnostic::Severity;
use crate::example;
use crate::lint::fxhash::{FxHashMap, FxHashSet};
use crate::lint::{Code, LintContext, Sink};
use crate::manifest::Field;
use serde_json::Value;

pub static HOST_WITHOUT_SERVICE: Code = Code {
    id: "mesh-routing/host-without-service",
    severity: Severity::Error,
    summary:
        "A mesh VirtualService's host is a cluster-local name no Service (or ServiceEntry) has",
    bad: example!("mesh-routing/fires/host-without-service.yaml"),
    good: example!("mesh-routing/quiet/hosts-of-services-and-gateways.yaml"),
};

pub static DESTINATION_WITHOUT_SERVICE: Code = Code {
    id: "mesh-routing/destination-without-service",
    severity: Severity::Error,
    summary: "A route's destination host is a cluster-local name no Service (or ServiceEntry) has",
    bad: example!("mesh-routing/fires/destination-without-service.yaml"),
    good: example!("mesh-routing/quiet/hosts-of-services-and-gateways.yaml"),
};

pub static DUPLICATE_HOST: Code = Code {
    id: "mesh-routing/duplicate-host",
    severity: Severity::Warning,
    summary:
        "Two VirtualServices bound to the same gateway (or both to the mesh) claim the same host",
    bad: example!("mesh-routing/fires/duplicate-host.yaml"),
    good: example!("mesh-routing/quiet/one-host-per-gateway.yaml"),
};

/// Route sections of a VirtualService; gRPC is routed as HTTP.
const SECTIONS: &[&str] = &["http", "tcp", "tls"];

/// Where the catalogue decides a service's mesh routing.
const MESH: &str = "/mesh";

/// The gateway name that stands for every sidecar of the mesh.
const MESH_GATEWAY: &str = "mesh";

/// A host that names a Kubernetes Service, as Istio resolves it: `name` (in the
/// VirtualService's namespace), `name.namespace` (when the namespace is one the linted manifests
/// have), `name.namespace.svc` or `name.namespace.svc.cluster.local`. Anything else (external
/// names, wildcards) is `None`.
fn service_host<'a>(
    host: &'a str,
    own_namespace: Option<&'a str>,
    namespaces: &FxHashSet<&str>,
) -> Option<(&'a str, &'a str)> {
    if host.contains('*') || host.is_empty() {
        return None;
    }
    let Some((name, rest)) = host.split_once('.') else {
        return own_namespace.map(|ns| (host, ns));
    };
    let namespace = rest
        .strip_suffix(".svc.cluster.local")
        .or_else(|| rest.strip_suffix(".svc"))
        .or_else(|| namespaces.contains(rest).then_some(rest))?;
    (!namespace.is_empty() && !namespace.contains('.')).then_some((name, namespace))
}

/// Every namespace the linted manifests place something in or declare.
fn namespaces<'a>(ctx: &'a LintContext<'_>) -> FxHashSet<&'a str> {
    let mut out = FxHashSet::default();
    for i in 0..ctx.manifests.len() {
        let f = ctx.index.facts(i);
        if let Some(ns) = f.namespace {
            out.insert(ns);
        } else if f.kind == "Namespace" && !f.name.is_empty() {
            out.insert(f.name);
        }
    }
    out
}

/// Namespaces holding a Service or a workload among the linted manifests: only there can a
/// missing Service be told from one linted elsewhere.
fn populated_namespaces<'a>(ctx: &'a LintContext<'_>) -> FxHashSet<&'a str> {
    ctx.index
        .of_kind("Service")
        .iter()
        .chain(&ctx.index.workloads)
        .filter_map(|&i| ctx.index.namespace(i))
        .collect()
}

/// The hosts of every ServiceEntry, as written (exact names and `*.` wildcards).
fn service_entry_hosts<'a>(ctx: &'a LintContext<'_>) -> Vec<&'a str> {
    ctx.index
        .of_kind("ServiceEntry")
        .iter()
        .filter_map(|&i| ctx.manifests[i].value.field("spec"))
        .filter_map(|s| s.field("hosts").and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// Whether a ServiceEntry host covers the Service `name.namespace`.
fn entry_covers(entry: &str, name: &str, namespace: &str) -> bool {
    let fqdn = format!("{name}.{namespace}.svc.cluster.local");
    match entry.strip_prefix('*') {
        Some(suffix) => fqdn.ends_with(suffix),
        None => entry == fqdn || entry == format!("{name}.{namespace}"),
    }
}

/// What the host checks share: the Services by (namespace, name), and what else may answer.
struct Lookup<'a> {
    namespaces: FxHashSet<&'a str>,
    populated: FxHashSet<&'a str>,
    services: FxHashSet<(&'a str, &'a str)>,
    entries: Vec<&'a str>,
}

/// The outcome of resolving a host.
enum Resolved<'a> {
    /// Not a Service name, or one that exists, or one shipshape cannot judge.
    Fine,
    /// A Service name with no Service: (name, namespace).
    Missing(&'a str, &'a str),
}

impl<'a> Lookup<'a> {
    fn new(ctx: &'a LintContext<'_>) -> Lookup<'a> {
        let services = ctx
            .index
            .of_kind("Service")
            .iter()
            .filter_map(|&i| {
                let f = ctx.index.facts(i);
                Some((f.namespace?, f.name))
            })
            .collect();
        Lookup {
            namespaces: namespaces(ctx),
            populated: populated_namespaces(ctx),
            services,
            entries: service_entry_hosts(ctx),
        }
    }

    fn resolve<'h>(&self, host: &'h str, own_namespace: Option<&'h str>) -> Resolved<'h> {
        let Some((name, ns)) = service_host(host, own_namespace, &self.namespaces) else {
            return Resolved::Fine;
        };
        if !self.populated.contains(ns)
            || self.services.contains(&(ns, name))
            || self.entries.iter().any(|e| entry_covers(e, name, ns))
        {
            return Resolved::Fine;
        }
        Resolved::Missing(name, ns)
    }
}

/// The gateways a VirtualService is bound to, as `namespace/name` (or `mesh`); none written
/// means the mesh.
fn gateways(spec: &Value, own_namespace: Option<&str>) -> Vec<String> {
    let written: Vec<&str> = spec
        .field("gateways")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if written.is_empty() {
        return vec![MESH_GATEWAY.to_owned()];
    }
    let mut out: Vec<String> = written
        .iter()
        .map(|g| {
            if *g == MESH_GATEWAY || g.contains('/') {
                (*g).to_owned()
            } else {
                format!("{}/{g}", own_namespace.unwrap_or(""))
            }
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

pub fn check(ctx: &LintContext, out: &mut Sink) {
    let vss = ctx.index.of_kind("VirtualService");
    if vss.is_empty() {
        return;
    }
    let lookup = Lookup::new(ctx);
    // (gateway, host as Istio reads it) -> the first VirtualService claiming it, and where.
    let mut claimed: FxHashMap<(String, String), (usize, usize)> = FxHashMap::default();
    for &vi in vss {
        let Some(spec) = ctx.manifests[vi].value.field("spec") else {
            continue;
        };
        let ns = ctx.index.namespace(vi);
        let bound = gateways(spec, ns);
        let hosts = spec.field("hosts").and_then(Value::as_array);
        let mut seen_here: FxHashSet<String> = FxHashSet::default();
        for (hi, host) in hosts.into_iter().flatten().enumerate() {
            let Some(host) = host.as_str() else {
                continue;
            };
            // A host bound only to gateways is a name clients outside the mesh ask for.
            if bound.iter().any(|g| g == MESH_GATEWAY) {
                if let Resolved::Missing(name, service_ns) = lookup.resolve(host, ns) {
                    host_without_service(ctx, out, vi, hi, host, name, service_ns);
                }
            }
            let key = match service_host(host, ns, &lookup.namespaces) {
                Some((name, service_ns)) => format!("{name}.{service_ns}.svc.cluster.local"),
                None => host.to_owned(),
            };
            if !seen_here.insert(key.clone()) {
                continue;
            }
            for gateway in &bound {
                match claimed.get(&(gateway.clone(), key.clone())) {
                    Some(&(first, first_hi)) => {
                        duplicate_host(ctx, out, (vi, hi), (first, first_hi), host, gateway);
                        break;
                    }
                    None => {
                        claimed.insert((gateway.clone(), key.clone()), (vi, hi));
                    }
                }
            }
        }
        for &section in SECTIONS {
            let routes = spec.field(section).and_then(Value::as_array);
            for (ri, route) in routes.into_iter().flatten().enumerate() {
                let dests = route.field("route").and_then(Value::as_array);
                for (di, d) in dests.into_iter().flatten().enumerate() {
                    let Some(host) = d
                        .field("destination")
                        .and_then(|t| t.field("host"))
                        .and_then(Value::as_str)
                    else {
                        continue;
                    };
                    if let Resolved::Missing(name, service_ns) = lookup.resolve(host, ns) {
                        let pointer = format!("/spec/{section}/{ri}/route/{di}/destination/host");
                        destination_without_service(ctx, out, vi, &pointer, host, name, service_ns);
                    }
                }
            }
        }
    }
}

fn host_without_service(
    ctx: &LintContext,
    out: &mut Sink,
    vi: usize,
    hi: usize,
    host: &str,
    name: &str,
    namespace: &str,
) {
    out.report(
        &HOST_WITHOUT_SERVICE,
        Some(vi),
        format!(
            "VirtualService `{}` routes host `{host}`, but namespace `{namespace}` has no Service `{name}` (and no ServiceEntry names it)",
            ctx.manifests[vi].name()
        ),
    )
    .place(
        Some(ctx.locate(vi, &format!("/spec/hosts/{hi}"), MESH)),
        "no such Service",
    )
    .help(format!(
        "sidecars only apply a VirtualService to hosts they know: create Service `{name}` in `{namespace}`, fix the host's spelling, or declare an external host with a ServiceEntry"
    ));
}

fn destination_without_service(
    ctx: &LintContext,
    out: &mut Sink,
    vi: usize,
    pointer: &str,
    host: &str,
    name: &str,
    namespace: &str,
) {
    out.report(
        &DESTINATION_WITHOUT_SERVICE,
        Some(vi),
        format!(
            "VirtualService `{}` sends traffic to `{host}`, but namespace `{namespace}` has no Service `{name}` (and no ServiceEntry names it)",
            ctx.manifests[vi].name()
        ),
    )
    .place(Some(ctx.locate(vi, pointer, MESH)), "no such Service")
    .help(format!(
        "Envoy has no cluster for an unknown host and answers 503: create Service `{name}` in `{namespace}`, fix the destination's spelling, or declare the host with a ServiceEntry"
    ));
}

fn duplicate_host(
    ctx: &LintContext,
    out: &mut Sink,
    (vi, hi): (usize, usize),
    (first, first_hi): (usize, usize),
    host: &str,
    gateway: &str,
) {
    let bound = if gateway == MESH_GATEWAY {
        "the mesh".to_owned()
    } else {
        format!("gateway `{gateway}`")
    };
    out.report(
        &DUPLICATE_HOST,
        Some(vi),
        format!(
            "VirtualServices `{}` and `{}` both claim host `{host}` on {bound}: Istio merges or drops their routes in an order nobody chose",
            ctx.manifests[first].name(),
            ctx.manifests[vi].name()
        ),
    )
    .place(
        Some(ctx.locate(vi, &format!("/spec/hosts/{hi}"), MESH)),
        "host claimed again",
    )
    .also(
        Some(ctx.locate(first, &format!("/spec/hosts/{first_hi}"), MESH)),
        "first claimed here",
    )
    .help("keep one VirtualService per host and gateway: merge the routes into one (match rules first, catch-all last), or use `delegate` to split a host's routes between teams");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_hosts_resolve_as_istio_reads_them() {
        let known: FxHashSet<&str> = ["shop"].into_iter().collect();
        let ns = Some("web");
        assert_eq!(service_host("cart", ns, &known), Some(("cart", "web")));
        assert_eq!(
            service_host("cart.shop", ns, &known),
            Some(("cart", "shop"))
        );
        assert_eq!(
            service_host("cart.shop.svc", ns, &known),
            Some(("cart", "shop"))
        );
        assert_eq!(
            service_host("cart.other.svc.cluster.local", ns, &known),
            Some(("cart", "other"))
        );
        assert_eq!(service_host("api.example.com", ns, &known), None);
        assert_eq!(service_host("example.com", ns, &known), None);
        assert_eq!(service_host("*.shop.svc.cluster.local", ns, &known), None);
        assert_eq!(service_host("*", ns, &known), None);
    }

    #[test]
    fn service_entries_cover_exact_and_wildcard_hosts() {
        assert!(entry_covers("cart.shop.svc.cluster.local", "cart", "shop"));
        assert!(entry_covers("*.shop.svc.cluster.local", "cart", "shop"));
        assert!(!entry_covers("*.web.svc.cluster.local", "cart", "shop"));
        assert!(!entry_covers("cart.example.com", "cart", "shop"));
    }
}
