//! JSON Schema validation of input files, with errors mapped back to YAML lines.

use crate::catalogue::origin::SourceDoc;
use crate::diagnostic::{Diagnostic, Location};
use jsonschema::error::ValidationErrorKind;
use jsonschema::Validator;
use serde_json::Value;

pub const CATALOGUE_SCHEMA: &str = include_str!("../../schemas/catalogue.schema.json");
pub const ENVIRONMENT_SCHEMA: &str = include_str!("../../schemas/environment.schema.json");

/// The schema pattern of text that is passed on verbatim and compared verbatim by its reader
/// (Argo CD's `repoURL`, `targetRevision`, `project`, `server`): not empty, no whitespace at
/// either end, no control character. A stray space is a repository, revision or cluster that
/// does not exist, found only when Argo CD fails to sync.
pub const TRIMMED_TEXT_PATTERN: &str = r"^[^\s\u0000-\u001f\u007f-\u009f]([^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f])?$";

/// A compiled input schema and the schema document itself, which names the fields a typo missed.
pub struct InputSchema {
    validator: Validator,
    schema: Value,
    what: &'static str,
}

impl InputSchema {
    /// Compiles an embedded schema. A failure here is a bug in shipshape, reported as such.
    pub fn compile(
        text: &str,
        what: &'static str,
        partial: bool,
    ) -> Result<InputSchema, Diagnostic> {
        let mut schema: Value = serde_json::from_str(text).map_err(|e| {
            Diagnostic::error("internal/schema", format!("embedded {what} schema: {e}"))
        })?;
        if partial {
            // A split catalogue spreads the top-level keys over several files; each file is
            // checked for what it has, and completeness is checked on the assembled catalogue.
            if let Some(obj) = schema.as_object_mut() {
                obj.remove("required");
            }
        }
        let validator = jsonschema::options()
            .should_validate_formats(false)
            .build(&schema)
            .map_err(|e| {
                Diagnostic::error("internal/schema", format!("embedded {what} schema: {e}"))
            })?;
        Ok(InputSchema {
            validator,
            schema,
            what,
        })
    }

    pub fn validate(&self, doc: &SourceDoc) -> Vec<Diagnostic> {
        let mut out: Vec<Diagnostic> = self
            .validator
            .iter_errors(&doc.value)
            .filter(|e| !e.schema_path().as_str().contains("/propertyNames"))
            .map(|e| self.diagnostic(doc, &e))
            .collect();
        // Service names are map keys; the schema can only say "some key is wrong", so they are
        // checked here where the key itself can be underlined.
        if let Some(services) = doc.value.get("services").and_then(Value::as_object) {
            for name in services.keys() {
                if !crate::catalogue::names::is_dns1035_label(name) {
                    out.push(name_error(doc, "/services", name));
                } else if let Some(why) = crate::catalogue::names::reserved_service_name(name) {
                    let mut d = name_error(doc, "/services", name);
                    d.message = format!(
                        "service name `{name}` is reserved: rendered/<env>/{name}.yaml holds {why}"
                    );
                    d.label = Some("reserved name".into());
                    d.help = Some(format!("rename the service, e.g. `{name}-service`"));
                    out.push(d);
                }
            }
        }
        out
    }

    fn diagnostic(&self, doc: &SourceDoc, e: &jsonschema::ValidationError<'_>) -> Diagnostic {
        let pointer = e.instance_path().as_str().to_owned();
        let place = dotted(&pointer);
        let at = |p: &str, key: bool| {
            doc.spans.nearest(p).map(|s| {
                Location::new(
                    &doc.file,
                    if key {
                        s.key.unwrap_or(s.value)
                    } else {
                        s.value
                    },
                )
            })
        };
        match e.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let name = unexpected.first().cloned().unwrap_or_default();
                let mut child = pointer.clone();
                crate::yaml::push_pointer_segment(&mut child, &name);
                let known = self.known_properties(e.schema_path().as_str());
                let mut d = Diagnostic::error(
                    "input/unknown-field",
                    format!("unknown field `{name}` in {} {place}", self.what),
                )
                .at(at(&child, true), "not a field here");
                d.help = Some(match closest(&name, &known) {
                    Some(s) => format!("did you mean `{s}`? expected one of: {}", known.join(", ")),
                    None if known.is_empty() => "remove this field".into(),
                    None => format!("expected one of: {}", known.join(", ")),
                });
                d
            }
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or("?");
                Diagnostic::error(
                    "input/missing-field",
                    format!("missing required field `{name}` in {} {place}", self.what),
                )
                .at(at(&pointer, true), format!("`{name}` is missing here"))
                .with_help(format!("add `{name}:`"))
            }
            ValidationErrorKind::Pattern { pattern } if pattern == TRIMMED_TEXT_PATTERN => {
                let given = e.instance().as_str().unwrap_or_default();
                let (what, label, fix) = untrimmed_text(given);
                Diagnostic::error("input/schema", format!("{place} {what}"))
                    .at(at(&pointer, false), label)
                    .with_help(format!(
                        "{fix}; {}",
                        self.description_help(e.schema_path().as_str())
                    ))
            }
            ValidationErrorKind::Pattern { .. } if pointer.ends_with("/name") => {
                let bad = e.instance().as_str().unwrap_or_default().to_owned();
                name_error_at(at(&pointer, false), &bad)
            }
            ValidationErrorKind::Enum { options } => {
                let allowed: Vec<String> = options
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                let given = match e.instance().as_ref() {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let mut d = Diagnostic::error(
                    "input/schema",
                    format!("{place}: `{given}` is not one of: {}", allowed.join(", ")),
                )
                .at(at(&pointer, false), "not allowed here");
                d.help = Some(match closest(&given, &allowed) {
                    Some(c) => format!("did you mean `{c}`?"),
                    None => format!("use one of: {}", allowed.join(", ")),
                });
                d
            }
            ValidationErrorKind::Type { kind } => self.type_error(doc, e, kind, &pointer, &place),
            _ => Diagnostic::error("input/schema", format!("{place}: {}", e.masked()))
                .at(at(&pointer, false), "this value")
                .with_help(self.description_help(e.schema_path().as_str())),
        }
    }

    fn type_error(
        &self,
        doc: &SourceDoc,
        e: &jsonschema::ValidationError<'_>,
        kind: &jsonschema::error::TypeKind,
        pointer: &str,
        place: &str,
    ) -> Diagnostic {
        let expected = match kind {
            jsonschema::error::TypeKind::Single(t) => t.to_string(),
            jsonschema::error::TypeKind::Multiple(set) => set
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(" or "),
        };
        let value = e.instance().as_ref();
        let found = match value {
            Value::String(s) => format!("the text \"{s}\""),
            Value::Number(n) => format!("the number {n}"),
            Value::Bool(b) => format!("the boolean {b}"),
            Value::Null => "nothing (null)".into(),
            Value::Array(_) => "a list".into(),
            Value::Object(_) => "a mapping".into(),
        };
        let described = self.description_help(e.schema_path().as_str());
        let help = match value {
            // `0.8` where a percentage is wanted: say what to write.
            Value::Number(n) if expected == "string" && described.contains('%') => {
                let pct = n
                    .as_f64()
                    .map_or(0.0, |f| if f <= 1.0 { f * 100.0 } else { f });
                format!("write a quoted percentage, e.g. \"{pct}%\"")
            }
            Value::Number(_) | Value::Bool(_) if expected.split(" or ").any(|t| t == "string") => {
                // As written, not as parsed: `1.30` quoted is "1.30", not "1.3".
                let written = doc
                    .spans
                    .get(pointer)
                    .and_then(|s| doc.file.text.get(s.value.start..s.value.end))
                    .map(str::trim)
                    .filter(|t| !t.is_empty() && !t.contains('\n'))
                    .map_or_else(|| value.to_string(), str::to_owned);
                format!("quote it to make it text: \"{written}\" ({described})")
            }
            _ => described,
        };
        let location = doc
            .spans
            .nearest(pointer)
            .map(|s| Location::new(&doc.file, s.value));
        Diagnostic::error(
            "input/schema",
            format!("{place}: expected {expected}, found {found}"),
        )
        .at(location, format!("expected {expected}"))
        .with_help(help)
    }

    /// Field names the schema allows where an unknown one was found.
    fn known_properties(&self, schema_path: &str) -> Vec<String> {
        let parent = schema_path
            .strip_suffix("/additionalProperties")
            .unwrap_or(schema_path);
        resolve_schema_path(&self.schema, parent)
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn description_help(&self, schema_path: &str) -> String {
        let mut path = schema_path;
        // The failing keyword's parent is the property schema that carries the description.
        while let Some(i) = path.rfind('/') {
            path = &path[..i];
            if let Some(d) = resolve_schema_path(&self.schema, path)
                .and_then(|s| s.get("description"))
                .and_then(Value::as_str)
            {
                return format!("expected: {d}");
            }
        }
        format!("see schemas/{}.schema.json", self.what)
    }
}

/// What is wrong with text that breaks [`TRIMMED_TEXT_PATTERN`]: the problem, a label for the
/// value, and how to fix it.
fn untrimmed_text(text: &str) -> (String, &'static str, String) {
    let trimmed = text.trim();
    if text.is_empty() {
        return (
            "is empty".into(),
            "empty",
            "write a value, or remove the field".into(),
        );
    }
    if trimmed.is_empty() {
        return (
            "is blank: it holds only whitespace".into(),
            "blank",
            "write a value, or remove the field".into(),
        );
    }
    if let Some((i, c)) = text.chars().enumerate().find(|(_, c)| c.is_control()) {
        return (
            format!(
                "holds the control character U+{:04X} (character {} of the value)",
                u32::from(c),
                i + 1
            ),
            "control character",
            "remove the control character; check that the value was not pasted with a line break or tab".into(),
        );
    }
    let fix = format!("write `{trimmed}`, without the whitespace around it");
    if text.starts_with(char::is_whitespace) {
        return ("starts with whitespace".into(), "leading whitespace", fix);
    }
    ("ends with whitespace".into(), "trailing whitespace", fix)
}

/// A map key (a service name) that is not a DNS-1035 label, pointed at the key.
pub fn name_error(doc: &SourceDoc, map_pointer: &str, bad: &str) -> Diagnostic {
    let mut key_pointer = map_pointer.to_owned();
    crate::yaml::push_pointer_segment(&mut key_pointer, bad);
    let span = doc
        .spans
        .get(&key_pointer)
        .map(|s| s.key.unwrap_or(s.value))
        .or_else(|| doc.spans.nearest(map_pointer).map(|s| s.value));
    service_name_error_at(span.map(|s| Location::new(&doc.file, s)), bad)
}

/// A service name that is not a DNS-1035 label, at `location`. The name becomes the Service's
/// name, and the API server holds Service names to DNS-1035 (no leading digit), stricter than
/// the DNS-1123 rule for most other objects.
pub fn service_name_error_at(location: Option<Location>, bad: &str) -> Diagnostic {
    let suggestion = crate::catalogue::names::suggest_dns1035_label(bad);
    if crate::catalogue::names::is_dns_label(bad) {
        return Diagnostic::error(
            "input/bad-name",
            format!(
                "service name `{bad}` starts with a digit: Kubernetes Service names are DNS-1035 labels, which start with a letter"
            ),
        )
        .at(location, "starts with a digit")
        .with_help(format!(
            "the API server rejects a Service named `{bad}`; rename the service, e.g. `{suggestion}`"
        ));
    }
    Diagnostic::error(
        "input/bad-name",
        format!(
            "`{bad}` is not a valid service name: service names must be DNS-1035 labels (DNS-1123 labels that start with a letter)"
        ),
    )
    .at(location, "invalid name")
    .with_help(format!(
        "use at most 63 lower-case letters, digits and '-', starting with a letter and ending with a letter or digit, e.g. `{suggestion}`"
    ))
}

/// A name that is not a DNS-1123 label, at `location`.
pub fn name_error_at(location: Option<Location>, bad: &str) -> Diagnostic {
    let suggestion = crate::catalogue::names::suggest_dns_label(bad);
    Diagnostic::error(
        "input/bad-name",
        format!("`{bad}` is not a valid name: names must be DNS-1123 labels"),
    )
    .at(location, "invalid name")
    .with_help(format!(
        "use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit, e.g. `{suggestion}`"
    ))
}

/// Follows a schema evaluation path through the schema document, jumping through local `$ref`s.
fn resolve_schema_path<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    let mut node = root;
    for raw in path.split('/').skip(1) {
        let seg = raw.replace("~1", "/").replace("~0", "~");
        if seg == "$ref" {
            let target = node.get("$ref")?.as_str()?.strip_prefix('#')?;
            node = root.pointer(target)?;
            continue;
        }
        node = match node {
            Value::Object(m) => m.get(&seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

/// `/services/api-gateway/port` as `services.api-gateway.port`, the way people say it.
pub fn dotted(pointer: &str) -> String {
    if pointer.is_empty() {
        return "(top level)".into();
    }
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect::<Vec<_>>()
        .join(".")
}

/// The known name closest to a misspelt one, when it is close enough to be a typo.
pub fn closest(name: &str, known: &[String]) -> Option<String> {
    // `warn` for `warning`: an abbreviation is as clear a signal as a typo.
    if name.len() >= 3 {
        if let Some(k) = known.iter().find(|k| k.starts_with(name)) {
            return Some(k.clone());
        }
    }
    known
        .iter()
        .map(|k| (edit_distance(&name.to_lowercase(), &k.to_lowercase()), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.clone())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argo_fields_use_the_trimmed_text_pattern() {
        let schema: Value = serde_json::from_str(ENVIRONMENT_SCHEMA).unwrap();
        for field in [
            "/properties/argocd/properties/project",
            "/properties/argocd/properties/repoURL",
            "/properties/argocd/properties/targetRevision",
            "/properties/argocd/properties/destination/properties/server",
            "/properties/argocd/properties/destination/properties/name",
            "/properties/argocd/properties/rootRevision",
            "/properties/argocd/properties/rootProject",
        ] {
            let pattern = schema.pointer(&format!("{field}/pattern"));
            assert_eq!(
                pattern.and_then(Value::as_str),
                Some(TRIMMED_TEXT_PATTERN),
                "{field}"
            );
        }
    }

    #[test]
    fn trimmed_text_pattern() {
        let schema = serde_json::json!({"type": "string", "pattern": TRIMMED_TEXT_PATTERN});
        let v = jsonschema::options()
            .should_validate_formats(false)
            .build(&schema)
            .unwrap();
        for good in [
            "main",
            "a",
            "https://git.example/x.git",
            "my project",
            "v1.2 rc",
        ] {
            assert!(v.is_valid(&Value::from(good)), "{good:?}");
        }
        for bad in [
            "",
            " ",
            "\t",
            " main",
            "main ",
            "main\n",
            "ma\u{7}in",
            "ma\u{85}in",
            "\u{a0}main",
        ] {
            assert!(!v.is_valid(&Value::from(bad)), "{bad:?}");
            let (what, _, _) = untrimmed_text(bad);
            assert!(!what.is_empty());
        }
        assert_eq!(
            untrimmed_text(" main").2,
            "write `main`, without the whitespace around it"
        );
        assert!(untrimmed_text("ma\u{7}in").0.contains("U+0007"));
    }
}
