//! The service's NetworkPolicy: on top of the namespace's default
//! deny, ingress from its callers and declared namespaces, egress to its dependencies, the
//! platform-wide (`callableFromAll`) services and DNS.

use super::{array, manifest, match_label, match_selector};
use crate::render::context::{object, ServiceFacts};
use crate::vocabulary::label;
use serde_json::{Map, Value};

pub(super) fn network_policy(f: &ServiceFacts<'_>) -> Option<Value> {
    let svc = f.svc;
    let mut spec = Map::with_capacity(4);
    spec.insert("podSelector".into(), match_selector(f));
    spec.insert(
        "policyTypes".into(),
        array([Value::from("Ingress"), Value::from("Egress")]),
    );
    let mut ingress = Vec::with_capacity(2);
    if !f.callers.is_empty() {
        let from = f
            .callers
            .iter()
            .map(|c| object([("podSelector", match_label(label::NAME, &c.name))]))
            .collect();
        ingress.push(rule("from", from, svc.port));
    }
    if !svc.ingress_namespaces.is_empty() {
        let from = svc
            .ingress_namespaces
            .iter()
            .map(|ns| object([("namespaceSelector", match_label(label::NAMESPACE_NAME, ns))]))
            .collect();
        ingress.push(rule("from", from, svc.port));
    }
    if !ingress.is_empty() {
        spec.insert("ingress".into(), Value::Array(ingress));
    }
    let mut egress: Vec<Value> = f
        .callees
        .iter()
        .map(|d| {
            rule(
                "to",
                vec![object([("podSelector", match_label(label::NAME, &d.name))])],
                d.port,
            )
        })
        .collect();
    if let Some(rule) = external(f) {
        egress.push(rule);
    }
    egress.push(object([
        (
            "to",
            array([object([
                (
                    "namespaceSelector",
                    match_label(label::NAMESPACE_NAME, "kube-system"),
                ),
                ("podSelector", match_label("k8s-app", "kube-dns")),
            ])]),
        ),
        ("ports", array([port("UDP", 53), port("TCP", 53)])),
    ]));
    spec.insert("egress".into(), Value::Array(egress));
    Some(manifest(
        f,
        "networking.k8s.io/v1",
        "NetworkPolicy",
        [("spec", Value::Object(spec))],
    ))
}

/// Addresses a host outside the platform cannot have: private, shared (carrier-grade NAT, often
/// pod networks), loopback and link-local (which holds the cloud metadata endpoint).
const NOT_EXTERNAL_V4: [&str; 6] = [
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
];
const NOT_EXTERNAL_V6: [&str; 3] = ["::1/128", "fc00::/7", "fe80::/10"];

/// Egress to the service's external hosts. A NetworkPolicy cannot name a host, only addresses:
/// this allows public addresses on the declared ports; which hosts is Istio's ServiceEntry's
/// job where the mesh is on.
fn external(f: &ServiceFacts<'_>) -> Option<Value> {
    let egress = &f.svc.fields.egress;
    if egress.is_empty() {
        return None;
    }
    let mut ports: Vec<u16> = egress.iter().map(|e| e.port).collect();
    ports.sort_unstable();
    ports.dedup();
    let block = |cidr: &str, except: &[&str]| {
        object([(
            "ipBlock",
            object([
                ("cidr", Value::from(cidr)),
                (
                    "except",
                    Value::Array(except.iter().map(|c| Value::from(*c)).collect()),
                ),
            ]),
        )])
    };
    Some(object([
        (
            "to",
            array([
                block("0.0.0.0/0", &NOT_EXTERNAL_V4),
                block("::/0", &NOT_EXTERNAL_V6),
            ]),
        ),
        (
            "ports",
            Value::Array(ports.into_iter().map(|p| port("TCP", p)).collect()),
        ),
    ]))
}

/// An ingress or egress rule: these peers (under `from` or `to`), on one TCP port.
fn rule(direction: &str, peers: Vec<Value>, number: u16) -> Value {
    object([
        (direction, Value::Array(peers)),
        ("ports", array([port("TCP", number)])),
    ])
}

fn port(protocol: &str, number: u16) -> Value {
    object([
        ("protocol", Value::from(protocol)),
        ("port", Value::from(number)),
    ])
}
