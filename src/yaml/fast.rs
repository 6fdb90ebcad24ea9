//! A fast reader for the YAML that templates produce: block mappings and sequences whose scalars
//! are plain, JSON-quoted, or JSON flow collections on one line. It gives up (returns `None`) on
//! anything else (anchors, tags, block scalars, multi-line scalars, single quotes), and the
//! caller falls back to the full parser, so it never has to be right about exotic YAML, only
//! about the common shape, where a differential test holds it to the full parser's answers.

use super::scalar::resolve_plain;
use serde_json::{Map, Value};

struct Line<'a> {
    indent: usize,
    /// Content after the indentation, without a trailing comment or spaces.
    text: &'a str,
}

/// Parses `text` into its documents, or `None` when it uses YAML outside the supported shape.
pub fn parse(text: &str) -> Option<Vec<Value>> {
    let mut docs = Vec::new();
    let mut current: Vec<Line<'_>> = Vec::new();
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.starts_with("---") && raw[3..].trim().is_empty() {
            docs.push(document(&current)?);
            current.clear();
            continue;
        }
        if raw.starts_with("...") || raw.starts_with('%') || raw.starts_with("--- ") {
            return None;
        }
        if raw.contains('\t') {
            return None;
        }
        let body = raw.trim_start_matches(' ');
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        current.push(Line {
            indent: raw.len() - body.len(),
            text: strip_comment(body)?,
        });
    }
    docs.push(document(&current)?);
    Some(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// Removes a trailing ` # comment` outside quotes and brackets, and trailing spaces.
fn strip_comment(body: &str) -> Option<&str> {
    let bytes = body.as_bytes();
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        if in_quotes {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_quotes = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_quotes = true,
            b'\'' => return None,
            b'#' if i > 0 && bytes[i - 1] == b' ' => return Some(body[..i].trim_end()),
            _ => {}
        }
    }
    if in_quotes {
        return None;
    }
    Some(body.trim_end())
}

fn document(lines: &[Line<'_>]) -> Option<Value> {
    if lines.is_empty() {
        return Some(Value::Null);
    }
    let mut pos = 0;
    let value = block(lines, &mut pos, lines[0].indent, 0)?;
    (pos == lines.len()).then_some(value)
}

/// Deeper than this, the full parser (with its configurable limit) decides.
const MAX_DEPTH: usize = 64;

/// A block node starting at `lines[*pos]`, whose lines sit at `indent`.
fn block(lines: &[Line<'_>], pos: &mut usize, indent: usize, depth: usize) -> Option<Value> {
    if depth > MAX_DEPTH {
        return None;
    }
    let first = lines.get(*pos)?;
    if first.indent != indent {
        return None;
    }
    if is_seq_item(first.text) {
        sequence(lines, pos, indent, depth)
    } else if split_key(first.text).is_some() {
        mapping(lines, pos, indent, depth)
    } else {
        // A lone scalar document.
        let v = scalar(first.text)?;
        *pos += 1;
        Some(v)
    }
}

fn is_seq_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

fn sequence(lines: &[Line<'_>], pos: &mut usize, indent: usize, depth: usize) -> Option<Value> {
    let mut items = Vec::new();
    while let Some(line) = lines.get(*pos) {
        if line.indent < indent || (line.indent == indent && !is_seq_item(line.text)) {
            break;
        }
        if line.indent > indent {
            return None;
        }
        let rest = line.text[1..].trim_start_matches(' ');
        if rest.is_empty() {
            *pos += 1;
            items.push(nested_or_null(lines, pos, indent, true, depth + 1)?);
        } else if is_seq_item(rest) {
            // `- - x`: too rare in templates to handle here.
            return None;
        } else if split_key(rest).is_some() {
            // A mapping whose first key shares the dash line; its keys align after "- ".
            let inner = indent + (line.text.len() - rest.len());
            let mut shifted: Vec<Line<'_>> = Vec::new();
            shifted.push(Line {
                indent: inner,
                text: rest,
            });
            let mut end = *pos + 1;
            while let Some(l) = lines.get(end) {
                if l.indent < inner {
                    break;
                }
                end += 1;
            }
            shifted.extend(lines[*pos + 1..end].iter().map(|l| Line {
                indent: l.indent,
                text: l.text,
            }));
            let mut inner_pos = 0;
            let v = mapping(&shifted, &mut inner_pos, inner, depth + 1)?;
            if inner_pos != shifted.len() {
                return None;
            }
            *pos = end;
            items.push(v);
        } else {
            items.push(scalar(rest)?);
            *pos += 1;
        }
    }
    Some(Value::Array(items))
}

fn mapping(lines: &[Line<'_>], pos: &mut usize, indent: usize, depth: usize) -> Option<Value> {
    // Sized up front: growing an index map rehashes it, and that was a tenth of reading back.
    let mut map = Map::with_capacity(count_keys(&lines[*pos..], indent));
    while let Some(line) = lines.get(*pos) {
        if line.indent < indent {
            break;
        }
        if line.indent > indent {
            return None;
        }
        if is_seq_item(line.text) {
            break;
        }
        let (key, rest) = split_key(line.text)?;
        *pos += 1;
        let value = if rest.is_empty() {
            nested_or_null(lines, pos, indent, false, depth + 1)?
        } else {
            scalar(rest)?
        };
        // One hash per key: a duplicate shows up as a replaced value. Duplicate keys are an
        // error the full parser explains.
        if map.insert(key, value).is_some() {
            return None;
        }
    }
    Some(Value::Object(map))
}

/// How many keys the mapping at the start of `lines`, whose keys sit at `indent`, has.
fn count_keys(lines: &[Line<'_>], indent: usize) -> usize {
    lines
        .iter()
        .take_while(|l| l.indent >= indent)
        .filter(|l| l.indent == indent && !is_seq_item(l.text))
        .count()
}

/// The value of `key:` (or `-`) with nothing after it: a nested block, a sequence at the same
/// indentation (Kubernetes style, only for mapping values), or null.
fn nested_or_null(
    lines: &[Line<'_>],
    pos: &mut usize,
    indent: usize,
    in_seq: bool,
    depth: usize,
) -> Option<Value> {
    if depth > MAX_DEPTH {
        return None;
    }
    match lines.get(*pos) {
        Some(next) if next.indent > indent => block(lines, pos, next.indent, depth),
        Some(next) if !in_seq && next.indent == indent && is_seq_item(next.text) => {
            sequence(lines, pos, indent, depth)
        }
        _ => Some(Value::Null),
    }
}

/// `key: rest` or `key:` with a plain or JSON-quoted key.
fn split_key(text: &str) -> Option<(String, &str)> {
    if let Some(stripped) = text.strip_prefix('"') {
        let end = closing_quote(stripped)?;
        let key: String = if is_verbatim(&stripped[..end]) {
            stripped[..end].to_owned()
        } else {
            serde_json::from_str(&text[..end + 2]).ok()?
        };
        let after = &text[end + 2..];
        let rest = after.strip_prefix(':')?;
        if !(rest.is_empty() || rest.starts_with(' ')) {
            return None;
        }
        return Some((key, rest.trim_start_matches(' ')));
    }
    let first = text.chars().next()?;
    if matches!(
        first,
        '{' | '[' | '&' | '*' | '!' | '|' | '>' | '?' | '@' | '`' | '%' | ','
    ) {
        return None;
    }
    let colon = text
        .find(": ")
        .or_else(|| text.strip_suffix(':').map(|k| k.len()))?;
    let key = &text[..colon];
    if key.contains(" #") || key.trim_end() != key {
        return None;
    }
    let rest = text.get(colon + 1..).unwrap_or("").trim_start_matches(' ');
    Some((key.to_owned(), rest))
}

/// Whether the inside of a double-quoted scalar means exactly its own text: no escapes and no
/// control characters, whose treatment the full parser decides. Most quoted values are like
/// this, and taking them as they are skips a JSON decode per value.
fn is_verbatim(inner: &str) -> bool {
    !inner.bytes().any(|b| b == b'\\' || b < 0x20 || b == 0x7f)
}

/// Index (in `s`, which follows an opening quote) of the closing double quote.
fn closing_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, b) in s.bytes().enumerate() {
        match (escaped, b) {
            (true, _) => escaped = false,
            (false, b'\\') => escaped = true,
            (false, b'"') => return Some(i),
            _ => {}
        }
    }
    None
}

fn scalar(text: &str) -> Option<Value> {
    match text.as_bytes().first()? {
        b'"' => {
            let end = closing_quote(&text[1..])?;
            if end + 2 != text.len() {
                return None;
            }
            let inner = &text[1..=end];
            if is_verbatim(inner) {
                return Some(Value::String(inner.to_owned()));
            }
            // JSON escapes are a subset of YAML's; anything else makes serde_json refuse, and
            // the full parser takes over.
            serde_json::from_str::<String>(text).ok().map(Value::String)
        }
        b'{' | b'[' => {
            let v: Value = serde_json::from_str(text).ok()?;
            // `{}` and `[]` are fine; JSON numbers and strings inside were written by the JSON
            // escaper, which is exactly what the full parser would read too.
            Some(v)
        }
        b'&' | b'*' | b'!' | b'|' | b'>' | b'\'' | b'%' | b'@' | b'`' | b'?' => None,
        _ => {
            if text.contains(": ") || text.ends_with(':') || is_seq_item(text) {
                return None;
            }
            resolve_plain(text).ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{parse_documents, Limits, SourceFile};

    fn full(text: &str) -> Vec<Value> {
        let file = SourceFile::new("t", text);
        parse_documents(&file, &Limits::default())
            .unwrap()
            .into_iter()
            .map(|d| d.value)
            .filter(|v| !v.is_null())
            .collect()
    }

    /// Where the fast reader answers, it answers what the full parser does.
    fn agree(text: &str) {
        if let Some(fast) = parse(text) {
            assert_eq!(fast, full(text), "on:\n{text}");
        }
    }

    #[test]
    fn kubernetes_shapes() {
        let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: \"api\"\n  labels:\n    \"app.kubernetes.io/name\": \"api\"\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n      - name: \"api\"\n        ports:\n        - containerPort: 8080\n          protocol: TCP\n        resources: {\"requests\":{\"cpu\":\"50m\"}}\n        args: []\n      - name: side\n---\nkind: Service # trailing comment\nspec:\n  ports:\n  - 1\n  - \"two\"\n  - -3.5\n  - ~\n  - true\n  - on\n  - 0755\n";
        assert!(parse(text).is_some());
        agree(text);
    }

    #[test]
    fn gives_up_on_what_it_does_not_know() {
        for text in [
            "a: &x 1\nb: *x\n",
            "a: |\n  block\n",
            "a: 'single'\n",
            "a: !!str 1\n",
            "a:\n\t- x\n",
            "a: b\n  continued\n",
            "? complex\n: key\n",
            "--- a: b\n",
            "a: {b: 1}\n",
            "a: \"\\x41\"\n",
            "a: 1\na: 2\n",
            "- - nested\n",
        ] {
            assert!(parse(text).is_none(), "should fall back on {text:?}");
        }
    }

    #[test]
    fn agrees_with_the_full_parser_on_the_committed_tree() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rendered");
        let mut checked = 0;
        for entry in walkdir::WalkDir::new(root)
            .into_iter()
            .filter_map(Result::ok)
        {
            if !entry.file_type().is_file() {
                continue;
            }
            let text = std::fs::read_to_string(entry.path()).unwrap();
            let fast =
                parse(&text).unwrap_or_else(|| panic!("fell back on {}", entry.path().display()));
            assert_eq!(fast, full(&text), "{}", entry.path().display());
            checked += 1;
        }
        assert!(checked > 80);
    }

    #[test]
    fn tricky_strings_agree() {
        for s in [
            "1.10",
            "0755",
            "NO",
            "on",
            "~",
            "",
            "a: b",
            "x # y",
            "q \" '",
            "l\nb",
            "t\th",
            "héllo ✓",
            " pad ",
            "---",
            "- i",
            "{j}",
            "@",
            "`",
            "%",
        ] {
            let text = format!(
                "k: {}\nl:\n- {}\n",
                serde_json::to_string(s).unwrap(),
                serde_json::to_string(s).unwrap()
            );
            agree(&text);
            assert!(parse(&text).is_some(), "{text}");
        }
    }
}
