//! Codes: one condition, one code. A rule (`port-conflict`) is a family of conditions, each with
//! its own code (`port-conflict/duplicate-host-port`), default severity, summary and a bad and a
//! good example. The examples are the fixtures the tests lint, so the documentation cannot drift
//! from what the rule does.

use crate::diagnostic::Severity;

/// One condition a rule reports.
#[derive(Debug)]
pub struct Code {
    /// `rule/condition`, kebab-case; used in configuration, suppressions and reports.
    pub id: &'static str,
    pub severity: Severity,
    /// One line: what the condition is.
    pub summary: &'static str,
    /// A manifest (or kubectl list) on which the code fires: `tests/fixtures/lint/<rule>/fires/`.
    pub bad: Example,
    /// The same thing done right, on which it stays quiet: `tests/fixtures/lint/<rule>/quiet/`.
    pub good: Example,
}

/// An example document, embedded from the fixture the tests lint.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    /// Path under `tests/fixtures/lint/`.
    pub path: &'static str,
    pub text: &'static str,
}

impl Example {
    /// The example as a reader should see it: without the fixture's test headers.
    pub fn shown(&self) -> String {
        let mut out = String::new();
        let mut header = true;
        for line in self.text.lines() {
            if header && is_test_header(line) {
                continue;
            }
            header = header && line.starts_with('#');
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

fn is_test_header(line: &str) -> bool {
    let Some(rest) = line.strip_prefix('#') else {
        return false;
    };
    let rest = rest.trim_start();
    ["expect:", "at:", "findings:", "also:"]
        .iter()
        .any(|k| rest.starts_with(k))
}

/// Embeds a lint fixture as an [`Example`].
#[macro_export]
macro_rules! example {
    ($path:literal) => {
        $crate::lint::code::Example {
            path: $path,
            text: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/lint/",
                $path
            )),
        }
    };
}

impl Code {
    /// The rule id: the part before the `/`.
    pub fn rule(&self) -> &'static str {
        self.id.split_once('/').map_or(self.id, |(r, _)| r)
    }

    /// The condition: the part after the `/`.
    pub fn condition(&self) -> &'static str {
        self.id.split_once('/').map_or("", |(_, c)| c)
    }

    /// The annotation name part that suppresses this code alone: `suppress.rule.condition`
    /// (an annotation name may hold one `/`, which the prefix already uses).
    pub fn suppression_key(&self) -> String {
        self.id.replacen('/', ".", 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_examples_drop_only_the_leading_test_headers() {
        let e = Example {
            path: "x",
            text: "# A Service.\n# expect: error\n# at: 3:5\nkind: Service\n# at: stays\n",
        };
        assert_eq!(e.shown(), "# A Service.\nkind: Service\n# at: stays\n");
    }
}
