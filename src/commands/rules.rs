//! `shipshape rules` and `shipshape explain CODE`.

use crate::app::{Io, EXIT_BAD_INPUT, EXIT_OK};
use crate::codes;
use crate::lint::{self, rules, Code, Rule};

pub fn list(markdown: bool, io: &mut Io<'_>) -> i32 {
    if markdown {
        let _ = io.stdout.write_all(markdown_table().as_bytes());
        return EXIT_OK;
    }
    let width = lint::all_codes().map(|c| c.id.len()).max().unwrap_or(0);
    for r in rules::all() {
        let _ = writeln!(io.stdout, "{}: {}", r.id, r.summary);
        for c in r.codes {
            let _ = writeln!(
                io.stdout,
                "  {:width$}  {:7}  {}",
                c.id,
                c.severity.as_str(),
                c.summary
            );
        }
    }
    let _ = writeln!(
        io.stdout,
        "\n`shipshape explain CODE` prints a code's documentation and examples (a rule id explains \
         the whole rule). Configure a rule or a single code in `lint.rules`; suppress one with the \
         annotation `shipshape.dev/suppress.RULE` or `shipshape.dev/suppress.RULE.CONDITION`."
    );
    EXIT_OK
}

pub fn explain(id: &str, io: &mut Io<'_>) -> i32 {
    let text = if let Some(r) = rules::find(id) {
        explain_rule(r)
    } else if let Some(c) = lint::find_code(id) {
        explain_code(c)
    } else if let Some(c) = codes::find(id) {
        format!(
            "# {}\n\n{}\n\n{}\n\nHow to fix: {}\n",
            c.id,
            if c.informational {
                "Severity: info (reported, never a failure)"
            } else {
                "Severity: error (the command fails)"
            },
            c.summary,
            c.fix
        )
    } else {
        let known: Vec<String> = rules::all()
            .iter()
            .map(|r| r.id.to_owned())
            .chain(lint::all_codes().map(|c| c.id.to_owned()))
            .chain(codes::CODES.iter().map(|c| c.id.to_owned()))
            .collect();
        let hint = crate::catalogue::schema::closest(id, &known)
            .map(|c| format!(" Did you mean `{c}`?"))
            .unwrap_or_default();
        let _ = writeln!(
            io.stderr,
            "shipshape: no rule or code named `{id}`.{hint} `shipshape rules` lists the rules and their codes."
        );
        return EXIT_BAD_INPUT;
    };
    let _ = io.stdout.write_all(text.as_bytes());
    EXIT_OK
}

fn explain_rule(r: &Rule) -> String {
    let mut out = format!("# {}\n\n{}\n\n", r.id, r.doc.trim_end());
    out.push_str("## Codes\n");
    for c in r.codes {
        out.push_str(&format!("- `{}` ({}): {}\n", c.id, c.severity, c.summary));
    }
    out.push_str(&format!(
        "\n`shipshape explain {}` shows one code with its examples.\n",
        r.codes.first().map_or(r.id, |c| c.id)
    ));
    out
}

fn explain_code(c: &Code) -> String {
    let rule = rules::find(c.rule());
    let mut out = format!(
        "# {}\n\nDefault severity: {}\n\n{}\n\n",
        c.id, c.severity, c.summary
    );
    if let Some(r) = rule {
        out.push_str(&format!(
            "Part of `{}`: {}\n\n",
            r.id,
            r.summary.trim_end_matches('.')
        ));
    }
    out.push_str(&format!(
        "## Bad ({})\n```yaml\n{}```\n\n## Good ({})\n```yaml\n{}```\n\n",
        c.bad.path,
        c.bad.shown(),
        c.good.path,
        c.good.shown()
    ));
    out.push_str(&format!(
        "Turn it off or change its severity in `lint.rules` (`{}: warning`); suppress it on one \
         object with the annotation `shipshape.dev/suppress.{}: <reason>`. `shipshape explain {}` \
         says what the whole rule checks.\n",
        c.id,
        c.suppression_key(),
        c.rule()
    ));
    out
}

/// The README's code table, generated from the registry (a test keeps README in sync).
pub fn markdown_table() -> String {
    let mut out = String::from("| Code | Default | What it reports |\n| --- | --- | --- |\n");
    for r in rules::all() {
        out.push_str(&format!("| **`{}`** | | {} |\n", r.id, r.summary));
        for c in r.codes {
            out.push_str(&format!(
                "| `{}` | {} | {} |\n",
                c.id, c.severity, c.summary
            ));
        }
    }
    out
}
