use clap::Parser;
use shipshape::app::{self, Io};
use shipshape::cli::Cli;

// A rendered platform is hundreds of thousands of small JSON nodes built and dropped by two
// threads; glibc's allocator spent a quarter of a run in malloc and free (perf, N = 1,000).
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Manifests of finished environments the process need not free before it exits: about 200 MB
/// (N = 1,000 services in three environments is 22,000 manifests). Larger platforms free each
/// environment as it is done, which keeps peak memory at N = 10,000 under 1 GB.
const UNFREED_MANIFESTS: usize = 50_000;

fn main() {
    no_huge_pages();
    shipshape::pipeline::allow_unfreed_manifests(UNFREED_MANIFESTS);
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap's own exit code for usage errors is 2, which is ours too; help and version are 0.
            std::process::exit(if e.use_stderr() {
                app::EXIT_BAD_INPUT
            } else {
                app::EXIT_OK
            });
        }
    };
    // Not locked for the whole run: worker threads may write to stderr too (SHIPSHAPE_PROFILE),
    // and a lock held here would deadlock them.
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    let mut io = Io {
        stdout: &mut stdout,
        stderr: &mut stderr,
        stderr_is_terminal: app::stderr_is_terminal(),
    };
    let code = app::run(cli, &mut io);
    // Exiting skips destructors; make sure a piped JSON or SARIF report is complete.
    let _ = std::io::Write::flush(&mut stdout);
    std::process::exit(code);
}

/// mimalloc asks for transparent huge pages on its arena, so each first touch clears 2 MiB and
/// each purge of freed memory splits a huge page again. A run's memory is a churn of small nodes
/// that die an environment later: at N = 10,000 services huge pages cost 1 to 3 s of system time
/// and 40 MB more peak. With THP off the kernel hands out 4 KiB pages as they are touched.
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with integer arguments only; it changes a flag on this process's memory
    // descriptor. Failure (an old kernel) only leaves huge pages on, so the result is ignored.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
