//! JSON Patch (RFC 6902): `add`, `remove`, `replace`, `move`, `copy` and `test`, applied in
//! order to one document.

use super::pointer::{array_index, join, Pointer};
use super::{Mark, PatchError, CODE_PATH, CODE_TEST, CODE_TYPE};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Remove,
    Replace,
    Move,
    Copy,
    Test,
}

impl Op {
    pub const ALL: [(&'static str, Op); 6] = [
        ("add", Op::Add),
        ("remove", Op::Remove),
        ("replace", Op::Replace),
        ("move", Op::Move),
        ("copy", Op::Copy),
        ("test", Op::Test),
    ];

    pub fn parse(text: &str) -> Option<Op> {
        Op::ALL.iter().find(|(n, _)| *n == text).map(|(_, op)| *op)
    }

    pub fn name(self) -> &'static str {
        Op::ALL
            .iter()
            .find(|(_, op)| *op == self)
            .map_or("", |(n, _)| n)
    }

    /// Whether the operation carries a `value`.
    pub fn needs_value(self) -> bool {
        matches!(self, Op::Add | Op::Replace | Op::Test)
    }

    /// Whether the operation reads a `from`.
    pub fn needs_from(self) -> bool {
        matches!(self, Op::Move | Op::Copy)
    }
}

/// One operation, checked for shape when the catalogue was read.
#[derive(Debug, Clone)]
pub struct Operation {
    pub op: Op,
    pub path: Pointer,
    pub from: Option<Pointer>,
    pub value: Option<Value>,
}

/// Applies `ops` to `doc` in order. `source` is the pointer of the operation list inside the
/// patch, so errors and marks name the operation's own line.
pub fn apply(
    doc: &mut Value,
    ops: &[Operation],
    source: &str,
    marks: &mut Vec<Mark>,
) -> Result<(), PatchError> {
    for (i, op) in ops.iter().enumerate() {
        let at = format!("{source}/{i}");
        apply_one(doc, op, &at)?;
        // What `add` and `replace` write is a copy of their `value`, so a pointer below `path`
        // continues below `value`; the other operations are best shown by their `path`.
        let source = match op.op {
            Op::Test => continue,
            Op::Add | Op::Replace => format!("{at}/value"),
            Op::Remove | Op::Move | Op::Copy => format!("{at}/path"),
        };
        marks.push(Mark {
            pointer: op.path.text.clone(),
            source,
        });
    }
    Ok(())
}

fn apply_one(doc: &mut Value, op: &Operation, at: &str) -> Result<(), PatchError> {
    let name = op.op.name();
    let path_at = format!("{at}/path");
    match op.op {
        Op::Add => {
            let value = op.value.clone().unwrap_or(Value::Null);
            add(doc, &op.path, value, name, &path_at)
        }
        Op::Remove => remove(doc, &op.path, name, &path_at).map(drop),
        Op::Replace => {
            let slot = existing_mut(doc, &op.path, name, &path_at)?;
            *slot = op.value.clone().unwrap_or(Value::Null);
            Ok(())
        }
        Op::Move => {
            let from = op.from.as_ref().unwrap_or(&op.path);
            let from_at = format!("{at}/from");
            if op.path.is_inside(from) {
                return Err(PatchError::new(
                    CODE_PATH,
                    format!("`move` from `{from}` to `{}`: a value cannot move inside itself", op.path),
                    &path_at,
                    "inside `from`",
                    "`path` must not lie under `from`; copy the value instead, or move it elsewhere",
                ));
            }
            if *from == op.path {
                // Moving a value onto itself changes nothing, but it must exist (RFC 6902 4.4).
                return existing_mut(doc, from, name, &from_at).map(drop);
            }
            let value = remove(doc, from, name, &from_at)?;
            add(doc, &op.path, value, name, &path_at)
        }
        Op::Copy => {
            let from = op.from.as_ref().unwrap_or(&op.path);
            let value = existing_mut(doc, from, name, &format!("{at}/from"))?.clone();
            add(doc, &op.path, value, name, &path_at)
        }
        Op::Test => {
            let found = existing_mut(doc, &op.path, name, &path_at)?;
            let expected = op.value.as_ref().unwrap_or(&Value::Null);
            if json_equal(found, expected) {
                Ok(())
            } else {
                Err(PatchError::new(
                    CODE_TEST,
                    format!(
                        "`test` at `{}` failed: the document has {}, the patch expects {}",
                        op.path,
                        brief(found),
                        brief(expected)
                    ),
                    &format!("{at}/value"),
                    "expected value",
                    "the operations after a failed `test` are not applied; correct the expected value or the path",
                )
                .at_value())
            }
        }
    }
}

/// RFC 6902 equality: numbers compare by value (`1` equals `1.0`), everything else structurally.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

/// A value as a message quotes it: JSON, cut short.
pub fn brief(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 60 {
        let cut: String = text.chars().take(57).collect();
        format!("{cut}...")
    } else {
        text
    }
}

/// What a JSON type is called in a message.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// The container that holds the last token of `path`: every token before it must exist.
fn parent_mut<'a>(
    doc: &'a mut Value,
    path: &Pointer,
    op: &str,
    at: &str,
) -> Result<&'a mut Value, PatchError> {
    let parent = match path.split_last() {
        Some((parent, _)) => parent,
        None => &[][..],
    };
    let advice = format!("`{op}` creates only the last segment of its path");
    walk(doc, parent, path, op, at, &advice)
}

/// The value at `path`, which must exist.
fn existing_mut<'a>(
    doc: &'a mut Value,
    path: &Pointer,
    op: &str,
    at: &str,
) -> Result<&'a mut Value, PatchError> {
    let advice = format!("`{op}` needs a value that exists; `add` creates one");
    walk(doc, &path.tokens, path, op, at, &advice)
}

/// Follows `tokens` (a prefix of `path`) from the root, with an error naming the first token
/// that leads nowhere.
fn walk<'a>(
    doc: &'a mut Value,
    tokens: &[String],
    path: &Pointer,
    op: &str,
    at: &str,
    advice: &str,
) -> Result<&'a mut Value, PatchError> {
    let mut node = doc;
    for (depth, token) in tokens.iter().enumerate() {
        // Only an error names the place, so the happy path allocates nothing.
        let shown = || match join(&path.tokens[..depth]) {
            here if here.is_empty() => "the document".to_owned(),
            here => here,
        };
        node = match node {
            Value::Object(map) => {
                if !map.contains_key(token) {
                    let keys: Vec<&String> = map.keys().collect();
                    let shown = shown();
                    return Err(missing(
                        op,
                        path,
                        format!("there is no `{token}` in {shown}"),
                        at,
                        &holds(&shown, &keys, advice),
                    ));
                }
                match map.get_mut(token) {
                    Some(child) => child,
                    None => {
                        return Err(missing(
                            op,
                            path,
                            format!("there is no `{token}`"),
                            at,
                            advice,
                        ))
                    }
                }
            }
            Value::Array(items) => {
                let len = items.len();
                match array_index(token).and_then(|i| items.get_mut(i)) {
                    Some(child) => child,
                    None => {
                        let shown = shown();
                        return Err(missing(
                            op,
                            path,
                            format!("{shown} has no item `{token}`"),
                            at,
                            &format!(
                                "{shown} is a list of {len} item{}, indexed 0 to {}; `-` appends with `add`",
                                if len == 1 { "" } else { "s" },
                                len.saturating_sub(1)
                            ),
                        ));
                    }
                }
            }
            other => {
                return Err(PatchError::new(
                    CODE_TYPE,
                    format!(
                        "`{op}` at `{path}`: {} is {}, which has no `{token}`",
                        shown(),
                        type_name(other)
                    ),
                    at,
                    "goes through a value that is not a mapping or a list",
                    "only mappings and lists have children; shorten the path, or `replace` the value itself",
                )
                .at_value());
            }
        };
    }
    Ok(node)
}

fn missing(op: &str, path: &Pointer, why: String, at: &str, help: &str) -> PatchError {
    PatchError::new(
        CODE_PATH,
        format!("`{op}` at `{path}`: {why}"),
        at,
        "no such path in the target",
        help,
    )
    .at_value()
}

/// Help naming what a mapping holds, so a typo is easy to spot, then `advice`.
fn holds(shown: &str, keys: &[&String], advice: &str) -> String {
    if keys.is_empty() {
        return format!("{shown} is empty; {advice}");
    }
    let mut names: Vec<String> = keys.iter().take(12).map(|k| format!("`{k}`")).collect();
    if keys.len() > 12 {
        names.push(format!("and {} more", keys.len() - 12));
    }
    format!("{shown} holds {}; {advice}", names.join(", "))
}

fn add(
    doc: &mut Value,
    path: &Pointer,
    value: Value,
    op: &str,
    at: &str,
) -> Result<(), PatchError> {
    let Some((_, last)) = path.split_last() else {
        *doc = value;
        return Ok(());
    };
    let last = last.to_owned();
    let parent = parent_mut(doc, path, op, at)?;
    match parent {
        Value::Object(map) => {
            map.insert(last, value);
            Ok(())
        }
        Value::Array(items) => {
            let len = items.len();
            let index = if last == "-" {
                Some(len)
            } else {
                array_index(&last).filter(|&i| i <= len)
            };
            match index {
                Some(i) => {
                    items.insert(i, value);
                    Ok(())
                }
                None => Err(missing(
                    op,
                    path,
                    format!(
                        "the list has {len} item{}, so `{last}` is not a place to add",
                        if len == 1 { "" } else { "s" }
                    ),
                    at,
                    &format!("`add` inserts at an index from 0 to {len}, or appends with `-`"),
                )),
            }
        }
        other => Err(PatchError::new(
            CODE_TYPE,
            format!(
                "`{op}` at `{path}`: the parent is {}, which cannot hold `{last}`",
                type_name(other)
            ),
            at,
            "parent is not a mapping or a list",
            "add to a mapping or a list; to change the value's type, `replace` the parent",
        )
        .at_value()),
    }
}

fn remove(doc: &mut Value, path: &Pointer, op: &str, at: &str) -> Result<Value, PatchError> {
    let Some((_, last)) = path.split_last() else {
        return Err(PatchError::new(
            CODE_PATH,
            format!("`{op}` of the whole document: a patch cannot delete the resource it targets"),
            at,
            "the whole document",
            "name a path inside the document; to drop a resource, turn its feature off in the catalogue",
        )
        .at_value());
    };
    let last = last.to_owned();
    // The value must exist: walk to it first for the precise error.
    existing_mut(doc, path, op, at)?;
    let parent = parent_mut(doc, path, op, at)?;
    let removed = match parent {
        Value::Object(map) => map.shift_remove(&last),
        Value::Array(items) => array_index(&last)
            .filter(|&i| i < items.len())
            .map(|i| items.remove(i)),
        _ => None,
    };
    Ok(removed.unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(op: &str, path: &str, value: Option<Value>, from: Option<&str>) -> Operation {
        Operation {
            op: Op::parse(op).unwrap(),
            path: Pointer::parse(path).unwrap(),
            from: from.map(|f| Pointer::parse(f).unwrap()),
            value,
        }
    }

    fn run(doc: &mut Value, ops: &[Operation]) -> Result<Vec<Mark>, PatchError> {
        let mut marks = Vec::new();
        apply(doc, ops, "/jsonPatch", &mut marks)?;
        Ok(marks)
    }

    #[test]
    fn every_operation() {
        let mut doc = json!({"a": {"b": [1, 2]}, "c": "x", "k~/": 0});
        let marks = run(
            &mut doc,
            &[
                op("add", "/a/b/1", Some(json!(9)), None),
                op("add", "/a/b/-", Some(json!(3)), None),
                op("replace", "/c", Some(json!("y")), None),
                op("copy", "/d", None, Some("/a/b")),
                op("move", "/e", None, Some("/c")),
                op("remove", "/k~0~1", None, None),
                op("test", "/d/0", Some(json!(1.0)), None),
            ],
        )
        .unwrap();
        assert_eq!(
            doc,
            json!({"a": {"b": [1, 9, 2, 3]}, "d": [1, 9, 2, 3], "e": "y"})
        );
        assert_eq!(marks.len(), 6, "every operation but `test` is marked");
        assert_eq!(marks[0].pointer, "/a/b/1");
        assert_eq!(marks[0].source, "/jsonPatch/0/value");
        assert_eq!(marks[5].source, "/jsonPatch/5/path");
    }

    #[test]
    fn replace_and_remove_need_an_existing_value() {
        let mut doc = json!({"spec": {"replicas": 1, "selector": {}}});
        let e = run(
            &mut doc,
            &[op("replace", "/spec/replica", Some(json!(2)), None)],
        )
        .unwrap_err();
        assert_eq!(e.code, CODE_PATH);
        assert_eq!(
            e.message,
            "`replace` at `/spec/replica`: there is no `replica` in /spec"
        );
        assert!(
            e.help.starts_with("/spec holds `replicas`, `selector`"),
            "{}",
            e.help
        );
        assert_eq!(e.at, "/jsonPatch/0/path");
        let e = run(&mut doc, &[op("remove", "/status", None, None)]).unwrap_err();
        assert_eq!(
            e.message,
            "`remove` at `/status`: there is no `status` in the document"
        );
        let e = run(&mut doc, &[op("remove", "", None, None)]).unwrap_err();
        assert_eq!(e.code, CODE_PATH);
    }

    #[test]
    fn add_creates_only_the_last_segment() {
        let mut doc = json!({"a": [1]});
        let e = run(&mut doc, &[op("add", "/b/c", Some(json!(1)), None)]).unwrap_err();
        assert_eq!(e.code, CODE_PATH);
        assert!(
            e.help.contains("creates only the last segment"),
            "{}",
            e.help
        );
        let e = run(&mut doc, &[op("add", "/a/5", Some(json!(1)), None)]).unwrap_err();
        assert!(
            e.message.contains("the list has 1 item, so `5`"),
            "{}",
            e.message
        );
        let e = run(&mut doc, &[op("add", "/a/01", Some(json!(1)), None)]).unwrap_err();
        assert_eq!(e.code, CODE_PATH);
    }

    #[test]
    fn going_through_a_scalar_is_a_type_error() {
        let mut doc = json!({"a": 1});
        let e = run(&mut doc, &[op("add", "/a/b", Some(json!(1)), None)]).unwrap_err();
        assert_eq!(e.code, CODE_TYPE);
        let e = run(&mut doc, &[op("replace", "/a/b/c", Some(json!(1)), None)]).unwrap_err();
        assert_eq!(e.code, CODE_TYPE);
        assert_eq!(
            e.message,
            "`replace` at `/a/b/c`: /a is a number, which has no `b`"
        );
    }

    #[test]
    fn test_compares_and_stops() {
        let mut doc = json!({"n": 2, "m": {"x": [1, {"y": true}]}});
        run(
            &mut doc,
            &[op(
                "test",
                "/m",
                Some(json!({"x": [1.0, {"y": true}]})),
                None,
            )],
        )
        .unwrap();
        let e = run(
            &mut doc,
            &[
                op("test", "/n", Some(json!(3)), None),
                op("remove", "/n", None, None),
            ],
        )
        .unwrap_err();
        assert_eq!(e.code, CODE_TEST);
        assert_eq!(
            e.message,
            "`test` at `/n` failed: the document has 2, the patch expects 3"
        );
        assert_eq!(e.at, "/jsonPatch/0/value");
        assert_eq!(doc["n"], 2);
    }

    #[test]
    fn move_refuses_to_go_inside_itself() {
        let mut doc = json!({"a": {"b": 1}});
        let e = run(&mut doc, &[op("move", "/a/b/c", None, Some("/a"))]).unwrap_err();
        assert_eq!(e.code, CODE_PATH);
        run(&mut doc, &[op("move", "/a", None, Some("/a"))]).unwrap();
        assert_eq!(doc, json!({"a": {"b": 1}}));
        let e = run(&mut doc, &[op("move", "/z", None, Some("/nope"))]).unwrap_err();
        assert_eq!(e.at, "/jsonPatch/0/from");
    }
}
