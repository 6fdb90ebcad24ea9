//! The extra templates' side of rendering: the context a template sees, and its output read back
//! as documents.

use super::context::{port_name, ServiceFacts};
use super::templates::{Extra, Templates};
use crate::catalogue::model::ProbeKind;
use crate::catalogue::ResolvedEnvironment;
use crate::diagnostic::Diagnostic;
use minijinja::Value as TV;
use serde_json::Value;

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
/// `service` names the service it rendered for, in messages.
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
    let whom = service
        .map(|s| format!(" for service `{s}`"))
        .unwrap_or_default();
    let docs: Vec<Value> = parsed.map_err(|e| {
        // A budget the text went over has its own advice (which variable raises it).
        let help = e.help.clone().unwrap_or_else(|| "a template must produce YAML; values are inserted JSON-quoted, so write `key: {{ value }}` without quotes around it".into());
        Diagnostic::error(
            "render/invalid-yaml",
            format!("template {name}{whom} produced text that is not YAML: {e}"),
        )
        .with_help(help)
    })?;
    let mut out = Vec::with_capacity(docs.len());
    for doc in docs {
        match doc {
            Value::Null => {}
            Value::Object(_) => out.push(doc),
            other => {
                return Err(Diagnostic::error(
                    "render/invalid-yaml",
                    format!("template {name}{whom} produced a document that is not a mapping: {other}"),
                )
                .with_help("each document a template writes is one Kubernetes resource: a mapping with apiVersion, kind and metadata"))
            }
        }
    }
    Ok(out)
}
