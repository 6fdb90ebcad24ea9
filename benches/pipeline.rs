//! Benchmark of every pipeline stage and of whole `build` and `check` runs over synthetic
//! platforms. Run with `cargo bench --bench pipeline -- [N...]` (default: 100 1000 10000).
//!
//! Stages are timed in-process (median of several runs for small N); whole runs execute the
//! release binary as a user would, and report wall time and peak resident memory.

use shipshape::catalogue::{Project, ProjectPaths};
use shipshape::lint::{self, LintContext};
use shipshape::manifest::schema;
use shipshape::render::{self, Templates};
use shipshape::yaml::Limits;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time<R>(runs: usize, mut f: impl FnMut() -> R) -> (Duration, R) {
    let mut samples = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let r = f();
        samples.push(t.elapsed());
        last = Some(r);
    }
    (median(samples), last.expect("at least one run"))
}

/// Runs the release binary; returns wall time, peak RSS in MiB, and the exit code.
fn run_binary(dir: &Path, args: &[&str]) -> (Duration, f64, i32) {
    let t = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_shipshape"))
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn shipshape");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: wait4 on our own child with valid out-pointers; it reaps the child, so the Child
    // handle is forgotten rather than waited on again.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    std::mem::forget(child);
    let wall = t.elapsed();
    assert_eq!(rc, pid, "wait4 failed");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (wall, usage.ru_maxrss as f64 / 1024.0, code)
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

struct WholeRuns {
    check: Duration,
    check_rss: f64,
    fresh: Duration,
    fresh_rss: f64,
    one_change: Duration,
    no_change: Duration,
}

fn runs_for(n: usize) -> usize {
    if n <= 1000 {
        5
    } else {
        1
    }
}

/// Gives one service a new image tag (or takes it back): the smallest edit a pre-commit hook
/// sees, which changes one file per environment.
fn toggle_one_service(dir: &Path) {
    let path = dir.join("catalogue.yaml");
    let text = std::fs::read_to_string(&path).expect("read catalogue");
    let (from, to) = ("    image: svc-00000\n", "    image: svc-00000:v2\n");
    let edited = if text.contains(from) {
        text.replacen(from, to, 1)
    } else {
        text.replacen(to, from, 1)
    };
    assert_ne!(edited, text, "the synthetic catalogue has svc-00000");
    std::fs::write(&path, edited).expect("write catalogue");
}

/// Whole runs of the release binary. Measured before this process holds any platform in memory:
/// a child's peak RSS on Linux starts from its parent's at fork time.
///
/// Each run builds into a directory of its own and nothing is deleted until the end: on ext4,
/// creating files right after thousands were deleted is several times slower (the inode
/// allocator skips recently freed inodes), which would measure the benchmark, not shipshape.
fn whole_runs(dir: &Path, n: usize) -> WholeRuns {
    let (mut check, mut fresh, mut one_change, mut no_change) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut check_rss: f64 = 0.0;
    let mut fresh_rss: f64 = 0.0;
    for i in 0..runs_for(n) {
        let out = format!("out-{i}");
        let run = |args: &[&str]| {
            let mut all = args.to_vec();
            all.extend(["--out", &out]);
            let (t, rss, code) = run_binary(dir, &all);
            assert_eq!(code, 0, "shipshape {args:?} failed");
            (t, rss)
        };
        let (t, rss) = run(&["build"]);
        fresh.push(t);
        fresh_rss = fresh_rss.max(rss);
        let (t, rss) = run(&["check"]);
        check.push(t);
        check_rss = check_rss.max(rss);
        no_change.push(run(&["build"]).0);
        toggle_one_service(dir);
        one_change.push(run(&["build"]).0);
        toggle_one_service(dir);
    }
    WholeRuns {
        check: median(check),
        check_rss,
        fresh: median(fresh),
        fresh_rss,
        one_change: median(one_change),
        no_change: median(no_change),
    }
}

fn bench(n: usize, dir: &Path, whole: &WholeRuns) {
    let runs = runs_for(n);
    let paths = ProjectPaths::in_root(dir);

    let (load, project) = time(runs, || {
        Project::load(&paths, Limits::default()).expect("load")
    });
    let (resolve, resolved) = time(runs, || project.resolve(&[]).expect("resolve"));
    let templates = Templates::load(None).expect("templates");
    let (render_t, rendered) = time(runs, || {
        resolved
            .iter()
            .map(|env| render::render_environment(&templates, env).expect("render"))
            .collect::<Vec<_>>()
    });
    let manifests: usize = rendered.iter().map(|r| r.manifests.len()).sum();
    let all: Vec<&shipshape::manifest::Manifest> =
        rendered.iter().flat_map(|r| r.manifests.iter()).collect();
    // On both cores, as the pipeline validates.
    let (schema_t, violations) = time(runs, || {
        shipshape::parallel::map(&all, 64, |m| {
            schema::validate(&m.value).map_or(0, |v| v.len())
        })
        .into_iter()
        .sum::<usize>()
    });
    assert_eq!(violations, 0, "synthetic output must validate");
    let (lint_t, findings) = time(runs, || {
        resolved
            .iter()
            .zip(&rendered)
            .map(|(env, r)| {
                lint::run(
                    &LintContext::for_rendered(env, &r.manifests),
                    &env.rule_levels,
                )
                .len()
            })
            .sum::<usize>()
    });
    println!(
        "| {n} | {manifests} | {} | {} | {} | {} | {} | {} ({check_rss:.0} MiB) | {} ({fresh_rss:.0} MiB) | {} | {} | {findings} |",
        ms(load),
        ms(resolve),
        ms(render_t),
        ms(schema_t),
        ms(lint_t),
        ms(whole.check),
        ms(whole.fresh),
        ms(whole.one_change),
        ms(whole.no_change),
        check_rss = whole.check_rss,
        fresh_rss = whole.fresh_rss,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; anything numeric is a platform size.
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![100, 1000, 10_000];
    }
    println!(
        "Times in ms (median of 5 runs; 1 run at N > 1000). Services N x 3 environments, Istio on."
    );
    println!();
    println!("| N | manifests | load+validate | resolve | render (templates, parse, emit) | schema | lint | check (peak RSS) | build, empty dir (peak RSS) | build, one service changed | build, nothing changed | findings |");
    println!(
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    let dirs: Vec<tempfile::TempDir> = sizes
        .iter()
        .map(|&n| {
            let dir = tempfile::tempdir().expect("tempdir");
            let platform = shipshape::synth::generate(n, 1);
            shipshape::synth::write_project(dir.path(), &platform).expect("write project");
            dir
        })
        .collect();
    let whole: Vec<WholeRuns> = sizes
        .iter()
        .zip(&dirs)
        .map(|(&n, d)| whole_runs(d.path(), n))
        .collect();
    for ((&n, dir), whole) in sizes.iter().zip(&dirs).zip(&whole) {
        bench(n, dir.path(), whole);
    }
}
