//! The Deployment or StatefulSet.

use super::{array, manifest, match_selector, present, strings_map};
use crate::catalogue::model::ProbeKind;
use crate::render::context::{object, port_name, ServiceFacts};
use serde_json::{Map, Value};

pub(super) fn workload(f: &ServiceFacts<'_>) -> Option<Value> {
    let svc = f.svc;
    let storage = present(svc.storage_size.as_ref());
    let mut spec = Map::with_capacity(5);
    // An HPA owns the replica count; writing one here would fight it on every sync.
    if f.hpa().is_none() {
        spec.insert("replicas".into(), Value::from(svc.replicas_min));
    }
    if f.stateful() {
        spec.insert("serviceName".into(), Value::from(f.headless_name()));
    }
    spec.insert("selector".into(), match_selector(f));
    spec.insert(
        "template".into(),
        object([
            (
                "metadata",
                object([("labels", strings_map(f.pod_labels()))]),
            ),
            ("spec", pod_spec(f, storage.is_some())),
        ]),
    );
    if let Some(size) = storage {
        spec.insert(
            "volumeClaimTemplates".into(),
            array([object([
                ("metadata", object([("name", Value::from("data"))])),
                (
                    "spec",
                    object([
                        ("accessModes", array([Value::from("ReadWriteOnce")])),
                        (
                            "resources",
                            object([("requests", object([("storage", Value::from(size))]))]),
                        ),
                    ]),
                ),
            ])]),
        );
    }
    Some(manifest(
        f,
        "apps/v1",
        f.kind(),
        [("spec", Value::Object(spec))],
    ))
}

fn pod_spec(f: &ServiceFacts<'_>, storage: bool) -> Value {
    let security = &f.svc.security;
    object([
        ("serviceAccountName", Value::from(f.svc.name.as_str())),
        (
            "automountServiceAccountToken",
            Value::Bool(security.service_account_token),
        ),
        (
            "securityContext",
            object([
                ("runAsNonRoot", Value::Bool(f.run_as_non_root())),
                ("runAsUser", Value::from(security.run_as_user)),
                ("runAsGroup", Value::from(security.run_as_group)),
                ("fsGroup", Value::from(security.fs_group)),
                (
                    "seccompProfile",
                    object([("type", Value::from("RuntimeDefault"))]),
                ),
            ]),
        ),
        ("containers", array([container(f, storage)])),
        (
            "volumes",
            array([object([
                ("name", Value::from("tmp")),
                ("emptyDir", Value::Object(Map::new())),
            ])]),
        ),
    ])
}

fn container(f: &ServiceFacts<'_>, storage: bool) -> Value {
    let svc = f.svc;
    let port_name = port_name(svc.protocol);
    let mut c = Map::with_capacity(10);
    c.insert("name".into(), Value::from(svc.name.as_str()));
    c.insert("image".into(), Value::from(svc.image.as_str()));
    c.insert("imagePullPolicy".into(), Value::from("Always"));
    c.insert(
        "ports".into(),
        array([object([
            ("name", Value::from(port_name)),
            ("containerPort", Value::from(svc.port)),
            ("protocol", Value::from("TCP")),
        ])]),
    );
    if !svc.env.is_empty() {
        let items = svc
            .env
            .iter()
            .map(|(k, v)| {
                object([
                    ("name", Value::from(k.as_str())),
                    ("value", Value::from(v.as_str())),
                ])
            })
            .collect();
        c.insert("env".into(), Value::Array(items));
    }
    let resources = f.resources();
    if !resources.is_empty() {
        let mut m = Map::with_capacity(resources.len());
        for (key, amounts) in resources {
            m.insert(key.to_owned(), strings_map(amounts));
        }
        c.insert("resources".into(), Value::Object(m));
    }
    if svc.probe != ProbeKind::None {
        if let Some(startup) = svc.startup {
            c.insert(
                "startupProbe".into(),
                probe(
                    f,
                    port_name,
                    [
                        ("periodSeconds", startup.period_seconds),
                        ("failureThreshold", startup.failure_threshold),
                    ],
                ),
            );
        }
        c.insert(
            "readinessProbe".into(),
            probe(
                f,
                port_name,
                [("periodSeconds", 5), ("failureThreshold", 3)],
            ),
        );
        c.insert(
            "livenessProbe".into(),
            object([
                ("tcpSocket", object([("port", Value::from(port_name))])),
                ("initialDelaySeconds", Value::from(15)),
                ("periodSeconds", Value::from(20)),
                ("failureThreshold", Value::from(6)),
            ]),
        );
    }
    c.insert(
        "securityContext".into(),
        object([
            ("allowPrivilegeEscalation", Value::Bool(false)),
            ("privileged", Value::Bool(false)),
            (
                "readOnlyRootFilesystem",
                Value::Bool(svc.security.read_only_root_filesystem),
            ),
            (
                "capabilities",
                object([("drop", array([Value::from("ALL")]))]),
            ),
        ]),
    );
    let tmp = object([
        ("name", Value::from("tmp")),
        ("mountPath", Value::from("/tmp")),
    ]);
    let mounts = if storage {
        array([
            tmp,
            object([
                ("name", Value::from("data")),
                ("mountPath", Value::from("/data")),
            ]),
        ])
    } else {
        array([tmp])
    };
    c.insert("volumeMounts".into(), mounts);
    Value::Object(c)
}

/// The service's health check (readiness and startup), with its timing.
fn probe<const N: usize>(f: &ServiceFacts<'_>, port_name: &str, timing: [(&str, u32); N]) -> Value {
    let (key, action) = if f.svc.probe == ProbeKind::Http {
        (
            "httpGet",
            object([
                ("path", Value::from(f.svc.health_path.as_str())),
                ("port", Value::from(port_name)),
            ]),
        )
    } else {
        ("tcpSocket", object([("port", Value::from(port_name))]))
    };
    let mut m = Map::with_capacity(1 + N);
    m.insert(key.into(), action);
    for (k, v) in timing {
        m.insert(k.into(), Value::from(v));
    }
    Value::Object(m)
}
