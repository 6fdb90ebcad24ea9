//! The documented CI: the GitHub workflow parsed and checked (permissions, a pinned and locked
//! install that is cached, a guarded SARIF upload, a comment under the size limit), the hook
//! manifest's two variants, and every revision the docs pin being a commit of this repository.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn workflow() -> Value {
    yaml(&repo().join("docs/ci/github-actions.yml"))
}

fn steps(w: &Value) -> Vec<&Value> {
    w["jobs"]
        .as_object()
        .expect("jobs")
        .values()
        .flat_map(|job| job["steps"].as_array().expect("steps"))
        .collect()
}

fn step<'a>(w: &'a Value, uses: &str) -> &'a Value {
    steps(w)
        .into_iter()
        .find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(uses)))
        .unwrap_or_else(|| panic!("no step uses {uses}"))
}

#[test]
fn workflow_permissions_are_what_its_steps_need() {
    let w = workflow();
    let expected = serde_json::json!({
        "contents": "read",
        "actions": "read",
        "security-events": "write",
        "pull-requests": "write",
    });
    assert_eq!(w["permissions"], expected);
    for (name, job) in w["jobs"].as_object().unwrap() {
        assert!(
            job.get("permissions").is_none(),
            "job {name} widens the permissions"
        );
    }
}

#[test]
fn workflow_installs_a_pinned_locked_build_and_caches_it() {
    let w = workflow();
    let rev = w["env"]["SHIPSHAPE_REV"].as_str().expect("SHIPSHAPE_REV");
    assert!(is_commit_hash(rev) || rev.starts_with('v'), "{rev}");
    let install = steps(&w)
        .into_iter()
        .find(|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("cargo install"))
        })
        .expect("an install step");
    let run = install["run"].as_str().unwrap();
    assert!(
        run.contains("cargo install --locked") && run.contains("--rev \"$SHIPSHAPE_REV\""),
        "{run}"
    );
    assert!(!run.contains("--path"), "{run}");
    let cache = step(&w, "actions/cache@");
    assert!(
        cache["with"]["key"]
            .as_str()
            .is_some_and(|k| k.contains("env.SHIPSHAPE_REV")),
        "the cache is keyed by the revision: {cache:#}"
    );
    assert_eq!(
        install["if"].as_str(),
        Some(
            format!(
                "steps.{}.outputs.cache-hit != 'true'",
                cache["id"].as_str().unwrap()
            )
            .as_str()
        ),
        "a cached build is not compiled again"
    );
}

#[test]
fn workflow_sarif_upload_cannot_fail_the_job() {
    let w = workflow();
    let upload = step(&w, "github/codeql-action/upload-sarif@");
    assert_eq!(upload["continue-on-error"], Value::Bool(true), "{upload:#}");
    let condition = upload["if"].as_str().unwrap_or_default();
    assert!(
        condition.contains("always()") && condition.contains("hashFiles('shipshape.sarif')"),
        "{condition}"
    );
    let comment = steps(&w)
        .into_iter()
        .find(|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("gh pr comment"))
        })
        .expect("a comment step");
    let run = comment["run"].as_str().unwrap();
    assert!(
        run.contains("--format markdown --max-bytes 60000"),
        "the comment stays under GitHub's limit: {run}"
    );
}

#[test]
fn hook_manifest_has_a_source_built_and_an_installed_variant() {
    let hooks = yaml(&repo().join(".pre-commit-hooks.yaml"));
    let hooks = hooks.as_array().expect("a list of hooks");
    let language = |id: &str| {
        hooks
            .iter()
            .find(|h| h["id"] == id)
            .and_then(|h| h["language"].as_str())
            .unwrap_or_else(|| panic!("no hook {id}"))
            .to_owned()
    };
    assert_eq!(language("shipshape-check"), "rust");
    assert_eq!(language("shipshape-check-system"), "system");
    // The two differ only in where the binary comes from.
    let same = |key: &str| hooks.iter().map(|h| h[key].clone()).collect::<Vec<_>>();
    for key in ["entry", "files", "pass_filenames", "require_serial"] {
        let values = same(key);
        assert!(values.windows(2).all(|w| w[0] == w[1]), "{key}: {values:?}");
    }
}

fn is_commit_hash(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Every `rev:` and `SHIPSHAPE_REV:` in the docs that tell users what to pin.
fn pinned_revisions() -> Vec<(String, String)> {
    let files = [
        "README.md",
        "docs/ci.md",
        "docs/ci/github-actions.yml",
        ".pre-commit-hooks.yaml",
    ];
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(repo().join(f)).unwrap();
        for line in text.lines() {
            let line = line.trim_start_matches(|c: char| c == '#' || c.is_whitespace());
            for key in ["rev:", "SHIPSHAPE_REV:"] {
                if let Some(value) = line.strip_prefix(key) {
                    let value = value.split('#').next().unwrap_or_default().trim();
                    out.push((f.to_owned(), value.to_owned()));
                }
            }
        }
    }
    out
}

#[test]
fn every_pinned_revision_in_the_docs_is_a_commit_of_this_repository() {
    let revisions = pinned_revisions();
    assert!(
        revisions.iter().any(|(f, _)| f == "docs/ci.md"),
        "docs/ci.md pins no revision: {revisions:?}"
    );
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(repo())
            .output()
            .ok()
    };
    let in_git = git(&["rev-parse", "--is-inside-work-tree"]).is_some_and(|o| o.status.success());
    // A shallow clone lacks the older commits the docs pin; only a full history can say.
    let shallow = git(&["rev-parse", "--is-shallow-repository"])
        .is_some_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "true");
    for (file, rev) in &revisions {
        // A placeholder in prose (`<a commit hash ...>`) names no revision.
        if rev.starts_with('<') {
            continue;
        }
        assert!(
            is_commit_hash(rev),
            "{file}: `rev: {rev}` is neither a commit hash nor a placeholder; \
             until releases are tagged, pin a commit (docs/ci.md says how)"
        );
        if !in_git || shallow {
            // A source archive or a shallow clone has no history to look in; the form was
            // checked above.
            eprintln!("{file}: {rev} not looked up: not a full git checkout");
            continue;
        }
        let found = git(&["cat-file", "-e", &format!("{rev}^{{commit}}")])
            .is_some_and(|o| o.status.success());
        assert!(found, "{file}: `{rev}` is not a commit of this repository");
    }
}
