//! The rule documentation stays in sync with the rules: the README's rule table is exactly what
//! `shipshape::commands::rules::markdown_table()` generates, `shipshape rules` lists every rule,
//! and `shipshape explain RULE` prints each rule's full documentation.
//!
//! To regenerate the README table, paste the output of `cargo run -q -- rules --markdown` between
//! the markers `<!-- rules:start -->` and `<!-- rules:end -->` in README.md, or, once the markers
//! exist, run `SHIPSHAPE_UPDATE_README=1 cargo test --test readme_rules` to rewrite the table.

use assert_cmd::Command;
use std::fs;
use std::path::{Path, PathBuf};

const START: &str = "<!-- rules:start -->";
const END: &str = "<!-- rules:end -->";
const UPDATE_VAR: &str = "SHIPSHAPE_UPDATE_README";

fn readme_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")
}

fn how_to_regenerate() -> String {
    format!(
        "README.md must hold the rule table between the lines `{START}` and `{END}`, exactly as \
         `shipshape rules --markdown` (`shipshape::commands::rules::markdown_table()`) prints it:\n\n\
         {START}\n{}{END}\n\n\
         Regenerate with `cargo run -q -- rules --markdown` and paste the output between the markers \
         (once they exist, `{UPDATE_VAR}=1 cargo test --test readme_rules` rewrites the table).",
        shipshape::commands::rules::markdown_table()
    )
}

/// The text between the markers, and the byte range it occupies in `readme`.
fn between_markers(readme: &str) -> Result<(&str, std::ops::Range<usize>), String> {
    let count = |m: &str| readme.matches(m).count();
    if count(START) != 1 || count(END) != 1 {
        return Err(format!(
            "README.md has {} `{START}` and {} `{END}` marker(s); expected one of each",
            count(START),
            count(END)
        ));
    }
    let from = readme.find(START).unwrap() + START.len();
    let to = readme.find(END).unwrap();
    if to < from {
        return Err(format!("`{END}` comes before `{START}` in README.md"));
    }
    Ok((&readme[from..to], from..to))
}

/// Blank lines around the table are free; the table itself must match line for line.
fn table_lines(text: &str) -> Vec<&str> {
    text.trim().lines().map(str::trim_end).collect()
}

/// What is wrong with `readme` (None: the file is missing) as the rule table's home, if anything.
fn readme_problem(readme: Option<&str>) -> Option<String> {
    let Some(readme) = readme else {
        return Some(format!("README.md is missing.\n\n{}", how_to_regenerate()));
    };
    let section = match between_markers(readme) {
        Ok((section, _)) => section,
        Err(problem) => return Some(format!("{problem}\n\n{}", how_to_regenerate())),
    };
    let expected = shipshape::commands::rules::markdown_table();
    if table_lines(section) == table_lines(&expected) {
        return None;
    }
    let diff = similar::TextDiff::from_lines(section.trim(), expected.trim())
        .unified_diff()
        .header("README.md", "shipshape rules --markdown")
        .to_string();
    Some(format!(
        "the README rule table is out of date:\n{diff}\n{}",
        how_to_regenerate()
    ))
}

#[test]
fn readme_rule_table_matches_the_rules() {
    let path = readme_path();
    let readme = fs::read_to_string(&path).ok();
    let Some(problem) = readme_problem(readme.as_deref()) else {
        return;
    };
    if let (Some(text), Some(_)) = (&readme, std::env::var_os(UPDATE_VAR)) {
        if let Ok((_, range)) = between_markers(text) {
            let mut updated = text.clone();
            let table = shipshape::commands::rules::markdown_table();
            updated.replace_range(range, &format!("\n{table}"));
            fs::write(&path, updated).unwrap();
            eprintln!("rewrote the rule table in {}", path.display());
            return;
        }
    }
    panic!("{problem}");
}

/// The check fails, with instructions, on every way the README can be wrong.
#[test]
fn readme_check_fails_loudly() {
    let table = shipshape::commands::rules::markdown_table();
    for problem in [
        readme_problem(None),
        readme_problem(Some("# shipshape\n\nno table here\n")),
        readme_problem(Some(&format!("{START}\n| Rule |\n{END}\n"))),
        readme_problem(Some(&format!("{START}\n{table}{END}\n{START}\n{END}\n"))),
    ] {
        let problem = problem.expect("a broken README must be reported");
        assert!(problem.contains("rules --markdown"), "{problem}");
        assert!(
            problem.contains(START) && problem.contains(END),
            "{problem}"
        );
    }
    let stale = table.replace("| error |", "| warning |");
    let problem = readme_problem(Some(&format!("intro\n{START}\n{stale}{END}\n"))).unwrap();
    assert!(
        problem.contains("-| `port-conflict/duplicate-host-port` | warning |"),
        "{problem}"
    );
    assert!(
        problem.contains("+| `port-conflict/duplicate-host-port` | error |"),
        "{problem}"
    );
    assert_eq!(
        readme_problem(Some(&format!("intro\n\n{START}\n{table}{END}\n\nmore\n"))),
        None
    );
}

#[test]
fn rules_markdown_prints_the_table() {
    let out = shipshape(&["rules", "--markdown"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        shipshape::commands::rules::markdown_table()
    );
}

#[test]
fn marker_extraction_rejects_missing_or_repeated_markers() {
    assert!(between_markers("no markers here").is_err());
    assert!(between_markers(&format!("{START}\n| a |\n")).is_err());
    assert!(between_markers(&format!("{END}\n{START}\n")).is_err());
    assert!(between_markers(&format!("{START}\n{START}\n{END}\n")).is_err());
    let readme = format!("intro\n{START}\n| a |\n{END}\nrest");
    let (section, _) = between_markers(&readme).unwrap();
    assert_eq!(table_lines(section), vec!["| a |"]);
}

#[test]
fn markdown_table_has_a_row_per_rule_and_code() {
    let table = shipshape::commands::rules::markdown_table();
    let rules = shipshape::lint::rules::all();
    let lines: Vec<&str> = table.lines().collect();
    let codes: usize = rules.iter().map(|r| r.codes.len()).sum();
    assert_eq!(
        lines.len(),
        rules.len() + codes + 2,
        "header, separator, one row per rule and per code:\n{table}"
    );
    let mut rows = lines[2..].iter();
    for rule in rules {
        let line = rows.next().unwrap();
        assert!(
            line.starts_with(&format!("| **`{}`** |", rule.id)),
            "{line}"
        );
        for code in rule.codes {
            let line = rows.next().unwrap();
            assert!(line.starts_with(&format!("| `{}` |", code.id)), "{line}");
            // A `|` in a summary would split the row into extra columns.
            assert_eq!(
                line.matches('|').count(),
                4,
                "summary must not contain `|`: {line}"
            );
        }
    }
}

fn shipshape(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("shipshape")
        .unwrap()
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

#[test]
fn rules_command_lists_every_rule_and_code() {
    let out = shipshape(&["rules"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    for rule in shipshape::lint::rules::all() {
        assert!(
            stdout
                .lines()
                .any(|l| l == format!("{}: {}", rule.id, rule.summary)),
            "`shipshape rules` does not list `{}`:\n{stdout}",
            rule.id
        );
        for code in rule.codes {
            let line = stdout
                .lines()
                .find(|l| l.split_whitespace().next() == Some(code.id))
                .unwrap_or_else(|| panic!("`shipshape rules` does not list `{}`", code.id));
            assert!(line.contains(code.severity.as_str()), "{line}");
            assert!(line.contains(code.summary), "{line}");
        }
    }
    insta::assert_snapshot!("rules-list", stdout);
}

#[test]
fn explain_prints_every_rule_doc() {
    for rule in shipshape::lint::rules::all() {
        let out = shipshape(&["explain", rule.id]);
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(0), "explain {}: {stdout}", rule.id);
        assert!(stdout.starts_with(&format!("# {}\n", rule.id)), "{stdout}");
        for heading in ["## What it checks", "## Why it matters", "## Codes"] {
            assert!(
                stdout.lines().any(|l| l == heading),
                "`shipshape explain {}` has no `{heading}` section:\n{stdout}",
                rule.id
            );
        }
        for code in rule.codes {
            assert!(stdout.contains(&format!("`{}`", code.id)), "{stdout}");
        }
    }
}

#[test]
fn explain_prints_every_code_with_its_examples() {
    for code in shipshape::lint::all_codes() {
        let out = shipshape(&["explain", code.id]);
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(0), "explain {}: {stdout}", code.id);
        assert!(stdout.starts_with(&format!("# {}\n", code.id)), "{stdout}");
        assert!(stdout.contains(code.summary), "{stdout}");
        let bad = stdout.find("## Bad").expect("a bad example");
        let good = stdout.find("## Good").expect("a good example");
        assert!(bad < good, "`## Bad` comes before `## Good` in {}", code.id);
        assert!(stdout[bad..good].contains("```yaml"), "{stdout}");
        assert!(
            !stdout.contains("# expect:"),
            "the fixture's test headers are not shown:\n{stdout}"
        );
    }
    for code in shipshape::codes::CODES {
        let out = shipshape(&["explain", code.id]);
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(0), "explain {}: {stdout}", code.id);
        assert!(
            stdout.contains(code.summary) && stdout.contains(code.fix),
            "{stdout}"
        );
    }
}

#[test]
fn explain_unknown_rule_exits_2() {
    let out = shipshape(&["explain", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("`nope`"), "{stderr}");
    assert!(
        stderr.contains("`shipshape rules` lists"),
        "the error says where the codes are listed: {stderr}"
    );

    let out = shipshape(&["explain", "port-conflit"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("Did you mean `port-conflict`?"),
        "a near miss gets a suggestion: {stderr}"
    );
}
