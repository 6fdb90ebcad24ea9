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

/// A copy of the extra-templates fixture: per-service ServiceMonitors for HTTP services, a
/// per-environment ConfigMap listing the services, a partial both include.
fn fixture_project() -> TempDir {
    common::scratch_copy(&common::fixture("extra-templates"))
}

/// The documents of a rendered file, as text, split at `---`.
fn documents(path: &Path) -> Vec<String> {
    let text = fs::read_to_string(path).unwrap();
    text.split("\n---\n")
        .map(|d| format!("{}\n", d.trim_end()))
        .collect()
}

fn kind_of(doc: &str) -> &str {
    doc.lines()
        .find_map(|l| l.strip_prefix("kind: "))
        .unwrap_or_default()
}

#[test]
fn extra_templates_add_resources_per_service_and_per_environment() {
    let p = fixture_project();
    let o = run(p.path(), "build", &["--format", "short"]);
    assert_eq!(o.code, Some(0), "{}", o.all());
    // The findings (stdout: a machine format), then the closing line (stderr).
    insta::assert_snapshot!("fixture-build", o.all());
    let dir = p.path().join("rendered/dev");
    let mut extra = String::new();
    // Per service, after the service's built-in resources: only HTTP services get one.
    for (service, monitored) in [("postgres", false), ("api", true), ("web", true)] {
        let docs = documents(&dir.join(format!("{service}.yaml")));
        let monitors: Vec<&String> = docs
            .iter()
            .filter(|d| kind_of(d) == "ServiceMonitor")
            .collect();
        assert_eq!(monitors.len(), usize::from(monitored), "{service}");
        if monitored {
            assert_eq!(kind_of(docs.last().unwrap()), "ServiceMonitor", "{service}");
            extra.push_str(&format!("# {service}.yaml\n{}", monitors[0]));
        }
    }
    // Per environment, in namespace.yaml after the namespace's own documents.
    let docs = documents(&dir.join("namespace.yaml"));
    assert_eq!(kind_of(&docs[0]), "Namespace");
    let last = docs.last().unwrap();
    assert_eq!(kind_of(last), "ConfigMap");
    extra.push_str(&format!("# namespace.yaml\n{last}"));
    insta::assert_snapshot!("fixture-extra-documents", extra);
    // The same output is checked clean, and kustomization.yaml lists the same files.
    let o = run(p.path(), "check", &["--format", "short"]);
    assert_eq!(o.code, Some(0), "{}", o.all());
    let kustomization = fs::read_to_string(dir.join("kustomization.yaml")).unwrap();
    for file in ["namespace.yaml", "postgres.yaml", "api.yaml", "web.yaml"] {
        assert!(
            kustomization.contains(&format!("- {file}\n")),
            "{kustomization}"
        );
    }
}

#[test]
fn templates_given_with_the_option_replace_the_project_directory() {
    let p = fixture_project();
    // The project's own templates/ is broken; --templates names another directory.
    fs::write(
        p.path().join("templates/broken.service.yaml.j2"),
        "{% if %}\n",
    )
    .unwrap();
    let other = p.path().join("other");
    fs::create_dir(&other).unwrap();
    fs::write(
        other.join("sa.service.yaml.j2"),
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {{ svc.name ~ \"-reader\" }}\n  namespace: {{ env.namespace }}\nautomountServiceAccountToken: false\n",
    )
    .unwrap();
    let o = run(p.path(), "build", &["--templates", other.to_str().unwrap()]);
    assert_eq!(o.code, Some(0), "{}", o.all());
    let api = fs::read_to_string(p.path().join("rendered/dev/api.yaml")).unwrap();
    assert!(api.contains("name: api-reader"), "{api}");
    assert!(!api.contains("ServiceMonitor"), "{api}");
    let o = run(p.path(), "build", &[]);
    refused_after_build(&o);
}

/// A refused run of a project that was built before: exit 2, the tree left alone.
fn refused_after_build(o: &Outcome) {
    assert_eq!(o.code, Some(2), "{}", o.all());
    assert!(o.stderr.contains("broken.service.yaml.j2"), "{}", o.stderr);
}

/// The human report of a build of the small valid project with one template `name` = `text`.
fn refused_template(name: &str, text: &str) -> String {
    let p = project(&[(name, text)]);
    let o = run(p.path(), "build", &[]);
    refused(&o, p.path());
    o.stderr
}

#[test]
fn a_template_syntax_error_points_at_its_line() {
    let stderr = refused_template(
        "bad.service.yaml.j2",
        "apiVersion: v1\nkind: ConfigMap\n{% if svc.name == %}\n{% endif %}\n",
    );
    insta::assert_snapshot!("bad-syntax", stderr);
}

#[test]
fn a_template_reading_an_undefined_value_points_at_its_line() {
    let stderr = refused_template(
        "bad.service.yaml.j2",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ svc.owner }}\n",
    );
    insta::assert_snapshot!("undefined-value", stderr);
}

#[test]
fn template_output_that_is_not_yaml_points_at_the_template_line() {
    let stderr = refused_template(
        "bad.environment.yaml.j2",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ env.name }}\ndata: [unclosed\n",
    );
    insta::assert_snapshot!("not-yaml", stderr);
}

#[test]
fn a_document_that_is_not_a_resource_is_refused() {
    let stderr = refused_template(
        "bad.service.yaml.j2",
        "apiVersion: v1\nmetadata:\n  name: {{ svc.name }}\ndata: {}\n",
    );
    insta::assert_snapshot!("not-a-resource", stderr);
}

#[test]
fn a_schema_violation_in_an_extra_document_points_at_the_template() {
    let p = fixture_project();
    let path = p.path().join("templates/monitor.service.yaml.j2");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(
        &path,
        text.replace("path: /metrics", "path: /metrics\n    interval: 30 seconds"),
    )
    .unwrap();
    let o = run(p.path(), "build", &["--format", "short"]);
    assert_eq!(o.code, Some(1), "{}", o.all());
    assert!(!p.path().join("rendered").exists());
    // The findings (stdout: a machine format), then the closing line (stderr).
    insta::assert_snapshot!("schema-violation", o.all());
}

/// The names in the first column of docs/templates.md's context table that start with `prefix`
/// (`env.`, `svc.`), without it.
fn documented_fields(prefix: &str) -> Vec<String> {
    let docs = fs::read_to_string(common::crate_root().join("docs/templates.md")).unwrap();
    docs.lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .filter_map(|name| name.strip_prefix(prefix))
        .map(str::to_owned)
        .collect()
}

fn keys(value: &minijinja::Value) -> Vec<String> {
    value
        .try_iter()
        .expect("a map")
        .map(|k| k.to_string())
        .collect()
}

#[test]
fn the_context_table_in_the_docs_is_the_context() {
    use shipshape::catalogue::{Project, ProjectPaths};
    let root = common::fixture("extra-templates");
    let project = Project::load(
        &ProjectPaths::in_root(&root),
        shipshape::yaml::Limits::default(),
    )
    .unwrap();
    let envs = project.resolve(&[]).unwrap();
    let env = &envs[0];
    let facts = shipshape::render::context::ServiceFacts::new(env, &env.services[0]);
    let svc =
        shipshape::render::extra::service_value(&facts, &shipshape::render::extra::Fields::All);
    let env_value = shipshape::render::extra::environment_value(env);
    assert_eq!(documented_fields("env."), keys(&env_value));
    assert_eq!(documented_fields("svc."), keys(&svc));
    assert_eq!(documented_fields("services"), [""]);
}

#[test]
fn the_docs_list_the_kinds_shipshape_validates() {
    let docs = fs::read_to_string(common::crate_root().join("docs/templates.md")).unwrap();
    let start = docs
        .find("| apiVersion | kinds |")
        .expect("the table of validated kinds");
    let mut documented = Vec::new();
    for line in docs[start..].lines().skip(2) {
        let Some(row) = line.strip_prefix("| `") else {
            break;
        };
        let (api_version, kinds) = row.split_once("` | ").unwrap();
        for kind in kinds.trim_end_matches(" |").split(", ") {
            documented.push(format!("{api_version} {kind}"));
        }
    }
    let mut known: Vec<String> = shipshape::manifest::schema::known_kinds()
        .map(|(a, k)| format!("{a} {k}"))
        .collect();
    documented.sort();
    known.sort();
    assert_eq!(documented, known);
}

/// Only the fields of `svc` some template names are built; whatever reaches a field some other
/// way (a partial, a subscript, iterating `svc`) still finds it.
#[test]
fn every_way_of_reading_the_context_finds_its_value() {
    let config = |name: &str, data: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{{{ svc.name ~ \"-{name}\" }}}}\n  namespace: {{{{ env.namespace }}}}\ndata:\n{data}"
        )
    };
    let p = project(&[
        ("a.service.yaml.j2", &config("a", "{% include \"_host.j2\" %}\n")),
        ("_host.j2", "  host: {{ svc.host }}"),
        ("b.service.yaml.j2", &config("b", "  image: {{ svc[\"image\"] }}\n")),
        (
            "c.service.yaml.j2",
            &config("c", "{%- for k, v in svc|items %}{% if k == \"wave\" %}\n  wave: {{ v | string }}{% endif %}{% endfor %}\n"),
        ),
    ]);
    let o = run(p.path(), "build", &[]);
    assert_eq!(o.code, Some(0), "{}", o.all());
    let api = fs::read_to_string(p.path().join("rendered/dev/api.yaml")).unwrap();
    for expected in [
        "host: api.shop.svc.cluster.local",
        "image: ghcr.io/shop/api:1.0.0",
        "wave: \"",
    ] {
        assert!(api.contains(expected), "{expected}:\n{api}");
    }
}
