//! Extra templates (docs/templates.md): files of the project's `templates/` directory (or of
//! `--templates DIR`) that add resources per service or per environment, and the names refused
//! there. Messages are pinned by insta snapshots, with the temporary root shown as `<root>`.

mod common;

use common::Outcome;
use std::fs;
use std::path::Path;
use tempfile::TempDir;

/// A copy of the small valid project, with `templates` (name, text) in its `templates/`.
fn project(templates: &[(&str, &str)]) -> TempDir {
    let p = common::scratch_copy(&common::fixture("bad/valid"));
    if !templates.is_empty() {
        fs::create_dir(p.path().join("templates")).unwrap();
    }
    for (name, text) in templates {
        fs::write(p.path().join("templates").join(name), text).unwrap();
    }
    p
}

/// `shipshape <command> --root <root> <extra>`, run from the crate root.
fn run(root: &Path, command: &str, extra: &[&str]) -> Outcome {
    let root_arg = root.to_str().expect("the temporary path is UTF-8");
    let args = [&[command, "--root", root_arg], extra].concat();
    let o = common::run_shipshape(common::crate_root(), &args, &[]).normalised(root, "<root>");
    o.no_panic();
    o
}

fn refused(o: &Outcome, root: &Path) {
    assert_eq!(o.code, Some(2), "{}", o.all());
    assert!(
        o.stderr.trim_end().ends_with("nothing was written"),
        "{}",
        o.stderr
    );
    assert!(!root.join("rendered").exists(), "a refused build wrote");
}

#[test]
fn a_retired_template_name_is_refused_with_what_to_do_instead() {
    let p = project(&[(
        "workload.yaml.j2",
        "apiVersion: apps/v1\nkind: Deployment\n",
    )]);
    let o = run(p.path(), "build", &[]);
    refused(&o, p.path());
    insta::assert_snapshot!("retired-name", o.stderr);
}

#[test]
fn a_template_name_without_a_scope_is_refused() {
    let p = project(&[("monitor.yaml.j2", "kind: ServiceMonitor\n")]);
    let o = run(p.path(), "build", &[]);
    refused(&o, p.path());
    insta::assert_snapshot!("no-scope", o.stderr);
}

#[test]
fn files_that_are_not_templates_are_left_alone() {
    let p = project(&[("README.md", "# Our templates\n"), ("notes.txt", "x")]);
    let o = run(p.path(), "build", &[]);
    assert_eq!(o.code, Some(0), "{}", o.all());
}
