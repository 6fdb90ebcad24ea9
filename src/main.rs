use clap::Parser;
use shipshape::app::{self, Io};
use shipshape::cli::Cli;

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
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    let mut io = Io {
        stdout: &mut stdout,
        stderr: &mut stderr,
        stderr_is_terminal: app::stderr_is_terminal(),
    };
    let code = app::run(cli, &mut io);
    drop(stdout);
    std::process::exit(code);
}
