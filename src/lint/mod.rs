//! The lint engine: rules over every manifest of one environment, through indexes built once.

pub mod code;
pub mod context;
pub mod depgraph;
mod fxhash;
pub mod index;
pub mod kubernetes_version;
pub mod repository;
pub mod rules;

pub use code::{Code, Example};
pub use context::{Capacity, LintContext, PhaseInfo};

use crate::diagnostic::{Diagnostic, Location, Severity};
use crate::vocabulary::annotation;
use indexmap::IndexMap;

/// A lint rule: a family of conditions checked together, its documentation, and the check.
pub struct Rule {
    /// Stable kebab-case id: configuring or suppressing it covers every code of the rule.
    pub id: &'static str,
    /// One line for `shipshape rules` and the README table.
    pub summary: &'static str,
    /// Markdown: what it checks and why it matters. Each code carries its own examples.
    pub doc: &'static str,
    /// Every condition the check reports, each under its own code.
    pub codes: &'static [&'static Code],
    pub check: fn(&LintContext, &mut Sink),
}

impl Rule {
    /// The most serious default among the rule's codes: what the rule stands for in a summary.
    pub fn severity(&self) -> Severity {
        self.codes
            .iter()
            .map(|c| c.severity)
            .max()
            .unwrap_or(Severity::Info)
    }
}

/// One finding as a rule reports it, before configuration and suppressions apply.
pub struct Finding {
    /// Index of the manifest the finding is about, for suppression annotations.
    pub manifest: Option<usize>,
    pub diagnostic: Diagnostic,
}

/// Where a rule puts its findings.
pub struct Sink {
    rule: &'static Rule,
    pub findings: Vec<Finding>,
}

impl Sink {
    /// A finding of `code` at the code's default severity.
    pub fn report(
        &mut self,
        code: &'static Code,
        manifest: Option<usize>,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.report_as(code, code.severity, manifest, message)
    }

    /// A finding whose severity depends on what the rule found (a ceiling a quota enforces is an
    /// error, one the scheduler merely strains against a warning); the code's documentation says
    /// when. Configuration still overrides it.
    pub fn report_as(
        &mut self,
        code: &'static Code,
        severity: Severity,
        manifest: Option<usize>,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        debug_assert_eq!(
            code.rule(),
            self.rule.id,
            "{} reported by another rule",
            code.id
        );
        self.findings.push(Finding {
            manifest,
            diagnostic: Diagnostic::new(code.id, severity, message),
        });
        let last = self.findings.len() - 1;
        &mut self.findings[last].diagnostic
    }
}

/// Fluent helpers so rules read as sentences.
impl Diagnostic {
    pub fn place(&mut self, location: Option<Location>, label: impl Into<String>) -> &mut Self {
        self.location = location;
        self.label = Some(label.into());
        self
    }

    pub fn also(&mut self, location: Option<Location>, label: impl Into<String>) -> &mut Self {
        if let Some(l) = location {
            self.related.push((l, label.into()));
        }
        self
    }

    pub fn help(&mut self, help: impl Into<String>) -> &mut Self {
        self.help = Some(help.into());
        self
    }
}

/// Code for findings about suppression annotations themselves.
pub const SUPPRESSION_CODE: &str = "suppression";

/// Runs every enabled rule over one environment and applies configuration and suppressions.
pub fn run(ctx: &LintContext, levels: &IndexMap<String, Option<Severity>>) -> Vec<Diagnostic> {
    // Rules are independent; run them side by side, then apply settings in registry order.
    let enabled: Vec<&'static Rule> = rules::all()
        .iter()
        .filter(|r| rule_runs(r, levels))
        .collect();
    let sinks = crate::parallel::map(&enabled, 2, |rule| {
        let mut sink = Sink {
            rule,
            findings: Vec::new(),
        };
        let t = std::time::Instant::now();
        (rule.check)(ctx, &mut sink);
        if std::env::var_os("SHIPSHAPE_PROFILE").is_some() {
            eprintln!("profile: rule {} {:?}", rule.id, t.elapsed());
        }
        sink
    });
    let mut out = Vec::new();
    for sink in sinks {
        let rule = sink.rule;
        for finding in sink.findings {
            let mut d = finding.diagnostic;
            match configured(levels, &d.code, rule.id, d.severity) {
                Some(sev) => d.severity = sev,
                None => continue,
            }
            if let Some(i) = finding.manifest {
                if let Some(m) = ctx.manifests.get(i) {
                    if d.resource.is_none() {
                        d.resource = Some(m.resource_id());
                    }
                    m.explain_patches(&mut d);
                    if suppressed(m, rule.id, &d.code) {
                        continue;
                    }
                }
            }
            d.environment = Some(ctx.environment.clone());
            out.push(d);
        }
    }
    out.extend(check_suppressions(ctx));
    crate::diagnostic::normalise(&mut out);
    out
}

/// The severity `code`'s findings get under a configuration (at their default severity), or
/// `None` when the configuration turns the code off.
pub fn effective_severity(
    levels: &IndexMap<String, Option<Severity>>,
    code: &Code,
) -> Option<Severity> {
    configured(levels, code.id, code.rule(), code.severity)
}

/// What the configuration makes of a finding of `code` (of `rule`) reported at `severity`:
/// its severity, or `None` when turned off. A code named in the configuration wins over its
/// rule. A rule's level applies to each of its codes, except that information (a missed target)
/// stays information: `resource-overcommit: error` must not turn it into a failed build.
fn configured(
    levels: &IndexMap<String, Option<Severity>>,
    code: &str,
    rule: &str,
    severity: Severity,
) -> Option<Severity> {
    match levels.get(code) {
        Some(level) => *level,
        None => match levels.get(rule) {
            Some(None) => None,
            Some(Some(sev)) if severity != Severity::Info => Some(*sev),
            _ => Some(severity),
        },
    }
}

/// Every code of every rule, in registry order.
pub fn all_codes() -> impl Iterator<Item = &'static Code> {
    rules::all().iter().flat_map(|r| r.codes.iter().copied())
}

/// The code `id` names, if any.
pub fn find_code(id: &str) -> Option<&'static Code> {
    all_codes().find(|c| c.id == id)
}

/// Whether a rule has anything to report under the configuration: a rule turned off still runs
/// when one of its codes is turned back on by name.
fn rule_runs(rule: &Rule, levels: &IndexMap<String, Option<Severity>>) -> bool {
    levels.get(rule.id).copied() != Some(None)
        || rule
            .codes
            .iter()
            .any(|c| matches!(levels.get(c.id), Some(Some(_))))
}

/// A finding is suppressed by an annotation naming its rule (every code) or its code alone, with
/// a reason; a suppression without a reason suppresses nothing (and is itself reported).
fn suppressed(m: &crate::manifest::Manifest, rule: &str, code: &str) -> bool {
    let by_rule = annotation::suppress(rule);
    let by_code = annotation::suppress(code);
    [by_rule, by_code]
        .iter()
        .any(|key| m.annotation(key).is_some_and(|r| !r.trim().is_empty()))
}

/// Names an annotation may suppress: every rule, and every code as `rule.condition`.
fn suppression_names() -> Vec<String> {
    let mut names = Vec::new();
    for r in rules::all() {
        names.push(r.id.to_owned());
        names.extend(r.codes.iter().map(|c| c.suppression_key()));
    }
    names
}

/// A suppression must name a real rule or code and say why; otherwise it hides problems silently.
fn check_suppressions(ctx: &LintContext) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let known = suppression_names();
    for (i, m) in ctx.manifests.iter().enumerate() {
        let Some(annotations) = m.annotations() else {
            continue;
        };
        for (key, value) in annotations {
            let Some(rule) = key.strip_prefix(annotation::SUPPRESS_PREFIX) else {
                continue;
            };
            let pointer = format!(
                "/metadata/annotations/{}",
                key.replace('~', "~0").replace('/', "~1")
            );
            let location = ctx.locate(i, &pointer, &format!("/suppress/{rule}"));
            if !known.iter().any(|k| k == rule) {
                let mut d = Diagnostic::new(
                    SUPPRESSION_CODE,
                    Severity::Error,
                    format!("suppression names unknown rule or code `{rule}`"),
                )
                .at(Some(location), "no such rule or code");
                d.help = Some(match crate::catalogue::schema::closest(rule, &known) {
                    Some(c) => format!("did you mean `{c}`?"),
                    None => "`shipshape rules` lists the rules and their codes; a code is suppressed as `rule.condition`".into(),
                });
                out.push(
                    d.in_environment(&ctx.environment)
                        .on_resource(m.resource_id()),
                );
            } else if value.as_str().is_none_or(|s| s.trim().is_empty()) {
                out.push(
                    Diagnostic::new(
                        SUPPRESSION_CODE,
                        Severity::Error,
                        format!("suppression of `{rule}` gives no reason"),
                    )
                    .at(Some(location), "reason missing")
                    .with_help("say why the finding does not apply, e.g. `probe: tcp is enough for this proxy`")
                    .in_environment(&ctx.environment)
                    .on_resource(m.resource_id()),
                );
            }
        }
    }
    out
}
