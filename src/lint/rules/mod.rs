//! The rule registry: every rule, declared once, in the order `shipshape rules` lists them.

pub mod argocd_application;
pub mod deprecated_api;
pub mod hpa;
pub mod image_pinning;
pub mod literal_secret;
pub mod mesh_hosts;
pub mod mesh_protocol;
pub mod mesh_routing;
pub mod missing_probe;
pub mod pdb;
pub mod phase_order;
pub mod policy_selector;
pub mod port_conflict;
pub mod resource_overcommit;
pub mod unreachable_service;

use crate::lint::Rule;

static RULES: &[Rule] = &[
    port_conflict::RULE,
    missing_probe::RULE,
    resource_overcommit::RULE,
    phase_order::RULE,
    mesh_routing::RULE,
    policy_selector::RULE,
    unreachable_service::RULE,
    argocd_application::RULE,
    literal_secret::RULE,
    image_pinning::RULE,
    hpa::RULE,
    pdb::RULE,
    deprecated_api::RULE,
];

pub fn all() -> &'static [Rule] {
    RULES
}

pub fn find(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}
