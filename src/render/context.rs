//! The values templates see. Everything a template needs is computed here, so templates hold
//! layout only and an override cannot get the arithmetic wrong.

use crate::catalogue::model::{ProbeKind, Protocol, Workload};
use crate::catalogue::{ResolvedEnvironment, ResolvedService};
use serde_json::{json, Map, Value};

pub const MANAGED_BY: &str = "shipshape";
pub const ANNOTATION_DEPENDS_ON: &str = "shipshape.dev/depends-on";
pub const ANNOTATION_PHASE: &str = "shipshape.dev/phase";
pub const ANNOTATION_SUPPRESS_PREFIX: &str = "shipshape.dev/suppress.";
pub const ANNOTATION_SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";

/// The namespace comes before every phase.
pub const NAMESPACE_WAVE: i64 = -1;

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
    })
}

pub fn port_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Http => "http",
        Protocol::Grpc => "grpc",
        Protocol::Tcp => "tcp",
    }
}

pub fn selector_labels(name: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("app.kubernetes.io/name".into(), name.into());
    m.insert("app.kubernetes.io/instance".into(), name.into());
    m
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

pub fn service_context(env: &ResolvedEnvironment, svc: &ResolvedService) -> Value {
    let phase = env.phases.get(svc.phase).map_or("", |p| p.name.as_str());
    let mut labels = selector_labels(&svc.name);
    labels.insert("app.kubernetes.io/component".into(), phase.into());
    labels.insert(
        "app.kubernetes.io/part-of".into(),
        env.platform.clone().into(),
    );
    labels.insert(
        "app.kubernetes.io/version".into(),
        sanitize_label_value(&image_version(&svc.image)).into(),
    );
    labels.insert("app.kubernetes.io/managed-by".into(), MANAGED_BY.into());

    let mut pod_labels = labels.clone();
    // Istio routes canary traffic by this label; the stable track is v1.
    pod_labels.insert("version".into(), "v1".into());

    let mut annotations = Map::new();
    annotations.insert(ANNOTATION_SYNC_WAVE.into(), svc.wave.to_string().into());
    annotations.insert(ANNOTATION_PHASE.into(), phase.into());
    if !svc.depends_on.is_empty() {
        annotations.insert(
            ANNOTATION_DEPENDS_ON.into(),
            svc.depends_on.join(",").into(),
        );
    }
    for (rule, reason) in &svc.suppress {
        annotations.insert(
            format!("{ANNOTATION_SUPPRESS_PREFIX}{rule}"),
            reason.clone().into(),
        );
    }

    let mut resources = Map::new();
    for (key, (cpu, memory)) in [
        ("requests", &svc.requests_text),
        ("limits", &svc.limits_text),
    ] {
        let mut m = Map::new();
        if let Some(c) = cpu {
            m.insert("cpu".into(), c.clone().into());
        }
        if let Some(mem) = memory {
            m.insert("memory".into(), mem.clone().into());
        }
        if !m.is_empty() {
            resources.insert(key.into(), Value::Object(m));
        }
    }

    let hpa = match svc.replicas_max {
        Some(max) if max > svc.replicas_min => json!({
            "min": svc.replicas_min,
            "max": max,
            "cpuTarget": svc.cpu_target,
        }),
        _ => Value::Null,
    };
    let env_list: Vec<Value> = svc
        .env
        .iter()
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    let stateful = svc.workload == Workload::StatefulSet;
    json!({
        "name": svc.name,
        "kind": if stateful { "StatefulSet" } else { "Deployment" },
        "image": svc.image,
        "port": svc.port,
        "portName": port_name(svc.protocol),
        "appProtocol": match svc.protocol { Protocol::Http => "http", Protocol::Grpc => "grpc", Protocol::Tcp => "" },
        "probe": match svc.probe { ProbeKind::Http => "http", ProbeKind::Tcp => "tcp", ProbeKind::None => "none" },
        "healthPath": svc.health_path,
        "replicas": svc.replicas_min,
        "hpa": hpa,
        "resources": if resources.is_empty() { Value::Null } else { Value::Object(resources) },
        "env": env_list,
        "labels": labels,
        "podLabels": pod_labels,
        "selector": selector_labels(&svc.name),
        "annotations": annotations,
        "dependsOn": svc.depends_on,
        "wave": svc.wave,
        "storage": svc.storage_size,
        "runAsNonRoot": !stateful,
        "ingressNamespaces": svc.ingress_namespaces,
        "canary": svc.canary,
        "timeout": svc.mesh_timeout,
        "retries": svc.mesh_retries,
    })
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
