//! The Deployment or StatefulSet.

use super::configmap::{config_map_name, CONFIG_VOLUME};
use super::{array, manifest, match_selector, present, strings_map};
use crate::catalogue::fields::{EnvSource, RefKind, VolumeSource};
use crate::catalogue::model::ProbeKind;
use crate::render::context::{object, port_name, ServiceFacts};
use crate::vocabulary::annotation;
use serde_json::{Map, Value};

/// The node label the default spread runs over: one pod per node where the cluster allows.
const SPREAD_TOPOLOGY_KEY: &str = crate::vocabulary::label::HOSTNAME;

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
            ("metadata", pod_metadata(f)),
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

/// The pod template's labels and annotations: shipshape's, then the catalogue's extra ones
/// (which may not replace shipshape's labels: resolution refuses that), and the hash of the
/// configuration files, so a change to them rolls the pods.
fn pod_metadata(f: &ServiceFacts<'_>) -> Value {
    let fields = &f.svc.fields;
    let mut labels = Map::new();
    for (k, v) in f.pod_labels() {
        labels.insert(k.to_owned(), Value::from(v));
    }
    for (k, v) in &fields.labels {
        labels.insert(k.clone(), Value::from(v.as_str()));
    }
    let mut meta = Map::with_capacity(2);
    meta.insert("labels".into(), Value::Object(labels));
    let mut annotations = Map::new();
    for (k, v) in &fields.annotations {
        annotations.insert(k.clone(), Value::from(v.as_str()));
    }
    if let Some(cf) = &fields.config_files {
        annotations.insert(
            annotation::CONFIG_HASH.into(),
            Value::from(cf.hash.as_str()),
        );
    }
    if !annotations.is_empty() {
        meta.insert("annotations".into(), Value::Object(annotations));
    }
    Value::Object(meta)
}

fn pod_spec(f: &ServiceFacts<'_>, storage: bool) -> Value {
    let security = &f.svc.security;
    let fields = &f.svc.fields;
    let mut spec = Map::with_capacity(10);
    spec.insert(
        "serviceAccountName".into(),
        Value::from(f.svc.name.as_str()),
    );
    spec.insert(
        "automountServiceAccountToken".into(),
        Value::Bool(security.service_account_token),
    );
    spec.insert(
        "securityContext".into(),
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
    );
    if !fields.node_selector.is_empty() {
        spec.insert(
            "nodeSelector".into(),
            strings_map(
                fields
                    .node_selector
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            ),
        );
    }
    if let Some(affinity) = &fields.affinity {
        spec.insert("affinity".into(), affinity.clone());
    }
    if !fields.tolerations.is_empty() {
        spec.insert(
            "tolerations".into(),
            Value::Array(fields.tolerations.clone()),
        );
    }
    let spread = topology_spread(f);
    if !spread.is_empty() {
        spec.insert("topologySpreadConstraints".into(), Value::Array(spread));
    }
    spec.insert("containers".into(), array([container(f, storage)]));
    spec.insert("volumes".into(), Value::Array(volumes(f)));
    Value::Object(spec)
}

/// The catalogue's constraints, each selecting the service's own pods unless it says otherwise;
/// without any, a best-effort spread over nodes for a service that may run 2+ replicas.
fn topology_spread(f: &ServiceFacts<'_>) -> Vec<Value> {
    match &f.svc.fields.topology_spread {
        Some(list) => list
            .iter()
            .map(|c| {
                let mut c = c.clone();
                if let Some(m) = c.as_object_mut() {
                    if !m.contains_key("labelSelector") {
                        m.insert("labelSelector".into(), match_selector(f));
                    }
                }
                c
            })
            .collect(),
        None => vec![object([
            ("maxSkew", Value::from(1)),
            ("topologyKey", Value::from(SPREAD_TOPOLOGY_KEY)),
            ("whenUnsatisfiable", Value::from("ScheduleAnyway")),
            ("labelSelector", match_selector(f)),
        ])],
    }
}

fn volumes(f: &ServiceFacts<'_>) -> Vec<Value> {
    let fields = &f.svc.fields;
    let mut out = Vec::with_capacity(2 + fields.volumes.len());
    out.push(object([
        ("name", Value::from("tmp")),
        ("emptyDir", Value::Object(Map::new())),
    ]));
    if fields.config_files.is_some() {
        out.push(object([
            ("name", Value::from(CONFIG_VOLUME)),
            (
                "configMap",
                object([("name", Value::from(config_map_name(f)))]),
            ),
        ]));
    }
    for v in &fields.volumes {
        let source = match &v.source {
            VolumeSource::EmptyDir { size_limit, memory } => {
                let mut m = Map::new();
                if *memory {
                    m.insert("medium".into(), Value::from("Memory"));
                }
                if let Some(size) = size_limit {
                    m.insert("sizeLimit".into(), Value::from(size.as_str()));
                }
                ("emptyDir", Value::Object(m))
            }
            VolumeSource::Files { kind, name, items } => {
                let mut m = Map::new();
                let (key, name_key) = match kind {
                    RefKind::Secret => ("secret", "secretName"),
                    RefKind::ConfigMap => ("configMap", "name"),
                };
                m.insert(name_key.into(), Value::from(name.as_str()));
                if !items.is_empty() {
                    let list = items
                        .iter()
                        .map(|(k, p)| {
                            object([
                                ("key", Value::from(k.as_str())),
                                ("path", Value::from(p.as_str())),
                            ])
                        })
                        .collect();
                    m.insert("items".into(), Value::Array(list));
                }
                (key, Value::Object(m))
            }
        };
        out.push(object([("name", Value::from(v.name.as_str())), source]));
    }
    out
}

fn volume_mounts(f: &ServiceFacts<'_>, storage: bool) -> Value {
    let fields = &f.svc.fields;
    let mount = |name: &str, path: &str, read_only: bool| {
        let mut m = Map::with_capacity(3);
        m.insert("name".into(), Value::from(name));
        m.insert("mountPath".into(), Value::from(path));
        if read_only {
            m.insert("readOnly".into(), Value::Bool(true));
        }
        Value::Object(m)
    };
    let mut out = vec![mount("tmp", "/tmp", false)];
    if storage {
        out.push(mount("data", &fields.storage_mount, false));
    }
    if let Some(cf) = &fields.config_files {
        out.push(mount(CONFIG_VOLUME, &cf.mount_path, true));
    }
    for v in &fields.volumes {
        let read_only = matches!(v.source, VolumeSource::Files { .. });
        out.push(mount(&v.name, &v.mount_path, read_only));
    }
    Value::Array(out)
}

fn env(f: &ServiceFacts<'_>) -> Vec<Value> {
    f.svc
        .fields
        .env
        .iter()
        .map(|(k, v)| match v {
            EnvSource::Literal(text) => object([
                ("name", Value::from(k.as_str())),
                ("value", Value::from(text.as_str())),
            ]),
            EnvSource::Key {
                kind,
                name,
                key,
                optional,
            } => {
                let mut r = Map::with_capacity(3);
                r.insert("name".into(), Value::from(name.as_str()));
                r.insert("key".into(), Value::from(key.as_str()));
                if *optional {
                    r.insert("optional".into(), Value::Bool(true));
                }
                let ref_key = match kind {
                    RefKind::Secret => "secretKeyRef",
                    RefKind::ConfigMap => "configMapKeyRef",
                };
                object([
                    ("name", Value::from(k.as_str())),
                    ("valueFrom", object([(ref_key, Value::Object(r))])),
                ])
            }
        })
        .collect()
}

fn env_from(f: &ServiceFacts<'_>) -> Vec<Value> {
    f.svc
        .fields
        .env_from
        .iter()
        .map(|e| {
            let mut m = Map::with_capacity(2);
            if let Some(p) = &e.prefix {
                m.insert("prefix".into(), Value::from(p.as_str()));
            }
            let mut r = Map::with_capacity(2);
            r.insert("name".into(), Value::from(e.name.as_str()));
            if e.optional {
                r.insert("optional".into(), Value::Bool(true));
            }
            let key = match e.kind {
                RefKind::Secret => "secretRef",
                RefKind::ConfigMap => "configMapRef",
            };
            m.insert(key.into(), Value::Object(r));
            Value::Object(m)
        })
        .collect()
}

fn strings(list: &[String]) -> Value {
    Value::Array(list.iter().map(|s| Value::from(s.as_str())).collect())
}

fn container(f: &ServiceFacts<'_>, storage: bool) -> Value {
    let svc = f.svc;
    let port_name = port_name(svc.protocol);
    let mut c = Map::with_capacity(14);
    c.insert("name".into(), Value::from(svc.name.as_str()));
    c.insert("image".into(), Value::from(svc.image.as_str()));
    c.insert("imagePullPolicy".into(), Value::from("Always"));
    if let Some(command) = &svc.fields.command {
        c.insert("command".into(), strings(command));
    }
    if let Some(args) = &svc.fields.args {
        c.insert("args".into(), strings(args));
    }
    c.insert(
        "ports".into(),
        array([object([
            ("name", Value::from(port_name)),
            ("containerPort", Value::from(svc.port)),
            ("protocol", Value::from("TCP")),
        ])]),
    );
    let env_from = env_from(f);
    if !env_from.is_empty() {
        c.insert("envFrom".into(), Value::Array(env_from));
    }
    let env = env(f);
    if !env.is_empty() {
        c.insert("env".into(), Value::Array(env));
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
    c.insert("volumeMounts".into(), volume_mounts(f, storage));
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
