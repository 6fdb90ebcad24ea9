//! The extra templates' side of rendering: the context a template sees, and its output read back
//! as documents.

use super::context::{port_name, ServiceFacts};
use super::templates::{Extra, Templates};
use crate::catalogue::model::ProbeKind;
use crate::catalogue::ResolvedEnvironment;
use crate::diagnostic::{Diagnostic, Location};
use crate::yaml::SourceFile;
use minijinja::Value as TV;
use serde_json::Value;
use std::sync::Arc;

/// What a template sees as `env`.
pub fn environment_value(env: &ResolvedEnvironment) -> TV {
    TV::from_pairs([
        ("name", TV::from(env.name.as_str())),
        ("namespace", TV::from(env.namespace.as_str())),
        ("platform", TV::from(env.platform.as_str())),
        (
            "istio",
            TV::from_pairs([
                ("enabled", TV::from(env.istio.enabled)),
                (
                    "mtls",
                    TV::from(env.istio.mtls.as_deref().unwrap_or("STRICT")),
                ),
            ]),
        ),
    ])
}

fn text_or_none(text: Option<&str>) -> TV {
    text.map_or_else(|| TV::from(()), TV::from)
}

fn pairs<'x>(pairs: impl IntoIterator<Item = (&'x str, &'x str)>) -> TV {
    TV::from_pairs(pairs.into_iter().map(|(k, v)| (TV::from(k), TV::from(v))))
}

fn names<'x>(names: impl IntoIterator<Item = &'x str>) -> TV {
    names.into_iter().map(TV::from).collect()
}

/// What a template sees as `svc`.
pub fn service_value(f: &ServiceFacts<'_>) -> TV {
    let svc = f.svc;
    TV::from_pairs([
        ("name", TV::from(svc.name.as_str())),
        ("description", text_or_none(svc.description.as_deref())),
        ("kind", TV::from(f.kind())),
        ("image", TV::from(svc.image.as_str())),
        ("version", TV::from(f.version.as_str())),
        ("port", TV::from(svc.port)),
        ("portName", TV::from(port_name(svc.protocol))),
        ("protocol", TV::from(port_name(svc.protocol))),
        (
            "probe",
            TV::from(match svc.probe {
                ProbeKind::Http => "http",
                ProbeKind::Tcp => "tcp",
                ProbeKind::None => "none",
            }),
        ),
        ("healthPath", TV::from(svc.health_path.as_str())),
        (
            "replicas",
            TV::from_pairs([
                ("min", TV::from(svc.replicas_min)),
                ("max", TV::from(f.hpa().map_or(svc.replicas_min, |h| h.max))),
            ]),
        ),
        ("phase", TV::from(f.phase)),
        ("batch", text_or_none(svc.batch.as_deref())),
        ("wave", TV::from(svc.wave)),
        ("labels", pairs(f.labels())),
        ("selector", pairs(f.selector())),
        ("podLabels", pairs(f.pod_labels())),
        (
            "annotations",
            pairs(f.annotations.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))),
        ),
        (
            "env",
            pairs(svc.env.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        ),
        (
            "dependsOn",
            names(svc.depends_on.iter().map(String::as_str)),
        ),
        ("callers", names(f.callers.iter().map(|c| c.name.as_str()))),
        (
            "ingressNamespaces",
            names(svc.ingress_namespaces.iter().map(String::as_str)),
        ),
        ("storage", text_or_none(svc.storage_size.as_deref())),
        ("host", TV::from(f.host.as_str())),
    ])
}

/// Renders one extra template and reads its output back as YAML documents (empty output: none).
/// `service` names the service it rendered for, in messages. Each document must be a resource
/// (`apiVersion`, `kind`, `metadata.name`): one that is not would pass unvalidated and unlinted.
pub fn render(
    templates: &Templates,
    extra: &Extra,
    ctx: &TV,
    service: Option<&str>,
) -> Result<Vec<Value>, Diagnostic> {
    let name = extra.name.as_str();
    let t = std::time::Instant::now();
    let text = templates.render(name, ctx)?;
    crate::profile::add(crate::profile::Counter::Template, t);
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let t = std::time::Instant::now();
    let parsed = crate::yaml::parse_values(&text, &templates.limits);
    crate::profile::add(crate::profile::Counter::Parse, t);
    let file = templates.file(name);
    let whom = service
        .map(|s| format!(" for service `{s}`"))
        .unwrap_or_default();
    let docs: Vec<Value> = parsed.map_err(|e| {
        let line = e.span.line;
        let output_line = text.lines().nth(line.saturating_sub(1) as usize).unwrap_or("");
        // A budget the text went over has its own advice (which variable raises it).
        let help = e.help.clone().unwrap_or_else(|| "a template must produce YAML; values are inserted JSON-quoted, so write `key: {{ value }}` without quotes around it".into());
        Diagnostic::error(
            "render/invalid-yaml",
            format!(
                "template {name}{whom} produced text that is not YAML: {e} (line {line} of its output: `{}`)",
                output_line.trim()
            ),
        )
        .at(file.map(|f| line_like(f, output_line)), "this part of the template")
        .with_help(help)
    })?;
    let mut out = Vec::with_capacity(docs.len());
    for doc in docs {
        if doc.is_null() {
            continue;
        }
        if let Some(missing) = missing_field(&doc) {
            let needle = doc
                .get("kind")
                .and_then(Value::as_str)
                .map(|k| format!("kind: {k}"))
                .unwrap_or_default();
            return Err(Diagnostic::error(
                "render/not-a-resource",
                format!("template {name}{whom} produced a document without {missing}: {}", brief(&doc)),
            )
            .at(file.map(|f| line_like(f, &needle)), "in the document of this template")
            .with_help("each document a template writes is one Kubernetes resource: a mapping with apiVersion, kind and metadata.name"));
        }
        out.push(doc);
    }
    Ok(out)
}

/// What a rendered document lacks to be a resource, if anything.
fn missing_field(doc: &Value) -> Option<&'static str> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).is_some_and(|t| !t.is_empty());
    if !doc.is_object() {
        return Some("a mapping (it is a scalar or a list)");
    }
    if !text(doc.get("apiVersion")) {
        return Some("apiVersion");
    }
    if !text(doc.get("kind")) {
        return Some("kind");
    }
    if !text(doc.get("metadata").and_then(|m| m.get("name"))) {
        return Some("metadata.name");
    }
    None
}

/// A document in a message: its JSON, cut short.
fn brief(doc: &Value) -> String {
    let text = doc.to_string();
    match text.char_indices().nth(80) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

/// The template's line that reads like `output_line` (the template's own text for it, as a line
/// of literal YAML usually is), else its first line: where to look for what went wrong.
pub fn line_like(file: &Arc<SourceFile>, output_line: &str) -> Location {
    let needle = output_line.trim();
    let mut start = 0;
    let mut first = None;
    for line in file.text.split_inclusive('\n') {
        let content = line.trim();
        if !content.is_empty() {
            let at = start + (line.len() - line.trim_start().len());
            first.get_or_insert((at, content.len()));
            if !needle.is_empty() && content == needle {
                return Location::new(file, file.span_of(at, content.len()));
            }
        }
        start += line.len();
    }
    let (at, len) = first.unwrap_or((0, 0));
    Location::new(file, file.span_of(at, len.max(1)))
}
