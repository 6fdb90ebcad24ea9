use clap::Parser;
use shipshape::app::{self, Io};
use shipshape::cli::Cli;

// A rendered platform is hundreds of thousands of small JSON nodes built and dropped by two
// threads; glibc's allocator spent a quarter of a run in malloc and free (perf, N = 1,000).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
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
