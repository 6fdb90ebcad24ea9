//! The rule registry: every rule, declared once, in the order `shipshape rules` lists them.

mod argocd_application;
mod image_pinning;
mod literal_secret;
mod mesh_routing;
mod missing_probe;
mod phase_order;
mod policy_selector;
mod port_conflict;
mod resource_overcommit;
mod unreachable_service;

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
];

pub fn all() -> &'static [Rule] {
    RULES
}

pub fn find(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}
