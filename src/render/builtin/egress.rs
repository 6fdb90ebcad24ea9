//! Calls to hosts outside the platform (`egress`): the Istio ServiceEntry that puts them in the
//! mesh's registry, so an `outboundTrafficPolicy: REGISTRY_ONLY` mesh lets them through. The
//! NetworkPolicy side is in `networkpolicy`.

use super::Service;
use super::{array, manifest_named};
use crate::catalogue::fields::{protocol_name, Egress};
use crate::catalogue::model::EgressProtocol;
use crate::render::context::object;
use serde_json::Value;

pub(super) fn service_entry(f: &Service<'_, '_>) -> Option<Value> {
    let egress = &f.svc.fields.egress;
    if !f.env.settings.istio.enabled || egress.is_empty() {
        return None;
    }
    let mut hosts: Vec<&str> = Vec::with_capacity(egress.len());
    for e in egress {
        if !hosts.contains(&e.host.as_str()) {
            hosts.push(&e.host);
        }
    }
    // A wildcard host has no single address to resolve: Istio then forwards to the address the
    // application connected to.
    let resolution = if hosts.iter().any(|h| h.starts_with("*.")) {
        "NONE"
    } else {
        "DNS"
    };
    Some(manifest_named(
        f,
        &format!("{}-egress", f.svc.name),
        "networking.istio.io/v1",
        "ServiceEntry",
        [(
            "spec",
            object([
                (
                    "hosts",
                    Value::Array(hosts.into_iter().map(Value::from).collect()),
                ),
                ("exportTo", array([Value::from(".")])),
                ("location", Value::from("MESH_EXTERNAL")),
                ("resolution", Value::from(resolution)),
                ("ports", Value::Array(ports(egress))),
            ]),
        )],
    ))
}

/// Each port once, in the order first declared.
fn ports(egress: &[Egress]) -> Vec<Value> {
    let mut seen: Vec<u16> = Vec::with_capacity(egress.len());
    let mut out = Vec::with_capacity(egress.len());
    for e in egress {
        if seen.contains(&e.port) {
            continue;
        }
        seen.push(e.port);
        let protocol = match e.protocol {
            EgressProtocol::Tls => "TLS",
            EgressProtocol::Http => "HTTP",
            EgressProtocol::Tcp => "TCP",
        };
        out.push(object([
            ("number", Value::from(e.port)),
            (
                "name",
                Value::from(format!("{}-{}", protocol_name(e.protocol), e.port)),
            ),
            ("protocol", Value::from(protocol)),
        ]));
    }
    out
}
