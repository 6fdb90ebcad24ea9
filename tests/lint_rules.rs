//! Evidence for the lint rules: every rule has fixtures that fire and fixtures that stay quiet, in
//! each output format, and the SARIF output is valid SARIF 2.1.0.
//!
//! Fixtures live in `tests/fixtures/lint/<rule-id>/{fires,quiet}/*.yaml` (plus `suppression/` for
//! the findings about suppression annotations). Each is linted by the real binary:
//!
//! ```text
//! shipshape lint <fixture> --color never [--format F] [args from <fixture>.args]
//! ```
//!
//! run from the crate root, so paths in the output are the stable relative fixture paths.
//!
//! A fixture's leading comment says what it shows. A `fires` fixture also carries
//! `# expect: error` (exit 1, at least one error of the rule) or `# expect: warning` (exit 0, only
//! warnings), `# at: LINE:COL, ...` (where the rule's findings point, in report order), and
//! optionally `# findings: N` (how many of the rule's findings) and `# also: rule-a, rule-b` (other
//! codes that are part of the story). A `quiet` fixture must produce no finding of any rule and
//! exit 0. Extra CLI arguments (capacity flags, `--environment-file`) go in `<fixture>.args`.
//!
//! A sibling `<fixture>.known-wrong` file marks a fixture on which the rule is known to misbehave
//! (its text says how). Its expectations are still checked, but must *fail*: when the rule is
//! fixed, the test says so and the marker must be deleted. Snapshots of such fixtures pin the
//! current (wrong) output and carry the marker's text in their description.

mod common;

use common::{crate_root, Outcome};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

/// Directories of fixtures that are not lint rules: findings about the suppression annotations.
const EXTRA_CODES: &[&str] = &["suppression"];

const SARIF_SCHEMA: &str = "schemas/sarif/sarif-schema-2.1.0.json";

fn fixtures_root() -> PathBuf {
    common::fixture("lint")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Fires,
    Quiet,
}

impl Kind {
    fn dir(self) -> &'static str {
        match self {
            Kind::Fires => "fires",
            Kind::Quiet => "quiet",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Error,
    Warning,
}

#[derive(Debug)]
struct Fixture {
    /// Rule id (or extra code) the fixture is about: its directory.
    rule: String,
    kind: Kind,
    /// File stem, e.g. `two-services-same-port`.
    stem: String,
    /// Path relative to the crate root, with `/`, as the binary prints it.
    rel: String,
    /// Extra CLI arguments from `<stem>.args`.
    args: Vec<String>,
    expect: Option<Expect>,
    /// Other codes a firing fixture may report besides its own rule.
    also: Vec<String>,
    /// `# at: LINE:COL, ...`: the distinct primary locations of the rule's findings, in report
    /// order (`path:LINE:COL` for a place outside the fixture, e.g. an environment file).
    at: Option<Vec<String>>,
    /// `# findings: N`: how many findings of the rule the fixture must produce.
    findings: Option<usize>,
    /// Text of `<stem>.known-wrong`, if the rule is known to misbehave on this fixture.
    known_wrong: Option<String>,
}

impl Fixture {
    fn snapshot_name(&self, format: &str) -> String {
        format!("{}.{}.{}.{format}", self.rule, self.kind.dir(), self.stem)
    }

    fn command_line(&self, format: &str) -> String {
        let mut line = format!("shipshape lint {} --color never", self.rel);
        if format != "human" {
            line.push_str(&format!(" --format {format}"));
        }
        for a in &self.args {
            line.push(' ');
            line.push_str(a);
        }
        line
    }
}

fn header_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .take_while(|l| l.starts_with('#'))
        .find_map(|l| {
            l.strip_prefix('#')?
                .trim()
                .strip_prefix(key)?
                .strip_prefix(':')
        })
        .map(str::trim)
}

fn load_fixture(rule: &str, kind: Kind, path: &Path) -> Fixture {
    let text = fs::read_to_string(path).unwrap();
    let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
    let sibling = |ext: &str| path.with_file_name(format!("{stem}.{ext}"));
    let args = fs::read_to_string(sibling("args"))
        .map(|a| a.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    let expect = header_value(&text, "expect").map(|e| match e {
        "error" => Expect::Error,
        "warning" => Expect::Warning,
        other => panic!(
            "{}: `# expect: {other}` must be error or warning",
            path.display()
        ),
    });
    let also = header_value(&text, "also")
        .map(|a| a.split(',').map(|s| s.trim().to_owned()).collect())
        .unwrap_or_default();
    let at = header_value(&text, "at").map(|a| a.split(',').map(|s| s.trim().to_owned()).collect());
    let findings = header_value(&text, "findings").map(|n| {
        n.parse()
            .unwrap_or_else(|_| panic!("{}: `# findings: {n}` is not a number", path.display()))
    });
    let known_wrong = fs::read_to_string(sibling("known-wrong")).ok();
    let rel = path
        .strip_prefix(crate_root())
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/");
    Fixture {
        rule: rule.to_owned(),
        kind,
        stem,
        rel,
        args,
        expect,
        also,
        at,
        findings,
        known_wrong,
    }
}

/// The fixtures of one rule directory, `fires` first, each sorted by name.
fn fixtures_of(rule: &str) -> Vec<Fixture> {
    let mut out = Vec::new();
    for kind in [Kind::Fires, Kind::Quiet] {
        let dir = fixtures_root().join(rule).join(kind.dir());
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        paths.sort();
        out.extend(paths.iter().map(|p| load_fixture(rule, kind, p)));
    }
    out
}

fn rule_ids() -> Vec<&'static str> {
    shipshape::lint::rules::all().iter().map(|r| r.id).collect()
}

fn all_fixtures() -> Vec<Fixture> {
    rule_ids()
        .into_iter()
        .chain(EXTRA_CODES.iter().copied())
        .flat_map(fixtures_of)
        .collect()
}

/// What the fixtures' Argo CD Applications call this repository, whatever remote the checkout
/// running the tests has.
/// Lints a fixture from the crate root, with the crate root (should it appear) shown as `<repo>`.
fn lint(f: &Fixture, format: &str) -> Outcome {
    let args: Vec<&str> = ["lint", f.rel.as_str(), "--format", format]
        .into_iter()
        .chain(f.args.iter().map(String::as_str))
        .collect();
    common::run_shipshape(crate_root(), &args, &[common::FIXTURE_REPOSITORIES])
        .normalised(crate_root(), "<repo>")
}

fn snapshot_text(o: &Outcome) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        o.code
            .map_or_else(|| "signal".to_owned(), |c| c.to_string()),
        o.stdout,
        o.stderr
    )
}

fn snapshot(f: &Fixture, format: &str, shown: &str) {
    let mut settings = insta::Settings::clone_current();
    let mut description = f.command_line(format);
    if let Some(why) = &f.known_wrong {
        description.push_str("\nKNOWN WRONG: ");
        description.push_str(why.trim());
    }
    settings.set_description(description);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(f.snapshot_name(format), shown));
}

/// Formats snapshotted for a fixture: human and short always; json, sarif and github for the
/// firing ones.
fn formats(f: &Fixture) -> &'static [&'static str] {
    match f.kind {
        Kind::Fires => &["human", "short", "json", "sarif", "github"],
        Kind::Quiet => &["human", "short"],
    }
}

/// SARIF as snapshotted: the rule catalogue (`runs[0].tool.driver.rules`, the same long text in
/// every report) is replaced by its ids, except in the one snapshot that pins it in full.
fn sarif_for_snapshot(f: &Fixture, stdout: &str) -> String {
    let full =
        f.rule == "port-conflict" && f.kind == Kind::Fires && f.stem == "two-services-same-port";
    let Ok(mut doc) = serde_json::from_str::<Value>(stdout) else {
        return stdout.to_owned();
    };
    if !full {
        if let Some(rules) = doc.pointer_mut("/runs/0/tool/driver/rules") {
            let ids: Vec<Value> = rules
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| r["id"].clone())
                .collect();
            *rules = Value::String(format!(
                "<{} rules: {}>",
                ids.len(),
                ids.iter()
                    .map(|v| v.as_str().unwrap_or("?"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    let mut text = serde_json::to_string_pretty(&doc).unwrap();
    text.push('\n');
    text
}

/// Whether a finding's code belongs to `rule`: the rule's id, or one of its condition codes
/// `rule/condition` (`literal-secret/jwt`), which share the rule's id for configuration and
/// suppression.
fn is_code_of(code: &str, rule: &str) -> bool {
    code == rule
        || code
            .strip_prefix(rule)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Information that a kind has no schema to validate it against: it says what was not checked,
/// not that anything is wrong, so a quiet fixture may carry it and a firing one need not list it.
const NOT_VALIDATED: &str = "schema/not-validated";

/// Everything a demanding user expects of one fixture's reports, as a list of what is wrong.
fn check_fixture(f: &Fixture, outcomes: &[(&str, Outcome)]) -> Vec<String> {
    let mut wrong = Vec::new();
    let get = |format: &str| outcomes.iter().find(|(k, _)| *k == format).map(|(_, o)| o);
    let human = get("human").unwrap();
    let extra;
    let json = match get("json") {
        Some(o) => o,
        None => {
            extra = lint(f, "json");
            &extra
        }
    };
    let doc: Value = match serde_json::from_str(&json.stdout) {
        Ok(v) => v,
        Err(e) => {
            wrong.push(format!("--format json is not JSON ({e}): {}", json.stdout));
            return wrong;
        }
    };
    let diagnostics = doc["diagnostics"].as_array().cloned().unwrap_or_default();
    let codes: Vec<&str> = diagnostics
        .iter()
        .map(|d| d["code"].as_str().unwrap_or("?"))
        .collect();
    for (format, o) in outcomes
        .iter()
        .map(|(k, o)| (*k, o))
        .chain([("json", json)])
    {
        if o.code != human.code {
            wrong.push(format!(
                "exit code {:?} with --format {format}, {:?} with human output",
                o.code, human.code
            ));
        }
    }
    match f.kind {
        Kind::Quiet => {
            if human.code != Some(0) {
                wrong.push(format!("exit code {:?}, expected 0", human.code));
            }
            let problems: Vec<&&str> = codes.iter().filter(|c| **c != NOT_VALIDATED).collect();
            if !problems.is_empty() {
                wrong.push(format!("expected no findings, got: {problems:?}"));
            }
            // Information about kinds not validated comes before the summary, on its own.
            let informed = problems.len() < codes.len();
            let summary_only = human.stdout.is_empty() && human.stderr.lines().count() == 1;
            let summary_last = human
                .stderr
                .lines()
                .last()
                .is_some_and(|l| l.starts_with("shipshape: linted"));
            if !(summary_only || informed && summary_last) {
                wrong.push("human output is more than the one-line summary".to_owned());
            }
        }
        Kind::Fires => {
            let Some(expect) = f.expect else {
                wrong.push("fires fixture without `# expect: error|warning` header".to_owned());
                return wrong;
            };
            let mine: Vec<&Value> = diagnostics
                .iter()
                .filter(|d| is_code_of(d["code"].as_str().unwrap_or(""), &f.rule))
                .collect();
            if mine.is_empty() {
                wrong.push(format!("no `{}` finding; got {codes:?}", f.rule));
            }
            for c in &codes {
                if !is_code_of(c, &f.rule)
                    && !f.also.iter().any(|a| is_code_of(c, a))
                    && *c != NOT_VALIDATED
                {
                    wrong.push(format!("unexpected finding code `{c}`"));
                }
            }
            let errors = diagnostics
                .iter()
                .filter(|d| d["severity"] == "error")
                .count();
            match expect {
                Expect::Error => {
                    if human.code != Some(1) {
                        wrong.push(format!("exit code {:?}, expected 1", human.code));
                    }
                    if !mine.iter().any(|d| d["severity"] == "error") {
                        wrong.push(format!("no error-severity `{}` finding", f.rule));
                    }
                }
                Expect::Warning => {
                    if human.code != Some(0) {
                        wrong.push(format!("exit code {:?}, expected 0", human.code));
                    }
                    if errors > 0 {
                        wrong.push(format!("{errors} error(s), expected only warnings"));
                    }
                }
            }
            if let Some(n) = f.findings {
                if mine.len() != n {
                    wrong.push(format!(
                        "{} `{}` findings, expected {n}: {:?}",
                        mine.len(),
                        f.rule,
                        mine.iter().map(|d| &d["message"]).collect::<Vec<_>>()
                    ));
                }
            }
            if let Some(expected) = &f.at {
                let mut actual: Vec<String> = Vec::new();
                for d in &mine {
                    let l = &d["location"];
                    let here = match l["file"].as_str() {
                        None => "<none>".to_owned(),
                        Some(file) if file == f.rel => format!("{}:{}", l["line"], l["column"]),
                        Some(file) => format!("{file}:{}:{}", l["line"], l["column"]),
                    };
                    if !actual.contains(&here) {
                        actual.push(here);
                    }
                }
                if &actual != expected {
                    wrong.push(format!("findings at {actual:?}, expected at {expected:?}"));
                }
            }
            for (format, o) in outcomes {
                if !o.stdout.contains(f.rule.as_str()) && !o.stderr.contains(f.rule.as_str()) {
                    wrong.push(format!(
                        "--format {format} output does not name `{}`",
                        f.rule
                    ));
                }
            }
            for d in &diagnostics {
                let what = format!("`{}` finding {:?}", d["code"], d["message"]);
                if d["location"].is_null() {
                    wrong.push(format!("{what} has no location"));
                } else if d["location"]["line"].as_u64().unwrap_or(0) < 1
                    || d["location"]["column"].as_u64().unwrap_or(0) < 1
                {
                    wrong.push(format!("{what} has no 1-based line and column"));
                }
                if d["help"].as_str().is_none_or(|h| h.trim().is_empty()) {
                    wrong.push(format!("{what} has no help"));
                }
            }
            if let Some(o) = get("sarif") {
                wrong.extend(sarif_problems(&o.stdout));
            }
            if let Some(o) = get("github") {
                wrong.extend(github_problems(&o.stdout));
            }
        }
    }
    wrong
}

/// Structure GitHub code scanning needs of every result: rule, level, text and a located region.
fn sarif_problems(text: &str) -> Vec<String> {
    let mut wrong = Vec::new();
    let doc: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return vec![format!("--format sarif is not JSON: {e}")],
    };
    if doc["version"] != "2.1.0" {
        wrong.push(format!("SARIF version is {}", doc["version"]));
    }
    let results = doc["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if results.is_empty() {
        wrong.push("SARIF has no results".to_owned());
    }
    for (i, r) in results.iter().enumerate() {
        let what = format!("SARIF result {i} ({})", r["ruleId"]);
        if r["ruleId"].as_str().is_none_or(str::is_empty) {
            wrong.push(format!("{what}: no ruleId"));
        }
        if !matches!(r["level"].as_str(), Some("error" | "warning" | "note")) {
            wrong.push(format!("{what}: level {}", r["level"]));
        }
        if r["message"]["text"].as_str().is_none_or(str::is_empty) {
            wrong.push(format!("{what}: no message.text"));
        }
        let physical = &r["locations"][0]["physicalLocation"];
        if physical.is_null() {
            wrong.push(format!("{what}: no physicalLocation"));
            continue;
        }
        if physical["artifactLocation"]["uri"]
            .as_str()
            .is_none_or(str::is_empty)
        {
            wrong.push(format!("{what}: no artifactLocation.uri"));
        }
        if physical["region"]["startLine"].as_u64().unwrap_or(0) < 1 {
            wrong.push(format!("{what}: region.startLine < 1"));
        }
    }
    wrong
}

/// Checks one `--format github` line against
/// `^::(error|warning|notice) file=[^,]+,line=\d+,col=\d+,title=[^:]+::.+`.
fn github_line_problem(line: &str) -> Option<String> {
    let bad = |why: &str| Some(format!("GitHub annotation {line:?}: {why}"));
    let Some(rest) = line.strip_prefix("::") else {
        return bad("does not start with `::`");
    };
    let Some((command, rest)) = rest.split_once(' ') else {
        return bad("no space after the command");
    };
    if !matches!(command, "error" | "warning" | "notice") {
        return bad("command is not error, warning or notice");
    }
    let Some((props, message)) = rest.split_once("::") else {
        return bad("no `::` before the message");
    };
    if message.trim().is_empty() {
        return bad("empty message");
    }
    let props: Vec<&str> = props.split(',').collect();
    let [file, line_no, col, title] = props.as_slice() else {
        return bad("properties are not exactly file, line, col, title");
    };
    let number = |p: &str, key: &str| {
        p.strip_prefix(key)
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n >= 1)
    };
    if file.strip_prefix("file=").is_none_or(str::is_empty) {
        return bad("no file=");
    }
    if !number(line_no, "line=") {
        return bad("no line=N (N >= 1)");
    }
    if !number(col, "col=") {
        return bad("no col=N (N >= 1)");
    }
    if title.strip_prefix("title=").is_none_or(str::is_empty) {
        return bad("no title=");
    }
    None
}

fn github_problems(text: &str) -> Vec<String> {
    if text.trim().is_empty() {
        return vec!["--format github printed nothing".to_owned()];
    }
    text.lines().filter_map(github_line_problem).collect()
}

/// Lints every fixture of `rule` in every format, pins the output, and checks expectations.
fn check_rule(rule: &str) {
    let fixtures = fixtures_of(rule);
    assert!(
        fixtures.iter().any(|f| f.kind == Kind::Fires)
            && fixtures.iter().any(|f| f.kind == Kind::Quiet),
        "`{rule}` needs fixtures in tests/fixtures/lint/{rule}/fires and .../quiet"
    );
    let mut failures = Vec::new();
    for f in &fixtures {
        let mut outcomes = Vec::new();
        for &format in formats(f) {
            let o = lint(f, format);
            let shown = Outcome {
                code: o.code,
                stdout: if format == "sarif" {
                    sarif_for_snapshot(f, &o.stdout)
                } else {
                    o.stdout.clone()
                },
                stderr: o.stderr.clone(),
            };
            snapshot(f, format, &snapshot_text(&shown));
            outcomes.push((format, o));
        }
        let wrong = check_fixture(f, &outcomes);
        match (&f.known_wrong, wrong.is_empty()) {
            (None, true) => {}
            (None, false) => failures.push(format!("{}:\n  - {}", f.rel, wrong.join("\n  - "))),
            (Some(why), false) => {
                eprintln!(
                    "known wrong: {} ({})\n  - {}",
                    f.rel,
                    why.trim(),
                    wrong.join("\n  - ")
                );
            }
            (Some(_), true) => failures.push(format!(
                "{}: marked known-wrong but now behaves as expected: delete {}",
                f.rel,
                f.rel.replace(".yaml", ".known-wrong")
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn port_conflict_fixtures() {
    check_rule("port-conflict");
}

#[test]
fn missing_probe_fixtures() {
    check_rule("missing-probe");
}

#[test]
fn resource_overcommit_fixtures() {
    check_rule("resource-overcommit");
}

#[test]
fn phase_order_fixtures() {
    check_rule("phase-order");
}

#[test]
fn mesh_routing_fixtures() {
    check_rule("mesh-routing");
}

#[test]
fn policy_selector_fixtures() {
    check_rule("policy-selector");
}

#[test]
fn unreachable_service_fixtures() {
    check_rule("unreachable-service");
}

#[test]
fn argocd_application_fixtures() {
    check_rule("argocd-application");
}

#[test]
fn literal_secret_fixtures() {
    check_rule("literal-secret");
}

#[test]
fn image_pinning_fixtures() {
    check_rule("image-pinning");
}

#[test]
fn hpa_fixtures() {
    check_rule("hpa");
}

#[test]
fn pdb_fixtures() {
    check_rule("pdb");
}

#[test]
fn deprecated_api_fixtures() {
    check_rule("deprecated-api");
}

#[test]
fn suppression_fixtures() {
    check_rule("suppression");
}

/// Every rule of the registry has fixtures, and every fixture directory is a rule (so a renamed
/// rule cannot leave its evidence behind untested).
#[test]
fn every_rule_has_fixtures_and_every_fixture_a_rule() {
    let known: Vec<&str> = rule_ids()
        .into_iter()
        .chain(EXTRA_CODES.iter().copied())
        .collect();
    for rule in &known {
        let fixtures = fixtures_of(rule);
        for kind in [Kind::Fires, Kind::Quiet] {
            assert!(
                fixtures.iter().any(|f| f.kind == kind),
                "no fixtures in tests/fixtures/lint/{rule}/{}",
                kind.dir()
            );
        }
        for f in fixtures.iter().filter(|f| f.kind == Kind::Fires) {
            assert!(f.expect.is_some(), "{}: no `# expect:` header", f.rel);
            assert!(
                f.at.is_some() || f.known_wrong.is_some(),
                "{}: no `# at: LINE:COL` header saying where the findings point",
                f.rel
            );
        }
    }
    let tested: Vec<&str> = [
        "port-conflict",
        "missing-probe",
        "resource-overcommit",
        "phase-order",
        "mesh-routing",
        "policy-selector",
        "unreachable-service",
        "argocd-application",
        "literal-secret",
        "image-pinning",
        "hpa",
        "pdb",
        "deprecated-api",
        "suppression",
    ]
    .to_vec();
    for rule in &known {
        assert!(
            tested.contains(rule),
            "rule `{rule}` has no #[test] in tests/lint_rules.rs calling check_rule(\"{rule}\")"
        );
    }
    for entry in fs::read_dir(fixtures_root()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            known.contains(&name.as_str()),
            "tests/fixtures/lint/{name} is not a rule id (rules: {known:?})"
        );
    }
    for f in all_fixtures() {
        let stray = fixtures_root().join(&f.rule).join(f.kind.dir());
        for entry in fs::read_dir(&stray).unwrap() {
            let path = entry.unwrap().path();
            // A catalogue project: an example `tests/code_registry.rs` builds.
            if path.is_dir() && path.join("catalogue.yaml").is_file() {
                continue;
            }
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            assert!(
                matches!(ext, "yaml" | "args" | "known-wrong"),
                "{}: fixture directories hold only .yaml, .args and .known-wrong files",
                path.display()
            );
            if ext != "yaml" {
                assert!(
                    path.with_extension("yaml").is_file(),
                    "{} belongs to no fixture",
                    path.display()
                );
            }
        }
    }
}

/// The SARIF 2.1.0 schema, compiled, with format checks on.
fn sarif_validator() -> jsonschema::Validator {
    let schema: Value =
        serde_json::from_str(&fs::read_to_string(crate_root().join(SARIF_SCHEMA)).unwrap())
            .unwrap();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles")
}

/// The SARIF report of a firing fixture of every rule validates against the SARIF 2.1.0 schema,
/// and every result is located the way GitHub code scanning requires. A clean run's report is
/// valid SARIF too.
#[test]
fn sarif_output_validates_against_the_sarif_2_1_0_schema() {
    let validator = sarif_validator();
    let mut failures = Vec::new();
    let mut located_per_rule: Vec<String> = Vec::new();
    let fixtures = all_fixtures();
    let mut checked = 0;
    for f in &fixtures {
        if f.kind == Kind::Quiet && f.stem != "service-and-deployment" {
            continue;
        }
        let o = lint(f, "sarif");
        let doc: Value = match serde_json::from_str(&o.stdout) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{}: not JSON: {e}", f.rel));
                continue;
            }
        };
        checked += 1;
        for e in validator.iter_errors(&doc) {
            failures.push(format!("{}: {} at {}", f.rel, e, e.instance_path()));
        }
        if f.kind == Kind::Fires {
            let problems = sarif_problems(&o.stdout);
            if problems.is_empty() {
                located_per_rule.push(f.rule.clone());
            } else if f.known_wrong.is_none() {
                failures.extend(problems.iter().map(|p| format!("{}: {p}", f.rel)));
            }
        }
    }
    assert!(checked > 0, "no fixtures found");
    for rule in rule_ids().into_iter().chain(EXTRA_CODES.iter().copied()) {
        if !located_per_rule.iter().any(|r| r == rule) {
            failures.push(format!(
                "no firing `{rule}` fixture produced fully located SARIF results"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `--format github` prints one workflow command per finding, each with file, line, col and title.
#[test]
fn github_annotations_are_well_formed() {
    let mut failures = Vec::new();
    let mut lines = 0;
    for f in all_fixtures() {
        if f.kind != Kind::Fires || f.known_wrong.is_some() {
            continue;
        }
        let o = lint(&f, "github");
        lines += o.stdout.lines().count();
        failures.extend(
            github_problems(&o.stdout)
                .into_iter()
                .map(|p| format!("{}: {p}", f.rel)),
        );
    }
    assert!(lines > 0, "no annotations printed at all");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn github_line_checker_accepts_and_rejects() {
    assert_eq!(
        github_line_problem(
            "::error file=a.yaml,line=3,col=7,title=shipshape port-conflict::ports clash%0Ahelp: fix"
        ),
        None
    );
    assert!(github_line_problem("::error title=shipshape resource-overcommit::too much").is_some());
    assert!(github_line_problem("::error file=a.yaml,line=0,col=1,title=x::m").is_some());
    assert!(github_line_problem("::fatal file=a.yaml,line=1,col=1,title=x::m").is_some());
    assert!(github_line_problem("::error file=a.yaml,line=1,col=1,title=x::").is_some());
}

/// Set to a reason to mark SARIF URI encoding as known to be wrong (it was, until paths were
/// percent-encoded); `None` makes the test strict.
const KNOWN_WRONG_SARIF_URIS: Option<&str> = None;

/// File names that need percent-encoding still give valid SARIF.
#[test]
fn sarif_uris_are_percent_encoded() {
    let validator = sarif_validator();
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir(tmp.path().join("my manifests")).unwrap();
    fs::copy(
        fixtures_root().join("missing-probe/fires/bare-pod.yaml"),
        tmp.path().join("my manifests/pod #1.yaml"),
    )
    .unwrap();
    let output = common::run_shipshape(
        tmp.path(),
        &["lint", "my manifests/pod #1.yaml", "--format", "sarif"],
        &[],
    );
    let doc: Value = serde_json::from_str(&output.stdout).unwrap();
    let mut wrong: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    let uri = doc
        .pointer("/runs/0/results/0/locations/0/physicalLocation/artifactLocation/uri")
        .and_then(Value::as_str)
        .unwrap_or("");
    if uri != "my%20manifests/pod%20%231.yaml" {
        wrong.push(format!(
            "uri {uri:?}, expected \"my%20manifests/pod%20%231.yaml\""
        ));
    }
    match KNOWN_WRONG_SARIF_URIS {
        None => assert!(wrong.is_empty(), "{}", wrong.join("\n")),
        Some(why) if wrong.is_empty() => {
            panic!("fixed ({why}): delete KNOWN_WRONG_SARIF_URIS in tests/lint_rules.rs")
        }
        Some(why) => eprintln!("known wrong: {why}\n  - {}", wrong.join("\n  - ")),
    }
}

// ---------------------------------------------------------------------------------------------
// `literal-secret`: condition codes, masking, the catalogue, configuration and the comparison
// corpus of docs/secret-detection.md.

/// Every firing `literal-secret` fixture says which codes it reports (`# codes: a, b`), and
/// reports exactly those.
#[test]
fn literal_secret_fixtures_report_the_codes_they_declare() {
    let mut failures = Vec::new();
    for f in fixtures_of("literal-secret") {
        if f.kind != Kind::Fires {
            continue;
        }
        let text = fs::read_to_string(crate_root().join(&f.rel)).unwrap();
        let Some(declared) = header_value(&text, "codes") else {
            failures.push(format!("{}: no `# codes:` header", f.rel));
            continue;
        };
        let mut declared: Vec<&str> = declared.split(',').map(str::trim).collect();
        declared.sort_unstable();
        let o = lint(&f, "json");
        let doc: Value = serde_json::from_str(&o.stdout).unwrap();
        let mut codes: Vec<String> = doc["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| d["code"].as_str().map(str::to_owned))
            .filter(|c| is_code_of(c, "literal-secret"))
            .collect();
        codes.sort_unstable();
        codes.dedup();
        if codes != declared {
            failures.push(format!("{}: codes {codes:?}, declared {declared:?}", f.rel));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The secrets a firing fixture holds (`# secrets: a, b`; `-` for none) appear in no output
/// format: not in messages, labels or help, and not in the source excerpt of the human report.
#[test]
fn literal_secret_reports_never_print_a_detected_secret() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for f in fixtures_of("literal-secret") {
        if f.kind != Kind::Fires {
            continue;
        }
        let text = fs::read_to_string(crate_root().join(&f.rel)).unwrap();
        let Some(secrets) = header_value(&text, "secrets") else {
            failures.push(format!("{}: no `# secrets:` header", f.rel));
            continue;
        };
        let secrets: Vec<&str> = secrets
            .split(", ")
            .map(str::trim)
            .filter(|s| *s != "-" && !s.is_empty())
            .collect();
        for format in ["human", "short", "json", "sarif", "github"] {
            let o = lint(&f, format);
            assert!(
                !o.stdout.is_empty() || !o.stderr.is_empty(),
                "{}: no output",
                f.rel
            );
            for secret in &secrets {
                checked += 1;
                assert!(
                    text.contains(secret),
                    "{}: `# secrets:` names {secret:?}, which the fixture does not hold",
                    f.rel
                );
                if o.stdout.contains(secret) || o.stderr.contains(secret) {
                    failures.push(format!("{} --format {format} prints {secret:?}", f.rel));
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} secret checks ran");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A small project whose catalogue and environment file hold literal credentials.
fn secret_project(catalogue_env: &str, environment_extra: &str) -> tempfile::TempDir {
    let p = common::scratch_copy(&common::fixture("bad/valid"));
    let catalogue = fs::read_to_string(p.path().join("catalogue.yaml"))
        .unwrap()
        .replace("env: { LOG_LEVEL: info }", catalogue_env);
    fs::write(p.path().join("catalogue.yaml"), catalogue).unwrap();
    let env_path = p.path().join("environments/dev.yaml");
    let mut env = fs::read_to_string(&env_path).unwrap();
    env.push_str(environment_extra);
    fs::write(env_path, env).unwrap();
    p
}

/// Findings about shipshape's own output point at the catalogue line and the environment override
/// that wrote the secret, carry their condition codes, and print neither secret in any format
/// (the human excerpt shows the catalogue line with the secret blotted out).
#[test]
fn literal_secret_in_the_catalogue_and_an_override_points_there_masked() {
    let password = "EXAMPLE-catalogue-pa55";
    let token = "ghp_EXAMPLE0EXAMPLE1EXAMPLE2EXAMPLE3wxyz";
    // Another rule's finding on a neighbouring line would print the catalogue line unmasked (see
    // `literal_secret_excerpts_of_other_rules_mask_the_secret`): that rule is off here.
    let p = secret_project(
        &format!("env: {{ LOG_LEVEL: info, DATABASE_URL: \"postgres://api:{password}@postgres:5432/api\" }}"),
        &format!(
            "services:\n  api:\n    env: {{ CI_NOTIFY: {token} }}\nlint:\n  rules:\n    unreachable-service: off\n"
        ),
    );
    for format in ["human", "short", "json", "sarif", "github"] {
        let o = common::run_shipshape(p.path(), &["build", "--root", ".", "--format", format], &[]);
        o.no_panic();
        assert_eq!(o.code, Some(1), "{format}: {}", o.all());
        for secret in [password, token] {
            assert!(
                !o.all().contains(secret),
                "{format} prints {secret}:\n{}",
                o.all()
            );
        }
        assert!(
            o.all().contains("literal-secret/url-credentials"),
            "{format}: {}",
            o.all()
        );
        assert!(
            o.all().contains("literal-secret/token-pattern"),
            "{format}: {}",
            o.all()
        );
        if format == "short" {
            let all = o.all();
            let lines: Vec<&str> = all
                .lines()
                .filter(|l| l.contains("literal-secret/"))
                .collect();
            assert!(
                lines
                    .iter()
                    .any(|l| l.starts_with("catalogue.yaml:") && l.contains("url-credentials")),
                "{lines:?}"
            );
            assert!(
                lines.iter().any(|l| l.starts_with("environments/dev.yaml:") && l.contains("token-pattern")),
                "{lines:?}"
            );
        }
        if format == "human" {
            assert!(o.all().contains("postgres://api:EX"), "{}", o.all());
            assert!(o.all().contains("gh****"), "{}", o.all());
        }
    }
}

/// The condition codes share the rule's id: `literal-secret: warning` in the environment file
/// makes every one of them a warning, `off` silences them all, and the suppression annotation
/// names the rule (the quiet fixture `suppressed-by-rule-id.yaml` shows that).
#[test]
fn literal_secret_codes_follow_the_rules_configured_level() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = fixtures_root().join("literal-secret/fires/issue-20-misses.yaml");
    for (level, exit, severity) in [("warning", 0, Some("warning")), ("off", 0, None)] {
        let env = tmp.path().join(format!("{level}.yaml"));
        fs::write(
            &env,
            format!(
                "imageTag: \"1.0.0\"\ncluster:\n  capacity: {{ cpu: \"4\", memory: 8Gi }}\n\
                 lint:\n  rules:\n    literal-secret: {level}\n"
            ),
        )
        .unwrap();
        let o = common::run_shipshape(
            crate_root(),
            &[
                "lint",
                fixture.to_str().unwrap(),
                "--environment-file",
                env.to_str().unwrap(),
                "--format",
                "json",
            ],
            &[],
        );
        assert_eq!(o.code, Some(exit), "{level}: {}", o.all());
        let doc: Value = serde_json::from_str(&o.stdout).unwrap();
        let mine: Vec<&Value> = doc["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| is_code_of(d["code"].as_str().unwrap_or(""), "literal-secret"))
            .collect();
        match severity {
            Some(s) => {
                assert_eq!(mine.len(), 13, "{level}: {}", o.stdout);
                assert!(
                    mine.iter().all(|d| d["severity"] == s),
                    "{level}: {}",
                    o.stdout
                );
            }
            None => assert!(mine.is_empty(), "{level}: {}", o.stdout),
        }
    }
}

/// Set to a reason while the human report prints other rules' excerpts from the unmasked file;
/// `None` makes the test strict.
const KNOWN_WRONG_OTHER_RULES_EXCERPTS: Option<&str> = None;

/// No excerpt of any rule prints a secret `literal-secret` found, not even another rule's
/// excerpt that shows the secret's line as context.
#[test]
fn literal_secret_excerpts_of_other_rules_mask_the_secret() {
    let password = "EXAMPLE-catalogue-pa55";
    let p = secret_project(
        &format!("env: {{ LOG_LEVEL: info, DATABASE_URL: \"postgres://api:{password}@postgres:5432/api\" }}"),
        "",
    );
    let o = common::run_shipshape(p.path(), &["build", "--root", "."], &[]);
    o.no_panic();
    assert!(o.all().contains("unreachable-service"), "{}", o.all());
    let leaked = o.all().contains(password);
    match KNOWN_WRONG_OTHER_RULES_EXCERPTS {
        None => assert!(!leaked, "{}", o.all()),
        Some(why) if !leaked => panic!(
            "fixed ({why}): set KNOWN_WRONG_OTHER_RULES_EXCERPTS in tests/lint_rules.rs to None"
        ),
        Some(why) => eprintln!("known wrong: {why}"),
    }
}

/// Whether a finding at `finding_line` covers `line` of `text`: the same line, or a line inside the
/// block under the finding's key (a config file or a private key held in one value).
fn covers(text: &str, finding_line: usize, line: usize) -> bool {
    if finding_line == line {
        return true;
    }
    if finding_line > line || finding_line == 0 {
        return false;
    }
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let Some(key) = lines.get(finding_line - 1) else {
        return false;
    };
    (finding_line..line).all(|i| lines.get(i).is_some_and(|l| indent(l) > indent(key)))
}

/// The comparison corpus of docs/secret-detection.md: on the same files, `literal-secret` finds
/// every credential detect-secrets found (its results, measured once, are kept beside the corpus
/// in `detect-secrets.json`; the test does not need detect-secrets), and nothing in
/// `not-secrets.yaml`, where detect-secrets reports hashes.
#[test]
fn literal_secret_finds_what_detect_secrets_finds_on_the_corpus() {
    let dir = fixtures_root().join("literal-secret/corpus");
    let baseline: Value =
        serde_json::from_str(&fs::read_to_string(dir.join("detect-secrets.json")).unwrap())
            .unwrap();
    let mut missed = Vec::new();
    let mut compared = 0;
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = fs::read_to_string(&path).unwrap();
        let rel = path
            .strip_prefix(crate_root())
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let o = common::run_shipshape(crate_root(), &["lint", &rel, "--format", "json"], &[]);
        let doc: Value = serde_json::from_str(&o.stdout).unwrap();
        let mine: Vec<usize> = doc["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| is_code_of(d["code"].as_str().unwrap_or(""), "literal-secret"))
            .filter_map(|d| d["location"]["line"].as_u64())
            .map(|l| l as usize)
            .collect();
        if name == "not-secrets.yaml" {
            assert!(mine.is_empty(), "{rel}: findings at lines {mine:?}");
            continue;
        }
        let theirs = baseline["results"][format!("corpus/{name}")]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for r in theirs {
            compared += 1;
            let line = r["line_number"].as_u64().unwrap() as usize;
            if !mine.iter().any(|&m| covers(&text, m, line)) {
                missed.push(format!("{rel}:{line} ({})", r["type"]));
            }
        }
    }
    assert!(
        compared >= 20,
        "only {compared} detect-secrets results compared"
    );
    assert!(
        missed.is_empty(),
        "detect-secrets finds, literal-secret does not:\n{}",
        missed.join("\n")
    );
}
