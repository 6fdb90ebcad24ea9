//! The benchmark itself (see `main.rs`): Linux only, where its figures are measured.

use crate::common;
use shipshape::catalogue::{Project, ProjectPaths};
use shipshape::lint::{self, LintContext};
use shipshape::manifest::schema;
use shipshape::render::{self, Templates};
use shipshape::yaml::Limits;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

// The binary's allocator and memory settings (see src/main.rs), so in-process stages cost
// what they cost in a run: with the system allocator and huge pages the render stage at
// N = 10,000 took several times longer here than inside `shipshape check`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn no_huge_pages() {
    // SAFETY: prctl with integer arguments only; failure leaves huge pages on.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// A fixed CPU workload (integer hashing, no memory traffic), best of 5. The shared host's
/// speed drifts by half from one hour to the next; this figure, printed with the tables, says
/// how fast the host was during the run, so two runs can be compared.
fn reference_loop() -> Duration {
    (0..5)
        .map(|_| {
            let t = Instant::now();
            let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
            for i in 0..50_000_000u64 {
                x = (x ^ i).wrapping_mul(0xBF58_476D_1CE4_E5B9).rotate_left(17);
            }
            std::hint::black_box(x);
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// A fixed memory workload: 4 million dependent reads at random places in 128 MiB, far larger
/// than any cache, best of 3. The integer loop misses slow memory (other tenants streaming
/// through the shared caches), and a run of shipshape is mostly walking and allocating small
/// nodes, so the two together say more about the host than either.
fn reference_memory() -> Duration {
    // In a child process of its own: a child's peak RSS on Linux starts from its parent's peak
    // at fork, so 128 MiB walked here would show in every `shipshape` run measured afterwards.
    let out = Command::new(std::env::current_exe().expect("the benchmark's own path"))
        .arg(MEMORY_WALK_ARG)
        .output()
        .expect("run the memory walk");
    let micros: u64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("the memory walk prints microseconds");
    Duration::from_micros(micros)
}

/// Given this argument, the benchmark only times [`memory_walk`] and prints it.
const MEMORY_WALK_ARG: &str = "--memory-walk";

fn memory_walk() -> Duration {
    const SLOTS: usize = 32 << 20;
    // One cycle through every slot (Sattolo's shuffle with a fixed xorshift), so each read
    // depends on the one before and the prefetcher cannot guess the next.
    let mut next: Vec<u32> = (0..SLOTS as u32).collect();
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    for i in (1..SLOTS).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let j = (state % i as u64) as usize;
        next.swap(i, j);
    }
    (0..3)
        .map(|_| {
            let t = Instant::now();
            let mut at = 0u32;
            for _ in 0..4_000_000 {
                at = next[at as usize];
            }
            std::hint::black_box(at);
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// Both reference workloads, as printed beside the tables.
fn host_speed() -> String {
    format!(
        "integer loop {} ms, memory walk {} ms",
        ms(reference_loop()),
        ms(reference_memory())
    )
}

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

/// Median and best of repeated whole runs. This virtual machine shares its cores: the same run
/// varies by a quarter from one minute to the next, and the best shows what the code costs
/// when nothing else runs.
struct Spread {
    median: Duration,
    best: Duration,
}

impl Spread {
    fn of(samples: Vec<Duration>) -> Spread {
        let best = samples.iter().copied().min().unwrap_or_default();
        Spread {
            median: median(samples),
            best,
        }
    }
}

impl std::fmt::Display for Spread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.median == self.best {
            write!(f, "{}", ms(self.median))
        } else {
            write!(f, "{} (best {})", ms(self.median), ms(self.best))
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

struct WholeRuns {
    check: Spread,
    check_rss: f64,
    fresh: Spread,
    fresh_rss: f64,
    one_change: Spread,
    no_change: Spread,
    /// Writing the same files with a bare loop of `std::fs::write`, right after the fresh build:
    /// what the file system alone costs at that moment.
    floor: Spread,
}

/// Whole runs per size: an odd number, so the median is a run that happened (of two, the
/// "median" was the slower one, and one stall of the shared host decided the figure).
fn runs_for(n: usize) -> usize {
    if n <= 1000 {
        7
    } else {
        3
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

/// Times writing the files under `rendered` again into `copy` with nothing but
/// `std::fs::write`, one after the other: the file system's share of a fresh build.
fn file_system_floor(rendered: &Path, copy: &Path) -> Duration {
    let files = common::tree(rendered);
    let t = Instant::now();
    for (rel, bytes) in &files {
        let target = copy.join(rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).expect("create directory");
        }
        std::fs::write(&target, bytes).expect("write file");
    }
    t.elapsed()
}

/// Whole runs of the release binary. Measured before this process holds any platform in memory:
/// a child's peak RSS on Linux starts from its parent's at fork time.
///
/// Each run builds into a directory of its own and nothing is deleted until the end: on ext4,
/// creating files right after thousands were deleted is several times slower (the inode
/// allocator skips recently freed inodes), which would measure the benchmark, not shipshape.
fn whole_runs(dir: &Path, n: usize) -> WholeRuns {
    let (mut check, mut fresh, mut one_change, mut no_change, mut floor) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
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
        floor.push(file_system_floor(
            &dir.join(&out),
            &dir.join(format!("floor-{i}")),
        ));
        // Flush what the two writes above left dirty, so writeback does not land in the runs
        // that follow.
        // SAFETY: sync(2) takes no arguments and cannot fail.
        unsafe { libc::sync() };
        // Not counted: on this virtual machine the first run after the fresh build and the
        // floor is 1.5 to 2 times slower whatever it runs (a `check` there took 4.4-5.7 s at
        // N = 10,000 against 3.3 s, a `build` with nothing to change 7.0 s against 3.0 s), while
        // the kernel and the host settle the memory and files just written.
        run(&["check"]);
        let (t, rss) = run(&["check"]);
        check.push(t);
        check_rss = check_rss.max(rss);
        no_change.push(run(&["build"]).0);
        toggle_one_service(dir);
        one_change.push(run(&["build"]).0);
        toggle_one_service(dir);
    }
    WholeRuns {
        check: Spread::of(check),
        check_rss,
        fresh: Spread::of(fresh),
        fresh_rss,
        one_change: Spread::of(one_change),
        no_change: Spread::of(no_change),
        floor: Spread::of(floor),
    }
}

/// Prints the row of the main table; returns the row of the render split table.
fn bench(n: usize, dir: &Path, whole: &WholeRuns) -> String {
    let runs = runs_for(n);
    let paths = ProjectPaths::in_root(dir);

    let (load, project) = time(runs, || {
        Project::load(&paths, Limits::default()).expect("load")
    });
    let (resolve, resolved) = time(runs, || project.resolve(&[]).expect("resolve"));
    // The project's extra templates, as `build` and `check` read them (the `extended` case).
    let extra = dir.join("templates");
    let templates = Templates::load(Some(&extra).filter(|d| d.is_dir()).map(|d| d.as_path()))
        .expect("templates");
    // Environment by environment, as the pipeline runs: render, validate, lint, let go. Holding
    // all three environments' manifests at once would time the first touch of gigabytes of fresh
    // memory at N = 10,000, not the stages.
    shipshape::profile::take_counters();
    let mut samples: [Vec<Duration>; 3] = Default::default();
    let (mut manifests, mut findings, mut violations) = (0, 0, 0);
    for _ in 0..runs {
        let mut sums = [Duration::ZERO; 3];
        (manifests, findings, violations) = (0, 0, 0);
        for env in &resolved {
            let t = Instant::now();
            let mut rendered = render::render_environment(&templates, env).expect("render");
            // The text, which `check` and `build` write file by file as they compare.
            rendered.write_texts();
            sums[0] += t.elapsed();
            let t = Instant::now();
            // On both cores, as the pipeline validates.
            violations += shipshape::parallel::map(&rendered.manifests, 64, |m| {
                schema::validate(&m.value).map_or(0, |v| v.len())
            })
            .into_iter()
            .sum::<usize>();
            sums[1] += t.elapsed();
            let t = Instant::now();
            findings += lint::run(
                &LintContext::for_rendered(env, &rendered.manifests),
                &env.settings.rule_levels,
            )
            .len();
            sums[2] += t.elapsed();
            manifests += rendered.manifests.len();
        }
        for (all, sum) in samples.iter_mut().zip(sums) {
            all.push(sum);
        }
    }
    assert_eq!(violations, 0, "synthetic output must validate");
    // CPU time of the render's parts, summed over both threads, per run.
    let split: Vec<String> = shipshape::profile::take_counters()
        .into_iter()
        .map(|(_, d)| ms(d / u32::try_from(runs).unwrap_or(1)))
        .collect();
    let [render_t, schema_t, lint_t] = samples.map(median);
    println!(
        "| {n} | {manifests} | {} | {} | {} | {} | {} | {} ({check_rss:.0} MiB) | {} ({fresh_rss:.0} MiB) | {} | {} | {} | {findings} |",
        ms(load),
        ms(resolve),
        ms(render_t),
        ms(schema_t),
        ms(lint_t),
        whole.check,
        whole.fresh,
        whole.floor,
        whole.one_change,
        whole.no_change,
        check_rss = whole.check_rss,
        fresh_rss = whole.fresh_rss,
    );
    format!("| {n} | {} |", split.join(" | "))
}

pub fn main() {
    no_huge_pages();
    if std::env::args().any(|a| a == MEMORY_WALK_ARG) {
        println!("{}", memory_walk().as_micros());
        return;
    }
    // `cargo bench` passes `--bench`; anything numeric is a platform size.
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![100, 1000, 10_000];
    }
    // `patches`: every service carries one patch (docs/patches.md); `extended`: one patch and one
    // extra template per service (issue 15's budget: at most 1.5x the plain run).
    let extended = std::env::args().skip(1).any(|a| a == "extended");
    let patched = extended || std::env::args().skip(1).any(|a| a == "patches");
    if patched {
        println!("Every service has one patch (a strategic merge adding an environment variable).");
    }
    if extended {
        println!("Every service renders one extra template (a ServiceMonitor, templates/).");
    }
    println!(
        "Milliseconds. Stages: median of in-process runs. Whole runs: median (best) of 7 runs at N <= 1000, 3 above. N services x 3 environments, Istio on. Host speed (see `reference_loop`, `reference_memory`): {}.",
        host_speed(),
    );
    println!();
    println!("| N | manifests | load+validate | resolve | render | schema | lint | check (peak RSS) | build, empty dir (peak RSS) | same files, bare writes | build, one service changed | build, nothing changed | findings |");
    println!(
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    let dirs: Vec<tempfile::TempDir> = sizes
        .iter()
        .map(|&n| {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut platform = shipshape::synth::generate(n, 1);
            if patched {
                shipshape::synth::add_patches(&mut platform);
            }
            shipshape::synth::write_project(dir.path(), &platform).expect("write project");
            if extended {
                let templates = dir.path().join("templates");
                std::fs::create_dir_all(&templates).expect("templates/");
                std::fs::write(templates.join("monitor.service.yaml.j2"), EXTRA_TEMPLATE)
                    .expect("extra template");
            }
            dir
        })
        .collect();
    let whole: Vec<WholeRuns> = sizes
        .iter()
        .zip(&dirs)
        .map(|(&n, d)| whole_runs(d.path(), n))
        .collect();
    let mut splits = Vec::new();
    for ((&n, dir), whole) in sizes.iter().zip(&dirs).zip(&whole) {
        splits.push(bench(n, dir.path(), whole));
    }
    println!();
    println!("Render stage split: CPU ms summed over both threads, per run.");
    println!();
    let names: Vec<&str> = shipshape::profile::take_counters()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    println!("| N | {} |", names.join(" | "));
    println!("| ---: |{}", " ---: |".repeat(names.len()));
    for row in splits {
        println!("{row}");
    }
    println!();
    println!("Host speed at the end: {}.", host_speed());
}

/// The extra template of the `extended` case: one ServiceMonitor per service, as the
/// repository's own `templates/` renders for services that export metrics.
const EXTRA_TEMPLATE: &str = "apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ svc.name }}
  namespace: {{ env.namespace }}
  labels: {{ svc.labels }}
spec:
  selector:
    matchLabels: {{ svc.selector }}
  endpoints:
  - port: {{ svc.portName }}
    path: /metrics
    interval: 30s
";
