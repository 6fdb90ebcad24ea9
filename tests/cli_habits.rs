//! The habits people bring from git, cargo and other CLIs: completions and manual pages, colour
//! switches, the project root found from a sub-directory, `--out -`, machine formats alone on
//! stdout, and findings made in several environments printed once.

mod common;

use common::{fixture, run_plain, run_shipshape, scratch_copy};
use std::path::Path;

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} has no `{from}`", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn completions_are_generated_for_each_shell() {
    let cwd = common::crate_root();
    for (shell, marker) in [
        ("bash", "complete -F _shipshape"),
        ("zsh", "#compdef shipshape"),
        ("fish", "complete -c shipshape"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let o = run_shipshape(cwd, &["completions", shell], &[]);
        assert_eq!(o.code, Some(0), "{shell}: {}", o.stderr);
        assert!(o.stdout.contains(marker), "{shell}:\n{}", o.stdout);
        // Subcommands and their options are completed.
        assert!(
            o.stdout.contains("check") && o.stdout.contains("max-bytes"),
            "{shell}"
        );
    }
    let o = run_shipshape(cwd, &["completions", "tcsh"], &[]);
    assert_eq!(o.code, Some(2), "{}", o.stderr);
}

#[test]
fn manual_pages_are_printed_per_command() {
    let cwd = common::crate_root();
    let top = run_shipshape(cwd, &["man"], &[]);
    assert_eq!(top.code, Some(0), "{}", top.stderr);
    assert!(top.stdout.contains(".TH shipshape 1"), "{}", top.stdout);
    let build = run_shipshape(cwd, &["man", "build"], &[]);
    assert!(
        build.stdout.contains(".TH shipshape-build 1") && build.stdout.contains("\\-\\-out"),
        "{}",
        build.stdout
    );
    let none = run_shipshape(cwd, &["man", "nope"], &[]);
    assert_eq!(none.code, Some(2));
    assert!(
        none.stderr.contains("commands: build, check"),
        "{}",
        none.stderr
    );
}

#[test]
fn every_command_accepts_color() {
    let p = scratch_copy(&fixture("bad/valid"));
    let dir = p.path();
    for args in [
        &["plan"][..],
        &["graph"],
        &["rules"],
        &["explain", "port-conflict"],
        &["schema"],
        &["completions", "bash"],
        &["man"],
        &["diff"],
    ] {
        for choice in ["auto", "always", "never"] {
            let mut all = args.to_vec();
            all.extend(["--color", choice]);
            let o = run_plain(dir, &all, &[]);
            assert_eq!(o.code, Some(0), "{all:?}: {}", o.stderr);
        }
    }
    // Before the command too, as a global option.
    assert_eq!(
        run_plain(dir, &["--color", "never", "plan"], &[]).code,
        Some(0)
    );
}

#[test]
fn colour_follows_no_color_clicolor_force_and_term() {
    let p = scratch_copy(&fixture("bad/valid"));
    let dir = p.path();
    let api = dir.join("rendered/dev/api.yaml");
    assert_eq!(run_shipshape(dir, &["build"], &[]).code, Some(0));
    edit(&api, "replicas: 1", "replicas: 5");
    let coloured = |vars: &[(&str, &str)], extra: &[&str]| {
        let mut args = vec!["check"];
        args.extend_from_slice(extra);
        run_plain(dir, &args, vars).stderr.contains('\u{1b}')
    };
    // stderr is a pipe here: no colour unless forced.
    assert!(!coloured(&[], &[]));
    assert!(coloured(&[("CLICOLOR_FORCE", "1")], &[]));
    assert!(!coloured(&[("CLICOLOR_FORCE", "0")], &[]));
    assert!(!coloured(
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
        &[]
    ));
    assert!(!coloured(&[("CLICOLOR_FORCE", "")], &[]));
    assert!(coloured(&[("TERM", "dumb")], &["--color", "always"]));
    assert!(!coloured(&[("CLICOLOR_FORCE", "1")], &["--color", "never"]));
    // A dumb terminal gets the excerpts framed in ASCII, not box characters.
    let dumb = run_plain(dir, &["check"], &[("TERM", "dumb")]).stderr;
    assert!(dumb.contains("rendered/dev/api.yaml"), "{dumb}");
    assert!(dumb.is_ascii(), "{dumb}");
    assert!(!run_plain(dir, &["check"], &[]).stderr.is_ascii());
}

#[test]
fn the_project_root_is_found_from_a_sub_directory() {
    let p = scratch_copy(&fixture("bad/valid"));
    let dir = p.path();
    let sub = dir.join("environments");
    let built = run_shipshape(&sub, &["build"], &[]);
    assert_eq!(built.code, Some(0), "{}", built.all());
    assert!(dir.join("rendered/dev/api.yaml").is_file());
    assert!(
        !sub.join("rendered").exists(),
        "rendered beside the catalogue only"
    );
    // Paths are shown from where the user is.
    assert!(
        built.stderr.contains("into ../rendered"),
        "{}",
        built.stderr
    );
    let deeper = dir.join("rendered/dev");
    let check = run_shipshape(&deeper, &["check"], &[]);
    assert_eq!(check.code, Some(0), "{}", check.all());
    // --root still wins, and a directory without a catalogue above it is an input error.
    let elsewhere = tempfile::tempdir().unwrap();
    let o = run_shipshape(elsewhere.path(), &["check"], &[]);
    assert_eq!(o.code, Some(2), "{}", o.all());
    let o = run_shipshape(
        elsewhere.path(),
        &["check", "--root", dir.to_str().unwrap()],
        &[],
    );
    assert_eq!(o.code, Some(0), "{}", o.all());
}

#[test]
fn out_dash_streams_every_manifest_and_writes_nothing() {
    let p = scratch_copy(&fixture("bad/valid"));
    let dir = p.path();
    let before = common::fingerprint(dir);
    let o = run_shipshape(dir, &["build", "--out", "-"], &[]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(before, common::fingerprint(dir), "nothing written");
    assert!(!dir.join("-").exists());
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&o.stdout).unwrap();
    let kinds: Vec<&str> = docs
        .iter()
        .filter_map(|d| d.get("kind").and_then(|k| k.as_str()))
        .collect();
    assert!(
        kinds.contains(&"Deployment") && kinds.contains(&"Namespace"),
        "{kinds:?}"
    );
    assert!(!kinds.contains(&"Kustomization"), "not a Kubernetes object");
    assert!(
        o.stdout.starts_with("---\n# Source: dev/"),
        "{}",
        &o.stdout[..200]
    );
    assert!(o.stderr.contains("on standard output"), "{}", o.stderr);
    // The stream is the output: a machine format would share it.
    let o = run_shipshape(dir, &["build", "--out", "-", "--format", "json"], &[]);
    assert_eq!(o.code, Some(2), "{}", o.all());
    assert!(o.stdout.is_empty());
    // check and diff compare with a directory: `-` is not one.
    for command in ["check", "diff"] {
        let o = run_shipshape(dir, &[command, "--out", "-"], &[]);
        assert_eq!(o.code, Some(2), "{command}: {}", o.all());
        assert!(o.stderr.contains("usage/out-stdout"), "{}", o.stderr);
    }
    // An error stops the stream and fails the run.
    edit(
        &dir.join("catalogue.yaml"),
        "port: 8080",
        "port: 8080\n    probe: none",
    );
    let o = run_shipshape(dir, &["build", "--out", "-"], &[]);
    assert_eq!(o.code, Some(1), "{}", o.stderr);
    assert!(o.stdout.is_empty(), "{}", o.stdout);
    assert!(o.stderr.contains("missing-probe"), "{}", o.stderr);
}

#[test]
fn check_says_to_fix_errors_before_building() {
    let p = scratch_copy(&fixture("bad/valid"));
    let dir = p.path();
    assert_eq!(run_shipshape(dir, &["build"], &[]).code, Some(0));
    edit(
        &dir.join("catalogue.yaml"),
        "port: 8080",
        "port: 8080\n    probe: none",
    );
    let o = run_shipshape(dir, &["check"], &[]);
    assert_eq!(o.code, Some(1));
    let last = o.stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.contains("fix that error first") || last.contains("fix those errors first"),
        "{last}"
    );
    assert!(!last.contains("run `shipshape build`"), "{last}");
}

#[test]
fn a_finding_in_every_environment_is_printed_once_with_the_environments() {
    // The seed plan's port clashes, in three environments.
    let p = scratch_copy(&fixture("seed-plan"));
    let dir = p.path();
    let plan = std::fs::read_to_string(dir.join("environments/plan.yaml")).unwrap();
    for env in ["dev", "staging"] {
        std::fs::write(dir.join(format!("environments/{env}.yaml")), &plan).unwrap();
    }
    let short = run_shipshape(dir, &["check", "--format", "short"], &[]);
    let lines: Vec<&str> = short
        .stdout
        .lines()
        .filter(|l| l.contains("[port-conflict/two-services-one-port]") && l.contains("9015"))
        .collect();
    assert_eq!(lines.len(), 1, "{}", short.stdout);
    let envs = std::fs::read_dir(dir.join("environments")).unwrap().count();
    assert!(envs > 1);
    assert!(
        lines[0].ends_with(']') && lines[0].matches(", ").count() >= envs - 1,
        "{}",
        lines[0]
    );

    let json = run_shipshape(dir, &["check", "--format", "json"], &[]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let conflicts: Vec<&serde_json::Value> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| {
            d["code"] == "port-conflict/two-services-one-port"
                && d["message"].as_str().unwrap().contains("9015")
        })
        .collect();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0]["environments"].as_array().unwrap().len(), envs);

    let sarif = run_shipshape(dir, &["check", "--format", "sarif"], &[]);
    let doc: serde_json::Value = serde_json::from_str(&sarif.stdout).unwrap();
    let results: Vec<&serde_json::Value> = doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["ruleId"] == "port-conflict/two-services-one-port"
                && r["message"]["text"].as_str().unwrap().contains("9015")
        })
        .collect();
    assert_eq!(results.len(), 1, "one result per location");

    let human = run_shipshape(dir, &["check"], &[]);
    assert_eq!(
        human.stderr.matches("both claim port 9015").count(),
        1,
        "{}",
        human.stderr
    );
    let github = run_shipshape(dir, &["check", "--format", "github"], &[]);
    assert_eq!(github.stdout.matches("both claim port 9015").count(), 1);
}

#[test]
fn check_shows_a_change_made_in_several_environments_once() {
    // The repository's own platform, three environments, with one port moved.
    let tmp = tempfile::tempdir().unwrap();
    let root = common::crate_root();
    std::fs::copy(
        root.join("catalogue.yaml"),
        tmp.path().join("catalogue.yaml"),
    )
    .unwrap();
    for dir in ["environments", "rendered", "templates"] {
        if root.join(dir).is_dir() {
            common::copy_dir(&root.join(dir), &tmp.path().join(dir));
        }
    }
    edit(
        &tmp.path().join("catalogue.yaml"),
        "    port: 9018",
        "    port: 9048",
    );
    let o = run_shipshape(tmp.path(), &["check"], &[]);
    assert_eq!(o.code, Some(1), "{}", o.stderr);
    assert!(
        o.stderr
            .contains("prod/api-gateway.yaml: the same change as dev/api-gateway.yaml"),
        "{}",
        o.stderr
    );
    assert_eq!(o.stderr.matches("+++ b/dev/api-gateway.yaml").count(), 1);
    assert!(
        !o.stderr.contains("+++ b/prod/api-gateway.yaml"),
        "{}",
        o.stderr
    );
}
