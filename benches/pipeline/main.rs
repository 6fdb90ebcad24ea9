//! Benchmark of every pipeline stage and of whole `build` and `check` runs over synthetic
//! platforms. Run with `cargo bench --bench pipeline -- [N...] [patches|extended]` (default: 100
//! 1000 10000; `patches` gives every service one patch, `extended` one patch and one extra
//! template).
//!
//! Stages are timed in-process (median of several runs for small N); whole runs execute the
//! release binary as a user would, and report wall time and peak resident memory. The figures
//! the README states are Linux figures (mimalloc, `wait4`, no transparent huge pages), so the
//! benchmark runs on Linux only; elsewhere it says so and exits.

// The integration tests' helpers: the same tree walk reads the rendered files here.
#[cfg(target_os = "linux")]
#[path = "../../tests/common/mod.rs"]
mod common;

#[cfg(target_os = "linux")]
mod linux;

fn main() {
    #[cfg(target_os = "linux")]
    linux::main();
    #[cfg(not(target_os = "linux"))]
    eprintln!("the pipeline benchmark measures Linux figures and runs on Linux only");
}
