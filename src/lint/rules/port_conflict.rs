//! `port-conflict`: one port, one owner; and every port a Service or probe aims at exists.

use crate::diagnostic::Severity;
use crate::example;
use crate::lint::fxhash::{map_with_capacity, FxHashMap};
use crate::lint::{Code, LintContext, Rule, Sink};
use crate::manifest::containers::{Container, Port};
use crate::manifest::{at, Field, Manifest};
use crate::vocabulary;
use serde_json::{Map, Value};

pub const RULE: Rule = Rule {
    id: "port-conflict",
    codes: &[
        &TWO_SERVICES_ONE_PORT,
        &DUPLICATE_SERVICE_PORT,
        &DUPLICATE_SERVICE_PORT_NAME,
        &DUPLICATE_NODE_PORT,
        &TARGET_PORT_NOT_EXPOSED,
        &DUPLICATE_CONTAINER_PORT,
        &DUPLICATE_CONTAINER_PORT_NAME,
        &DUPLICATE_HOST_PORT,
        &PROBE_PORT_UNDEFINED,
        &PROBE_PORT_UNDECLARED,
    ],
    summary: "Two services on one port, duplicate ports in a Service or pod, duplicate nodePort/hostPort, or a targetPort/probe port no container exposes",
    doc: r#"## What it checks
- Two Services of one environment claiming the same service port and protocol. The platform gives
  every service a port of its own ("port standardization"), so a second claim is a copy-paste
  mistake. The convention holds within one platform that shipshape renders: Services in one
  namespace with the same `app.kubernetes.io/part-of` label, rendered by shipshape (or labelled
  `app.kubernetes.io/managed-by: shipshape`). Kubernetes itself lets ClusterIP Services share a
  port, so Services from elsewhere (a Helm chart, kubectl output) are not held to it. Two Services
  that select the same pods (a headless and a client Service of one StatefulSet) are one service.
- The same port number or name twice in one Service, or twice across the containers of one pod.
- The same `nodePort` on two Services, or the same `hostPort` on two workloads.
- A Service `targetPort` that no container of the pods it selects exposes.
- A probe port that its container does not expose (a named port that does not exist is an error;
  an undeclared number is a warning).

## Why it matters
Clashing ports make traffic go to the wrong service or nowhere, and a probe aimed at a port nobody
listens on fails forever: the pod never becomes ready and the rollout stalls.

## Bad
```yaml
services:
  database-service: { phase: core, port: 9015, image: db }
  op-import:        { phase: core, port: 9015, image: import }
```

## Good
```yaml
services:
  database-service: { phase: core, port: 9015, image: db }
  op-import:        { phase: core, port: 9023, image: import }
```
"#,
    check,
};

pub static TWO_SERVICES_ONE_PORT: Code = Code {
    id: "port-conflict/two-services-one-port",
    severity: Severity::Error,
    summary: "Two Services of one shipshape platform claim the same port and protocol",
    bad: example!("port-conflict/fires/two-services-same-port.yaml"),
    good: example!("port-conflict/quiet/unrelated-services-same-port.yaml"),
};

pub static DUPLICATE_SERVICE_PORT: Code = Code {
    id: "port-conflict/duplicate-service-port",
    severity: Severity::Error,
    summary: "One Service lists the same port and protocol twice",
    bad: example!("port-conflict/fires/duplicate-port-in-service.yaml"),
    good: example!("port-conflict/quiet/dns-tcp-and-udp.yaml"),
};

pub static DUPLICATE_SERVICE_PORT_NAME: Code = Code {
    id: "port-conflict/duplicate-service-port-name",
    severity: Severity::Error,
    summary: "One Service names two ports alike",
    bad: example!("port-conflict/fires/duplicate-port-name-in-service.yaml"),
    good: example!("port-conflict/quiet/dns-split-by-protocol.yaml"),
};

pub static DUPLICATE_NODE_PORT: Code = Code {
    id: "port-conflict/duplicate-node-port",
    severity: Severity::Error,
    summary: "Two Services use the same nodePort, which is cluster-wide",
    bad: example!("port-conflict/fires/duplicate-node-port.yaml"),
    good: example!("port-conflict/quiet/node-ports-and-host-port.yaml"),
};

pub static TARGET_PORT_NOT_EXPOSED: Code = Code {
    id: "port-conflict/target-port-not-exposed",
    severity: Severity::Error,
    summary: "A Service's targetPort (or its port, when targetPort is unset) is no port of the pods it selects",
    bad: example!("port-conflict/fires/target-port-not-exposed.yaml"),
    good: example!("port-conflict/quiet/service-and-deployment.yaml"),
};

pub static DUPLICATE_CONTAINER_PORT: Code = Code {
    id: "port-conflict/duplicate-container-port",
    severity: Severity::Error,
    summary: "Two containers of one pod (or one container twice) expose the same port and protocol",
    bad: example!("port-conflict/fires/duplicate-container-port-in-pod.yaml"),
    good: example!("port-conflict/quiet/sidecar-ports.yaml"),
};

pub static DUPLICATE_CONTAINER_PORT_NAME: Code = Code {
    id: "port-conflict/duplicate-container-port-name",
    severity: Severity::Error,
    summary: "Two ports of one pod have the same name",
    bad: example!("port-conflict/fires/duplicate-port-name-in-pod.yaml"),
    good: example!("port-conflict/quiet/sidecar-ports.yaml"),
};

pub static DUPLICATE_HOST_PORT: Code = Code {
    id: "port-conflict/duplicate-host-port",
    severity: Severity::Error,
    summary: "Two workloads bind the same hostPort, so their pods cannot share a node",
    bad: example!("port-conflict/fires/duplicate-host-port.yaml"),
    good: example!("port-conflict/quiet/node-ports-and-host-port.yaml"),
};

pub static PROBE_PORT_UNDEFINED: Code = Code {
    id: "port-conflict/probe-port-undefined",
    severity: Severity::Error,
    summary: "A probe aims at a named port its container does not define",
    bad: example!("port-conflict/fires/probe-named-port-missing.yaml"),
    good: example!("port-conflict/quiet/service-and-deployment.yaml"),
};

pub static PROBE_PORT_UNDECLARED: Code = Code {
    id: "port-conflict/probe-port-undeclared",
    severity: Severity::Warning,
    summary:
        "A probe aims at a port number its container does not declare (it may still listen there)",
    bad: example!("port-conflict/fires/probe-numeric-port-undeclared.yaml"),
    good: example!("port-conflict/quiet/service-and-deployment.yaml"),
};

fn port_key(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// Whether one of `ports` is `target`: by name for a string, by number for a number.
fn exposes<'a, 'm: 'a>(ports: impl IntoIterator<Item = &'a Port<'m>>, target: &Value) -> bool {
    let mut ports = ports.into_iter();
    match target {
        Value::String(name) => ports.any(|p| p.name == Some(name.as_str())),
        Value::Number(n) => ports.any(|p| p.number == n.as_i64()),
        _ => true,
    }
}

/// Reports a value one manifest holds twice: at the second place, with the first beside it.
/// Places are (pointer in the manifest, the catalogue field that produced it).
#[allow(clippy::too_many_arguments)]
fn repeated(
    ctx: &LintContext,
    out: &mut Sink,
    code: &'static Code,
    manifest: usize,
    message: String,
    second: (&str, &str),
    first: (&str, &str),
    help: &str,
) {
    out.report(code, Some(manifest), message)
        .place(
            Some(ctx.locate(manifest, second.0, second.1)),
            "second time",
        )
        .also(Some(ctx.locate(manifest, first.0, first.1)), "first time")
        .help(help);
}

fn check(ctx: &LintContext, out: &mut Sink) {
    services(ctx, out);
    pods(ctx, out);
}

/// The scope within which the one-port-per-service convention holds: one namespace of one
/// platform (`app.kubernetes.io/part-of`) that shipshape renders. Kubernetes itself lets any
/// number of ClusterIP Services share a port (each has its own IP), so manifests from elsewhere
/// are not held to the convention: unrelated charts, and the parts of one chart, commonly all
/// listen on port 80.
fn convention_scope<'m>(
    ctx: &LintContext,
    m: &'m Manifest,
    namespace: Option<&'m str>,
) -> Option<(&'m str, &'m str)> {
    let labels = m.labels()?;
    let label = |key: &str| labels.field(key).and_then(Value::as_str);
    let ours = ctx.platform.is_some()
        || label(vocabulary::label::MANAGED_BY) == Some(vocabulary::label::MANAGED_BY_SHIPSHAPE);
    if !ours {
        return None;
    }
    Some((namespace.unwrap_or(""), label(vocabulary::label::PART_OF)?))
}

fn service_selector(m: &Manifest) -> Option<&Map<String, Value>> {
    at(&m.value, &["spec", "selector"]).and_then(Value::as_object)
}

/// Two Services over the same pods (a headless one for a StatefulSet and a client one, say) are
/// one service with two front doors, not two services on one port.
fn same_backends(ctx: &LintContext, a: usize, b: usize) -> bool {
    let pods = |i: usize| service_selector(&ctx.manifests[i]).map(|_| ctx.index.service_pods(i));
    match (pods(a), pods(b)) {
        (Some(x), Some(y)) => !x.is_empty() && x == y,
        _ => false,
    }
}

/// The workloads a Service selects, each with its containers (and the ports they expose): what
/// every `targetPort` of the Service is checked against.
fn backends<'c, 'm>(ctx: &'c LintContext<'m>, si: usize) -> Vec<(usize, &'c [Container<'m>])> {
    ctx.index
        .service_pods(si)
        .iter()
        .filter(|&&wi| ctx.index.pod_spec(wi).is_some())
        .map(|&wi| (wi, ctx.index.containers(wi)))
        .collect()
}

fn services(ctx: &LintContext, out: &mut Sink) {
    type Claim<'m> = ((&'m str, &'m str), i64, &'m str);
    let services = ctx.index.of_kind("Service");
    // Sized for a port per Service, the common case, so the map does not regrow.
    let mut claimed: FxHashMap<Claim, (usize, usize)> = map_with_capacity(services.len());
    let mut node_ports: FxHashMap<(i64, &str), (usize, usize)> = FxHashMap::default();
    // Per Service, emptied for each: reusing them spares two tables per Service.
    let mut seen_numbers: FxHashMap<(i64, &str), usize> = FxHashMap::default();
    let mut seen_names: FxHashMap<&str, usize> = FxHashMap::default();
    for &si in services {
        let svc = &ctx.manifests[si];
        let scope = convention_scope(ctx, svc, ctx.index.namespace(si));
        let Some(ports) = at(&svc.value, &["spec", "ports"]).and_then(Value::as_array) else {
            continue;
        };
        let has_selector = service_selector(svc).is_some();
        // Read on the first port that needs them, then shared by the others.
        let mut selected: Option<Vec<(usize, &[Container])>> = None;
        seen_numbers.clear();
        seen_names.clear();
        for (pi, p) in ports.iter().enumerate() {
            let number = p.field("port").and_then(Value::as_i64);
            let protocol = p.field("protocol").and_then(Value::as_str).unwrap_or("TCP");
            if let Some(n) = number {
                if let Some(&first) = seen_numbers.get(&(n, protocol)) {
                    repeated(
                        ctx,
                        out,
                        &DUPLICATE_SERVICE_PORT,
                        si,
                        format!("Service `{}` lists port {n}/{protocol} twice", svc.name()),
                        (&at_port(pi, "port"), "/port"),
                        (&at_port(first, "port"), "/port"),
                        "remove the duplicate port entry",
                    );
                } else {
                    seen_numbers.insert((n, protocol), pi);
                }
                let claim = scope.map(|sc| (sc, n, protocol));
                match claim.as_ref().and_then(|c| claimed.get(c)) {
                    Some(&(other, other_pi))
                        if ctx.index.facts(other).name != svc.name()
                            && !same_backends(ctx, other, si) =>
                    {
                        let first = &ctx.manifests[other];
                        out.report(
                            &TWO_SERVICES_ONE_PORT,
                            Some(si),
                            format!(
                                "services `{}` and `{}` both claim port {n}",
                                first.name(),
                                svc.name()
                            ),
                        )
                        .place(
                            Some(ctx.locate(si, &at_port(pi, "port"), "/port")),
                            format!("port {n} claimed again here"),
                        )
                        .also(
                            Some(ctx.locate(other, &at_port(other_pi, "port"), "/port")),
                            format!("port {n} first claimed here"),
                        )
                        .help(format!(
                            "give `{}` a port no other service uses",
                            svc.name()
                        ));
                    }
                    Some(_) => {}
                    None => {
                        if let Some(c) = claim {
                            claimed.insert(c, (si, pi));
                        }
                    }
                }
            }
            if let Some(name) = p.field("name").and_then(Value::as_str) {
                if let Some(&first) = seen_names.get(name) {
                    repeated(
                        ctx,
                        out,
                        &DUPLICATE_SERVICE_PORT_NAME,
                        si,
                        format!("Service `{}` names two ports `{name}`", svc.name()),
                        (&at_port(pi, "name"), "/protocol"),
                        (&at_port(first, "name"), "/protocol"),
                        "port names must be unique within a Service",
                    );
                } else {
                    seen_names.insert(name, pi);
                }
            }
            if let Some(np) = p.field("nodePort").and_then(Value::as_i64) {
                if let Some(&(other, other_pi)) = node_ports.get(&(np, protocol)) {
                    out.report(
                        &DUPLICATE_NODE_PORT,
                        Some(si),
                        format!(
                            "nodePort {np} is used by `{}` and `{}`",
                            ctx.manifests[other].name(),
                            svc.name()
                        ),
                    )
                    .place(
                        Some(ctx.locate(si, &at_port(pi, "nodePort"), "/port")),
                        "claimed again here",
                    )
                    .also(
                        Some(ctx.locate(other, &at_port(other_pi, "nodePort"), "/port")),
                        "first claimed here",
                    )
                    .help(
                        "every nodePort is cluster-wide; pick another or let Kubernetes assign one",
                    );
                } else {
                    node_ports.insert((np, protocol), (si, pi));
                }
            }
            // The target must be a port the selected pods expose.
            if !has_selector {
                continue;
            }
            let number_target;
            let target = match (p.field("targetPort"), number) {
                (Some(t), _) => t,
                (None, Some(n)) => {
                    number_target = Value::from(n);
                    &number_target
                }
                (None, None) => continue,
            };
            let pods = &*selected.get_or_insert_with(|| backends(ctx, si));
            for &(wi, containers) in pods {
                if !exposes(containers.iter().flat_map(|c| &c.ports), target) {
                    out.report(
                        &TARGET_PORT_NOT_EXPOSED,
                        Some(si),
                        format!(
                            "Service `{}` sends port {} to target `{}`, which no container of `{}` exposes",
                            svc.name(),
                            number.map_or_else(|| "?".into(), |n| n.to_string()),
                            port_key(target).unwrap_or_default(),
                            ctx.manifests[wi].name()
                        ),
                    )
                    .place(Some(ctx.locate(si, &at_port(pi, "targetPort"), "/port")), "target not exposed")
                    .also(Some(ctx.locate(wi, "/spec/template/spec/containers", "/port")), "the selected pods' containers")
                    .help("make targetPort match a containerPort (or its name)");
                }
            }
        }
    }
}

/// Where a field of a Service's port is; pointers are built only for a finding.
fn at_port(pi: usize, field: &str) -> String {
    format!("/spec/ports/{pi}/{field}")
}

/// Where a pod's port is: `{base}/containers/{ci}/ports/{pi}`, built only for a finding.
fn port_pointer(base: &str, ci: usize, pi: usize) -> String {
    format!("{base}/containers/{ci}/ports/{pi}")
}

fn pods(ctx: &LintContext, out: &mut Sink) {
    // (hostPort, protocol) -> the first workload with it, and where: (base, container, port).
    type Place = (usize, &'static str, usize, usize);
    let mut host_ports: FxHashMap<(i64, &str), Place> = FxHashMap::default();
    // Per pod, emptied for each: reusing them spares two tables per workload.
    let mut numbers: FxHashMap<(i64, &str), (usize, usize)> = FxHashMap::default();
    let mut names: FxHashMap<&str, (usize, usize)> = FxHashMap::default();
    for &wi in &ctx.index.workloads {
        let m = &ctx.manifests[wi];
        let Some((_, base)) = ctx.index.pod_spec(wi) else {
            continue;
        };
        let containers = ctx.index.containers(wi);
        numbers.clear();
        names.clear();
        for c in containers {
            let ci = c.index;
            for p in &c.ports {
                let pi = p.index;
                let pointer = || port_pointer(base, ci, pi);
                let protocol = p.protocol;
                if let Some(n) = p.number {
                    if let Some(&(fc, fp)) = numbers.get(&(n, protocol)) {
                        repeated(
                            ctx,
                            out,
                            &DUPLICATE_CONTAINER_PORT,
                            wi,
                            format!("pod of `{}` exposes container port {n}/{protocol} twice", m.name()),
                            (&format!("{}/containerPort", pointer()), "/port"),
                            (&port_pointer(base, fc, fp), "/port"),
                            "containers of one pod share a network namespace: each port can be bound once",
                        );
                    } else {
                        numbers.insert((n, protocol), (ci, pi));
                    }
                }
                if let Some(name) = p.name {
                    if let Some(&(fc, fp)) = names.get(name) {
                        repeated(
                            ctx,
                            out,
                            &DUPLICATE_CONTAINER_PORT_NAME,
                            wi,
                            format!("pod of `{}` names two ports `{name}`", m.name()),
                            (&format!("{}/name", pointer()), "/protocol"),
                            (&format!("{}/name", port_pointer(base, fc, fp)), "/protocol"),
                            "port names must be unique within a pod",
                        );
                    } else {
                        names.insert(name, (ci, pi));
                    }
                }
                if let Some(hp) = p.host_port {
                    match host_ports.get(&(hp, protocol)) {
                        Some(&(other, other_base, oc, op)) if other != wi => {
                            let first_pointer =
                                format!("{}/hostPort", port_pointer(other_base, oc, op));
                            out.report(&DUPLICATE_HOST_PORT, Some(wi), format!("hostPort {hp} is used by `{}` and `{}`", ctx.manifests[other].name(), m.name()))
                                .place(Some(ctx.locate(wi, &format!("{}/hostPort", pointer()), "/port")), "claimed again here")
                                .also(Some(ctx.locate(other, &first_pointer, "/port")), "first claimed here")
                                .help("two pods with one hostPort cannot run on the same node; avoid hostPort or pick another");
                        }
                        Some(_) => {}
                        None => {
                            host_ports.insert((hp, protocol), (wi, base, ci, pi));
                        }
                    }
                }
            }
        }
        // Probe ports must be ports the container exposes.
        for c in containers {
            let ci = c.index;
            for probe in ["readinessProbe", "livenessProbe", "startupProbe"] {
                let Some(p) = c.probe(probe) else { continue };
                for handler in ["httpGet", "tcpSocket", "grpc"] {
                    let Some(port) = p.field(handler).and_then(|h| h.field("port")) else {
                        continue;
                    };
                    if exposes(&c.ports, port) {
                        continue;
                    }
                    let pointer = format!("{base}/containers/{ci}/{probe}/{handler}/port");
                    let named = port.is_string();
                    let code = if named {
                        &PROBE_PORT_UNDEFINED
                    } else {
                        &PROBE_PORT_UNDECLARED
                    };
                    out.report(
                        code,
                        Some(wi),
                        format!(
                            "{probe} of `{}` aims at port `{}`, which the container does not {}",
                            m.name(),
                            port_key(port).unwrap_or_default(),
                            if named { "define" } else { "declare" }
                        ),
                    )
                    .place(Some(ctx.locate(wi, &pointer, "/port")), "probe port")
                    .help("point the probe at one of the container's ports");
                }
            }
        }
    }
}
