//! Strategic-merge-style patches, as `kubectl patch --type strategic` and Kustomize read them:
//! mappings merge key by key, `null` deletes a key, lists of named things (containers, env,
//! volumes...) merge item by item on their merge key, and every other list is replaced.

use super::json_patch::type_name;
use super::{Mark, PatchError, CODE_DIRECTIVE, CODE_MERGE_KEY, CODE_TYPE};
use crate::yaml::push_pointer_segment;
use serde_json::{Map, Value};

/// The key a patch item names to merge into a list item of the same key, as Kubernetes declares
/// it (`patchMergeKey`) for the fields shipshape renders and a platform patches most. `ports`
/// holds a container's ports (by `containerPort`) or a Service's (by `port`): the item says which.
pub fn merge_key(field: &str, item: &Map<String, Value>) -> Option<&'static str> {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets" => Some("name"),
        "volumeMounts" => Some("mountPath"),
        "volumeDevices" => Some("devicePath"),
        "ports" if item.contains_key("containerPort") => Some("containerPort"),
        "ports" => Some("port"),
        _ => None,
    }
}

/// Whether items of the list `field` merge by a key rather than replace the list.
pub fn is_keyed(field: &str) -> bool {
    merge_key(field, &Map::new()).is_some()
}

/// The directive key Kubernetes uses inside a patch: `$patch: delete` drops the mapping or list
/// item it sits in, `$patch: replace` makes a mapping replace instead of merge.
const DIRECTIVE: &str = "$patch";

/// Merges `patch` into `doc`. `source` is the pointer of the patch body inside the patch entry;
/// every value the patch sets or deletes is marked with where in the patch it was written.
pub fn apply(
    doc: &mut Value,
    patch: &Value,
    source: &str,
    marks: &mut Vec<Mark>,
) -> Result<(), PatchError> {
    let mut walk = Walk {
        here: String::new(),
        src: source.to_owned(),
        marks,
    };
    match (doc, patch) {
        (Value::Object(target), Value::Object(patch)) => walk.map(target, patch),
        (_, other) => Err(PatchError::new(
            CODE_TYPE,
            format!(
                "a merge patch is a mapping shaped like the resource, not {}",
                type_name(other)
            ),
            source,
            "not a mapping",
            "write the part of the resource to change, from its top level (e.g. `spec:`)",
        )),
    }
}

/// The position in the target (`here`) and in the patch (`src`) as the merge descends.
struct Walk<'m> {
    here: String,
    src: String,
    marks: &'m mut Vec<Mark>,
}

impl Walk<'_> {
    fn mark(&mut self) {
        self.marks.push(Mark {
            pointer: self.here.clone(),
            source: self.src.clone(),
        });
    }

    /// Runs `f` one level down: `key` in the target, `src_key` in the patch.
    fn descend<T>(&mut self, key: &str, src_key: &str, f: impl FnOnce(&mut Self) -> T) -> T {
        let (here, src) = (self.here.len(), self.src.len());
        push_pointer_segment(&mut self.here, key);
        push_pointer_segment(&mut self.src, src_key);
        let out = f(self);
        self.here.truncate(here);
        self.src.truncate(src);
        out
    }

    fn error(&self, code: &'static str, message: String, label: &str, help: &str) -> PatchError {
        PatchError::new(code, message, &self.src, label, help)
    }

    fn map(
        &mut self,
        target: &mut Map<String, Value>,
        patch: &Map<String, Value>,
    ) -> Result<(), PatchError> {
        match directive(patch) {
            Ok(None) => {}
            Ok(Some(Directive::Replace)) => {
                *target = build_map(patch);
                self.mark();
                return Ok(());
            }
            Ok(Some(Directive::Delete)) => return Err(self.error(
                CODE_DIRECTIVE,
                "`$patch: delete` cannot delete the whole resource".into(),
                "here",
                "put `$patch: delete` in the mapping or list item to delete, or write `key: null`",
            )),
            Err(found) => return Err(self.bad_directive(&found)),
        }
        for (key, value) in patch {
            if key == DIRECTIVE {
                continue;
            }
            self.descend(key, key, |walk| walk.entry(target, key, value))?;
        }
        Ok(())
    }

    /// Merges one key of a mapping.
    fn entry(
        &mut self,
        target: &mut Map<String, Value>,
        key: &str,
        value: &Value,
    ) -> Result<(), PatchError> {
        let deletes = match value {
            Value::Null => true,
            Value::Object(inner) => match directive(inner) {
                Ok(d) => d == Some(Directive::Delete),
                Err(found) => return Err(self.bad_directive(&found)),
            },
            _ => false,
        };
        if deletes {
            if target.shift_remove(key).is_some() {
                self.mark();
            }
            return Ok(());
        }
        match target.get_mut(key) {
            Some(existing) => self.value(existing, value, key),
            None => {
                target.insert(key.to_owned(), build(value));
                self.mark();
                Ok(())
            }
        }
    }

    /// Merges `patch` into `target`, the value of the mapping key `field`.
    fn value(&mut self, target: &mut Value, patch: &Value, field: &str) -> Result<(), PatchError> {
        match (target, patch) {
            (Value::Object(t), Value::Object(p)) => self.map(t, p),
            (Value::Array(t), Value::Array(p)) => self.list(t, p, field),
            (t @ Value::Null, p) => {
                *t = build(p);
                self.mark();
                Ok(())
            }
            (t, p) if is_scalar(t) && is_scalar(p) => {
                // A value the patch repeats (a merge key, most often) is not the patch's doing.
                if t != p {
                    *t = p.clone();
                    self.mark();
                }
                Ok(())
            }
            (t, p) => Err(self.error(
                CODE_TYPE,
                format!(
                    "the patch gives {} for `{}`, where the target has {}",
                    type_name(p),
                    self.here,
                    type_name(t)
                ),
                "type differs from the target",
                &format!(
                    "write {} here, or change the value's type with a JSON Patch `replace`",
                    type_name(t)
                ),
            )),
        }
    }

    fn list(
        &mut self,
        target: &mut Vec<Value>,
        patch: &[Value],
        field: &str,
    ) -> Result<(), PatchError> {
        if !is_keyed(field) {
            *target = patch.iter().map(build).collect();
            self.mark();
            return Ok(());
        }
        for (pi, item) in patch.iter().enumerate() {
            let index = pi.to_string();
            let Value::Object(item) = item else {
                return Err(self.descend("", &index, |walk| {
                    walk.error(
                        CODE_TYPE,
                        format!(
                            "`{field}` items are mappings merged by their key, not {}",
                            type_name(item)
                        ),
                        "not a mapping",
                        "write the item as a mapping with its merge key, e.g. `- name: sidecar`",
                    )
                }));
            };
            let key = merge_key(field, item).unwrap_or("name");
            let Some(wanted) = item.get(key).filter(|v| !v.is_null()) else {
                return Err(self.descend("", &index, |walk| walk.missing_key(field, key)));
            };
            let found = target.iter().position(|t| t.get(key) == Some(wanted));
            let directive = match directive(item) {
                Ok(d) => d,
                Err(found) => {
                    return Err(self.descend("", &index, |walk| walk.bad_directive(&found)))
                }
            };
            match (found, directive) {
                (Some(ti), Some(Directive::Delete)) => {
                    target.remove(ti);
                    self.descend(&ti.to_string(), &index, |walk| walk.mark());
                }
                (None, Some(Directive::Delete)) => {}
                (Some(ti), _) => {
                    let Some(Value::Object(existing)) = target.get_mut(ti) else {
                        continue;
                    };
                    self.descend(&ti.to_string(), &index, |walk| walk.map(existing, item))?;
                }
                (None, _) => {
                    let at = target.len().to_string();
                    target.push(Value::Object(build_map(item)));
                    self.descend(&at, &index, |walk| walk.mark());
                }
            }
        }
        Ok(())
    }

    fn missing_key(&self, field: &str, key: &str) -> PatchError {
        let which = if field == "ports" {
            "`containerPort` (a container's port) or `port` (a Service's)".to_owned()
        } else {
            format!("`{key}`")
        };
        self.error(
            CODE_MERGE_KEY,
            format!("`{field}` items merge by {which}, and this item has none"),
            "no merge key",
            &format!(
                "add {which} to say which item to change (or to add); to replace the whole list, use a JSON Patch `replace`"
            ),
        )
    }

    fn bad_directive(&self, found: &str) -> PatchError {
        self.error(
            CODE_DIRECTIVE,
            format!("`$patch: {found}` is not a directive shipshape knows"),
            "unknown directive",
            "`$patch: delete` removes the mapping or list item it sits in; `$patch: replace` makes a mapping replace instead of merge",
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Directive {
    Delete,
    Replace,
}

/// The `$patch` directive of a patch mapping; `Err` with its text when it is not one of ours.
fn directive(map: &Map<String, Value>) -> Result<Option<Directive>, String> {
    match map.get(DIRECTIVE) {
        None => Ok(None),
        Some(Value::String(s)) if s == "delete" => Ok(Some(Directive::Delete)),
        Some(Value::String(s)) if s == "replace" => Ok(Some(Directive::Replace)),
        Some(Value::String(s)) => Err(s.clone()),
        Some(other) => Err(other.to_string()),
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Object(_) | Value::Array(_))
}

/// A patch value written where the target has nothing: as the patch says, less its directives
/// and `null`s (which delete, and there is nothing to delete).
fn build(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(build_map(map)),
        Value::Array(items) => Value::Array(items.iter().map(build).collect()),
        other => other.clone(),
    }
}

fn build_map(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .filter(|(k, v)| *k != DIRECTIVE && !v.is_null())
        .map(|(k, v)| (k.clone(), build(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn merge(doc: &mut Value, patch: Value) -> Result<Vec<Mark>, PatchError> {
        let mut marks = Vec::new();
        apply(doc, &patch, "/merge", &mut marks)?;
        Ok(marks)
    }

    fn deployment() -> Value {
        json!({
            "kind": "Deployment",
            "metadata": {"name": "api", "labels": {"app": "api", "tier": "web"}},
            "spec": {
                "replicas": 2,
                "template": {"spec": {
                    "containers": [{
                        "name": "api",
                        "image": "api:1",
                        "env": [{"name": "A", "value": "1"}],
                        "ports": [{"containerPort": 8080, "name": "http"}],
                        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                    }],
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                    "tolerations": [{"key": "a"}],
                }},
            },
        })
    }

    #[test]
    fn adds_an_env_var_and_a_sidecar() {
        let mut doc = deployment();
        let marks = merge(
            &mut doc,
            json!({"spec": {"template": {"spec": {"containers": [
                {"name": "api", "env": [{"name": "B", "value": "2"}, {"name": "A", "value": "one"}]},
                {"name": "proxy", "image": "envoy:1", "env": null},
            ]}}}}),
        )
        .unwrap();
        let containers = &doc["spec"]["template"]["spec"]["containers"];
        assert_eq!(
            containers[0]["env"],
            json!([{"name": "A", "value": "one"}, {"name": "B", "value": "2"}])
        );
        assert_eq!(containers[0]["image"], "api:1", "untouched keys stay");
        assert_eq!(containers[1], json!({"name": "proxy", "image": "envoy:1"}));
        let marked: Vec<(&str, &str)> = marks
            .iter()
            .map(|m| (m.pointer.as_str(), m.source.as_str()))
            .collect();
        assert_eq!(
            marked,
            [
                (
                    "/spec/template/spec/containers/0/env/1",
                    "/merge/spec/template/spec/containers/0/env/0"
                ),
                (
                    "/spec/template/spec/containers/0/env/0/value",
                    "/merge/spec/template/spec/containers/0/env/1/value"
                ),
                (
                    "/spec/template/spec/containers/1",
                    "/merge/spec/template/spec/containers/1"
                ),
            ]
        );
    }

    #[test]
    fn null_deletes_and_other_lists_replace() {
        let mut doc = deployment();
        merge(
            &mut doc,
            json!({
                "metadata": {"labels": {"tier": null, "team": "x"}},
                "spec": {"replicas": 3, "template": {"spec": {"tolerations": [{"key": "b"}]}}},
            }),
        )
        .unwrap();
        assert_eq!(
            doc["metadata"]["labels"],
            json!({"app": "api", "team": "x"})
        );
        assert_eq!(doc["spec"]["replicas"], 3);
        assert_eq!(
            doc["spec"]["template"]["spec"]["tolerations"],
            json!([{"key": "b"}])
        );
    }

    #[test]
    fn ports_merge_by_number_and_mounts_by_path() {
        let mut doc = deployment();
        merge(
            &mut doc,
            json!({"spec": {"template": {"spec": {"containers": [{
                "name": "api",
                "ports": [{"containerPort": 8080, "protocol": "TCP"}, {"containerPort": 9090, "name": "metrics"}],
                "volumeMounts": [{"mountPath": "/tmp", "readOnly": true}],
            }]}}}}),
        )
        .unwrap();
        let c = &doc["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            c["ports"],
            json!([{"containerPort": 8080, "name": "http", "protocol": "TCP"}, {"containerPort": 9090, "name": "metrics"}])
        );
        assert_eq!(
            c["volumeMounts"],
            json!([{"name": "tmp", "mountPath": "/tmp", "readOnly": true}])
        );
        let mut service = json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}]}});
        merge(
            &mut service,
            json!({"spec": {"ports": [{"port": 80, "name": "http"}]}}),
        )
        .unwrap();
        assert_eq!(
            service["spec"]["ports"],
            json!([{"port": 80, "targetPort": 8080, "name": "http"}])
        );
    }

    #[test]
    fn directives() {
        let mut doc = deployment();
        merge(
            &mut doc,
            json!({
                "metadata": {"labels": {"$patch": "replace", "only": "this"}},
                "spec": {"template": {"spec": {"volumes": [{"name": "tmp", "$patch": "delete"}]}}},
            }),
        )
        .unwrap();
        assert_eq!(doc["metadata"]["labels"], json!({"only": "this"}));
        assert_eq!(doc["spec"]["template"]["spec"]["volumes"], json!([]));
        let e = merge(&mut doc, json!({"spec": {"$patch": "merge"}})).unwrap_err();
        assert_eq!(e.code, CODE_DIRECTIVE);
        assert_eq!(e.at, "/merge/spec");
    }

    #[test]
    fn mismatched_types_and_missing_merge_keys() {
        let mut doc = deployment();
        let e = merge(&mut doc, json!({"spec": {"replicas": {"min": 1}}})).unwrap_err();
        assert_eq!(e.code, CODE_TYPE);
        assert_eq!(
            e.message,
            "the patch gives a mapping for `/spec/replicas`, where the target has a number"
        );
        assert_eq!(e.at, "/merge/spec/replicas");
        let e = merge(
            &mut doc,
            json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}),
        )
        .unwrap_err();
        assert_eq!(e.code, CODE_MERGE_KEY);
        assert_eq!(
            e.message,
            "`containers` items merge by `name`, and this item has none"
        );
        assert_eq!(e.at, "/merge/spec/template/spec/containers/0");
        let e = merge(
            &mut doc,
            json!({"spec": {"template": {"spec": {"containers": ["x"]}}}}),
        )
        .unwrap_err();
        assert_eq!(e.code, CODE_TYPE);
    }

    #[test]
    fn new_values_lose_their_nulls_and_directives() {
        let mut doc = json!({"a": null});
        merge(
            &mut doc,
            json!({"a": {"b": null, "c": 1}, "d": [{"e": null, "$patch": "replace"}]}),
        )
        .unwrap();
        assert_eq!(doc, json!({"a": {"c": 1}, "d": [{}]}));
    }
}
