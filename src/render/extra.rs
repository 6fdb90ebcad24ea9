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
                ("enabled", TV::from(env.settings.istio.enabled)),
                (
                    "mtls",
                    TV::from(env.settings.istio.mtls.as_deref().unwrap_or("STRICT")),
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

/// Builds one field of `svc`.
type FieldFn = fn(&ServiceFacts<'_>) -> TV;

/// The fields of `svc`, in the order a template iterating over it sees them.
const SERVICE_FIELDS: [(&str, FieldFn); 24] = [
    ("name", |f| TV::from(f.svc.name.as_str())),
    ("description", |f| {
        text_or_none(f.svc.description.as_deref())
    }),
    ("kind", |f| TV::from(f.kind())),
    ("image", |f| TV::from(f.svc.image.as_str())),
    ("version", |f| TV::from(f.version.as_str())),
    ("port", |f| TV::from(f.svc.port)),
    ("portName", |f| TV::from(port_name(f.svc.protocol))),
    ("protocol", |f| TV::from(port_name(f.svc.protocol))),
    ("probe", |f| {
        TV::from(match f.svc.probe {
            ProbeKind::Http => "http",
            ProbeKind::Tcp => "tcp",
            ProbeKind::None => "none",
        })
    }),
    ("healthPath", |f| TV::from(f.svc.health_path.as_str())),
    ("replicas", |f| {
        let min = f.svc.replicas_min;
        TV::from_pairs([
            ("min", TV::from(min)),
            ("max", TV::from(f.hpa().map_or(min, |h| h.max))),
        ])
    }),
    ("phase", |f| TV::from(f.phase)),
    ("batch", |f| text_or_none(f.svc.batch.as_deref())),
    ("wave", |f| TV::from(f.svc.wave)),
    ("labels", |f| pairs(f.labels())),
    ("selector", |f| pairs(f.selector())),
    ("podLabels", |f| pairs(f.pod_labels())),
    ("annotations", |f| {
        pairs(f.annotations.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
    }),
    ("env", |f| {
        pairs(
            f.svc
                .fields
                .env
                .iter()
                .filter_map(|(k, v)| Some((k.as_str(), v.literal()?))),
        )
    }),
    ("dependsOn", |f| {
        names(f.svc.depends_on.iter().map(String::as_str))
    }),
    ("callers", |f| {
        names(f.callers.iter().map(|c| c.name.as_str()))
    }),
    ("ingressNamespaces", |f| {
        names(f.svc.ingress_namespaces.iter().map(String::as_str))
    }),
    ("storage", |f| text_or_none(f.svc.storage_size.as_deref())),
    ("host", |f| TV::from(f.host.as_str())),
];

/// What a template sees as `svc`: the fields of it that `fields` holds (see [`Fields`]).
pub fn service_value(f: &ServiceFacts<'_>, fields: &Fields) -> TV {
    TV::from_pairs(
        SERVICE_FIELDS
            .iter()
            .filter(|(name, _)| fields.wants(name))
            .map(|(name, build)| (*name, build(f))),
    )
}

/// Which fields of `svc` the templates of a run may read. Building a service's context is much
/// of what an extra template costs per service, so fields no template names are left out; any
/// use of `svc` (or `services`) as a whole, which a static look cannot follow, takes them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fields {
    All,
    Only(Vec<String>),
}

impl Fields {
    /// From the variables the templates read, as minijinja's static analysis names them
    /// (`svc.labels`, `svc.env.ENABLE_METRICS`, `svc`, `services`, `loop`...).
    pub fn read_by<'v>(variables: impl IntoIterator<Item = &'v str>) -> Fields {
        let mut only: Vec<String> = Vec::new();
        for variable in variables {
            let mut path = variable.split('.');
            match (path.next(), path.next()) {
                (Some("svc"), Some(field)) if only.iter().any(|f| f == field) => {}
                (Some("svc"), Some(field)) => only.push(field.to_owned()),
                (Some("svc" | "services"), _) => return Fields::All,
                _ => {}
            }
        }
        Fields::Only(only)
    }

    pub fn wants(&self, field: &str) -> bool {
        match self {
            Fields::All => true,
            Fields::Only(fields) => fields.iter().any(|f| f == field),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::Fields;

    #[test]
    fn fields_are_those_the_templates_name() {
        let fields = Fields::read_by([
            "env.namespace",
            "svc.name",
            "svc.env.ENABLE_METRICS",
            "loop",
        ]);
        assert_eq!(fields, Fields::Only(vec!["name".into(), "env".into()]));
        assert!(fields.wants("env") && !fields.wants("labels"));
        // Handed on whole (to a macro, a `set`, a loop): every field.
        assert_eq!(Fields::read_by(["svc.name", "svc"]), Fields::All);
        assert_eq!(Fields::read_by(["services"]), Fields::All);
        assert_eq!(Fields::read_by([]), Fields::Only(Vec::new()));
    }
}
