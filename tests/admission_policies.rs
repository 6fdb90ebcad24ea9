//! The admission policies shipshape renders (`enforce.admission`) agree with the lint rules they
//! export: every CEL validation is evaluated, with a CEL interpreter, on the workloads of its
//! rule's fire and quiet fixtures and of the repository's rendered output, and compared with what
//! `shipshape lint` reports on the same files.
//!
//! The contract, per validation and per workload the policy matches:
//! - a workload the rule reports with the exported code at error severity is refused;
//! - a refused workload is one the rule reports (with any of its codes): the API server never
//!   refuses what `check` passed.
//!
//! The interpreter is the `cel` crate (cel-rust). It has CEL's standard macros and functions,
//! `matches` with the `regex` crate (RE2 syntax, as Kubernetes), and none of Kubernetes' CEL
//! libraries (`url`, `ip`, `authz`, lists' `isSorted`/`sum`, `quantity`...). The exported
//! expressions use only `quantity(s).compareTo(q)`, which [`context`] supplies from a quantity
//! parser of this file's own (a quantity is its value in milli-units, enough for comparing);
//! the policy's `variables` are evaluated here in order, as the API server does, into one
//! `variables` map.

mod common;

use cel::extractors::This;
use cel::{Context, ExecutionError, Program};
use serde_json::Value;
use shipshape::enforce::admission::{self, Exported};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The kinds the policy's `matchConstraints` select (apps/v1 and batch/v1 controllers).
const MATCHED: &[(&str, &str)] = &[
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
];

fn matched(doc: &Value) -> bool {
    let api = doc.get("apiVersion").and_then(Value::as_str);
    let kind = doc.get("kind").and_then(Value::as_str);
    MATCHED
        .iter()
        .any(|(a, k)| api == Some(a) && kind == Some(k))
}

fn resource(doc: &Value) -> String {
    format!(
        "{}/{}",
        doc["kind"].as_str().unwrap_or("?"),
        doc["metadata"]["name"].as_str().unwrap_or("?")
    )
}

fn compile(expression: &str) -> Program {
    Program::compile(expression).unwrap_or_else(|e| panic!("{expression}: {e:?}"))
}

/// Whether `doc` passes `validation`, with the policy's variables bound as the API server binds
/// them. An expression that fails to evaluate refuses the object, as `failurePolicy: Fail`
/// makes the API server do.
fn admits(doc: &Value, validation: &Program, variables: &[(String, Program)]) -> bool {
    let mut bound: BTreeMap<String, cel::Value> = BTreeMap::new();
    for (name, program) in variables {
        let mut ctx = context();
        ctx.add_variable("object", doc.clone()).unwrap();
        ctx.add_variable_from_value("variables", to_map(&bound));
        let Ok(value) = program.execute(&ctx) else {
            return false;
        };
        bound.insert(name.clone(), value);
    }
    let mut ctx = context();
    ctx.add_variable("object", doc.clone()).unwrap();
    ctx.add_variable_from_value("variables", to_map(&bound));
    match validation.execute(&ctx) {
        Ok(cel::Value::Bool(b)) => b,
        Ok(other) => panic!("validation on {} gave {other:?}", resource(doc)),
        Err(_) => false,
    }
}

/// CEL's standard environment with the part of Kubernetes' quantity library the policies use.
fn context() -> Context<'static, 'static> {
    let mut ctx = Context::default();
    ctx.add_function(
        "quantity",
        |text: Arc<String>| -> Result<i64, ExecutionError> {
            milli_units(&text).ok_or_else(|| {
                ExecutionError::function_error("quantity", format!("not a quantity: {text}"))
            })
        },
    )
    .unwrap();
    ctx.add_function("compareTo", |This(a): This<i64>, b: i64| -> i64 {
        (a > b) as i64 - (a < b) as i64
    })
    .unwrap();
    ctx
}

/// A Kubernetes quantity (`1.5`, `500m`, `1Gi`, `2e3`) in thousandths of its unit.
fn milli_units(text: &str) -> Option<i64> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    let scale: f64 = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        s if s.starts_with(['e', 'E']) => 10f64.powi(s[1..].parse().ok()?),
        _ => return None,
    };
    Some((value * scale * 1000.0).round() as i64)
}

fn to_map(bound: &BTreeMap<String, cel::Value>) -> cel::Value {
    let map: std::collections::HashMap<cel::objects::Key, cel::Value> = bound
        .iter()
        .map(|(k, v)| (cel::objects::Key::from(k.clone()), v.clone()))
        .collect();
    cel::Value::Map(map.into())
}

/// The rendered policy's variables and validations, read from the document `build` writes.
/// The policy's variables in order, by name.
type Variables = Vec<(String, Program)>;
/// Each validation with the lint condition it exports.
type Validations = Vec<(&'static Exported, Program)>;

fn rendered_policy() -> (Variables, Validations) {
    let policy = admission::policy(&repository_environment());
    let variables = policy["spec"]["variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap().to_owned(),
                compile(v["expression"].as_str().unwrap()),
            )
        })
        .collect();
    let validations = policy["spec"]["validations"].as_array().unwrap();
    assert_eq!(validations.len(), admission::EXPORTED.len());
    let programs = admission::EXPORTED
        .iter()
        .zip(validations)
        .map(|(e, v)| {
            assert_eq!(v["expression"].as_str(), Some(e.expression));
            (e, compile(e.expression))
        })
        .collect();
    (variables, programs)
}

fn repository_environment() -> shipshape::catalogue::ResolvedEnvironment {
    let paths = shipshape::catalogue::ProjectPaths::in_root(common::crate_root());
    let project = shipshape::catalogue::Project::load(&paths, Default::default()).unwrap();
    project
        .resolve(&["prod".to_owned()])
        .unwrap_or_else(|f| panic!("{:?}", f.diagnostics))
        .remove(0)
}

/// The documents of a file as the API server hands them to admission: typed, so a quantity
/// written as a YAML number (`cpu: 1`) is the string `"1"` there.
fn yaml_documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut docs = shipshape::yaml::parse_values(&text, &Default::default())
        .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
    docs.iter_mut()
        .for_each(|d| quantities_as_strings(d, false));
    docs
}

/// `resource_list`: `v` is a `requests` or `limits` map, whose values are quantities.
fn quantities_as_strings(v: &mut Value, resource_list: bool) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                match child {
                    Value::Number(n) if resource_list => *child = Value::from(n.to_string()),
                    _ => quantities_as_strings(child, matches!(k.as_str(), "requests" | "limits")),
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|i| quantities_as_strings(i, false)),
        _ => {}
    }
}

/// What `shipshape lint` reports on one file: resource -> (code, severity) pairs.
fn lint_findings(fixture: &Path) -> BTreeMap<String, BTreeSet<(String, String)>> {
    let rel = fixture
        .strip_prefix(common::crate_root())
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/");
    let mut args = vec![
        "lint".to_owned(),
        rel.clone(),
        "--format".into(),
        "json".into(),
    ];
    let extra = fixture.with_extension("args");
    if let Ok(text) = std::fs::read_to_string(&extra) {
        args.extend(text.split_whitespace().map(str::to_owned));
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = common::run_shipshape(common::crate_root(), &argv, &[]);
    let json: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{rel}: not JSON ({e}): {}{}", out.stdout, out.stderr));
    let mut found: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for d in json["diagnostics"].as_array().unwrap() {
        if let Some(r) = d["resource"].as_str() {
            found.entry(r.to_owned()).or_default().insert((
                d["code"].as_str().unwrap_or("").to_owned(),
                d["severity"].as_str().unwrap_or("").to_owned(),
            ));
        }
    }
    found
}

fn fixtures_of(rule: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for kind in ["fires", "quiet"] {
        let dir = common::fixture("lint").join(rule).join(kind);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yaml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_exported_validation_agrees_with_its_lint_rule_on_its_fixtures() {
    let (variables, validations) = rendered_policy();
    let mut disagreements = Vec::new();
    for (exported, program) in &validations {
        let rule = exported.code.id.split('/').next().unwrap();
        let mut refused = 0;
        let mut judged = 0;
        for fixture in fixtures_of(rule) {
            let findings = lint_findings(&fixture);
            for doc in yaml_documents(&fixture).iter().filter(|d| matched(d)) {
                judged += 1;
                let r = resource(doc);
                let of_rule = findings
                    .get(&r)
                    .into_iter()
                    .flatten()
                    .filter(|(code, _)| code == rule || code.starts_with(&format!("{rule}/")));
                let reported = of_rule.clone().next().is_some();
                let must_refuse = of_rule
                    .clone()
                    .any(|(code, sev)| code == exported.code.id && sev == "error");
                let admitted = admits(doc, program, &variables);
                if !admitted {
                    refused += 1;
                }
                let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
                if must_refuse && admitted {
                    disagreements.push(format!(
                        "{}: {name} {r}: lint reports it, the policy admits it",
                        exported.code.id
                    ));
                }
                if !admitted && !reported {
                    disagreements.push(format!(
                        "{}: {name} {r}: the policy refuses it, lint passes it",
                        exported.code.id
                    ));
                }
            }
        }
        assert!(
            judged > 0,
            "{}: no workload in its rule's fixtures",
            exported.code.id
        );
        assert!(
            refused > 0,
            "{}: refuses no fixture: the comparison shows nothing",
            exported.code.id
        );
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[test]
fn the_repository_rendered_workloads_are_all_admitted() {
    let (variables, validations) = rendered_policy();
    let mut judged = 0;
    for env in ["dev", "staging", "prod"] {
        let dir = common::crate_root().join("rendered").join(env);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            for doc in yaml_documents(&path).iter().filter(|d| matched(d)) {
                judged += 1;
                for (exported, program) in &validations {
                    assert!(
                        admits(doc, program, &variables),
                        "{}: {} refused by {}",
                        path.display(),
                        resource(doc),
                        exported.code.id
                    );
                }
            }
        }
    }
    assert!(judged >= 26 * 3, "only {judged} workloads judged");
}
