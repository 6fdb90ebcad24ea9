//! The protocol condition of `mesh-routing`: Istio can tell what each Service port speaks, and
//! what it is told matches what the pods serve.
//!
//! Istio reads a port's protocol from `appProtocol`, else from the port name's prefix
//! (`<protocol>[-<suffix>]`); without either it sniffs the first bytes of each connection
//! (istio.io, "Protocol Selection").

use crate::diagnostic::Severity;
use crate::example;
use crate::lint::{Code, LintContext, Sink};
use crate::manifest::containers::Port;
use crate::manifest::Field;
use crate::vocabulary::{annotation, label};
use serde_json::{Map, Value};

pub static PORT_PROTOCOL: Code = Code {
    id: "mesh-routing/port-protocol",
    severity: Severity::Warning,
    summary: "A Service port in an Istio-injected namespace whose name prefix or appProtocol names no protocol Istio knows, or another protocol than its pods serve",
    bad: example!("mesh-routing/fires/port-protocol.yaml"),
    good: example!("mesh-routing/quiet/port-protocols-named.yaml"),
};

/// Where the catalogue decides a service's port.
const PORT: &str = "/port";

/// The protocols Istio selects by name or `appProtocol`.
const PROTOCOLS: &[&str] = &[
    "http", "http2", "https", "tcp", "tls", "grpc", "grpc-web", "mongo", "mysql", "redis", "udp",
];

/// The protocol a port name or `appProtocol` selects, lower case, as Istio reads it: the whole
/// value, or its part before the first `-` (`grpc-web` being one protocol). `appProtocol` may
/// also use the Kubernetes standard names for HTTP/2 and WebSockets.
fn protocol_of(text: &str) -> Option<&'static str> {
    let lower = text.to_ascii_lowercase();
    match lower.as_str() {
        "kubernetes.io/h2c" => return Some("http2"),
        "kubernetes.io/ws" | "kubernetes.io/wss" => return Some("http"),
        _ => {}
    }
    if lower == "grpc-web" || lower.starts_with("grpc-web-") {
        return Some("grpc-web");
    }
    let prefix = lower.split('-').next().unwrap_or("");
    PROTOCOLS.iter().copied().find(|p| *p == prefix)
}

/// Whether a port declared as `declared` carries what pods serving `served` speak.
fn compatible(declared: &str, served: &str) -> bool {
    fn family(p: &str) -> &str {
        match p {
            "http2" | "grpc" => "h2",
            "https" | "tls" => "tls",
            other => other,
        }
    }
    declared == served
        || family(declared) == family(served)
        || (declared == "grpc-web" && matches!(family(served), "http" | "h2"))
        || (served == "grpc-web" && matches!(family(declared), "http" | "h2"))
}

/// Whether Istio's sidecar runs beside the pods of Service `si`. Istio injects a pod unless its
/// namespace or the pod itself says `disabled`/`"false"`, and then when either says it wants
/// the sidecar (istio.io, "Installing the Sidecar", controlling the injection policy). Here a
/// namespace wants it when labelled `istio-injection: enabled` or with a revision
/// (`istio.io/rev`), or when it is shipshape's own output with Istio on. A Service is judged
/// when one of its pods gets the sidecar; when its pods are not among the linted manifests,
/// by its namespace alone.
fn injected(ctx: &LintContext, si: usize, namespaces: &[(&str, Injection)]) -> bool {
    let ns = ctx.index.namespace(si);
    let namespace = namespaces
        .iter()
        .find(|(name, _)| Some(*name) == ns)
        .map_or(Injection::Unset, |(_, i)| *i);
    let namespace = match namespace {
        Injection::Unset if ctx.platform.is_some_and(|p| p.settings.istio.enabled) => Injection::On,
        other => other,
    };
    let pods = ctx.index.service_pods(si);
    if pods.is_empty() {
        return namespace == Injection::On;
    }
    pods.iter()
        .any(|&w| pod_injected(namespace, pod_injection(ctx, w)))
}

/// Whether a namespace or a pod asks for Istio's sidecar, refuses it, or says nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Injection {
    On,
    Off,
    Unset,
}

/// Istio's rule: either side refusing wins, then either side asking.
fn pod_injected(namespace: Injection, pod: Injection) -> bool {
    match (namespace, pod) {
        (Injection::Off, _) | (_, Injection::Off) => false,
        (Injection::On, _) | (_, Injection::On) => true,
        (Injection::Unset, Injection::Unset) => false,
    }
}

/// What workload `w`'s pods say about the sidecar: the `sidecar.istio.io/inject` label, else
/// the annotation of the same name it replaces.
fn pod_injection(ctx: &LintContext, w: usize) -> Injection {
    let from_label = ctx
        .index
        .pod_labels(w)
        .and_then(|l| l.field(label::ISTIO_SIDECAR_INJECT));
    let from_annotation = || {
        let (_, spec) = ctx.index.pod_spec(w)?;
        let metadata = spec.strip_suffix("spec")?;
        ctx.manifests[w]
            .value
            .pointer(&format!("{metadata}metadata"))?
            .field("annotations")?
            .field(annotation::ISTIO_SIDECAR_INJECT)
    };
    match from_label.or_else(from_annotation).and_then(Value::as_str) {
        Some("true") => Injection::On,
        Some("false") => Injection::Off,
        _ => Injection::Unset,
    }
}

/// Every Namespace manifest, and what it says about sidecar injection.
fn namespaces<'a>(ctx: &'a LintContext<'_>) -> Vec<(&'a str, Injection)> {
    ctx.index
        .of_kind("Namespace")
        .iter()
        .map(|&i| {
            let labels = ctx.manifests[i]
                .value
                .field("metadata")
                .and_then(|m| m.field("labels"));
            let value = |k: &str| labels.and_then(|l| l.field(k)).and_then(Value::as_str);
            let injection = match value(label::ISTIO_INJECTION) {
                Some("enabled") => Injection::On,
                Some("disabled") => Injection::Off,
                _ if value(label::ISTIO_REVISION).is_some_and(|r| !r.is_empty()) => Injection::On,
                _ => Injection::Unset,
            };
            (ctx.index.facts(i).name, injection)
        })
        .collect()
}

/// What the pods behind a Service port serve, by the name of the container port it targets (or
/// a gRPC probe on it): the protocol, the workload and the pointer to the container port.
fn served(ctx: &LintContext, si: usize, target: &Value) -> Option<(&'static str, usize, String)> {
    for &w in ctx.index.service_pods(si) {
        let Some((_, base)) = ctx.index.pod_spec(w) else {
            continue;
        };
        if pod_injection(ctx, w) == Injection::Off {
            // No sidecar reads this pod's ports.
            continue;
        }
        for c in ctx.index.containers(w) {
            for p in &c.ports {
                let hit = match target {
                    Value::String(t) => p.name == Some(t.as_str()),
                    Value::Number(n) => p.number.is_some() && n.as_i64() == p.number,
                    _ => false,
                };
                if !hit {
                    continue;
                }
                let pointer = format!("{base}/containers/{}/ports/{}", c.index, p.index);
                if let Some(proto) = p.name.and_then(protocol_of) {
                    return Some((proto, w, format!("{pointer}/name")));
                }
                let probes = [c.readiness, c.liveness, c.startup];
                if probes
                    .into_iter()
                    .flatten()
                    .any(|probe| grpc_probe_on(probe, p))
                {
                    return Some(("grpc", w, pointer));
                }
            }
        }
    }
    None
}

/// Whether `probe` asks gRPC on port `p` (by its name or number).
fn grpc_probe_on(probe: &Value, p: &Port<'_>) -> bool {
    match probe.field("grpc").and_then(|g| g.field("port")) {
        Some(Value::Number(n)) => n.as_i64().is_some() && n.as_i64() == p.number,
        Some(Value::String(s)) => Some(s.as_str()) == p.name,
        _ => false,
    }
}

pub fn check(ctx: &LintContext, out: &mut Sink) {
    let services = ctx.index.of_kind("Service");
    if services.is_empty() {
        return;
    }
    let namespaces = namespaces(ctx);
    for &si in services {
        let svc = &ctx.manifests[si];
        let Some(spec) = svc.value.field("spec") else {
            continue;
        };
        if spec.field("type").and_then(Value::as_str) == Some("ExternalName") {
            continue;
        }
        let Some(ports) = spec.field("ports").and_then(Value::as_array) else {
            continue;
        };
        if !injected(ctx, si, &namespaces) {
            continue;
        }
        for (pi, port) in ports.iter().enumerate() {
            let Some(port) = port.as_object() else {
                continue;
            };
            check_port(ctx, out, si, pi, port);
        }
    }
}

fn check_port(ctx: &LintContext, out: &mut Sink, si: usize, pi: usize, port: &Map<String, Value>) {
    let field = |k: &str| port.get(k).and_then(Value::as_str);
    // Istio does not proxy UDP or SCTP: their names choose nothing.
    if field("protocol").is_some_and(|p| p != "TCP") {
        return;
    }
    let svc = ctx.manifests[si].name();
    let name = field("name");
    let number = port.get("port").and_then(Value::as_i64).unwrap_or(0);
    let shown = name.map_or_else(|| number.to_string(), |n| format!("`{n}`"));
    let by_app = field("appProtocol").and_then(protocol_of);
    let declared = by_app.or_else(|| name.and_then(protocol_of));
    let (pointer, what) = match (by_app, name) {
        (Some(_), _) => (format!("/spec/ports/{pi}/appProtocol"), "appProtocol"),
        (None, Some(_)) => (format!("/spec/ports/{pi}/name"), "name"),
        (None, None) => (format!("/spec/ports/{pi}"), "port"),
    };
    let Some(declared) = declared else {
        out.report(
            &PORT_PROTOCOL,
            Some(si),
            format!(
                "port {shown} of Service `{svc}` names no protocol Istio knows (by its name's prefix or appProtocol): the sidecar guesses from the first bytes, HTTP routes and metrics may not apply, and server-first protocols (MySQL, SMTP) stall"
            ),
        )
        .place(Some(ctx.locate(si, &pointer, PORT)), "no protocol for Istio")
        .help("name the port `<protocol>[-<suffix>]` (`http`, `http2`, `https`, `grpc`, `grpc-web`, `tcp`, `tls`, `mongo`, `mysql`, `redis`), e.g. `http-api` or `tcp-postgres`, or set `appProtocol`");
        return;
    };
    let target = port
        .get("targetPort")
        .cloned()
        .unwrap_or_else(|| Value::from(number));
    let Some((serves, w, container_port)) = served(ctx, si, &target) else {
        return;
    };
    if compatible(declared, serves) {
        return;
    }
    out.report(
        &PORT_PROTOCOL,
        Some(si),
        format!(
            "port {shown} of Service `{svc}` tells Istio `{declared}` (by its {what}), but its pods serve `{serves}` there: the sidecars proxy it as the wrong protocol"
        ),
    )
    .place(
        Some(ctx.locate(si, &pointer, PORT)),
        format!("`{declared}` for Istio"),
    )
    .also(
        Some(ctx.locate(w, &container_port, PORT)),
        format!("the pods serve `{serves}`"),
    )
    .help(format!(
        "name the Service port after what the pods serve (`{serves}` or `{serves}-<suffix>`), or set `appProtocol: {serves}`"
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_are_read_from_the_prefix() {
        assert_eq!(protocol_of("http"), Some("http"));
        assert_eq!(protocol_of("http-web"), Some("http"));
        assert_eq!(protocol_of("HTTP2-api"), Some("http2"));
        assert_eq!(protocol_of("grpc-web"), Some("grpc-web"));
        assert_eq!(protocol_of("grpc-web-ui"), Some("grpc-web"));
        assert_eq!(protocol_of("grpc-api"), Some("grpc"));
        assert_eq!(protocol_of("kubernetes.io/h2c"), Some("http2"));
        assert_eq!(protocol_of("web"), None);
        assert_eq!(protocol_of("httpx"), None);
        assert_eq!(protocol_of("postgres"), None);
    }

    #[test]
    fn http2_carries_grpc_but_http_does_not() {
        assert!(compatible("http2", "grpc"));
        assert!(compatible("grpc", "http2"));
        assert!(compatible("tls", "https"));
        assert!(compatible("grpc-web", "http"));
        assert!(!compatible("http", "grpc"));
        assert!(!compatible("tcp", "http"));
    }

    #[test]
    fn a_refusal_on_either_side_wins_over_a_request() {
        use Injection::{Off, On, Unset};
        assert!(pod_injected(On, Unset));
        assert!(pod_injected(Unset, On));
        assert!(!pod_injected(On, Off));
        assert!(!pod_injected(Off, On));
        assert!(!pod_injected(Unset, Unset));
    }
}
