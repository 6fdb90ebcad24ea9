//! Output formats for diagnostics: human (miette), JSON, SARIF 2.1.0, GitHub annotations.

pub mod github;
pub mod group;
pub mod human;
pub mod json;
pub mod sarif;

use std::borrow::Cow;

/// Text from the input (names, keys, values) made safe for a terminal: control characters are
/// shown escaped, so a crafted name cannot move the cursor, retitle the window or hide a finding.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_control(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn is_control(c: char) -> bool {
    // Line breaks inside a message are shown escaped too: one finding, one line.
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(super::printable("plain"), "plain");
        assert_eq!(super::printable("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(super::printable("x\ny"), "x\\u{a}y");
    }
}
