//! The rule registry: every rule, declared once, in the order `shipshape rules` lists them.

mod missing_probe;
mod phase_order;
mod port_conflict;
mod resource_overcommit;

use crate::lint::Rule;

static RULES: &[Rule] = &[
    port_conflict::RULE,
    missing_probe::RULE,
    resource_overcommit::RULE,
    phase_order::RULE,
];

pub fn all() -> &'static [Rule] {
    RULES
}

pub fn find(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}
