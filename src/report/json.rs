//! JSON output: one stable document, described in docs/json-output.md.

use crate::diagnostic::Diagnostic;
use crate::report::group::{self, Finding};
use serde_json::{json, Value};

/// Version of the JSON document's shape; bumped on any incompatible change.
/// 2: a finding made in several environments is one entry with an `environments` array
/// (was one entry per environment, each with an `environment`).
pub const SCHEMA_VERSION: u32 = 2;

pub fn location_json(d: &Diagnostic) -> Value {
    match &d.location {
        Some(l) => json!({
            "file": l.file.name,
            "line": l.span.line,
            "column": l.span.column,
            "endLine": l.file.span_of(l.span.end, 0).line,
            "endColumn": l.file.span_of(l.span.end, 0).column,
        }),
        None => Value::Null,
    }
}

pub fn diagnostic_json(finding: &Finding<'_>) -> Value {
    let d = finding.diagnostic;
    json!({
        "code": d.code,
        "severity": d.severity,
        "message": d.message,
        "environments": finding.environments,
        "resource": d.resource,
        "location": location_json(d),
        "label": d.label,
        "help": d.help,
        "related": d.related.iter().map(|(l, text)| json!({
            "file": l.file.name,
            "line": l.span.line,
            "column": l.span.column,
            "message": text,
        })).collect::<Vec<_>>(),
    })
}

/// The report. `manifests` (build and check: how many manifests each output directory holds)
/// adds `summary.manifests`, so a CI dashboard can tell a platform that rendered nothing from
/// one that rendered clean.
pub fn render(diagnostics: &[Diagnostic], manifests: Option<&[(String, usize)]>) -> String {
    let findings = group::group(diagnostics);
    let (errors, warnings, infos) = group::counts(diagnostics);
    let mut summary = json!({ "errors": errors, "warnings": warnings, "infos": infos });
    if let Some(counts) = manifests {
        summary["manifests"] = counts
            .iter()
            .map(|(dir, n)| (dir.clone(), Value::from(*n)))
            .collect::<serde_json::Map<_, _>>()
            .into();
    }
    let doc = json!({
        "version": SCHEMA_VERSION,
        "tool": "shipshape",
        "toolVersion": env!("CARGO_PKG_VERSION"),
        "summary": summary,
        "diagnostics": findings.iter().map(diagnostic_json).collect::<Vec<_>>(),
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}
