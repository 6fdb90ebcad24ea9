//! ServiceAccount, Service, HorizontalPodAutoscaler and PodDisruptionBudget.

use super::Service;
use super::{array, manifest, match_selector, metadata_named, strings_map};
use crate::render::context::{app_protocol, object, port_name};
use serde_json::{Map, Value};

pub(super) fn service_account(f: &Service<'_, '_>) -> Option<Value> {
    Some(manifest(
        f,
        "v1",
        "ServiceAccount",
        [("automountServiceAccountToken", Value::Bool(false))],
    ))
}

fn service_port(f: &Service<'_, '_>) -> Value {
    let svc = f.svc;
    let name = port_name(svc.protocol);
    let mut port = Map::with_capacity(5);
    port.insert("name".into(), Value::from(name));
    port.insert("port".into(), Value::from(svc.port));
    port.insert("targetPort".into(), Value::from(name));
    port.insert("protocol".into(), Value::from("TCP"));
    let app = app_protocol(svc.protocol);
    if !app.is_empty() {
        port.insert("appProtocol".into(), Value::from(app));
    }
    Value::Object(port)
}

pub(super) fn service(f: &Service<'_, '_>) -> Option<Value> {
    Some(manifest(
        f,
        "v1",
        "Service",
        [(
            "spec",
            object([
                ("type", Value::from("ClusterIP")),
                ("selector", strings_map(f.selector())),
                ("ports", array([service_port(f)])),
            ]),
        )],
    ))
}

/// A StatefulSet's governing Service (`<name>-headless`), which gives each pod a stable DNS name.
pub(super) fn headless_service(f: &Service<'_, '_>) -> Option<Value> {
    if !f.stateful() {
        return None;
    }
    Some(object([
        ("apiVersion", Value::from("v1")),
        ("kind", Value::from("Service")),
        ("metadata", metadata_named(f, &f.headless_name())),
        (
            "spec",
            object([
                ("clusterIP", Value::from("None")),
                ("publishNotReadyAddresses", Value::Bool(true)),
                ("selector", strings_map(f.selector())),
                ("ports", array([service_port(f)])),
            ]),
        ),
    ]))
}

pub(super) fn hpa(f: &Service<'_, '_>) -> Option<Value> {
    let hpa = f.hpa()?;
    let metric = object([
        ("type", Value::from("Resource")),
        (
            "resource",
            object([
                ("name", Value::from("cpu")),
                (
                    "target",
                    object([
                        ("type", Value::from("Utilization")),
                        ("averageUtilization", Value::from(hpa.cpu_target)),
                    ]),
                ),
            ]),
        ),
    ]);
    Some(manifest(
        f,
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        [(
            "spec",
            object([
                (
                    "scaleTargetRef",
                    object([
                        ("apiVersion", Value::from("apps/v1")),
                        ("kind", Value::from(f.kind())),
                        ("name", Value::from(f.svc.name.as_str())),
                    ]),
                ),
                ("minReplicas", Value::from(hpa.min)),
                ("maxReplicas", Value::from(hpa.max)),
                ("metrics", array([metric])),
            ]),
        )],
    ))
}

/// Only above one replica: a budget of `replicas - 1` protects nothing below.
pub(super) fn pdb(f: &Service<'_, '_>) -> Option<Value> {
    let replicas = f.svc.replicas_min;
    if replicas <= 1 {
        return None;
    }
    Some(manifest(
        f,
        "policy/v1",
        "PodDisruptionBudget",
        [(
            "spec",
            object([
                ("minAvailable", Value::from(replicas - 1)),
                ("selector", match_selector(f)),
            ]),
        )],
    ))
}
