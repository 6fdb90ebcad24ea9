//! Properties that hold for every input, checked on generated ones.
//!
//! - For any valid catalogue (random phases, services with random valid names and ports,
//!   dependencies on earlier services, environment variables with tricky string values): it
//!   compiles, every rendered manifest reads back as YAML and passes its schema, the output is
//!   byte-for-byte the same across two runs, and every string of the catalogue that reaches the
//!   output (environment variable values, health paths) reaches it unchanged.
//! - The canonical emitter round-trips: `to_yaml(v)` read back with `parse_values` is `v`, for
//!   arbitrary JSON values (wide character set, nested maps and lists, i64 and finite floats).
//!
//! Case counts are moderate so the suite stays fast; set PROPTEST_CASES to run more.

use proptest::prelude::*;
use serde_json::{json, Map, Number, Value};
use shipshape::catalogue::ProjectPaths;
use shipshape::pipeline::{compile, CompileOptions, KeepEverything, OUTPUT_SCHEMA_CODE};
use shipshape::render::emit::to_yaml;
use shipshape::yaml::{parse_documents, parse_values, Limits, SourceFile};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// `default` cases, or PROPTEST_CASES when set (for a longer run by hand).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Strings that YAML readers (1.1 or 1.2) like to turn into something else, or that break naive
/// emitters: numbers, booleans, nulls, indicators, comments, quotes, line breaks, Unicode.
const TRICKY: &[&str] = &[
    "1.10",
    "0755",
    "0x1F",
    "1e3",
    "-1",
    "+1",
    ".5",
    "NO",
    "no",
    "on",
    "Off",
    "y",
    "true",
    "False",
    "null",
    "~",
    "",
    " ",
    "a: b",
    "a:b",
    "x # y",
    "#not a comment",
    "quotes \" and '",
    "'single'",
    "\"double\"",
    "line\nbreak",
    "trailing newline\n",
    "\r\n",
    "tab\there",
    "héllo ✓ 日本",
    "emoji 🚢",
    "  leading and trailing spaces  ",
    "---",
    "...",
    "- item",
    "? key",
    "{not: json}",
    "[1, 2]",
    "@at",
    "`tick`",
    "%percent",
    "&anchor",
    "*alias",
    "!tag",
    "|",
    ">",
    "back\\slash",
    "nul\0byte",
    "bell\u{7}",
    "nel\u{85}next",
    "line\u{2028}separator",
    "\u{feff}bom",
    "2001-12-14t21:59:43.10-05:00",
    "12:30:45",
    "1_000",
    ".inf",
    "-.NaN",
    "<<",
    "=",
    // Escaped: an unescaped `$(NAME)` of no declared variable is an input error (input/env-reference).
    "$$(NOT_EXPANDED)",
    "{{ not.a.template }}",
    "{% raw %}",
];

/// Health paths must start with `/`; the rest is free text.
const TRICKY_PATHS: &[&str] = &[
    "/healthz",
    "/",
    "/a b",
    "/x: y",
    "/x #y",
    "/#frag",
    "/~user",
    "/\"q\"",
    "/日本",
    "/a?b=c&d=e",
    "/%20",
    "/{id}",
    "/---",
];

/// Any character: ASCII most of the time, then controls, YAML-significant line breaks and BOMs,
/// and the rest of Unicode.
fn any_char() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => proptest::char::range(' ', '~'),
        1 => proptest::char::range('\0', '\u{1f}'),
        1 => prop::sample::select(vec!['\u{7f}', '\u{85}', '\u{a0}', '\u{2028}', '\u{2029}', '\u{feff}', '\u{fffe}', '\u{ffff}', 'é', '✓', '日', '🚢']),
        1 => any::<char>(),
    ]
}

fn wide_string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::collection::vec(any_char(), 0..24).prop_map(|c| c.into_iter().collect()),
        3 => prop::sample::select(TRICKY).prop_map(str::to_owned),
        // Above YAML's 1024-character limit on implicit keys.
        1 => proptest::collection::vec(any_char(), 1000..1100).prop_map(|c| c.into_iter().collect()),
    ]
    .prop_map(|s: String| s.chars().filter(|&c| !refused_control(c)).collect())
}

/// Control characters other than tab and line breaks are refused in input, raw or escaped
/// (tests/input_boundary.rs), so valid input holds none; the emitter's escaping of them is
/// covered by its own tests in src/render/emit.rs.
fn refused_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

// ---------------------------------------------------------------------------------------------
// The emitter alone.

fn finite_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
        prop::sample::select(vec![
            0.0,
            -0.0,
            0.1,
            1.0,
            1.5,
            1e16,
            1e-7,
            5e-324,
            f64::MAX,
            f64::MIN,
            f64::EPSILON
        ]),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| Value::Number(i.into())),
        finite_f64().prop_map(|f| Value::Number(Number::from_f64(f).unwrap())),
        wide_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec((wide_string(), inner), 0..5)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256)))]

    #[test]
    fn emitted_yaml_reads_back_as_the_same_value(v in json_value()) {
        let text = to_yaml(&v);
        // The full, span-tracking parser (what reads user input)...
        let file = SourceFile::new("emitted", text.as_str());
        let full: Vec<Value> = parse_documents(&file, &Limits::default())
            .map_err(|e| TestCaseError::fail(format!("{e}\n--- emitted:\n{text}")))?
            .into_iter()
            .map(|d| d.value)
            .collect();
        // ...and `parse_values` (what reads template output back; it may take a fast path that
        // drops null documents, as template output never needs them).
        let values = parse_values(&text, &Limits::default())
            .map_err(|e| TestCaseError::fail(format!("{e}\n--- emitted:\n{text}")))?;
        let expected = vec![v.clone()];
        prop_assert_eq!(&full, &expected, "emitted:\n{}", text);
        if !(v.is_null() && values.is_empty()) {
            prop_assert_eq!(&values, &expected, "parse_values, emitted:\n{}", text);
        }
        // Floats compare by value above; the bits must survive too (no 0.1 -> 0.1000000001).
        for docs in [&full, &values] {
            let mut a = Vec::new();
            let mut b = Vec::new();
            floats(&v, &mut a);
            docs.iter().for_each(|d| floats(d, &mut b));
            prop_assert_eq!(a, b, "emitted:\n{}", text);
        }
    }
}

fn floats(v: &Value, out: &mut Vec<u64>) {
    match v {
        Value::Number(n) if n.is_f64() => out.push(n.as_f64().unwrap().to_bits()),
        Value::Array(items) => items.iter().for_each(|i| floats(i, out)),
        Value::Object(map) => map.values().for_each(|i| floats(i, out)),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Whole catalogues.

#[derive(Debug, Clone)]
struct Service {
    name: String,
    phase: usize,
    port: u16,
    depends_on: Vec<usize>,
    env: BTreeMap<String, String>,
    health: String,
    probe: &'static str,
    statefulset: bool,
    description: String,
}

#[derive(Debug, Clone)]
struct Catalogue {
    phases: Vec<(String, bool)>,
    services: Vec<Service>,
    istio: bool,
    /// Write the catalogue as JSON (a YAML subset) rather than through shipshape's emitter, so the
    /// property does not rely on the emitter being right.
    as_json: bool,
}

fn label() -> impl Strategy<Value = String> {
    "[a-z]([a-z0-9-]{0,14}[a-z0-9])?"
}

fn env_name() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,15}"
}

fn catalogue() -> impl Strategy<Value = Catalogue> {
    let phases = proptest::collection::vec((label(), any::<bool>()), 1..4);
    let services = proptest::collection::vec(
        (
            label(),
            any::<prop::sample::Index>(),
            proptest::collection::vec(any::<prop::sample::Index>(), 0..3),
            proptest::collection::btree_map(env_name(), wide_string(), 0..6),
            prop::sample::select(TRICKY_PATHS),
            prop::sample::select(vec!["http", "http", "tcp", "none"]),
            any::<bool>(),
            wide_string(),
        ),
        1..6,
    );
    (phases, services, any::<bool>(), any::<bool>()).prop_map(|(phases, raw, istio, as_json)| {
        // Names must be unique (and a suffix keeps them clear of reserved names).
        let phases: Vec<(String, bool)> = phases
            .into_iter()
            .enumerate()
            .map(|(i, (n, parallel))| (format!("{}-p{i}", trim_label(&n)), parallel))
            .collect();
        // Services in phase order, so every earlier service rolls out no later.
        let mut placed: Vec<_> = raw
            .into_iter()
            .map(|r| (r.1.index(phases.len()), r))
            .collect();
        placed.sort_by_key(|(p, _)| *p);
        let services = placed
            .into_iter()
            .enumerate()
            .map(
                |(i, (phase, (name, _, deps, env, health, probe, stateful, description)))| {
                    let mut depends_on: Vec<usize> = if i == 0 {
                        Vec::new()
                    } else {
                        deps.iter().map(|d| d.index(i)).collect()
                    };
                    depends_on.sort_unstable();
                    depends_on.dedup();
                    Service {
                        name: format!("{}-s{i}", trim_label(&name)),
                        phase,
                        port: 8000 + i as u16,
                        depends_on,
                        env,
                        health: health.to_owned(),
                        probe,
                        statefulset: stateful,
                        description,
                    }
                },
            )
            .collect();
        Catalogue {
            phases,
            services,
            istio,
            as_json,
        }
    })
}

/// Room for a suffix within 63 characters.
fn trim_label(s: &str) -> String {
    s.chars()
        .take(40)
        .collect::<String>()
        .trim_end_matches('-')
        .to_owned()
}

impl Catalogue {
    fn to_value(&self) -> Value {
        let mut services = Map::new();
        for s in &self.services {
            let mut svc = json!({
                "phase": self.phases[s.phase].0,
                "description": s.description,
                "image": "docker.io/library/nginx:1.27",
                "port": s.port,
                "probe": s.probe,
                "health": { "path": s.health },
                "dependsOn": s.depends_on.iter().map(|d| self.services[*d].name.clone()).collect::<Vec<_>>(),
                "env": s.env,
            });
            if s.statefulset {
                svc["workload"] = json!("statefulset");
                svc["storage"] = json!({ "size": "1Gi" });
            }
            services.insert(s.name.clone(), svc);
        }
        json!({
            "platform": "prop",
            "namespace": "prop",
            "defaults": {
                "resources": {
                    "requests": { "cpu": "10m", "memory": "16Mi" },
                    "limits": { "cpu": "20m", "memory": "32Mi" },
                },
            },
            "phases": self.phases.iter().map(|(name, parallel)| json!({
                "name": name,
                "rollout": if *parallel { "parallel" } else { "sequential" },
            })).collect::<Vec<_>>(),
            "services": services,
        })
    }

    fn environment(&self) -> String {
        format!(
            "imageTag: \"1.0.0\"\ncluster:\n  capacity: {{ cpu: \"64\", memory: 256Gi }}\n  maxUtilisation: 80%\n\
             istio: {{ enabled: {} }}\nargocd:\n  project: prop\n  repoURL: https://git.example.com/prop.git\n  \
             targetRevision: main\n  destination: {{ server: https://kubernetes.default.svc }}\n",
            self.istio
        )
    }

    fn write(&self, root: &Path) {
        let value = self.to_value();
        let text = if self.as_json {
            yaml_safe_json(&serde_json::to_string_pretty(&value).unwrap())
        } else {
            to_yaml(&value)
        };
        fs::write(root.join("catalogue.yaml"), text).unwrap();
        fs::create_dir_all(root.join("environments")).unwrap();
        fs::write(root.join("environments/dev.yaml"), self.environment()).unwrap();
    }
}

/// JSON is YAML, except that YAML forbids a few characters raw in a file (C1 controls, DEL, the
/// BOM inside a document, U+FFFE, U+FFFF) that JSON writes raw; they only occur inside strings,
/// so escape them there.
fn yaml_safe_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if matches!(c, '\u{7f}'..='\u{84}' | '\u{86}'..='\u{9f}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}')
        {
            out.push_str(&format!("\\u{:04X}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Every rendered file (`<dir>/<file>` -> text) of one compile.
fn render(root: &Path) -> Result<BTreeMap<String, String>, TestCaseError> {
    let opts = CompileOptions {
        paths: ProjectPaths::in_root(root),
        envs: Vec::new(),
        templates: None,
        limits: Limits::default(),
        layout: Default::default(),
    };
    let compiled = compile(&opts, &mut KeepEverything).map_err(|f| {
        TestCaseError::fail(format!(
            "a valid catalogue was refused: {}",
            f.diagnostics
                .iter()
                .map(|d| format!("[{}] {}", d.code, d.message))
                .collect::<Vec<_>>()
                .join("; ")
        ))
    })?;
    let schema: Vec<String> = compiled
        .findings
        .iter()
        .filter(|d| d.code == OUTPUT_SCHEMA_CODE)
        .map(|d| d.message.clone())
        .collect();
    prop_assert!(schema.is_empty(), "schema violations: {:?}", schema);
    let mut files = BTreeMap::new();
    for env in compiled.rendered() {
        for f in &env.files {
            files.insert(format!("{}/{}", env.name, f.path), f.text.clone());
        }
    }
    Ok(files)
}

fn workload<'a>(docs: &'a [Value], name: &str) -> Option<&'a Value> {
    docs.iter().find(|d| {
        matches!(d["kind"].as_str(), Some("Deployment" | "StatefulSet"))
            && d["metadata"]["name"] == name
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(48)))]

    #[test]
    fn any_valid_catalogue_renders_faithfully(cat in catalogue()) {
        let tmp = tempfile::tempdir().unwrap();
        cat.write(tmp.path());
        let first = render(tmp.path())?;
        let second = render(tmp.path())?;
        prop_assert!(first == second, "output differs between two runs");

        let mut seen_env = 0usize;
        for (path, text) in &first {
            let docs = parse_values(text, &Limits::default())
                .map_err(|e| TestCaseError::fail(format!("{path} does not read back: {e}\n{text}")))?;
            for d in &docs {
                if let Some(violations) = shipshape::manifest::schema::validate(d) {
                    prop_assert!(violations.is_empty(), "{}: {:?}", path, violations.iter().map(|v| &v.message).collect::<Vec<_>>());
                }
            }
            let Some(service) = cat.services.iter().find(|s| path == &format!("dev/{}.yaml", s.name)) else {
                continue;
            };
            let w = workload(&docs, &service.name);
            prop_assert!(w.is_some(), "{}: no workload", path);
            let container = &w.unwrap()["spec"]["template"]["spec"]["containers"][0];
            for (name, value) in &service.env {
                let rendered = container["env"]
                    .as_array()
                    .and_then(|env| env.iter().find(|e| e["name"] == name.as_str()));
                prop_assert!(rendered.is_some(), "{}: env {} missing", path, name);
                prop_assert_eq!(&rendered.unwrap()["value"], &Value::String(value.clone()), "{}: env {}", path, name);
                seen_env += 1;
            }
            if service.probe == "http" {
                // Readiness runs the health check; liveness only checks the port.
                prop_assert_eq!(
                    &container["readinessProbe"]["httpGet"]["path"],
                    &Value::String(service.health.clone()),
                    "{}: readinessProbe", path
                );
                prop_assert!(
                    container["livenessProbe"]["tcpSocket"]["port"].is_string(),
                    "{}: livenessProbe", path
                );
            }
        }
        let declared: usize = cat.services.iter().map(|s| s.env.len()).sum();
        prop_assert_eq!(seen_env, declared);
    }
}
