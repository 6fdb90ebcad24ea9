//! Where `deprecated-api` points for the resources shipshape renders itself. Their API version is
//! shipshape's choice, not the user's; what the environment decides is the release it targets,
//! which is what the finding's help says to set. So a finding on the admission policies (or a
//! service's built-in HPA) points at `cluster.kubernetesVersion` in the environment file, not at
//! the first line of that file.

mod common;

use common::{project, Outcome};
use std::path::Path;

/// The small valid project with its environment targeting `version`, and admission policies
/// (`admissionregistration.k8s.io/v1`, served from 1.30).
fn project_on(version: &str) -> tempfile::TempDir {
    let p = project::valid();
    project::edit(
        p.path(),
        "environments/dev.yaml",
        "cluster:\n",
        &format!("cluster:\n  kubernetesVersion: \"{version}\"\n"),
    );
    project::append(
        p.path(),
        "environments/dev.yaml",
        "enforce: { admission: Deny }\n",
    );
    p
}

fn build(root: &Path, format: &str) -> Outcome {
    project::run_as(root, &["build"], format)
}

/// (resource, file relative to `root`, line, column) of every `deprecated-api` finding.
fn placed(root: &Path, o: &Outcome) -> Vec<(String, String, u64, u64)> {
    project::diagnostics(o)
        .iter()
        .filter(|d| {
            d["code"]
                .as_str()
                .is_some_and(|c| c.starts_with("deprecated-api/"))
        })
        .map(|d| {
            let l = &d["location"];
            let file = Path::new(l["file"].as_str().unwrap_or(""));
            let name = file.strip_prefix(root).unwrap_or(file);
            (
                d["resource"].as_str().unwrap_or("").to_owned(),
                name.to_string_lossy().replace('\\', "/"),
                l["line"].as_u64().unwrap_or(0),
                l["column"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn findings_on_the_enforcement_documents_point_at_the_target_release() {
    let p = project_on("1.29");
    let o = build(p.path(), "json");
    assert_eq!(o.code, Some(1), "{}", o.all());
    // `cluster:` is line 2 of the environment file, the version key line 3, column 3.
    let at = |resource: &str| {
        (
            resource.to_owned(),
            "environments/dev.yaml".to_owned(),
            3,
            3,
        )
    };
    assert_eq!(
        placed(p.path(), &o),
        [
            at("ValidatingAdmissionPolicy/shipshape-shop"),
            at("ValidatingAdmissionPolicyBinding/shipshape-shop"),
        ],
        "{}",
        o.all()
    );
    let text = build(p.path(), "human").normalised(p.path(), "<project>");
    let first = text
        .stderr
        .split("\n\n")
        .skip_while(|block| !block.contains("ValidatingAdmissionPolicy/shipshape-shop"))
        .take(1)
        .collect::<String>();
    insta::assert_snapshot!("policy-at-target-release", first);
}

#[test]
fn a_service_s_built_in_resource_points_at_the_target_release_too() {
    // 1.22 serves neither the policies nor autoscaling/v2, which web's HPA is rendered at.
    let p = project_on("1.22");
    let o = build(p.path(), "json");
    assert_eq!(o.code, Some(1), "{}", o.all());
    let found = placed(p.path(), &o);
    assert!(
        found
            .iter()
            .any(|(r, ..)| r == "HorizontalPodAutoscaler/web"),
        "{found:?}"
    );
    for (resource, file, line, column) in &found {
        assert_eq!(
            (file.as_str(), *line, *column),
            ("environments/dev.yaml", 3, 3),
            "{resource}"
        );
    }
}
