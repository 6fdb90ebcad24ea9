//! The ConfigMap holding a service's configuration files (`configFiles`).

use super::metadata_named;
use super::Service;
use crate::render::context::object;
use serde_json::{Map, Value};

/// The pod volume the configuration files are mounted from.
pub(super) const CONFIG_VOLUME: &str = "config";

pub(super) fn config_map_name(f: &Service<'_, '_>) -> String {
    format!("{}-config", f.svc.name)
}

pub(super) fn config_map(f: &Service<'_, '_>) -> Option<Value> {
    let files = f.svc.fields.config_files.as_ref()?;
    let mut data = Map::with_capacity(files.data.len());
    for (k, v) in &files.data {
        data.insert(k.clone(), Value::from(v.as_str()));
    }
    Some(object([
        ("apiVersion", Value::from("v1")),
        ("kind", Value::from("ConfigMap")),
        ("metadata", metadata_named(f, &config_map_name(f))),
        ("data", Value::Object(data)),
    ]))
}
