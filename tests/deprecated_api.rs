//! `deprecated-api` in `build` and `check`: the environment's `cluster.kubernetesVersion` decides
//! which API versions are removed or deprecated, for what extra templates render too; and the
//! target release given to `lint` is checked like any other input.

mod common;

use common::{project, Outcome};
use std::fs;
use std::path::Path;
use tempfile::TempDir;

/// A per-environment extra template rendering a PodDisruptionBudget in `policy/v1beta1`
/// (deprecated in 1.21, removed in 1.25).
const BETA_BUDGET: &str = "apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata:
  name: legacy-budget
  namespace: {{ env.namespace }}
spec:
  minAvailable: 0
  selector:
    matchLabels: { app.kubernetes.io/part-of: legacy }
";

/// The small valid project with the beta budget template, its environment running `version`
/// (none: the default).
fn with_beta_budget(version: Option<&str>) -> TempDir {
    let p = project::valid();
    fs::create_dir(p.path().join("templates")).unwrap();
    fs::write(
        p.path().join("templates/budget.environment.yaml.j2"),
        BETA_BUDGET,
    )
    .unwrap();
    if let Some(v) = version {
        project::edit(
            p.path(),
            "environments/dev.yaml",
            "cluster:\n",
            &format!("cluster:\n  kubernetesVersion: {v}\n"),
        );
    }
    p
}

fn build(root: &Path) -> Outcome {
    project::run_json(root, &["build"])
}

/// (code, severity) of every finding of `deprecated-api`.
fn deprecated_api(o: &Outcome) -> Vec<(String, String)> {
    project::diagnostics(o)
        .iter()
        .filter(|d| {
            d["code"]
                .as_str()
                .is_some_and(|c| c.starts_with("deprecated-api/"))
        })
        .map(|d| {
            (
                d["code"].as_str().unwrap_or("").to_owned(),
                d["severity"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn an_environment_on_an_older_release_is_warned_of_what_its_upgrade_removes() {
    let p = with_beta_budget(Some("\"1.24\""));
    let o = build(p.path());
    assert_eq!(o.code, Some(0), "{}", o.all());
    assert_eq!(
        deprecated_api(&o),
        [("deprecated-api/deprecated".to_owned(), "warning".to_owned())]
    );
}

#[test]
fn an_environment_on_a_release_that_removed_the_api_fails_the_build() {
    for version in [Some("\"1.25\""), Some("v1.31.2"), None] {
        let p = with_beta_budget(version);
        let o = build(p.path());
        assert_eq!(o.code, Some(1), "{version:?}: {}", o.all());
        assert_eq!(
            deprecated_api(&o),
            [("deprecated-api/removed".to_owned(), "error".to_owned())],
            "{version:?}"
        );
    }
}

#[test]
fn an_environment_older_than_the_apis_shipshape_renders_fails_the_build() {
    // 1.22 serves the beta budget (deprecated) but not autoscaling/v2, which shipshape renders
    // the HorizontalPodAutoscaler at.
    let p = with_beta_budget(Some("\"1.22\""));
    let o = build(p.path());
    assert_eq!(o.code, Some(1), "{}", o.all());
    assert_eq!(
        deprecated_api(&o),
        [
            ("deprecated-api/deprecated".to_owned(), "warning".to_owned()),
            (
                "deprecated-api/not-yet-served".to_owned(),
                "error".to_owned()
            ),
        ],
        "{}",
        o.all()
    );
    assert!(o.stdout.contains("autoscaling/v2"), "{}", o.all());
}

#[test]
fn a_kubernetes_version_yaml_reads_as_a_number_is_refused_at_its_line() {
    let p = with_beta_budget(Some("1.30"));
    let o = build(p.path());
    assert_eq!(o.code, Some(2), "{}", o.all());
    let found = project::diagnostics(&o);
    let d = &found[0];
    assert_eq!(d["code"], "input/schema", "{}", o.all());
    assert!(
        d["message"]
            .as_str()
            .is_some_and(|m| m.contains("cluster.kubernetesVersion")),
        "{}",
        o.all()
    );
    // The fix says what to write, as written: "1.30", which YAML had read as 1.3.
    assert!(
        d["help"]
            .as_str()
            .is_some_and(|h| h.starts_with("quote it to make it text: \"1.30\"")),
        "{}",
        o.all()
    );
}

#[test]
fn lint_refuses_a_target_release_that_is_not_one() {
    let o = common::run_shipshape(
        common::crate_root(),
        &[
            "lint",
            "tests/fixtures/lint/deprecated-api/quiet/current-apis.yaml",
            "--kubernetes-version",
            "latest",
        ],
        &[],
    );
    o.no_panic();
    assert_eq!(o.code, Some(2), "{}", o.all());
    assert!(o.stderr.contains("--kubernetes-version"), "{}", o.all());
}

#[test]
fn lint_takes_the_target_release_from_the_environment_file_unless_given() {
    let scratch = tempfile::tempdir().unwrap();
    let env = scratch.path().join("old.yaml");
    fs::write(
        &env,
        "cluster:\n  capacity: { cpu: \"4\", memory: 8Gi }\n  kubernetesVersion: \"1.20\"\n",
    )
    .unwrap();
    let env = env.to_str().unwrap();
    let fixture = "tests/fixtures/lint/deprecated-api/fires/removed-apis.yaml";
    let lint = |extra: &[&str]| {
        let args = [
            &[
                "lint",
                fixture,
                "--format",
                "json",
                "--environment-file",
                env,
            ],
            extra,
        ]
        .concat();
        let o = common::run_shipshape(common::crate_root(), &args, &[]);
        o.no_panic();
        o
    };
    // 1.20: the beta Ingress is deprecated (1.14), the beta budget is still current (1.21).
    let o = lint(&[]);
    assert_eq!(o.code, Some(0), "{}", o.all());
    assert_eq!(
        deprecated_api(&o),
        [("deprecated-api/deprecated".to_owned(), "warning".to_owned())]
    );
    let o = lint(&["--kubernetes-version", "1.25"]);
    assert_eq!(o.code, Some(1), "{}", o.all());
    assert_eq!(deprecated_api(&o).len(), 2, "{}", o.all());
}
