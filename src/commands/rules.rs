//! `shipshape rules` and `shipshape explain RULE`.

use crate::app::{Io, EXIT_BAD_INPUT, EXIT_OK};
use crate::lint::rules;

pub fn list(markdown: bool, io: &mut Io<'_>) -> i32 {
    if markdown {
        let _ = io.stdout.write_all(markdown_table().as_bytes());
        return EXIT_OK;
    }
    let width = rules::all().iter().map(|r| r.id.len()).max().unwrap_or(0);
    for r in rules::all() {
        let _ = writeln!(
            io.stdout,
            "{:width$}  {:7}  {}",
            r.id,
            r.severity.as_str(),
            r.summary
        );
    }
    let _ = writeln!(
        io.stdout,
        "\n`shipshape explain RULE` prints a rule's documentation."
    );
    EXIT_OK
}

pub fn explain(id: &str, io: &mut Io<'_>) -> i32 {
    // A condition code (`literal-secret/jwt`) is explained by its rule's documentation.
    let rule = rules::find(id).or_else(|| id.split_once('/').and_then(|(r, _)| rules::find(r)));
    match rule {
        Some(r) => {
            let _ = writeln!(
                io.stdout,
                "# {}\n\nDefault severity: {}\n\n{}",
                r.id,
                r.severity,
                r.doc.trim_end()
            );
            EXIT_OK
        }
        None => {
            let known: Vec<String> = rules::all().iter().map(|r| r.id.to_owned()).collect();
            let hint = crate::catalogue::schema::closest(id, &known)
                .map(|c| format!(" Did you mean `{c}`?"))
                .unwrap_or_default();
            let _ = writeln!(
                io.stderr,
                "shipshape: no rule named `{id}`.{hint} Rules: {}",
                known.join(", ")
            );
            EXIT_BAD_INPUT
        }
    }
}

/// The README's rule table, generated from the rules themselves (a test keeps README in sync).
pub fn markdown_table() -> String {
    let mut out = String::from("| Rule | Default | What it checks |\n| --- | --- | --- |\n");
    for r in rules::all() {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            r.id, r.severity, r.summary
        ));
    }
    out
}
