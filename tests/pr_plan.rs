//! The pull-request plan (`shipshape diff --format markdown`) on a 100-service synthetic
//! platform: the most common change (an image tag bump in prod) fits in one GitHub comment with
//! the summary first, and a change made in every environment is shown once.

mod common;

use common::run_shipshape;
use std::path::Path;

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} has no `{from}`", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// A built 100-service platform in a temporary directory.
fn platform() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let generated = run_shipshape(
        dir.path(),
        &["generate", "--services", "100", "--out", out],
        &[],
    );
    assert_eq!(generated.code, Some(0), "{}", generated.all());
    let built = run_shipshape(dir.path(), &["build"], &[]);
    assert_eq!(built.code, Some(0), "{}", built.all());
    dir
}

#[test]
fn an_image_tag_bump_in_prod_fits_in_a_comment_with_the_summary_first() {
    let p = platform();
    let dir = p.path();
    edit(
        &dir.join("environments/prod.yaml"),
        "imageTag: \"1.0.0\"",
        "imageTag: \"1.1.0\"",
    );
    let diff = run_shipshape(dir, &["diff", "--format", "markdown"], &[]);
    assert_eq!(diff.code, Some(0), "{}", diff.all());
    let md = diff.stdout;
    assert!(
        md.len() < 60_000,
        "{} bytes, over the default budget",
        md.len()
    );

    // The summary comes first: counts per environment, then waves, requests and calls, and
    // only then the line diffs.
    let at = |needle: &str| {
        md.find(needle)
            .unwrap_or_else(|| panic!("no `{needle}` in:\n{}", &md[..md.len().min(4000)]))
    };
    assert!(md.starts_with("### shipshape: rendered changes\n\n| Environment |"));
    let order = [
        at("| `prod` | 0 | "),
        at("**Sync waves**"),
        at("**Requests per phase**"),
        at("**Who may call whom**"),
        at("#### Line diffs"),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    // The whole change in one line, however many diffs are left out.
    assert!(
        md.contains(
            "- `app.kubernetes.io/version: \"1.0.0\"` → `app.kubernetes.io/version: \"1.1.0\"`: "
        ),
        "{}",
        &md[..md.len().min(3000)]
    );
    assert!(at("**Lines replaced**") < at("**Sync waves**"));
    // Only prod changed; an image tag moves no wave, no request and no policy.
    assert!(md.contains("| `dev` | 0 | 0 | 0 | 0 |"), "{md}");
    assert!(md.contains("**Sync waves**: no workload changes wave."));
    assert!(md.contains("**Requests per phase**: unchanged."));
    assert!(md.contains("**Who may call whom** (NetworkPolicy, Istio): unchanged."));
    // What did not fit is said, not silently dropped.
    assert!(
        md.contains(" diffs left out to keep this comment under 60000 bytes"),
        "{}",
        &md[md.len().saturating_sub(2000)..]
    );
    // Long diffs are folded.
    assert!(md.contains("<details><summary>"), "{md}");

    // A smaller budget is kept too.
    let small = run_shipshape(
        dir,
        &["diff", "--format", "markdown", "--max-bytes", "8000"],
        &[],
    );
    assert!(small.stdout.len() <= 8000, "{}", small.stdout.len());
    assert!(small.stdout.contains("left out"), "{}", small.stdout);
}

#[test]
fn a_change_made_in_every_environment_is_shown_once_with_its_consequences() {
    let p = platform();
    let dir = p.path();
    let catalogue = dir.join("catalogue.yaml");
    let text = std::fs::read_to_string(&catalogue).unwrap();
    // The first service whose replica range has room: one more replica at the minimum, the
    // same change in dev, prod and staging.
    let (line, raised) = text
        .lines()
        .find_map(|l| {
            let (_, range) = l.split_once("replicas: { min: ")?;
            let (min, rest) = range.split_once(", max: ")?;
            let (max, _) = rest.split_once(',')?;
            let (min, max): (u32, u32) = (min.parse().ok()?, max.parse().ok()?);
            (min < max).then(|| {
                let from = format!("min: {min}, max: {max}");
                let to = format!("min: {}, max: {max}", min + 1);
                (l.to_owned(), l.replacen(&from, &to, 1))
            })
        })
        .expect("a service whose replica minimum can grow");
    edit(&catalogue, &line, &raised);
    let diff = run_shipshape(dir, &["diff", "--format", "markdown"], &[]);
    assert_eq!(diff.code, Some(0), "{}", diff.all());
    let md = diff.stdout;
    assert!(
        md.contains(
            "in <code>dev</code>, <code>prod</code>, <code>staging</code> \
             (each in its namespace; shown: <code>dev</code>):"
        ),
        "one block for the three environments:\n{md}"
    );
    // More replicas start: the requests of the phase and those after it grow.
    assert!(md.contains("**Requests per phase** (cumulative"), "{md}");
    assert!(md.contains(" → "), "{md}");
}
