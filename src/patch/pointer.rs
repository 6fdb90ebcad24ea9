//! JSON Pointers (RFC 6901) as JSON Patch writes them: `/a/b~1c/0`, `~0` for `~`, `~1` for `/`,
//! `-` for the end of an array.

use std::fmt;

/// A parsed pointer: its text as written and its unescaped reference tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    pub text: String,
    pub tokens: Vec<String>,
}

impl Pointer {
    /// Parses `text`; the error says what is wrong, for a diagnostic at the pointer.
    pub fn parse(text: &str) -> Result<Pointer, String> {
        if text.is_empty() {
            return Ok(Pointer {
                text: String::new(),
                tokens: Vec::new(),
            });
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err(format!(
                "a JSON Pointer starts with `/` (or is empty for the whole document), not `{}`",
                text.chars().next().unwrap_or(' ')
            ));
        };
        let mut tokens = Vec::new();
        for raw in rest.split('/') {
            tokens.push(unescape(raw)?);
        }
        Ok(Pointer {
            text: text.to_owned(),
            tokens,
        })
    }

    /// The pointer of the parent and the last token; `None` for the whole document.
    pub fn split_last(&self) -> Option<(&[String], &str)> {
        let (last, parent) = self.tokens.split_last()?;
        Some((parent, last.as_str()))
    }

    /// Whether `self` names a node strictly inside `other`'s.
    pub fn is_inside(&self, other: &Pointer) -> bool {
        self.tokens.len() > other.tokens.len() && self.tokens.starts_with(&other.tokens)
    }
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn unescape(raw: &str) -> Result<String, String> {
    if !raw.contains('~') {
        return Ok(raw.to_owned());
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '~' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('0') => out.push('~'),
            Some('1') => out.push('/'),
            other => {
                let found = other.map(|c| format!("~{c}")).unwrap_or_else(|| "~".into());
                return Err(format!(
                    "`{found}` is not an escape of a JSON Pointer: write `~0` for `~` and `~1` for `/`"
                ));
            }
        }
    }
    Ok(out)
}

/// Escapes the tokens back into pointer text (the prefix of a pointer, for messages).
pub fn join(tokens: &[String]) -> String {
    let mut out = String::new();
    for t in tokens {
        crate::yaml::push_pointer_segment(&mut out, t);
    }
    out
}

/// An array index token as RFC 6901 allows it: `0`, or digits without a leading zero.
pub fn array_index(token: &str) -> Option<usize> {
    let canonical = token == "0" || (!token.starts_with('0') && !token.is_empty());
    if canonical && token.bytes().all(|b| b.is_ascii_digit()) {
        token.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_escapes_and_the_root() {
        let p = Pointer::parse("/a~1b/c~0d/0/-").unwrap();
        assert_eq!(p.tokens, ["a/b", "c~d", "0", "-"]);
        assert_eq!(join(&p.tokens), "/a~1b/c~0d/0/-");
        assert!(Pointer::parse("").unwrap().tokens.is_empty());
        assert_eq!(Pointer::parse("/").unwrap().tokens, [""]);
    }

    #[test]
    fn refuses_what_rfc_6901_does_not_allow() {
        assert!(Pointer::parse("spec/replicas")
            .unwrap_err()
            .contains("starts with `/`"));
        assert!(Pointer::parse("/a~2").unwrap_err().contains("`~2`"));
        assert!(Pointer::parse("/a~").unwrap_err().contains("`~`"));
    }

    #[test]
    fn array_indexes_are_canonical() {
        assert_eq!(array_index("0"), Some(0));
        assert_eq!(array_index("12"), Some(12));
        assert_eq!(array_index("01"), None);
        assert_eq!(array_index("-"), None);
        assert_eq!(array_index("+1"), None);
        assert_eq!(array_index(""), None);
    }

    #[test]
    fn inside() {
        let a = Pointer::parse("/a/b").unwrap();
        let b = Pointer::parse("/a").unwrap();
        assert!(a.is_inside(&b));
        assert!(!b.is_inside(&a));
        assert!(!a.is_inside(&a));
    }
}
