use crate::diagnostic::Severity;
use crate::lint::{LintContext, Rule, Sink};

pub const RULE: Rule = Rule {
    id: "port-conflict",
    severity: Severity::Error,
    summary: "",
    doc: "",
    check,
};

fn check(_ctx: &LintContext, _out: &mut Sink) {}
