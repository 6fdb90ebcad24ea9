//! Hostile input through the real binary: inputs built to exhaust memory or time (alias bombs,
//! deep nesting, huge scalars, millions of nodes, huge files), names that try to reach outside the
//! output directory, templates that try to read outside their directory, and literal secrets.
//!
//! Each is refused with exit code 2 (bad input) and a message that names the limit and the
//! environment variable that raises it, or (secrets) reported as a finding with exit code 1.
//! Nothing panics. Peak memory of the large cases is measured by hand: docs/hostile-input.md.

mod common;

use common::Outcome;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

impl Outcome {
    /// Exit code 2, no panic, and every one of `needles` somewhere in the output.
    fn refused(&self, needles: &[&str]) {
        self.no_panic();
        assert_eq!(
            self.code,
            Some(2),
            "expected exit code 2 (bad input)\n{}",
            self.all()
        );
        for n in needles {
            assert!(
                self.all().contains(n),
                "output does not mention {n:?}:\n{}",
                self.all()
            );
        }
    }
}

fn build(root: &Path, extra: &[&str], env: &[(&str, &str)]) -> Outcome {
    let mut args = vec!["build", "--root", "."];
    args.extend_from_slice(extra);
    common::run_shipshape(root, &args, env)
}

fn lint(root: &Path, file: &str, env: &[(&str, &str)]) -> Outcome {
    common::run_shipshape(root, &["lint", file], env)
}

fn valid_dir() -> PathBuf {
    common::fixture("bad/valid")
}

/// A copy of the small valid project (`tests/fixtures/bad/valid`) in a temporary directory.
fn project() -> TempDir {
    common::scratch_copy(&valid_dir())
}

fn valid_catalogue() -> String {
    fs::read_to_string(valid_dir().join("catalogue.yaml")).unwrap()
}

fn assert_nothing_written(root: &Path) {
    assert!(
        !root.join("rendered").exists(),
        "a refused build wrote rendered/"
    );
}

/// The classic "billion laughs": nine levels of nine aliases, 9^9 nodes when expanded.
fn alias_bomb() -> String {
    let mut text = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for pair in names.windows(2) {
        let (prev, next) = (pair[0], pair[1]);
        let items = vec![format!("*{prev}"); 9].join(", ");
        text.push_str(&format!("{next}: &{next} [{items}]\n"));
    }
    text
}

#[test]
fn alias_bomb_in_the_catalogue_is_refused_by_the_node_limit() {
    let p = project();
    fs::write(p.path().join("catalogue.yaml"), alias_bomb()).unwrap();
    let o = build(p.path(), &[], &[]);
    o.refused(&["more than 2000000 YAML nodes", "SHIPSHAPE_MAX_NODES"]);
    assert_nothing_written(p.path());
}

#[test]
fn alias_bomb_given_to_lint_is_refused_by_the_node_limit() {
    let p = project();
    fs::write(
        p.path().join("bomb.yaml"),
        format!("apiVersion: v1\nkind: ConfigMap\n{}", alias_bomb()),
    )
    .unwrap();
    lint(p.path(), "bomb.yaml", &[])
        .refused(&["more than 2000000 YAML nodes", "SHIPSHAPE_MAX_NODES"]);
}

#[test]
fn deep_nesting_is_refused_by_the_depth_limit() {
    let p = project();
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    fs::write(
        p.path().join("catalogue.yaml"),
        format!("platform: {deep}\n"),
    )
    .unwrap();
    build(p.path(), &[], &[]).refused(&["nesting deeper than 64 levels", "SHIPSHAPE_MAX_DEPTH"]);
    assert_nothing_written(p.path());
    fs::write(p.path().join("deep.yaml"), &deep).unwrap();
    lint(p.path(), "deep.yaml", &[])
        .refused(&["nesting deeper than 64 levels", "SHIPSHAPE_MAX_DEPTH"]);
}

#[test]
fn deep_block_nesting_is_refused_by_the_depth_limit() {
    let p = project();
    let mut text = String::new();
    for i in 0..2_000 {
        text.push_str(&" ".repeat(i));
        text.push_str("k:\n");
    }
    fs::write(p.path().join("deep.yaml"), text).unwrap();
    lint(p.path(), "deep.yaml", &[])
        .refused(&["nesting deeper than 64 levels", "SHIPSHAPE_MAX_DEPTH"]);
}

#[test]
fn huge_scalar_is_refused_by_the_scalar_limit() {
    let p = project();
    let huge = "x".repeat(2 * 1024 * 1024);
    let catalogue =
        valid_catalogue().replace("description: Public API", &format!("description: {huge}"));
    fs::write(p.path().join("catalogue.yaml"), catalogue).unwrap();
    build(p.path(), &[], &[]).refused(&[
        "a scalar of 2097152 bytes is above the limit of 1048576 bytes",
        "SHIPSHAPE_MAX_SCALAR_BYTES",
    ]);
    assert_nothing_written(p.path());
}

#[test]
fn millions_of_list_items_are_refused_by_the_node_limit() {
    let p = project();
    let path = p.path().join("items.yaml");
    let mut f = std::io::BufWriter::new(fs::File::create(&path).unwrap());
    for _ in 0..3_000_000 {
        f.write_all(b"- x\n").unwrap();
    }
    f.flush().unwrap();
    drop(f);
    lint(p.path(), "items.yaml", &[])
        .refused(&["more than 2000000 YAML nodes", "SHIPSHAPE_MAX_NODES"]);
}

#[test]
fn a_100_mb_file_is_refused_by_size_before_it_is_read() {
    let p = project();
    // Sparse: 100 MB that take no disk space and would take seconds to read if they were read.
    let big = 100 * 1024 * 1024;
    for path in [
        p.path().join("catalogue.yaml"),
        p.path().join("big.yaml"),
        p.path().join("environments/prod.yaml"),
    ] {
        fs::File::create(&path).unwrap().set_len(big).unwrap();
    }
    let expected = "is 104857600 bytes, above the input limit of 33554432 bytes";
    let o = build(p.path(), &[], &[]);
    o.refused(&[expected, "SHIPSHAPE_MAX_FILE_BYTES"]);
    assert!(o.all().contains("catalogue.yaml") && o.all().contains("prod.yaml"));
    assert_nothing_written(p.path());
    lint(p.path(), "big.yaml", &[]).refused(&[expected, "SHIPSHAPE_MAX_FILE_BYTES"]);
}

#[test]
fn raising_a_limit_lets_large_valid_input_through() {
    let p = project();
    // 1.5 MB of description: above the default scalar limit (1 MiB), far below the file limit.
    let long = "word ".repeat(300_000);
    let catalogue = valid_catalogue().replace(
        "description: Public API",
        &format!("description: \"{}\"", long.trim_end()),
    );
    fs::write(p.path().join("catalogue.yaml"), catalogue).unwrap();
    build(p.path(), &[], &[]).refused(&["SHIPSHAPE_MAX_SCALAR_BYTES"]);
    assert_nothing_written(p.path());
    let o = build(p.path(), &[], &[("SHIPSHAPE_MAX_SCALAR_BYTES", "4000000")]);
    o.no_panic();
    assert_eq!(o.code, Some(0), "{}", o.all());
    assert!(p.path().join("rendered/dev/api.yaml").is_file());

    // The node limit too: a ConfigMap of 30 000 entries against a limit lowered to 10 000,
    // then raised again.
    let mut cm = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: { name: big }\ndata:\n");
    for i in 0..30_000 {
        cm.push_str(&format!("  k{i}: v\n"));
    }
    fs::write(p.path().join("cm.yaml"), cm).unwrap();
    lint(p.path(), "cm.yaml", &[("SHIPSHAPE_MAX_NODES", "10000")])
        .refused(&["more than 10000 YAML nodes", "SHIPSHAPE_MAX_NODES"]);
    let o = lint(p.path(), "cm.yaml", &[("SHIPSHAPE_MAX_NODES", "100000")]);
    o.no_panic();
    assert_eq!(o.code, Some(0), "{}", o.all());
}

// ---------------------------------------------------------------------------------------------
// Names that reach the file system.

/// A catalogue whose service `api` is renamed to `name` (written as a double-quoted YAML key).
fn catalogue_with_service_name(name: &str) -> String {
    let quoted = serde_json::to_string(name).unwrap();
    valid_catalogue()
        .replace("  api:\n", &format!("  {quoted}:\n"))
        .replace("dependsOn: [api]", &format!("dependsOn: [{quoted}]"))
}

#[test]
fn service_names_that_would_leave_the_output_directory_are_refused() {
    for name in [
        "../x",
        "../../etc/cron.d/x",
        "/etc/passwd",
        "a/b",
        "a\\b",
        "..\\x",
        "CON",
        "con.yaml",
        ".",
        "..",
        "",
        "a\0b",
        "x\n",
    ] {
        let p = project();
        fs::write(
            p.path().join("catalogue.yaml"),
            catalogue_with_service_name(name),
        )
        .unwrap();
        // A control character is refused where the YAML is read, before names are checked.
        let expected = if name.contains('\0') {
            "control character U+0000"
        } else {
            "DNS-1123"
        };
        build(p.path(), &[], &[]).refused(&[expected]);
        assert_nothing_written(p.path());
        let outside = p.path().parent().unwrap().join("x.yaml");
        assert!(!outside.exists(), "{name:?} wrote {}", outside.display());
    }
}

/// Valid labels that name a file every environment directory already has: the service's file
/// would replace `namespace.yaml` (losing the Namespace and its default-deny policy) or
/// `kustomization.yaml` (losing the service's manifests), silently.
#[test]
fn service_names_that_collide_with_generated_files_are_refused() {
    for name in ["namespace", "kustomization"] {
        let p = project();
        fs::write(
            p.path().join("catalogue.yaml"),
            catalogue_with_service_name(name),
        )
        .unwrap();
        build(p.path(), &[], &[]).refused(&[&format!("service name `{name}` is reserved")]);
        assert_nothing_written(p.path());
    }
}

#[test]
fn environment_file_names_that_are_not_labels_are_refused() {
    for file in [
        "..yaml",
        "a b.yaml",
        "Prod.yaml",
        "a..b.yaml",
        ".yaml",
        "x\\y.yaml",
    ] {
        let p = project();
        fs::copy(
            valid_dir().join("environments/dev.yaml"),
            p.path().join("environments").join(file),
        )
        .unwrap();
        let o = build(p.path(), &[], &[]);
        o.no_panic();
        if file == ".yaml" {
            // A hidden file without a stem is not an environment file at all: either refused or
            // ignored, but never rendered anywhere.
            assert!(matches!(o.code, Some(0) | Some(2)), "{}", o.all());
            let rendered: Vec<_> = fs::read_dir(p.path().join("rendered"))
                .map(|d| d.map(|e| e.unwrap().file_name()).collect())
                .unwrap_or_default();
            assert!(
                rendered.iter().all(|n| n == "dev" || n == "argocd"),
                "{rendered:?}"
            );
            continue;
        }
        o.refused(&["is not a DNS-1123 label"]);
        assert_nothing_written(p.path());
    }
}

#[test]
fn the_reserved_environment_name_argocd_is_refused() {
    let p = project();
    fs::copy(
        valid_dir().join("environments/dev.yaml"),
        p.path().join("environments/argocd.yaml"),
    )
    .unwrap();
    build(p.path(), &[], &[]).refused(&["reserved"]);
    assert_nothing_written(p.path());
}

// ---------------------------------------------------------------------------------------------
// Extra templates cannot read outside their directory.

fn templates_dir(p: &TempDir, name: &str, text: &str) -> PathBuf {
    let dir = p.path().join("templates");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(name), text).unwrap();
    dir
}

/// What a custom template makes of the catalogue is read back within the run's limits: a raised
/// limit lets its output through, and going over one says which variable raises it.
#[test]
fn a_templates_output_is_read_within_the_limits_of_the_run() {
    let p = project();
    // A block scalar of 2.4 MB: the fast reader hands block scalars to the full parser, which
    // applies the limits.
    templates_dir(
        &p,
        "extra.service.yaml.j2",
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {{ svc.name ~ \"-reader\" }}\n  namespace: {{ env.namespace }}\nsecrets:\n  - name: |\n      {% for i in range(300) %}{% for j in range(1000) %}abcdefgh{% endfor %}{% endfor %}\n",
    );
    let args = ["--templates", "templates"];
    build(p.path(), &args, &[]).refused(&[
        "extra.service.yaml.j2",
        "above the limit of 1048576 bytes",
        "SHIPSHAPE_MAX_SCALAR_BYTES",
    ]);
    assert_nothing_written(p.path());
    let o = build(
        p.path(),
        &args,
        &[("SHIPSHAPE_MAX_SCALAR_BYTES", "4000000")],
    );
    o.no_panic();
    assert_eq!(o.code, Some(0), "{}", o.all());
    let text = fs::read_to_string(p.path().join("rendered/dev/api.yaml")).unwrap();
    assert!(text.contains(&"abcdefgh".repeat(1000)));
}

#[test]
fn template_includes_cannot_reach_other_files() {
    for target in [
        "../../etc/passwd",
        "/etc/passwd",
        "../catalogue.yaml",
        "environments/dev.yaml",
    ] {
        let p = project();
        templates_dir(
            &p,
            "extra.service.yaml.j2",
            &format!("{{% include \"{target}\" %}}\n"),
        );
        let o = build(p.path(), &["--templates", "templates"], &[]);
        o.refused(&["extra.service.yaml.j2", "template", target]);
        assert!(!o.all().contains("root:x:0:0"), "{}", o.all());
        assert_nothing_written(p.path());
    }
    // `import` and `extends` resolve the same way.
    let p = project();
    templates_dir(
        &p,
        "extra.service.yaml.j2",
        "{% extends \"/etc/passwd\" %}\n",
    );
    build(p.path(), &["--templates", "templates"], &[])
        .refused(&["extra.service.yaml.j2", "/etc/passwd"]);
}

// ---------------------------------------------------------------------------------------------
// Extra templates run within a time budget (minijinja fuel) and an output budget.

/// A build with the extra template `extra.service.yaml.j2` = `text`, timed.
fn build_with_template(
    text: &str,
    env: &[(&str, &str)],
) -> (TempDir, Outcome, std::time::Duration) {
    let p = project();
    templates_dir(&p, "extra.service.yaml.j2", text);
    let started = std::time::Instant::now();
    let o = build(p.path(), &["--templates", "templates"], env);
    (p, o, started.elapsed())
}

/// Well under the time a template without a budget would take (hours), and well over what the
/// default budget takes in a debug build on a loaded machine (about 0.3 s a render).
const ENDS_WITHIN: std::time::Duration = std::time::Duration::from_secs(20);

#[test]
fn an_endless_loop_in_a_template_ends_at_its_time_budget() {
    // 10^15 iterations: hours without a budget.
    let (p, o, took) = build_with_template(
        "apiVersion: v1\nkind: ServiceAccount\n{% for i in range(100000) %}{% for j in range(100000) %}\n{% for k in range(100000) %}{% endfor %}{% endfor %}{% endfor %}\n",
        &[],
    );
    o.refused(&[
        "template extra.service.yaml.j2 (line 4) did not finish within its budget",
        "templates/extra.service.yaml.j2:4:1",
        "SHIPSHAPE_TEMPLATE_FUEL",
    ]);
    assert!(took < ENDS_WITHIN, "took {took:?}");
    assert_nothing_written(p.path());
}

#[test]
fn a_recursive_macro_in_a_template_ends_at_its_time_budget() {
    // Each call makes two: 2^25 calls, within minijinja's recursion limit.
    let (p, o, took) = build_with_template(
        "{% macro grow(n) %}{% if n < 25 %}{{ grow(n + 1) }}{{ grow(n + 1) }}{% endif %}{% endmacro %}\n{{ grow(0) }}\n",
        &[],
    );
    o.refused(&[
        "did not finish within its budget",
        "templates/extra.service.yaml.j2:1:1",
        "SHIPSHAPE_TEMPLATE_FUEL",
    ]);
    assert!(took < ENDS_WITHIN, "took {took:?}");
    assert_nothing_written(p.path());
}

/// 10^10 copies of 100 bytes, written as template text and as an expression: a terabyte.
const OUTPUT_BOMBS: &[&str] = &[
    "apiVersion: v1\n{% for i in range(100000) %}{% for j in range(100000) %}0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789{% endfor %}{% endfor %}\n",
    "apiVersion: v1\n{% for i in range(100000) %}{% for j in range(100000) %}{{ \"0123456789\" * 10 }}{% endfor %}{% endfor %}\n",
];

#[test]
fn an_output_bomb_in_a_template_ends_at_its_output_budget() {
    for bomb in OUTPUT_BOMBS {
        let (p, o, took) = build_with_template(bomb, &[]);
        o.refused(&[
            "template extra.service.yaml.j2 (line 2) wrote more than 16777216 bytes of output",
            "templates/extra.service.yaml.j2:2:1",
            "SHIPSHAPE_MAX_TEMPLATE_OUTPUT_BYTES",
        ]);
        assert!(took < ENDS_WITHIN, "took {took:?}");
        assert_nothing_written(p.path());
    }
}

/// The output budget holds memory down: the output past it is dropped as it is written. Peak
/// memory is the child's own, from `wait4`, so tests running beside it do not count.
#[cfg(target_os = "linux")]
#[test]
fn an_output_bomb_in_a_template_runs_in_bounded_memory() {
    for bomb in OUTPUT_BOMBS {
        let p = project();
        templates_dir(&p, "extra.service.yaml.j2", bomb);
        let m = common::run_measured(
            p.path(),
            &["build", "--root", ".", "--templates", "templates"],
            &[],
            std::time::Duration::from_secs(120),
        );
        let stderr = m.outcome.stderr;
        assert_eq!(m.outcome.code, Some(2), "{stderr}");
        assert!(stderr.contains("wrote more than"), "{stderr}");
        // ru_maxrss is in KiB on Linux. The build itself needs about 50 MiB; without the budget
        // the output alone would need a terabyte.
        let peak_mib = m.peak_rss_mib;
        assert!(peak_mib < 256.0, "peak resident memory {peak_mib} MiB");
    }
}

#[test]
fn the_template_budgets_are_set_with_their_variables() {
    // A small extra template, within budgets it fits.
    let text = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {{ svc.name ~ \"-reader\" }}\n  namespace: {{ env.namespace }}\n  labels:\n{%- for k, v in svc.labels|items %}\n    {{ k }}: {{ v }}\n{%- endfor %}\nautomountServiceAccountToken: false\n";
    let (_p, o, _) = build_with_template(text, &[]);
    o.no_panic();
    assert_eq!(o.code, Some(0), "{}", o.all());
    let (_p, o, _) = build_with_template(text, &[("SHIPSHAPE_TEMPLATE_FUEL", "20")]);
    o.refused(&["budget of 20 steps", "SHIPSHAPE_TEMPLATE_FUEL (now 20)"]);
    let (_p, o, _) = build_with_template(text, &[("SHIPSHAPE_MAX_TEMPLATE_OUTPUT_BYTES", "50")]);
    o.refused(&[
        "wrote more than 50 bytes",
        "SHIPSHAPE_MAX_TEMPLATE_OUTPUT_BYTES (now 50)",
    ]);
}

#[cfg(unix)]
#[test]
fn a_template_symlink_pointing_outside_is_refused() {
    let p = project();
    let outside = p.path().join("outside.yaml.j2");
    fs::write(&outside, "apiVersion: v1\nkind: ServiceAccount\n").unwrap();
    let dir = p.path().join("templates");
    fs::create_dir(&dir).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.join("passwd.service.yaml.j2")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("outside.environment.yaml.j2")).unwrap();
    let o = build(p.path(), &["--templates", "templates"], &[]);
    o.refused(&[
        "passwd.service.yaml.j2",
        "outside.environment.yaml.j2",
        "not a regular file",
    ]);
    assert!(!o.all().contains("root:x:0:0"), "{}", o.all());
    assert_nothing_written(p.path());
}

#[test]
fn a_templates_directory_that_is_a_file_is_refused() {
    let p = project();
    build(p.path(), &["--templates", "/etc/passwd"], &[]).refused(&["template directory"]);
}

// ---------------------------------------------------------------------------------------------
// Secrets never reach the rendered tree silently.

#[test]
fn literal_secrets_in_the_catalogue_are_findings_pointing_at_the_catalogue() {
    let p = project();
    let catalogue = valid_catalogue().replace(
        "env: { LOG_LEVEL: info }",
        "env: { LOG_LEVEL: info, DB_PASSWORD: hunter2, API_KEY: abc, KEYCLOAK_URL: https://sso }",
    );
    fs::write(p.path().join("catalogue.yaml"), &catalogue).unwrap();
    let o = build(p.path(), &["--format", "short"], &[]);
    o.no_panic();
    assert_eq!(o.code, Some(1), "{}", o.all());
    let line = catalogue
        .lines()
        .position(|l| l.contains("DB_PASSWORD"))
        .unwrap()
        + 1;
    let findings: Vec<&str> = o
        .stdout
        .lines()
        .filter(|l| l.contains("[literal-secret/by-name]"))
        .collect();
    assert_eq!(findings.len(), 2, "{}", o.all());
    for f in &findings {
        assert!(f.starts_with(&format!("catalogue.yaml:{line}:")), "{f}");
    }
    assert!(findings.iter().any(|f| f.contains("DB_PASSWORD")));
    assert!(findings.iter().any(|f| f.contains("API_KEY")));
    assert!(!o.all().contains("KEYCLOAK_URL"), "{}", o.all());
    assert_nothing_written(p.path());
}

/// Every `kind:` of every rendered document, from a build of `root`.
fn rendered_kinds(root: &Path) -> Vec<String> {
    let mut kinds = Vec::new();
    for entry in walkdir::WalkDir::new(root.join("rendered")) {
        let entry = entry.unwrap();
        if !entry.file_type().is_file() {
            continue;
        }
        let text = fs::read_to_string(entry.path()).unwrap();
        let docs =
            shipshape::yaml::parse_values(&text, &shipshape::yaml::Limits::default()).unwrap();
        for d in docs {
            if let Some(k) = d.get("kind").and_then(|k| k.as_str()) {
                kinds.push(k.to_owned());
            }
        }
    }
    kinds
}

#[test]
fn built_in_templates_render_no_secret() {
    let p = project();
    // Every optional feature on: Istio, Argo CD, HPA, storage, canary.
    let env = "imageTag: \"1.0.0\"\ncluster:\n  capacity: { cpu: \"4\", memory: 8Gi }\n  maxUtilisation: 80%\n\
               istio: { enabled: true, mtls: STRICT }\nargocd:\n  project: shop\n  repoURL: https://git.example.com/shop.git\n  \
               targetRevision: main\n  destination: { server: https://kubernetes.default.svc }\n";
    fs::write(p.path().join("environments/dev.yaml"), env).unwrap();
    let catalogue = valid_catalogue().replace(
        "env: { LOG_LEVEL: info }",
        "env: { LOG_LEVEL: info }\n    mesh: { canary: { v2: 10 } }",
    );
    fs::write(p.path().join("catalogue.yaml"), catalogue).unwrap();
    let o = build(p.path(), &[], &[]);
    assert_eq!(o.code, Some(0), "{}", o.all());
    let kinds = rendered_kinds(p.path());
    assert!(kinds.iter().any(|k| k == "VirtualService"), "{kinds:?}");
    assert!(kinds.iter().any(|k| k == "Application"), "{kinds:?}");
    assert!(!kinds.iter().any(|k| k == "Secret"), "{kinds:?}");
}

#[test]
fn a_custom_template_that_renders_a_secret_with_data_is_an_error() {
    let p = project();
    templates_dir(
        &p,
        "secret.service.yaml.j2",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ svc.name ~ \"-db\" }}\n  namespace: {{ env.namespace }}\n\
         stringData:\n  password: hunter2\n",
    );
    let o = build(
        p.path(),
        &["--templates", "templates", "--format", "short"],
        &[],
    );
    o.no_panic();
    assert_eq!(o.code, Some(1), "{}", o.all());
    assert!(
        o.stdout.contains("[literal-secret/secret-data]") && o.stdout.contains("stringData"),
        "{}",
        o.stderr
    );
    assert_nothing_written(p.path());
}
