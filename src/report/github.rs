//! GitHub Actions workflow commands: each finding becomes an annotation on the pull request.

use crate::diagnostic::{Diagnostic, Severity};

/// Workflow-command data escaping: `%`, CR and LF in messages; also `:` and `,` in properties.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn render(diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for finding in crate::report::group::group(diagnostics) {
        let d = finding.diagnostic;
        let command = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut props = Vec::new();
        if let Some(l) = &d.location {
            props.push(format!("file={}", escape_property(&l.file.name)));
            props.push(format!("line={}", l.span.line));
            props.push(format!("col={}", l.span.column));
        }
        let title = match finding.environment_list() {
            Some(env) => format!("shipshape {} [{env}]", d.code),
            None => format!("shipshape {}", d.code),
        };
        props.push(format!("title={}", escape_property(&title)));
        let mut message = crate::report::printable(&d.message).into_owned();
        if let Some(h) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(h);
        }
        out.push_str(&format!(
            "::{command} {}::{}\n",
            props.join(","),
            escape_data(&message)
        ));
    }
    out
}
