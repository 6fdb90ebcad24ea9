//! The lint engine: rules over every manifest of one environment, through indexes built once.

pub mod context;
pub mod depgraph;
mod fxhash;
pub mod index;
pub mod repository;
pub mod rules;

pub use context::{Capacity, LintContext, PhaseInfo};

use crate::diagnostic::{Diagnostic, Location, Severity};
use crate::vocabulary::annotation;
use indexmap::IndexMap;

/// A lint rule: its identity, its documentation, and the check itself.
pub struct Rule {
    /// Stable kebab-case id, used in configuration, suppressions and reports.
    pub id: &'static str,
    pub severity: Severity,
    /// One line for `shipshape rules` and the README table.
    pub summary: &'static str,
    /// Markdown: what it checks, why it matters, a bad and a good example.
    pub doc: &'static str,
    pub check: fn(&LintContext, &mut Sink),
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
    /// A finding at the rule's default severity.
    pub fn report(
        &mut self,
        manifest: Option<usize>,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.report_as(manifest, self.rule.severity, message)
    }

    pub fn report_as(
        &mut self,
        manifest: Option<usize>,
        severity: Severity,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.findings.push(Finding {
            manifest,
            diagnostic: Diagnostic::new(self.rule.id, severity, message),
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
        .filter(|r| levels.get(r.id).copied() != Some(None))
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
        let level = levels.get(rule.id).copied();
        for finding in sink.findings {
            let mut d = finding.diagnostic;
            // A level says how serious the rule's problems are; information (a missed target) is
            // not a problem, and `resource-overcommit: error` must not turn it into a failed build.
            if let Some(Some(sev)) = level {
                if d.severity != Severity::Info {
                    d.severity = sev;
                }
            }
            if let Some(i) = finding.manifest {
                if let Some(m) = ctx.manifests.get(i) {
                    if d.resource.is_none() {
                        d.resource = Some(m.resource_id());
                    }
                    m.explain_patches(&mut d);
                    let key = annotation::suppress(rule.id);
                    if let Some(reason) = m.annotation(&key) {
                        if !reason.trim().is_empty() {
                            continue;
                        }
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

/// A suppression must name a real rule and say why; otherwise it hides problems silently.
fn check_suppressions(ctx: &LintContext) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let known: Vec<String> = rules::all().iter().map(|r| r.id.to_owned()).collect();
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
                    format!("suppression names unknown rule `{rule}`"),
                )
                .at(Some(location), "no such rule");
                d.help = Some(match crate::catalogue::schema::closest(rule, &known) {
                    Some(c) => format!("did you mean `{c}`?"),
                    None => format!("rules: {}", known.join(", ")),
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
