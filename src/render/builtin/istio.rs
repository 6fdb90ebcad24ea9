//! The Istio resources of a service, rendered only where the environment enables Istio:
//! VirtualService, DestinationRule and AuthorizationPolicy.

use super::Service;
use super::{array, manifest, match_selector, present};
use crate::catalogue::model::Protocol;
use crate::render::context::{object, traffic_policy};
use crate::vocabulary::label;
use serde_json::{Map, Value};

pub(super) fn virtual_service(f: &Service<'_, '_>) -> Option<Value> {
    if !f.env.settings.istio.enabled {
        return None;
    }
    let svc = f.svc;
    let mut route = Map::with_capacity(3);
    route.insert("route".into(), Value::Array(destinations(f)));
    // Timeouts and retries are HTTP notions; a TCP route takes neither.
    let key = if svc.protocol == Protocol::Tcp {
        "tcp"
    } else {
        if let Some(timeout) = present(svc.mesh_timeout.as_ref()) {
            route.insert("timeout".into(), Value::from(timeout));
        }
        if let Some(attempts) = svc.mesh_retries {
            route.insert(
                "retries".into(),
                object([("attempts", Value::from(attempts))]),
            );
        }
        "http"
    };
    Some(manifest(
        f,
        "networking.istio.io/v1",
        "VirtualService",
        [(
            "spec",
            object([
                ("hosts", array([Value::from(f.host.as_str())])),
                (key, array([Value::Object(route)])),
            ]),
        )],
    ))
}

/// The weighted canary split, or the one stable destination without a canary.
fn destinations(f: &Service<'_, '_>) -> Vec<Value> {
    let port = || object([("number", Value::from(f.svc.port))]);
    if f.routes.is_empty() {
        return vec![object([(
            "destination",
            object([("host", Value::from(f.host.as_str())), ("port", port())]),
        )])];
    }
    f.routes
        .iter()
        .map(|r| {
            object([
                (
                    "destination",
                    object([
                        ("host", Value::from(f.host.as_str())),
                        ("subset", Value::from(r.subset)),
                        ("port", port()),
                    ]),
                ),
                ("weight", Value::from(r.weight)),
            ])
        })
        .collect()
}

pub(super) fn destination_rule(f: &Service<'_, '_>) -> Option<Value> {
    if !f.env.settings.istio.enabled {
        return None;
    }
    let subsets = f
        .subsets()
        .map(|s| {
            object([
                ("name", Value::from(s)),
                ("labels", object([(label::TRACK, Value::from(s))])),
            ])
        })
        .collect();
    Some(manifest(
        f,
        "networking.istio.io/v1",
        "DestinationRule",
        [(
            "spec",
            object([
                ("host", Value::from(f.host.as_str())),
                ("trafficPolicy", traffic_policy(f.svc.protocol)),
                ("subsets", Value::Array(subsets)),
            ]),
        )],
    ))
}

/// ALLOW rules for the callers' identities and the declared namespaces; none at all when
/// nobody may call, which Istio reads as deny everything.
pub(super) fn authorization_policy(f: &Service<'_, '_>) -> Option<Value> {
    if !f.env.settings.istio.enabled {
        return None;
    }
    let svc = f.svc;
    let mut spec = Map::with_capacity(3);
    spec.insert("selector".into(), match_selector(f));
    spec.insert("action".into(), Value::from("ALLOW"));
    let mut rules = Vec::with_capacity(2);
    if !f.callers.is_empty() {
        let principals = f
            .callers
            .iter()
            .map(|c| Value::from(f.principal(c)))
            .collect();
        rules.push(rule("principals", principals, svc.port));
    }
    if !svc.ingress_namespaces.is_empty() {
        let namespaces = svc
            .ingress_namespaces
            .iter()
            .map(|ns| Value::from(ns.as_str()))
            .collect();
        rules.push(rule("namespaces", namespaces, svc.port));
    }
    if !rules.is_empty() {
        spec.insert("rules".into(), Value::Array(rules));
    }
    Some(manifest(
        f,
        "security.istio.io/v1",
        "AuthorizationPolicy",
        [("spec", Value::Object(spec))],
    ))
}

/// Requests from these sources (`principals` or `namespaces`) to the port. Istio takes ports as
/// strings here.
fn rule(source_key: &str, sources: Vec<Value>, port: u16) -> Value {
    object([
        (
            "from",
            array([object([(
                "source",
                object([(source_key, Value::Array(sources))]),
            )])]),
        ),
        (
            "to",
            array([object([(
                "operation",
                object([("ports", array([Value::from(port.to_string())]))]),
            )])]),
        ),
    ])
}
