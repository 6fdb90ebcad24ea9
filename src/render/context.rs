//! The values templates see. Everything a template needs is computed here, so templates hold
//! layout only and an override cannot get the arithmetic wrong.

use crate::catalogue::model::{ProbeKind, Protocol, Workload};
use crate::catalogue::{ResolvedEnvironment, ResolvedService};
use minijinja::Value as TV;
use serde_json::{json, Map, Value};

pub const MANAGED_BY: &str = "shipshape";
pub const ANNOTATION_DEPENDS_ON: &str = "shipshape.dev/depends-on";
pub const ANNOTATION_PHASE: &str = "shipshape.dev/phase";
pub const ANNOTATION_SUPPRESS_PREFIX: &str = "shipshape.dev/suppress.";
pub const ANNOTATION_SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";

/// The namespace comes before every phase.
pub const NAMESPACE_WAVE: i64 = -1;

/// Istio's default trust domain; SPIFFE principals are `<trust domain>/ns/<ns>/sa/<account>`.
pub const TRUST_DOMAIN: &str = "cluster.local";
/// The stable track: the only Deployment shipshape renders carries `version: v1`.
pub const STABLE_SUBSET: &str = "v1";
/// Namespace Argo CD runs in; Application resources live there.
pub const ARGOCD_NAMESPACE: &str = "argocd";
/// Name of the pseudo-environment (output directory) holding the Argo CD Applications.
pub const ARGOCD_DIR: &str = "argocd";
/// Repository path of the output directory, as Argo CD Applications reference it.
pub const RENDERED_PATH: &str = "rendered";
/// Argo CD's in-cluster API server: where the root app creates the Application resources.
pub const IN_CLUSTER_SERVER: &str = "https://kubernetes.default.svc";

pub fn environment_context(env: &ResolvedEnvironment) -> Value {
    json!({
        "name": env.name,
        "namespace": env.namespace,
        "platform": env.platform,
        "namespaceWave": NAMESPACE_WAVE.to_string(),
        "istio": {
            "enabled": env.istio.enabled,
            "mtls": env.istio.mtls.clone().unwrap_or_else(|| "STRICT".into()),
        },
        "argocdNamespace": ARGOCD_NAMESPACE,
    })
}

/// The identity Istio gives a workload running as service account `name` in `namespace`.
pub fn principal(namespace: &str, name: &str) -> String {
    format!("{TRUST_DOMAIN}/ns/{namespace}/sa/{name}")
}

/// In-cluster DNS name of a service, as VirtualService and DestinationRule hosts.
pub fn service_host(namespace: &str, name: &str) -> String {
    format!("{name}.{namespace}.svc.cluster.local")
}

/// The services that declare a dependency on `name`, in catalogue order: the only workloads
/// allowed to call it (NetworkPolicy ingress, AuthorizationPolicy principals).
pub fn callers<'a>(env: &'a ResolvedEnvironment, name: &str) -> Vec<&'a ResolvedService> {
    env.callers(name)
}

/// Canary routing: the stable subset gets what the canary subsets leave. Empty without a canary.
fn routes(svc: &ResolvedService) -> Vec<TV> {
    let canaries: Vec<(&String, u32)> = svc
        .canary
        .iter()
        .filter(|(subset, _)| subset.as_str() != STABLE_SUBSET)
        .map(|(subset, weight)| (subset, *weight))
        .collect();
    if canaries.is_empty() {
        return Vec::new();
    }
    let canary_total: u32 = canaries.iter().map(|(_, w)| *w).sum();
    let route = |subset: &str, weight: u32| {
        TV::from_pairs([("subset", TV::from(subset)), ("weight", TV::from(weight))])
    };
    let mut out = vec![route(STABLE_SUBSET, 100u32.saturating_sub(canary_total))];
    out.extend(
        canaries
            .into_iter()
            .map(|(subset, weight)| route(subset, weight)),
    );
    out
}

/// DestinationRule traffic policy: connection pool limits and outlier detection (circuit
/// breaking). HTTP settings only where the proxy speaks HTTP to the service.
fn traffic_policy(protocol: Protocol) -> TV {
    let mut pool = vec![(
        "tcp",
        TV::from_pairs([
            ("maxConnections", TV::from(100)),
            ("connectTimeout", TV::from("5s")),
        ]),
    )];
    if protocol != Protocol::Tcp {
        pool.push((
            "http",
            TV::from_pairs([
                ("http1MaxPendingRequests", TV::from(100)),
                ("http2MaxRequests", TV::from(1000)),
                ("maxRetries", TV::from(3)),
            ]),
        ));
    }
    TV::from_pairs([
        ("connectionPool", TV::from_pairs(pool)),
        // Over opaque TCP, connect failures and timeouts count as 5xx errors.
        (
            "outlierDetection",
            TV::from_pairs([
                ("consecutive5xxErrors", TV::from(5)),
                ("interval", TV::from("30s")),
                ("baseEjectionTime", TV::from("30s")),
                ("maxEjectionPercent", TV::from(50)),
            ]),
        ),
    ])
}

pub fn port_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Http => "http",
        Protocol::Grpc => "grpc",
        Protocol::Tcp => "tcp",
    }
}

/// The labels a Service and the workload's selector match pods by.
fn selector_labels(name: &str) -> Vec<(TV, TV)> {
    vec![
        (TV::from("app.kubernetes.io/name"), TV::from(name)),
        (TV::from("app.kubernetes.io/instance"), TV::from(name)),
    ]
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

fn strings(items: &[String]) -> TV {
    items.iter().map(|s| TV::from(s.as_str())).collect()
}

fn optional<T: Into<TV>>(value: Option<T>) -> TV {
    value.map_or_else(|| TV::from(()), Into::into)
}

/// What a service template sees as `svc`. Built as template values directly: a detour through
/// JSON values and a conversion cost a sixth of rendering.
pub fn service_context(env: &ResolvedEnvironment, svc: &ResolvedService) -> TV {
    let phase = env.phases.get(svc.phase).map_or("", |p| p.name.as_str());
    let mut labels = selector_labels(&svc.name);
    labels.extend([
        (TV::from("app.kubernetes.io/component"), TV::from(phase)),
        (
            TV::from("app.kubernetes.io/part-of"),
            TV::from(env.platform.as_str()),
        ),
        (
            TV::from("app.kubernetes.io/version"),
            TV::from(sanitize_label_value(&image_version(&svc.image))),
        ),
        (
            TV::from("app.kubernetes.io/managed-by"),
            TV::from(MANAGED_BY),
        ),
    ]);
    let mut pod_labels = labels.clone();
    // Istio routes canary traffic by this label; the stable track is v1.
    pod_labels.push((TV::from("version"), TV::from(STABLE_SUBSET)));

    let mut annotations = vec![
        (
            TV::from(ANNOTATION_SYNC_WAVE),
            TV::from(svc.wave.to_string()),
        ),
        (TV::from(ANNOTATION_PHASE), TV::from(phase)),
    ];
    if !svc.depends_on.is_empty() {
        annotations.push((
            TV::from(ANNOTATION_DEPENDS_ON),
            TV::from(svc.depends_on.join(",")),
        ));
    }
    for (rule, reason) in &svc.suppress {
        annotations.push((
            TV::from(format!("{ANNOTATION_SUPPRESS_PREFIX}{rule}")),
            TV::from(reason.as_str()),
        ));
    }

    let mut resources = Vec::new();
    for (key, (cpu, memory)) in [
        ("requests", &svc.requests_text),
        ("limits", &svc.limits_text),
    ] {
        let mut m = Vec::new();
        if let Some(c) = cpu {
            m.push(("cpu", TV::from(c.as_str())));
        }
        if let Some(mem) = memory {
            m.push(("memory", TV::from(mem.as_str())));
        }
        if !m.is_empty() {
            resources.push((key, TV::from_pairs(m)));
        }
    }

    let hpa = match svc.replicas_max {
        Some(max) if max > svc.replicas_min => TV::from_pairs([
            ("min", TV::from(svc.replicas_min)),
            ("max", TV::from(max)),
            ("cpuTarget", TV::from(svc.cpu_target)),
        ]),
        _ => TV::from(()),
    };
    let env_list: TV = svc
        .env
        .iter()
        .map(|(k, v)| {
            TV::from_pairs([
                ("name", TV::from(k.as_str())),
                ("value", TV::from(v.as_str())),
            ])
        })
        .collect();
    let stateful = svc.workload == Workload::StatefulSet;
    let callers: TV = callers(env, &svc.name)
        .into_iter()
        .map(|c| {
            TV::from_pairs([
                ("name", TV::from(c.name.as_str())),
                ("principal", TV::from(principal(&env.namespace, &c.name))),
            ])
        })
        .collect();
    // A dependency that does not resolve is reported by the catalogue checks; skip it here.
    let dependencies: TV = svc
        .depends_on
        .iter()
        .filter_map(|d| env.service(d))
        .map(|d| {
            TV::from_pairs([
                ("name", TV::from(d.name.as_str())),
                ("port", TV::from(d.port)),
            ])
        })
        .collect();
    let mut subsets = vec![TV::from(STABLE_SUBSET)];
    subsets.extend(
        svc.canary
            .keys()
            .filter(|k| k.as_str() != STABLE_SUBSET)
            .map(|k| TV::from(k.as_str())),
    );
    let canary = TV::from_pairs(svc.canary.iter().map(|(k, w)| (k.as_str(), TV::from(*w))));
    TV::from_pairs([
        ("name", TV::from(svc.name.as_str())),
        (
            "kind",
            TV::from(if stateful {
                "StatefulSet"
            } else {
                "Deployment"
            }),
        ),
        ("image", TV::from(svc.image.as_str())),
        ("port", TV::from(svc.port)),
        ("portName", TV::from(port_name(svc.protocol))),
        (
            "appProtocol",
            TV::from(match svc.protocol {
                Protocol::Http => "http",
                Protocol::Grpc => "grpc",
                Protocol::Tcp => "",
            }),
        ),
        (
            "probe",
            TV::from(match svc.probe {
                ProbeKind::Http => "http",
                ProbeKind::Tcp => "tcp",
                ProbeKind::None => "none",
            }),
        ),
        ("healthPath", TV::from(svc.health_path.as_str())),
        ("replicas", TV::from(svc.replicas_min)),
        ("hpa", hpa),
        (
            "resources",
            if resources.is_empty() {
                TV::from(())
            } else {
                TV::from_pairs(resources)
            },
        ),
        ("env", env_list),
        ("labels", TV::from_pairs(labels)),
        ("podLabels", TV::from_pairs(pod_labels)),
        ("selector", TV::from_pairs(selector_labels(&svc.name))),
        ("annotations", TV::from_pairs(annotations)),
        ("dependsOn", strings(&svc.depends_on)),
        ("wave", TV::from(svc.wave)),
        ("storage", optional(svc.storage_size.as_deref())),
        ("runAsNonRoot", TV::from(!stateful)),
        ("ingressNamespaces", strings(&svc.ingress_namespaces)),
        ("canary", canary),
        ("timeout", optional(svc.mesh_timeout.as_deref())),
        ("retries", optional(svc.mesh_retries)),
        ("protocol", TV::from(port_name(svc.protocol))),
        ("host", TV::from(service_host(&env.namespace, &svc.name))),
        ("callers", callers),
        ("dependencies", dependencies),
        ("subsets", subsets.into_iter().collect()),
        ("routes", routes(svc).into_iter().collect()),
        ("trafficPolicy", traffic_policy(svc.protocol)),
    ])
}

/// The Argo CD Application of one environment, or `None` without an `argocd` section.
pub fn application_context(env: &ResolvedEnvironment) -> Option<Value> {
    let argo = env.argocd.as_ref()?;
    let mut destination = Map::new();
    match (&argo.destination.server, &argo.destination.name) {
        (None, Some(name)) => destination.insert("name".into(), name.clone().into()),
        (server, _) => destination.insert(
            "server".into(),
            server
                .clone()
                .unwrap_or_else(|| IN_CLUSTER_SERVER.into())
                .into(),
        ),
    };
    destination.insert("namespace".into(), env.namespace.clone().into());
    Some(json!({
        "name": format!("{}-{}", env.platform, env.name),
        "namespace": ARGOCD_NAMESPACE,
        "platform": env.platform,
        "environment": env.name,
        "project": argo.project.clone().unwrap_or_else(|| "default".into()),
        "repoURL": argo.repo_url,
        "targetRevision": argo.target_revision.clone().unwrap_or_else(|| "HEAD".into()),
        "path": format!("{RENDERED_PATH}/{}", env.name),
        "destination": destination,
        "prune": argo.sync_policy.prune.unwrap_or(false),
        "selfHeal": argo.sync_policy.self_heal.unwrap_or(false),
        "syncOptions": ["CreateNamespace=true"],
    }))
}

/// The app-of-apps over `rendered/argocd`, or `None` when no environment uses Argo CD.
///
/// It reads the Application files from the repository and revision most environments use (ties:
/// the first environment in name order), and creates them in Argo CD's own cluster and namespace.
pub fn root_application_context(envs: &[ResolvedEnvironment]) -> Option<Value> {
    let sources: Vec<(&str, &str)> = envs
        .iter()
        .filter_map(|e| e.argocd.as_ref())
        .map(|a| {
            (
                a.repo_url.as_str(),
                a.target_revision.as_deref().unwrap_or("HEAD"),
            )
        })
        .collect();
    let mut best: Option<((&str, &str), usize)> = None;
    for candidate in &sources {
        let count = sources.iter().filter(|s| *s == candidate).count();
        if best.is_none_or(|(_, c)| count > c) {
            best = Some((*candidate, count));
        }
    }
    let ((repo_url, revision), _) = best?;
    let platform = envs.first().map_or("", |e| e.platform.as_str());
    Some(json!({
        "name": platform,
        "namespace": ARGOCD_NAMESPACE,
        "platform": platform,
        "environment": Value::Null,
        "project": "default",
        "repoURL": repo_url,
        "targetRevision": revision,
        "path": format!("{RENDERED_PATH}/{ARGOCD_DIR}"),
        "destination": { "server": IN_CLUSTER_SERVER, "namespace": ARGOCD_NAMESPACE },
        "prune": true,
        "selfHeal": true,
        "syncOptions": [],
    }))
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

/// The template engine's value for a context built here. A direct walk: going through serde's
/// serializer cost more than building the context itself (a fifth of rendering at N = 1,000).
pub fn template_value(v: &Value) -> minijinja::Value {
    match v {
        Value::Null => minijinja::Value::from(()),
        Value::Bool(b) => minijinja::Value::from(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                minijinja::Value::from(i)
            } else if let Some(u) = n.as_u64() {
                minijinja::Value::from(u)
            } else {
                minijinja::Value::from(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => minijinja::Value::from(s.as_str()),
        Value::Array(items) => items.iter().map(template_value).collect(),
        Value::Object(map) => {
            minijinja::Value::from_pairs(map.iter().map(|(k, v)| (k.as_str(), template_value(v))))
        }
    }
}
