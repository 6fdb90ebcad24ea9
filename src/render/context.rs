//! What the renderer knows about a service beyond its catalogue entry ([`ServiceFacts`]: labels,
//! annotations, callers, routes...), and the constants rendered resources share (annotation and
//! label names are [`crate::vocabulary`]'s, which the linter reads too). Computed once per
//! service; the built-in builders and the extra templates' context read the same facts.

use crate::catalogue::model::{Protocol, Workload};
use crate::catalogue::resolve::HEADLESS_SUFFIX;
use crate::catalogue::{ResolvedEnvironment, ResolvedService};
use crate::vocabulary::{annotation, label};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The namespace comes before every phase.
pub const NAMESPACE_WAVE: i64 = -1;

/// Istio's default trust domain; SPIFFE principals are `<trust domain>/ns/<ns>/sa/<account>`.
pub const TRUST_DOMAIN: &str = "cluster.local";
/// The stable track: the only Deployment shipshape renders carries `version: v1`.
pub const STABLE_SUBSET: &str = "v1";
/// Name of the pseudo-environment (output directory) holding the Argo CD Applications.
pub const ARGOCD_DIR: &str = "argocd";
/// The default output directory, relative to the project root (`--out` names another).
pub const RENDERED_PATH: &str = "rendered";
/// Argo CD's in-cluster API server: where the root app creates the Application resources.
pub const IN_CLUSTER_SERVER: &str = "https://kubernetes.default.svc";

/// The identity Istio gives a workload running as service account `name` in `namespace`.
pub fn principal(namespace: &str, name: &str) -> String {
    format!("{TRUST_DOMAIN}/ns/{namespace}/sa/{name}")
}

/// In-cluster DNS name of a service, as VirtualService and DestinationRule hosts.
pub fn service_host(namespace: &str, name: &str) -> String {
    format!("{name}.{namespace}.svc.cluster.local")
}

/// The services that declare a dependency on `name` (every other service when it is
/// `callableFromAll`), in catalogue order: the only workloads allowed to call it (NetworkPolicy
/// ingress, AuthorizationPolicy principals).
pub fn callers<'a>(env: &'a ResolvedEnvironment, name: &str) -> Vec<&'a ResolvedService> {
    env.callers(name)
}

/// One weighted destination of a canary split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route<'a> {
    pub subset: &'a str,
    pub weight: u32,
}

/// Canary routing: the stable subset gets what the canary subsets leave. Empty without a canary.
pub fn routes(svc: &ResolvedService) -> Vec<Route<'_>> {
    let canaries: Vec<Route<'_>> = svc
        .canary
        .iter()
        .filter(|(subset, _)| subset.as_str() != STABLE_SUBSET)
        .map(|(subset, weight)| Route {
            subset,
            weight: *weight,
        })
        .collect();
    if canaries.is_empty() {
        return Vec::new();
    }
    // Resolution refuses weights above 100 in total; saturating keeps a bad input from panicking.
    let canary_total = canaries
        .iter()
        .fold(0u32, |total, r| total.saturating_add(r.weight));
    let mut out = vec![Route {
        subset: STABLE_SUBSET,
        weight: 100u32.saturating_sub(canary_total),
    }];
    out.extend(canaries);
    out
}

/// DestinationRule traffic policy: connection pool limits and outlier detection (circuit
/// breaking). HTTP settings only where the proxy speaks HTTP to the service.
pub fn traffic_policy(protocol: Protocol) -> Value {
    let mut pool = Map::with_capacity(2);
    pool.insert(
        "tcp".into(),
        object([
            ("maxConnections", Value::from(100)),
            ("connectTimeout", Value::from("5s")),
        ]),
    );
    if protocol != Protocol::Tcp {
        pool.insert(
            "http".into(),
            object([
                ("http1MaxPendingRequests", Value::from(100)),
                ("http2MaxRequests", Value::from(1000)),
                ("maxRetries", Value::from(3)),
            ]),
        );
    }
    object([
        ("connectionPool", Value::Object(pool)),
        // Over opaque TCP, connect failures and timeouts count as 5xx errors.
        (
            "outlierDetection",
            object([
                ("consecutive5xxErrors", Value::from(5)),
                ("interval", Value::from("30s")),
                ("baseEjectionTime", Value::from("30s")),
                ("maxEjectionPercent", Value::from(50)),
            ]),
        ),
    ])
}

/// A JSON object with these entries, in this order (the order manifests are written in).
pub fn object<const N: usize>(entries: [(&str, Value); N]) -> Value {
    let mut map = Map::with_capacity(N);
    for (key, value) in entries {
        map.insert(key.to_owned(), value);
    }
    Value::Object(map)
}

pub fn port_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Http => "http",
        Protocol::Grpc => "grpc",
        Protocol::Tcp => "tcp",
    }
}

/// A Service port's `appProtocol`; empty for plain TCP, which Kubernetes needs no hint for.
pub fn app_protocol(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Http => "http",
        Protocol::Grpc => "grpc",
        Protocol::Tcp => "",
    }
}

fn image_version(image: &str) -> String {
    if let Some((_, digest)) = image.split_once('@') {
        return digest.chars().take(63).collect();
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    last.split_once(':')
        .map(|(_, t)| t.chars().take(63).collect())
        .unwrap_or_else(|| "latest".into())
}

/// The autoscaling range of a service whose replicas may vary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hpa {
    pub min: u32,
    pub max: u32,
    pub cpu_target: u32,
}

/// What is known about one service in one environment, computed once as plain Rust data: the
/// built-in builders (`render::builtin`) and the extra templates' context both read it, so
/// labels, annotations, routes and callers are derived in one place.
pub struct ServiceFacts<'a> {
    pub env: &'a ResolvedEnvironment,
    pub svc: &'a ResolvedService,
    pub phase: &'a str,
    /// The `app.kubernetes.io/version` label: image tag or digest, made a valid label value.
    pub version: String,
    pub annotations: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    pub host: String,
    pub callers: Vec<&'a ResolvedService>,
    /// Declared dependencies that resolve; one that does not is reported by the catalogue checks.
    pub dependencies: Vec<&'a ResolvedService>,
    /// Every service the pods may call, once each: the dependencies, then `calls`, then the
    /// `callableFromAll` services (egress; only the first are startup dependencies, and only they
    /// are named in the depends-on annotation).
    pub callees: Vec<&'a ResolvedService>,
    pub routes: Vec<Route<'a>>,
}

impl<'a> ServiceFacts<'a> {
    pub fn new(env: &'a ResolvedEnvironment, svc: &'a ResolvedService) -> ServiceFacts<'a> {
        let phase = env.phases.get(svc.phase).map_or("", |p| p.name.as_str());
        let mut annotations = Vec::with_capacity(3 + svc.suppress.len());
        annotations.push((
            Cow::Borrowed(annotation::SYNC_WAVE),
            Cow::Owned(svc.wave.to_string()),
        ));
        annotations.push((Cow::Borrowed(annotation::PHASE), Cow::Borrowed(phase)));
        if !svc.depends_on.is_empty() {
            annotations.push((
                Cow::Borrowed(annotation::DEPENDS_ON),
                Cow::Owned(svc.depends_on.join(",")),
            ));
        }
        for (rule, reason) in &svc.suppress {
            annotations.push((
                Cow::Owned(annotation::suppress(rule)),
                Cow::Borrowed(reason.as_str()),
            ));
        }
        let dependencies: Vec<&ResolvedService> = svc
            .depends_on
            .iter()
            .filter_map(|d| env.service(d))
            .collect();
        let mut callees = dependencies.clone();
        let called = svc.calls.iter().filter_map(|c| env.service(c));
        for callee in called.chain(env.platform_callees(&svc.name)) {
            if !callees.iter().any(|c| c.name == callee.name) {
                callees.push(callee);
            }
        }
        ServiceFacts {
            env,
            svc,
            phase,
            version: sanitize_label_value(&image_version(&svc.image)),
            annotations,
            host: service_host(&env.namespace, &svc.name),
            callers: callers(env, &svc.name),
            dependencies,
            callees,
            routes: routes(svc),
        }
    }

    pub fn stateful(&self) -> bool {
        self.svc.workload == Workload::StatefulSet
    }

    pub fn kind(&self) -> &'static str {
        if self.stateful() {
            "StatefulSet"
        } else {
            "Deployment"
        }
    }

    /// The labels a Service and the workload's selector match pods by.
    pub fn selector(&self) -> [(&'static str, &'a str); 2] {
        let name = self.svc.name.as_str();
        [(label::NAME, name), (label::INSTANCE, name)]
    }

    /// The labels of every manifest of the service.
    pub fn labels(&self) -> [(&'static str, &str); 6] {
        let [name, instance] = self.selector();
        [
            name,
            instance,
            (label::COMPONENT, self.phase),
            (label::PART_OF, self.env.platform.as_str()),
            (label::VERSION, self.version.as_str()),
            (label::MANAGED_BY, label::MANAGED_BY_SHIPSHAPE),
        ]
    }

    /// The pods' labels: the service's, plus the track Istio routes canary traffic by (the
    /// stable track is v1).
    pub fn pod_labels(&self) -> [(&'static str, &str); 7] {
        let [a, b, c, d, e, f] = self.labels();
        [a, b, c, d, e, f, (label::TRACK, STABLE_SUBSET)]
    }

    /// `requests` and `limits`: CPU and memory as written in the catalogue, and ephemeral
    /// storage, which always has a value (a default) so no pod can fill its node's disk.
    pub fn resources(&self) -> Vec<(&'static str, Vec<(&'static str, &'a str)>)> {
        let mut out = Vec::with_capacity(2);
        let (ephemeral_request, ephemeral_limit) = &self.svc.ephemeral_storage_text;
        for (key, (cpu, memory), ephemeral) in [
            ("requests", &self.svc.requests_text, ephemeral_request),
            ("limits", &self.svc.limits_text, ephemeral_limit),
        ] {
            let mut m = Vec::with_capacity(3);
            if let Some(c) = cpu {
                m.push(("cpu", c.as_str()));
            }
            if let Some(mem) = memory {
                m.push(("memory", mem.as_str()));
            }
            m.push(("ephemeral-storage", ephemeral.as_str()));
            out.push((key, m));
        }
        out
    }

    /// Name of the StatefulSet's governing Service: headless, so each pod gets a stable DNS name
    /// (`<pod>.<name>-headless`) while clients keep the ordinary Service, which load-balances.
    pub fn headless_name(&self) -> String {
        format!("{}{}", self.svc.name, HEADLESS_SUFFIX)
    }

    /// The restricted Pod Security profile asks for a non-root user; uid 0 can only come from
    /// a service's explicit, reasoned `security.runAsUser: 0`, and then the pod must not claim it.
    pub fn run_as_non_root(&self) -> bool {
        self.svc.security.run_as_user != 0
    }

    /// The autoscaling range, when the service has one (a maximum above its minimum).
    pub fn hpa(&self) -> Option<Hpa> {
        match self.svc.replicas_max {
            Some(max) if max > self.svc.replicas_min => Some(Hpa {
                min: self.svc.replicas_min,
                max,
                cpu_target: self.svc.cpu_target,
            }),
            _ => None,
        }
    }

    /// DestinationRule subsets: the stable one, then each canary.
    pub fn subsets(&self) -> impl Iterator<Item = &'a str> {
        std::iter::once(STABLE_SUBSET).chain(
            self.svc
                .canary
                .keys()
                .map(String::as_str)
                .filter(|k| *k != STABLE_SUBSET),
        )
    }

    /// The mTLS identity of a caller.
    pub fn principal(&self, caller: &ResolvedService) -> String {
        principal(&self.env.namespace, &caller.name)
    }
}

/// Label values allow `[A-Za-z0-9._-]`, at most 63, alphanumeric at both ends.
fn sanitize_label_value(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    cleaned
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned()
}
