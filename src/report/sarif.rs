//! SARIF 2.1.0 output, as GitHub code scanning reads it: one run, the rules with their help
//! text, results with physical locations (1-based lines and columns).

use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::{self, rules};
use serde_json::{json, Value};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A relative path as a URI reference: everything outside the unreserved set and `/` is
/// percent-encoded, so spaces, `#` and `%` in file names survive.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn physical(file: &str, line: u32, column: u32, end: Option<(u32, u32)>) -> Value {
    let mut region = json!({ "startLine": line.max(1), "startColumn": column.max(1) });
    if let Some((el, ec)) = end {
        if (el, ec) >= (line, column) {
            region["endLine"] = json!(el.max(1));
            region["endColumn"] = json!(ec.max(1));
        }
    }
    json!({
        "physicalLocation": {
            "artifactLocation": { "uri": uri(file), "uriBaseId": "%SRCROOT%" },
            "region": region,
        }
    })
}

pub fn render(diagnostics: &[Diagnostic]) -> String {
    // Rules: every lint code, plus the other codes that occur (input errors, drift, schema).
    let mut rule_ids: Vec<String> = lint::all_codes().map(|c| c.id.to_owned()).collect();
    for d in diagnostics {
        if !rule_ids.contains(&d.code) {
            rule_ids.push(d.code.clone());
        }
    }
    let rule_objects: Vec<Value> = rule_ids
        .iter()
        .map(|id| match lint::find_code(id) {
            Some(c) => {
                let rule = rules::find(c.rule()).map_or("", |r| r.summary);
                let help = format!(
                    "{}\n\nPart of `{}`: {rule}\n\n`shipshape explain {id}` shows why it matters and a bad and a good example.",
                    c.summary,
                    c.rule()
                );
                json!({
                    "id": id,
                    "name": id,
                    "shortDescription": { "text": c.summary },
                    "fullDescription": { "text": c.summary },
                    "help": { "text": help, "markdown": help },
                    "defaultConfiguration": { "level": level(c.severity) },
                    "properties": { "tags": [c.rule()] },
                })
            }
            None => {
                let summary = crate::codes::find(id)
                    .map_or_else(|| format!("shipshape {id}"), |c| c.summary.to_owned());
                json!({
                    "id": id,
                    "name": id,
                    "shortDescription": { "text": summary },
                    "defaultConfiguration": { "level": "error" },
                })
            }
        })
        .collect();
    // One result per finding and location: the environments it was made in are named in the
    // message, not repeated as results code scanning would show as duplicates.
    let results: Vec<Value> = crate::report::group::group(diagnostics)
        .iter()
        .map(|finding| {
            let d = finding.diagnostic;
            let mut text = d.message.clone();
            if let Some(envs) = finding.environment_list() {
                text = format!("[{envs}] {text}");
            }
            if let Some(h) = &d.help {
                text.push_str(&format!("\nhelp: {h}"));
            }
            let mut r = json!({
                "ruleId": d.code,
                "ruleIndex": rule_ids.iter().position(|x| *x == d.code).unwrap_or(0),
                "level": level(d.severity),
                "message": { "text": text },
            });
            if let Some(l) = &d.location {
                let end = l.file.span_of(l.span.end, 0);
                r["locations"] = json!([physical(&l.file.name, l.span.line, l.span.column, Some((end.line, end.column)))]);
            }
            if !d.related.is_empty() {
                r["relatedLocations"] = Value::Array(
                    d.related
                        .iter()
                        .enumerate()
                        .map(|(i, (l, msg))| {
                            let mut loc = physical(&l.file.name, l.span.line, l.span.column, None);
                            loc["id"] = json!(i);
                            loc["message"] = json!({ "text": msg });
                            loc
                        })
                        .collect(),
                );
            }
            // Stable across runs so code scanning can track a finding from one commit to the next,
            // also when it spreads to or leaves an environment (hence no environment in it). v3:
            // the code is the condition's (`port-conflict/duplicate-host-port`), no longer the rule's.
            r["partialFingerprints"] = json!({
                "shipshape/v3": format!("{}:{}:{}", d.code, d.resource.as_deref().unwrap_or(""), d.message),
            });
            r
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "shipshape",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://shipshape.dev",
                    "rules": rule_objects,
                }
            },
            "results": results,
        }]
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}
