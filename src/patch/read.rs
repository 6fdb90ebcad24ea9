//! Reading the `patches` of a service from the catalogue or an environment file. The schema has
//! checked the shape; this reads what it cannot: one body per entry, pointers, and the fields
//! each JSON Patch operation needs.

use super::json_patch::{Op, Operation};
use super::pointer::Pointer;
use super::{Body, Patch, Target, CODE_SHAPE};
use crate::catalogue::origin::Origin;
use crate::diagnostic::Diagnostic;
use serde_json::Value;
use std::sync::Arc;

/// The patches of service `service`, whose value (catalogue entry or environment override) is
/// `value` at `origin`. Problems go to `problems`; a broken entry is left out.
pub fn read_patches(
    service: &str,
    value: &Value,
    origin: &Origin,
    problems: &mut Vec<Diagnostic>,
) -> Vec<Arc<Patch>> {
    let Some(list) = value.get("patches").and_then(Value::as_array) else {
        return Vec::new();
    };
    let base = origin.child("patches");
    let mut out = Vec::with_capacity(list.len());
    for (index, entry) in list.iter().enumerate() {
        let origin = base.child(&index.to_string());
        match read_entry(service, index, entry, &origin) {
            Ok(p) => out.push(Arc::new(p)),
            Err(mut d) => problems.append(&mut d),
        }
    }
    out
}

/// A problem with the node at `at` in the entry: underlined at its value (its key for the
/// mappings and lists an entry holds, which would underline many lines).
fn shape(origin: &Origin, at: &str, message: String, label: &str, help: &str) -> Diagnostic {
    let scalar = at.ends_with("/op") || at.ends_with("/path") || at.ends_with("/from");
    let location = if scalar {
        origin.value_at(at)
    } else {
        origin.key_at(at)
    };
    Diagnostic::error(CODE_SHAPE, message)
        .at(Some(location.unwrap_or_else(|| origin.location())), label)
        .with_help(help)
}

fn read_entry(
    service: &str,
    index: usize,
    entry: &Value,
    origin: &Origin,
) -> Result<Patch, Vec<Diagnostic>> {
    let what = format!("patch {} of service `{service}`", index + 1);
    let target = entry.get("target");
    let kind = target
        .and_then(|t| t.get("kind"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if kind.is_empty() {
        return Err(vec![shape(
            origin,
            "/target",
            format!("{what} names no `target.kind`"),
            "which resource?",
            "write `target: { kind: Deployment }` (and `name:` when it is not the service's name)",
        )]);
    }
    let name = target
        .and_then(|t| t.get("name"))
        .and_then(Value::as_str)
        .unwrap_or(service);
    let body = match (entry.get("merge"), entry.get("jsonPatch")) {
        (Some(merge), None) => Body::Merge(merge.clone()),
        (None, Some(ops)) => Body::Json(read_operations(&what, ops, origin)?),
        (both, _) => {
            let (message, at) = if both.is_some() {
                (
                    format!("{what} has both `merge` and `jsonPatch`"),
                    "/jsonPatch",
                )
            } else {
                (
                    format!("{what} has neither `merge` nor `jsonPatch`"),
                    "/target",
                )
            };
            return Err(vec![shape(
                origin,
                at,
                message,
                "one body per entry",
                "write one body per entry: `merge:` (the part of the resource to change) or `jsonPatch:` (a list of operations); split two into two entries",
            )]);
        }
    };
    Ok(Patch {
        service: service.to_owned(),
        index,
        target: Target {
            kind: kind.to_owned(),
            name: name.to_owned(),
        },
        body,
        origin: origin.clone(),
    })
}

fn read_operations(
    what: &str,
    ops: &Value,
    origin: &Origin,
) -> Result<Vec<Operation>, Vec<Diagnostic>> {
    let items = ops.as_array().map(Vec::as_slice).unwrap_or_default();
    let mut out = Vec::with_capacity(items.len());
    let mut problems = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("/jsonPatch/{i}");
        let text = |key: &str| item.get(key).and_then(Value::as_str);
        let op_text = text("op").unwrap_or("");
        let Some(op) = Op::parse(op_text) else {
            problems.push(shape(
                origin,
                &format!("{at}/op"),
                format!("{what}: `{op_text}` is not a JSON Patch operation"),
                "unknown operation",
                "an operation is one of add, remove, replace, move, copy, test",
            ));
            continue;
        };
        let pointer = |key: &str, problems: &mut Vec<Diagnostic>| {
            let raw = text(key)?;
            Pointer::parse(raw)
                .map_err(|why| {
                    problems.push(shape(
                        origin,
                        &format!("{at}/{key}"),
                        format!("{what}: `{raw}` is not a JSON Pointer: {why}"),
                        "not a JSON Pointer",
                        "write a path like `/spec/template/spec/containers/0/image`",
                    ))
                })
                .ok()
        };
        let before = problems.len();
        let path = pointer("path", &mut problems);
        let from = pointer("from", &mut problems);
        if problems.len() != before {
            continue;
        }
        let Some(path) = path else {
            problems.push(shape(
                origin,
                &at,
                format!("{what}: the `{}` operation has no `path`", op.name()),
                "no path",
                "add `path:`, a JSON Pointer to the value to change",
            ));
            continue;
        };
        if op.needs_from() && from.is_none() {
            problems.push(shape(
                origin,
                &at,
                format!(
                    "{what}: `{}` needs `from`, the path to take the value from",
                    op.name()
                ),
                "no `from`",
                "add `from:`, a JSON Pointer into the same resource",
            ));
            continue;
        }
        let value = item.get("value").cloned();
        if op.needs_value() && value.is_none() {
            problems.push(shape(
                origin,
                &at,
                format!("{what}: `{}` needs `value`", op.name()),
                "no `value`",
                "add `value:` (write `value: null` for a null)",
            ));
            continue;
        }
        out.push(Operation {
            op,
            path,
            from,
            value,
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}
