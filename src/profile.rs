//! Stage timings on stderr when SHIPSHAPE_PROFILE is set: where the time of one run goes.

use std::time::Instant;

/// Prints how long the stage that started at `since` took, when profiling is on, the CPU time
/// the process has used so far (between two marks, CPU over wall time says how well the stage
/// used the cores) and its resident memory.
pub fn mark(stage: &str, since: Instant) {
    if std::env::var_os("SHIPSHAPE_PROFILE").is_some() {
        eprintln!(
            "profile: {stage:<20} {:>10.2?}   (cpu so far {:.2?}, resident {} MiB)",
            since.elapsed(),
            process_cpu(),
            resident_mib()
        );
    }
}

/// Resident memory now (not the peak), from `/proc/self/statm`; 0 where that is not readable
/// (every system but Linux).
#[cfg(unix)]
fn resident_mib() -> u64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .unwrap_or(0);
    // SAFETY: sysconf with a valid name has no preconditions.
    let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    pages * page / (1024 * 1024)
}

#[cfg(not(unix))]
fn resident_mib() -> u64 {
    0
}

/// User plus system time of the whole process (zero where there is no `getrusage`).
#[cfg(not(unix))]
fn process_cpu() -> std::time::Duration {
    std::time::Duration::ZERO
}

/// User plus system time of the whole process.
#[cfg(unix)]
fn process_cpu() -> std::time::Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time = |t: libc::timeval| {
        std::time::Duration::new(
            u64::try_from(t.tv_sec).unwrap_or(0),
            u32::try_from(t.tv_usec).unwrap_or(0) * 1000,
        )
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

use std::sync::atomic::{AtomicU64, Ordering};

static TEMPLATE_NS: AtomicU64 = AtomicU64::new(0);
static PARSE_NS: AtomicU64 = AtomicU64::new(0);
static CONTEXT_NS: AtomicU64 = AtomicU64::new(0);
static EMIT_NS: AtomicU64 = AtomicU64::new(0);
static NATIVE_NS: AtomicU64 = AtomicU64::new(0);

pub enum Counter {
    Template,
    Parse,
    Context,
    Emit,
    /// Built-in service resources built as documents (`render::builtin`).
    Native,
}

/// Adds time to a counter of work spread over many small calls.
pub fn add(counter: Counter, since: Instant) {
    let ns = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
    match counter {
        Counter::Template => TEMPLATE_NS.fetch_add(ns, Ordering::Relaxed),
        Counter::Parse => PARSE_NS.fetch_add(ns, Ordering::Relaxed),
        Counter::Context => CONTEXT_NS.fetch_add(ns, Ordering::Relaxed),
        Counter::Emit => EMIT_NS.fetch_add(ns, Ordering::Relaxed),
        Counter::Native => NATIVE_NS.fetch_add(ns, Ordering::Relaxed),
    };
}

/// `native` comes last: the benchmark's render-split table reads the others by position.
fn counters() -> [(&'static str, &'static AtomicU64); 5] {
    [
        ("context", &CONTEXT_NS),
        ("templates", &TEMPLATE_NS),
        ("parse back", &PARSE_NS),
        ("emit", &EMIT_NS),
        ("native", &NATIVE_NS),
    ]
}

pub fn report_counters() {
    if std::env::var_os("SHIPSHAPE_PROFILE").is_some() {
        for (name, c) in counters() {
            eprintln!(
                "profile:   {name:<18} {:>10.2?}",
                std::time::Duration::from_nanos(c.load(Ordering::Relaxed))
            );
        }
    }
}

/// The render counters since the last call (CPU time summed over threads), zeroing them: the
/// benchmark splits its render stage with these.
pub fn take_counters() -> Vec<(&'static str, std::time::Duration)> {
    counters()
        .into_iter()
        .map(|(name, c)| {
            let ns = c.swap(0, Ordering::Relaxed);
            (name, std::time::Duration::from_nanos(ns))
        })
        .collect()
}
