//! The pod-level fields of a service after merging: environment from Secrets and ConfigMaps,
//! volumes, configuration files, command and arguments, extra pod metadata and scheduling.
//! Each check here needs the merged value, so it runs per environment, and reports at the layer
//! that wrote the value.

use crate::catalogue::model::{EgressProtocol, EnvValue, FileContent, ServiceSpec};
use crate::catalogue::origin::Layers;
use crate::catalogue::quantity::parse_memory;
use crate::diagnostic::{Diagnostic, Location};
use crate::vocabulary::annotation::CONFIG_HASH as ANNOTATION_CONFIG_HASH;
use crate::vocabulary::label::RESERVED_POD_LABELS as RESERVED_LABELS;
use crate::yaml::{input, push_pointer_segment, Limits};
use indexmap::IndexMap;
use serde_json::Value;
use std::path::Path;

/// Where the persistent volume mounts when `storage.mountPath` is not given.
pub const DEFAULT_STORAGE_MOUNT: &str = "/data";
/// Volume names shipshape gives its own volumes.
const RESERVED_VOLUMES: [&str; 3] = ["tmp", "data", "config"];
/// The API server refuses a ConfigMap above 1 MiB.
const MAX_CONFIG_BYTES: usize = 1024 * 1024;

/// Secret or ConfigMap: where a reference points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    Secret,
    ConfigMap,
}

/// One environment variable of the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvSource {
    Literal(String),
    Key {
        kind: RefKind,
        name: String,
        key: String,
        optional: bool,
    },
}

impl EnvSource {
    pub fn literal(&self) -> Option<&str> {
        match self {
            EnvSource::Literal(v) => Some(v),
            EnvSource::Key { .. } => None,
        }
    }
}

/// Every key of a Secret or ConfigMap as variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvFrom {
    pub kind: RefKind,
    pub name: String,
    pub prefix: Option<String>,
    pub optional: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeSource {
    EmptyDir {
        size_limit: Option<String>,
        memory: bool,
    },
    Files {
        kind: RefKind,
        name: String,
        items: IndexMap<String, String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub name: String,
    pub mount_path: String,
    pub source: VolumeSource,
}

/// The configuration files of a service, rendered into the ConfigMap `<service>-config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFiles {
    pub mount_path: String,
    pub data: IndexMap<String, String>,
    /// Changes whenever a file name or content does; the pod annotation that rolls the pods.
    pub hash: String,
}

/// A host outside the platform the service calls, on one port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Egress {
    pub host: String,
    pub port: u16,
    pub protocol: EgressProtocol,
}

/// The pod-level fields of one resolved service.
#[derive(Debug, Clone, Default)]
pub struct ServiceFields {
    /// References first, then literals in merge order: a literal may then use `$(VAR)` of any
    /// reference, which Kubernetes expands only for variables declared before it.
    pub env: IndexMap<String, EnvSource>,
    pub env_from: Vec<EnvFrom>,
    pub command: Option<Vec<String>>,
    pub args: Option<Vec<String>>,
    pub storage_mount: String,
    pub volumes: Vec<Volume>,
    pub config_files: Option<ConfigFiles>,
    pub annotations: IndexMap<String, String>,
    pub labels: IndexMap<String, String>,
    pub node_selector: IndexMap<String, String>,
    pub tolerations: Vec<Value>,
    pub affinity: Option<Value>,
    /// `None`: the default spread for services that may run two or more replicas.
    pub topology_spread: Option<Vec<Value>>,
    /// Hosts outside the platform, in catalogue order (duplicates removed).
    pub egress: Vec<Egress>,
}

/// Where files named by `configFiles` are read from: the project root, within its boundary.
pub struct FileSource<'a> {
    pub root: &'a Path,
    pub limits: &'a Limits,
}

/// A relative pointer from segments, escaped.
fn pointer(segments: &[&str]) -> String {
    let mut p = String::new();
    for s in segments {
        push_pointer_segment(&mut p, s);
    }
    p
}

struct Checker<'a> {
    name: &'a str,
    layers: &'a Layers,
    problems: &'a mut Vec<Diagnostic>,
}

impl Checker<'_> {
    fn value_at(&self, segments: &[&str]) -> Option<Location> {
        let p = pointer(segments);
        self.layers
            .value_at(&p)
            .or_else(|| self.layers.key_at(&p))
            .or_else(|| self.layers.key_at(""))
    }

    fn key_at(&self, segments: &[&str]) -> Option<Location> {
        self.layers
            .key_at(&pointer(segments))
            .or_else(|| self.layers.key_at(""))
    }

    fn error(
        &mut self,
        code: &str,
        message: String,
        at: Option<Location>,
        label: &str,
        help: &str,
    ) {
        self.problems.push(
            Diagnostic::error(code, format!("service `{}`: {message}", self.name))
                .at(at, label)
                .with_help(help),
        );
    }
}

/// Resolves and checks the pod-level fields of `spec`; `None` when any of them is wrong (the
/// problems are in `problems`).
pub fn resolve_fields(
    name: &str,
    spec: &ServiceSpec,
    replicas_may_exceed_one: bool,
    layers: &Layers,
    files: &FileSource<'_>,
    problems: &mut Vec<Diagnostic>,
) -> Option<ServiceFields> {
    let before = problems.len();
    let mut c = Checker {
        name,
        layers,
        problems,
    };
    let env_from = env_from(spec, &mut c);
    let env = env(spec, !env_from.is_empty(), &mut c);
    check_argument_expansions(spec, &env, !env_from.is_empty(), &mut c);
    let storage_mount = spec
        .storage
        .as_ref()
        .and_then(|s| s.mount_path.clone())
        .unwrap_or_else(|| DEFAULT_STORAGE_MOUNT.to_owned());
    let config_files = config_files(spec, files, &mut c);
    let volumes = volumes(spec, &mut c);
    check_mount_paths(
        spec.storage.as_ref().map(|_| storage_mount.as_str()),
        config_files.as_ref(),
        &volumes,
        &mut c,
    );
    check_metadata(spec, &mut c);
    let topology_spread = topology_spread(spec, replicas_may_exceed_one);
    let egress = egress(spec, &mut c);
    if c.problems.len() != before {
        return None;
    }
    Some(ServiceFields {
        env,
        env_from,
        command: spec.command.clone(),
        args: spec.args.clone(),
        storage_mount,
        volumes,
        config_files,
        annotations: spec.annotations.clone(),
        labels: spec.labels.clone(),
        node_selector: spec.node_selector.clone(),
        tolerations: spec.tolerations.clone().unwrap_or_default(),
        affinity: spec
            .affinity
            .clone()
            .filter(|a| a.as_object().is_some_and(|m| !m.is_empty())),
        topology_spread,
        egress,
    })
}

pub fn protocol_name(p: EgressProtocol) -> &'static str {
    match p {
        EgressProtocol::Tls => "tls",
        EgressProtocol::Http => "http",
        EgressProtocol::Tcp => "tcp",
    }
}

/// The hosts the service calls outside the platform. One port carries one protocol: Istio's
/// ServiceEntry (one per service) names each port once.
fn egress(spec: &ServiceSpec, c: &mut Checker<'_>) -> Vec<Egress> {
    let mut out: Vec<Egress> = Vec::with_capacity(spec.egress.len());
    for (i, e) in spec.egress.iter().enumerate() {
        let default_port = match e.protocol {
            EgressProtocol::Http => 80,
            EgressProtocol::Tls | EgressProtocol::Tcp => 443,
        };
        let entry = Egress {
            host: e.host.clone(),
            port: e.port.unwrap_or(default_port),
            protocol: e.protocol,
        };
        if let Some(other) = out
            .iter()
            .find(|o| o.port == entry.port && o.protocol != entry.protocol)
        {
            let index = i.to_string();
            let at = c.value_at(&["egress", &index]);
            let message = format!(
                "egress to `{}` uses port {} for {}, but `{}` uses it for {}",
                entry.host,
                entry.port,
                protocol_name(entry.protocol),
                other.host,
                protocol_name(other.protocol)
            );
            c.error(
                "input/egress",
                message,
                at,
                "this entry",
                "one port carries one protocol in the service's ServiceEntry: use the same `protocol` for every host on this port",
            );
            continue;
        }
        if !out.contains(&entry) {
            out.push(entry);
        }
    }
    out
}

fn env_from(spec: &ServiceSpec, c: &mut Checker<'_>) -> Vec<EnvFrom> {
    let mut out = Vec::with_capacity(spec.env_from.len());
    for (i, e) in spec.env_from.iter().enumerate() {
        let index = i.to_string();
        match (&e.secret, &e.config_map) {
            (Some(name), None) | (None, Some(name)) => out.push(EnvFrom {
                kind: if e.secret.is_some() {
                    RefKind::Secret
                } else {
                    RefKind::ConfigMap
                },
                name: name.clone(),
                prefix: e.prefix.clone(),
                optional: e.optional.unwrap_or(false),
            }),
            _ => {
                let at = c.value_at(&["envFrom", &index]);
                c.error(
                    "input/env-source",
                    format!(
                        "`envFrom` entry {i} must name exactly one of `secret` and `configMap`"
                    ),
                    at,
                    "this entry",
                    "write `- secret: NAME` or `- configMap: NAME`, one per entry",
                );
            }
        }
    }
    out
}

fn env(spec: &ServiceSpec, has_env_from: bool, c: &mut Checker<'_>) -> IndexMap<String, EnvSource> {
    let mut references = IndexMap::new();
    let mut literals = IndexMap::new();
    for (var, value) in &spec.env {
        match value {
            EnvValue::Literal(v) => {
                literals.insert(var.clone(), EnvSource::Literal(v.clone()));
            }
            EnvValue::Reference(r) => {
                let (kind, name) = match (&r.secret, &r.config_map) {
                    (Some(n), None) => (RefKind::Secret, n),
                    (None, Some(n)) => (RefKind::ConfigMap, n),
                    _ => {
                        let at = c.value_at(&["env", var]);
                        c.error(
                            "input/env-source",
                            format!("`env.{var}` must name exactly one of `secret` and `configMap`"),
                            at,
                            "after merging the layers",
                            "a layer that switches the source must replace the value whole: write the other source and its key in that layer, or a plain string",
                        );
                        continue;
                    }
                };
                references.insert(
                    var.clone(),
                    EnvSource::Key {
                        kind,
                        name: name.clone(),
                        key: r.key.clone().unwrap_or_else(|| var.clone()),
                        optional: r.optional.unwrap_or(false),
                    },
                );
            }
        }
    }
    // A `$(VAR)` that names no variable declared before it stays as written in the container.
    let mut declared: Vec<&str> = references.keys().map(String::as_str).collect();
    for (var, value) in &literals {
        if let Some(text) = value.literal() {
            for used in expansions(text) {
                let known =
                    declared.contains(&used) || (has_env_from && !literals.contains_key(used));
                if !known {
                    let later = literals.contains_key(used);
                    let at = c.value_at(&["env", var]);
                    let help = if later {
                        format!("Kubernetes expands `$(VAR)` only for variables declared before it: move `{used}` above `{var}`, or make `{used}` a `secret`/`configMap` reference (references come first)")
                    } else {
                        format!("declare `{used}` in `env` (e.g. `{used}: {{ secret: NAME, key: KEY }}`), or write `$$({used})` for a literal `$({used})`")
                    };
                    c.error(
                        "input/env-reference",
                        format!("`env.{var}` uses `$({used})`, which is not declared before it; the container would get the text `$({used})`"),
                        at,
                        "this value",
                        &help,
                    );
                }
            }
        }
        declared.push(var);
    }
    references.extend(literals);
    references
}

/// Kubernetes expands `$(NAME)` in `command` and `args` too, from the whole environment.
fn check_argument_expansions(
    spec: &ServiceSpec,
    env: &IndexMap<String, EnvSource>,
    has_env_from: bool,
    c: &mut Checker<'_>,
) {
    if has_env_from {
        return;
    }
    for (field, list) in [("command", &spec.command), ("args", &spec.args)] {
        for (i, item) in list.iter().flatten().enumerate() {
            for used in expansions(item) {
                if env.contains_key(used) {
                    continue;
                }
                let index = i.to_string();
                let at = c.value_at(&[field, &index]);
                c.error(
                    "input/env-reference",
                    format!("`{field}` uses `$({used})`, which `env` does not declare; the container would get the text `$({used})`"),
                    at,
                    "this item",
                    &format!("declare `{used}` in `env`, or write `$$({used})` for a literal `$({used})`"),
                );
            }
        }
    }
}

/// The variables a value expands with `$(NAME)`; `$$` escapes a `$`.
pub fn expansions(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'$') => i += 2,
            Some(b'(') => {
                let start = i + 2;
                match text[start..].find(')') {
                    Some(len) => {
                        let name = &text[start..start + len];
                        let valid = !name.is_empty()
                            && name.chars().all(|ch| {
                                ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-' | '.')
                            });
                        if valid {
                            out.push(name);
                        }
                        i = start + len + 1;
                    }
                    None => break,
                }
            }
            _ => i += 1,
        }
    }
    out
}

fn volumes(spec: &ServiceSpec, c: &mut Checker<'_>) -> Vec<Volume> {
    let mut out = Vec::with_capacity(spec.volumes.len());
    for (name, v) in &spec.volumes {
        if RESERVED_VOLUMES.contains(&name.as_str()) {
            let at = c.key_at(&["volumes", name]);
            c.error(
                "input/volume",
                format!("volume name `{name}` is taken by shipshape's own volumes"),
                at,
                "reserved name",
                "rename the volume: `tmp`, `data` and `config` are shipshape's scratch, storage and configuration volumes",
            );
            continue;
        }
        let Some(mount_path) = v.mount_path.clone() else {
            let at = c.key_at(&["volumes", name]);
            c.error(
                "input/volume",
                format!("volume `{name}` has no `mountPath`"),
                at,
                "no mount path",
                "add `mountPath: /absolute/path` where the container sees the volume",
            );
            continue;
        };
        let sources = [
            v.empty_dir.is_some(),
            v.secret.is_some(),
            v.config_map.is_some(),
        ];
        let source = match (&v.empty_dir, &v.secret, &v.config_map) {
            (Some(e), None, None) => {
                let size_limit = e.size_limit.as_ref().map(|q| q.0.clone());
                if let Some(size) = &size_limit {
                    if let Err(err) = parse_memory(size) {
                        let at = c.value_at(&["volumes", name, "emptyDir", "sizeLimit"]);
                        c.error(
                            "input/bad-quantity",
                            format!("volume `{name}`: {}", err.message),
                            at,
                            "this quantity",
                            "a size is written like `64Mi` or `1Gi`",
                        );
                        continue;
                    }
                }
                VolumeSource::EmptyDir {
                    size_limit,
                    memory: e.memory,
                }
            }
            (None, Some(n), None) | (None, None, Some(n)) => VolumeSource::Files {
                kind: if v.secret.is_some() {
                    RefKind::Secret
                } else {
                    RefKind::ConfigMap
                },
                name: n.clone(),
                items: v.items.clone(),
            },
            _ => {
                let count = sources.iter().filter(|s| **s).count();
                let at = c.key_at(&["volumes", name]);
                c.error(
                    "input/volume",
                    format!(
                        "volume `{name}` has {count} sources; it needs exactly one of `emptyDir`, `secret` and `configMap`"
                    ),
                    at,
                    "this volume",
                    "a layer that changes the source must not leave the other one behind: keep one of `emptyDir: {}`, `secret: NAME`, `configMap: NAME`",
                );
                continue;
            }
        };
        if !matches!(source, VolumeSource::Files { .. }) && !v.items.is_empty() {
            let at = c.key_at(&["volumes", name, "items"]);
            c.error(
                "input/volume",
                format!("volume `{name}` lists `items`, which only a `secret` or `configMap` volume has"),
                at,
                "items",
                "remove `items`, or mount a Secret or ConfigMap",
            );
            continue;
        }
        out.push(Volume {
            name: name.clone(),
            mount_path,
            source,
        });
    }
    out
}

fn config_files(
    spec: &ServiceSpec,
    files: &FileSource<'_>,
    c: &mut Checker<'_>,
) -> Option<ConfigFiles> {
    let cf = spec.config_files.as_ref()?;
    let Some(mount_path) = cf.mount_path.clone() else {
        let at = c.key_at(&["configFiles"]);
        c.error(
            "input/config-files",
            "`configFiles` has no `mountPath`".into(),
            at,
            "no mount path",
            "add `mountPath: /etc/NAME`, the directory the files appear in",
        );
        return None;
    };
    let mut data = IndexMap::with_capacity(cf.files.len());
    let mut total = 0usize;
    for (key, content) in &cf.files {
        let text = match content {
            FileContent::Inline(t) => t.clone(),
            FileContent::From { file } => match read_beside(file, files) {
                Ok(t) => t,
                Err((message, help)) => {
                    let at = c.value_at(&["configFiles", "files", key, "file"]);
                    c.error("input/config-files", message, at, "this file", &help);
                    continue;
                }
            },
        };
        total += key.len() + text.len();
        data.insert(key.clone(), text);
    }
    if total > MAX_CONFIG_BYTES {
        let at = c.key_at(&["configFiles", "files"]);
        c.error(
            "input/config-files",
            format!("the configuration files hold {total} bytes; a ConfigMap holds at most 1 MiB"),
            at,
            "these files",
            "mount large files from a volume built into the image, or split the configuration",
        );
        return None;
    }
    let hash = content_hash(&data);
    Some(ConfigFiles {
        mount_path,
        data,
        hash,
    })
}

/// Reads a file named relative to the project root, refusing one that leaves it.
fn read_beside(relative: &str, files: &FileSource<'_>) -> Result<String, (String, String)> {
    let rel = Path::new(relative);
    let escapes = rel.is_absolute()
        || rel
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir));
    if escapes {
        return Err((
            format!("configuration file `{relative}` is outside the project"),
            "name a file under the project root (the directory of the catalogue), without `..`"
                .into(),
        ));
    }
    let path = files.root.join(rel);
    let bytes = input::read_input(&path, relative, files.root, files.limits)
        .map_err(|e| (e.message, e.help))?;
    String::from_utf8(bytes).map_err(|_| {
        (
            format!("configuration file `{relative}` is not UTF-8 text"),
            "a ConfigMap's `data` holds text; save the file as UTF-8".into(),
        )
    })
}

/// FNV-1a (64 bits) over each name and content, length-prefixed so no two different sets of
/// files give the same input. It detects a change; it guards nothing, so it need not be
/// cryptographic.
pub fn content_hash(data: &IndexMap<String, String>) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    let mut h = OFFSET;
    let mut feed = |bytes: &[u8]| {
        for b in (bytes.len() as u64).to_le_bytes().iter().chain(bytes) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(PRIME);
        }
    };
    let mut keys: Vec<&String> = data.keys().collect();
    keys.sort();
    for k in keys {
        feed(k.as_bytes());
        feed(data.get(k).map(String::as_bytes).unwrap_or_default());
    }
    format!("{h:016x}")
}

fn check_mount_paths(
    storage: Option<&str>,
    config: Option<&ConfigFiles>,
    volumes: &[Volume],
    c: &mut Checker<'_>,
) {
    let mut seen: Vec<(&str, Vec<String>)> = vec![("/tmp", Vec::new())];
    if let Some(path) = storage {
        seen.push((path, vec!["storage".into(), "mountPath".into()]));
    }
    if let Some(cf) = config {
        seen.push((
            &cf.mount_path,
            vec!["configFiles".into(), "mountPath".into()],
        ));
    }
    for v in volumes {
        seen.push((
            &v.mount_path,
            vec!["volumes".into(), v.name.clone(), "mountPath".into()],
        ));
    }
    for (i, (path, at)) in seen.iter().enumerate() {
        let Some((_, first)) = seen[..i].iter().find(|(p, _)| p == path) else {
            continue;
        };
        let segments: Vec<&str> = at.iter().map(String::as_str).collect();
        let location = c.value_at(&segments);
        let first_at = if first.is_empty() {
            None
        } else {
            let s: Vec<&str> = first.iter().map(String::as_str).collect();
            c.value_at(&s)
        };
        let what = if first.is_empty() {
            "the writable `/tmp` every container has".to_owned()
        } else {
            format!("`{}`", first.join("."))
        };
        c.problems.push(
            Diagnostic::error(
                "input/volume",
                format!("service `{}`: two volumes mount at `{path}`", c.name),
            )
            .at(location, format!("also mounted by {what}"))
            .with_related(first_at, "first mounted here")
            .with_help("give each volume its own mount path"),
        );
    }
}

fn check_metadata(spec: &ServiceSpec, c: &mut Checker<'_>) {
    for key in spec.labels.keys() {
        if RESERVED_LABELS.contains(&key.as_str()) {
            let at = c.key_at(&["labels", key]);
            c.error(
                "input/reserved-label",
                format!("label `{key}` is set by shipshape"),
                at,
                "would override shipshape's label",
                "remove it: the selector, Istio's canary routing and the tooling read shipshape's value; choose another key for your own label",
            );
        }
    }
    if spec.annotations.contains_key(ANNOTATION_CONFIG_HASH) {
        let at = c.key_at(&["annotations", ANNOTATION_CONFIG_HASH]);
        c.error(
            "input/reserved-annotation",
            format!("annotation `{ANNOTATION_CONFIG_HASH}` is set by shipshape"),
            at,
            "would override the configuration hash",
            "remove it: shipshape sets it from `configFiles` so a change to them rolls the pods",
        );
    }
}

/// The spread a service gets: the catalogue's (`[]` turns it off), else one over nodes for a
/// service that may run two or more replicas, best effort so a small cluster still schedules.
fn topology_spread(spec: &ServiceSpec, replicas_may_exceed_one: bool) -> Option<Vec<Value>> {
    match &spec.topology_spread_constraints {
        Some(list) => Some(list.clone()),
        None if replicas_may_exceed_one => None,
        None => Some(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansions_follow_kubernetes() {
        assert_eq!(
            expansions("postgresql://u:$(DB_PASSWORD)@db:5432/x"),
            ["DB_PASSWORD"]
        );
        assert_eq!(expansions("$(A)$(B)"), ["A", "B"]);
        assert!(expansions("$$(A) $ ( $(").is_empty());
        assert!(expansions("${A} $()").is_empty());
    }

    #[test]
    fn the_hash_sees_every_change() {
        let map = |pairs: &[(&str, &str)]| -> IndexMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let a = content_hash(&map(&[("a", "1"), ("b", "2")]));
        assert_eq!(a, content_hash(&map(&[("b", "2"), ("a", "1")])));
        assert_ne!(a, content_hash(&map(&[("a", "1"), ("b", "3")])));
        assert_ne!(a, content_hash(&map(&[("a", "12"), ("b", "")])));
        assert_eq!(a.len(), 16);
    }
}
