//! `shipshape man` and `shipshape completions`: the manual pages and shell completion scripts,
//! generated from the same clap definitions that parse the command line, so neither can fall
//! behind a new option. docs/man/ holds the pages as committed files (a test keeps them current).

use crate::app::{Io, EXIT_BAD_INPUT, EXIT_OK};
use crate::cli::Cli;
use clap::CommandFactory;
use std::path::Path;

/// Every page: `shipshape.1`, then `shipshape-COMMAND.1` for each visible command, in the order
/// `--help` lists them.
pub fn pages() -> Vec<(String, Vec<u8>)> {
    let mut root = Cli::command();
    // Hands the global options (--color) down to every command, as parsing does.
    root.build();
    let mut out = vec![("shipshape.1".to_owned(), render(root.clone()))];
    // `help` is clap's own, and `shipshape help X` is `man shipshape-X` here.
    for sub in root
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let name = format!("shipshape-{}", sub.get_name());
        let page = sub
            .clone()
            .name(name.clone())
            .bin_name(format!("shipshape {}", sub.get_name()))
            .version(env!("CARGO_PKG_VERSION"));
        out.push((format!("{name}.1"), render(page)));
    }
    out
}

fn render(cmd: clap::Command) -> Vec<u8> {
    let mut buf = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = clap_mangen::Man::new(cmd).render(&mut buf);
    buf
}

pub fn run(command: Option<&str>, dir: Option<&Path>, io: &mut Io<'_>) -> i32 {
    let pages = pages();
    if let Some(dir) = dir {
        return write_all(&pages, dir, io);
    }
    let wanted = match command {
        None => "shipshape.1".to_owned(),
        Some(c) => format!("shipshape-{c}.1"),
    };
    match pages.iter().find(|(name, _)| *name == wanted) {
        Some((_, page)) => {
            let _ = io.stdout.write_all(page);
            EXIT_OK
        }
        None => {
            let commands: Vec<&str> = pages
                .iter()
                .filter_map(|(n, _)| n.strip_prefix("shipshape-")?.strip_suffix(".1"))
                .collect();
            let _ = writeln!(
                io.stderr,
                "shipshape: no manual page for `{}`; commands: {}",
                crate::report::printable(command.unwrap_or_default()),
                commands.join(", ")
            );
            EXIT_BAD_INPUT
        }
    }
}

fn write_all(pages: &[(String, Vec<u8>)], dir: &Path, io: &mut Io<'_>) -> i32 {
    let written = std::fs::create_dir_all(dir).and_then(|()| {
        pages
            .iter()
            .try_for_each(|(name, page)| std::fs::write(dir.join(name), page))
    });
    match written {
        Ok(()) => {
            let _ = writeln!(
                io.stderr,
                "shipshape: wrote {} manual pages into {}",
                pages.len(),
                crate::paths::shown(dir)
            );
            EXIT_OK
        }
        Err(e) => {
            let _ = writeln!(
                io.stderr,
                "shipshape: cannot write the manual pages into {}: {e}",
                crate::paths::shown(dir)
            );
            EXIT_BAD_INPUT
        }
    }
}

/// The completion script of `shell` on stdout.
pub fn completions(shell: clap_complete::Shell, io: &mut Io<'_>) -> i32 {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "shipshape", &mut buf);
    let _ = io.stdout.write_all(&buf);
    EXIT_OK
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// docs/man/ is what `shipshape man --dir docs/man` writes now: a changed option regenerates it.
    #[test]
    fn committed_manual_pages_are_current() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/man");
        let mut stale = Vec::new();
        let pages = super::pages();
        for (name, page) in &pages {
            if std::fs::read(dir.join(name)).ok().as_deref() != Some(&page[..]) {
                stale.push(name.clone());
            }
        }
        let committed = std::fs::read_dir(&dir)
            .map(|entries| entries.filter_map(Result::ok).count())
            .unwrap_or(0);
        assert!(
            stale.is_empty() && committed == pages.len(),
            "docs/man is out of date ({stale:?}, {committed} files for {} pages): \
             run `cargo run -- man --dir docs/man` and commit it",
            pages.len()
        );
    }
}
