//! Canonical YAML emitter for rendered manifests.
//!
//! The output is block style in the layout `kubectl` prints: nested maps are indented by two
//! spaces and sequences sit at the same indentation as the key that owns them. Key order is the
//! insertion order of the `serde_json::Value` (preserve_order), so the emitter never reorders
//! anything and identical input always produces identical bytes.
//!
//! Strings are written plain only when every YAML 1.1 and 1.2 reader would read them back as the
//! same string; everything else is double-quoted. The plain-scalar test is deliberately
//! conservative: quoting something that did not strictly need it costs two bytes, while leaving
//! `on`, `0755` or `1.10` unquoted silently changes a manifest's meaning in some consumer.

use serde_json::{Map, Number, Value};

/// Renders one YAML document (without a leading `---`), ending with a single newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::with_capacity(1024);
    write_yaml(&mut out, value);
    out
}

/// Appends one YAML document (without a leading `---`) to `out`, ending with a single newline.
///
/// Callers emitting multi-document streams add the `---` separators themselves.
pub fn write_yaml(out: &mut String, value: &Value) {
    match value {
        Value::Object(map) if !map.is_empty() => write_map(out, map, 0, false),
        Value::Array(items) if !items.is_empty() => write_seq(out, items, 0, false),
        other => {
            write_inline(out, other);
            out.push('\n');
        }
    }
}

/// Writes a file's text with `write` into a buffer this thread keeps, then copies it out at its
/// exact size: growing each file's `String` from its header by doubling cost several
/// reallocations per file (each copying what was written so far), and the text of an
/// environment is then held with a third of its bytes unused on average.
pub fn text_of(write: impl FnOnce(&mut String)) -> String {
    thread_local! {
        static BUFFER: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    BUFFER.with(|buffer| match buffer.try_borrow_mut() {
        Ok(mut buffer) => {
            buffer.clear();
            write(&mut buffer);
            let text = buffer.as_str().to_owned();
            // One huge file (an extra template's output) should not stay with the thread.
            if buffer.capacity() > 1 << 20 {
                *buffer = String::new();
            }
            text
        }
        // Only when `write` itself asks for a text, which nothing does.
        Err(_) => {
            let mut text = String::new();
            write(&mut text);
            text
        }
    })
}

/// Keys longer than this use the explicit `? key` form: YAML limits implicit keys to 1024
/// characters. Byte length bounds the character count from above, and the margin covers readers
/// that also count the `: ` after the key.
const MAX_IMPLICIT_KEY_BYTES: usize = 1000;

/// Writes a non-empty map whose keys sit at column `indent`.
///
/// With `first_inline` the caller has already written the prefix of the first line (a sequence
/// dash), so the first key must not be indented again.
fn write_map(out: &mut String, map: &Map<String, Value>, indent: usize, first_inline: bool) {
    for (index, (key, value)) in map.iter().enumerate() {
        if index > 0 || !first_inline {
            push_indent(out, indent);
        }
        let key_start = out.len();
        write_string(out, key);
        if out.len() - key_start > MAX_IMPLICIT_KEY_BYTES {
            // Rare enough that shifting the already-written key is cheaper than measuring the
            // escaped length up front for every key.
            out.insert_str(key_start, "? ");
            out.push('\n');
            push_indent(out, indent);
        }
        out.push(':');
        write_value_after_indicator(out, value, indent);
    }
}

/// Writes a non-empty sequence whose dashes sit at column `indent`.
fn write_seq(out: &mut String, items: &[Value], indent: usize, first_inline: bool) {
    for (index, item) in items.iter().enumerate() {
        if index > 0 || !first_inline {
            push_indent(out, indent);
        }
        out.push_str("- ");
        match item {
            Value::Object(map) if !map.is_empty() => write_map(out, map, indent + 2, true),
            Value::Array(inner) if !inner.is_empty() => write_seq(out, inner, indent + 2, true),
            scalar => {
                write_inline(out, scalar);
                out.push('\n');
            }
        }
    }
}

/// Writes the value of a map entry after its `:`; `indent` is the column of the key.
fn write_value_after_indicator(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_map(out, map, indent + 2, false);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            // Same column as the key: the compact layout kubectl and most Kubernetes docs use.
            write_seq(out, items, indent, false);
        }
        scalar => {
            out.push(' ');
            write_inline(out, scalar);
            out.push('\n');
        }
    }
}

/// Writes a scalar or an empty collection on the current line.
fn write_inline(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => write_number(out, number),
        Value::String(text) => write_string(out, text),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

fn write_number(out: &mut String, number: &Number) {
    use std::fmt::Write as _;
    // Formatting into a String cannot fail; `Number`'s Display is serde_json's own canonical
    // form (itoa for integers, ryu for floats), which YAML 1.2 core resolves as a number.
    let _ = write!(out, "{number}");
}

fn push_indent(out: &mut String, width: usize) {
    const SPACES: &str = "                                                                ";
    let mut remaining = width;
    while remaining > 0 {
        let chunk = remaining.min(SPACES.len());
        out.push_str(&SPACES[..chunk]);
        remaining -= chunk;
    }
}

/// Writes a string plain when that is unambiguous, double-quoted otherwise.
fn write_string(out: &mut String, text: &str) {
    if is_plain_safe(text) {
        out.push_str(text);
    } else {
        write_double_quoted(out, text);
    }
}

/// Whether `text` can be written as a plain scalar and read back as the same string by YAML 1.1
/// and 1.2 readers, both as a map key and as a value, in block context.
///
/// Every key and string of every manifest passes here, so the bytes are classified in one pass
/// (the classes every byte shares), and the word list is consulted only for short strings that
/// start like one of its words.
fn is_plain_safe(text: &str) -> bool {
    let bytes = text.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    // Indicators (`-`, `?`, `:`, `!`, `&`, `*`, `#`, quotes, brackets, `@`, `` ` ``, `%`, `|`,
    // `>`) are excluded by not being in either character class below. A trailing `:` would be
    // read as a mapping indicator (`key: value:`).
    if CLASS[usize::from(first)] & PLAIN_FIRST == 0 || last == b':' {
        return false;
    }
    // No whitespace, `#` or `,` is allowed at all, which rules out `: `, ` #` and flow
    // ambiguities without looking at neighbours.
    let shared = bytes
        .iter()
        .fold(PLAIN | NUMERIC, |shared, &b| shared & CLASS[usize::from(b)]);
    if shared & PLAIN == 0 {
        return false;
    }
    // `...` at column 0 ends a document; quote anything starting with `..` to stay clear of it.
    if bytes.starts_with(b"..") {
        return false;
    }
    if is_reserved_word(bytes) {
        return false;
    }
    !looks_numeric_or_timestamp(first, shared)
}

/// Words some YAML 1.1 or 1.2 resolver (or a lenient float parser) turns into a non-string.
fn is_reserved_word(bytes: &[u8]) -> bool {
    const WORDS: [&str; 16] = [
        "null",
        "true",
        "false",
        "yes",
        "no",
        "on",
        "off",
        "y",
        "n",
        ".inf",
        ".nan",
        "inf",
        "nan",
        "infinity",
        ".infinity",
        "none",
    ];
    // Every entry is at most 9 bytes and starts with one of these.
    let starts_like_one = bytes.first().is_some_and(|b| {
        matches!(
            b.to_ascii_lowercase(),
            b'n' | b't' | b'f' | b'y' | b'o' | b'i' | b'.'
        )
    });
    bytes.len() <= 9
        && starts_like_one
        && WORDS
            .iter()
            .any(|word| bytes.eq_ignore_ascii_case(word.as_bytes()))
}

/// Conservative superset of every YAML 1.1/1.2 int, float and timestamp form: a string that
/// starts like a number and contains only characters such forms use (digits, hex digits, base
/// prefixes `x`/`o`/`b`, `_`, `.`, `:`, `+`, `-`, exponent `e`, timestamp `t`/`z`).
///
/// This also quotes harmless strings such as `1.0.0` or `12ab`; that is the intended trade-off.
/// Kubernetes quantities like `128Mi` and `500m` stay plain because `M`, `i` and `m` never occur
/// in a numeric or timestamp literal.
///
/// `first` is the string's first byte, `shared` the classes all its bytes share.
fn looks_numeric_or_timestamp(first: u8, shared: u8) -> bool {
    (first.is_ascii_digit() || first == b'.') && shared & NUMERIC != 0
}

/// May start a plain scalar: ASCII letters and digits, `_`, `.`, `/`.
const PLAIN_FIRST: u8 = 1;
/// May appear in a plain scalar: the above and `:`, `@`, `+`, `-`.
const PLAIN: u8 = 2;
/// May appear in an int, float or timestamp literal: hex digits, `x`, `o`, `t`, `z` (either
/// case), `_`, `.`, `:`, `+`, `-`.
const NUMERIC: u8 = 4;

/// The classes of every byte, looked up once per byte: every string of every manifest is
/// classified before it is written.
const CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let first = c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'/');
        if first {
            table[b] |= PLAIN_FIRST | PLAIN;
        }
        if matches!(c, b':' | b'@' | b'+' | b'-') {
            table[b] |= PLAIN;
        }
        if c.is_ascii_hexdigit()
            || matches!(
                c,
                b'x' | b'X'
                    | b'o'
                    | b'O'
                    | b't'
                    | b'T'
                    | b'z'
                    | b'Z'
                    | b'_'
                    | b'.'
                    | b':'
                    | b'+'
                    | b'-'
            )
        {
            table[b] |= NUMERIC;
        }
        b += 1;
    }
    table
};

/// Writes `text` as a YAML double-quoted scalar.
///
/// The escapes used are common to JSON and YAML. Unlike plain JSON escaping, this also escapes
/// characters YAML does not allow raw (DEL, C1 controls, U+FFFE/U+FFFF) and those a YAML 1.1
/// reader treats as line breaks (U+0085, U+2028, U+2029), plus the BOM, which some readers strip.
fn write_double_quoted(out: &mut String, text: &str) {
    out.push('"');
    let mut run_start = 0;
    for (index, ch) in text.char_indices() {
        let escape: Option<&str> = match ch {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\t' => Some("\\t"),
            '\r' => Some("\\r"),
            '\u{08}' => Some("\\b"),
            '\u{0C}' => Some("\\f"),
            c if needs_unicode_escape(c) => Some(""),
            _ => None,
        };
        let Some(escape) = escape else {
            continue;
        };
        out.push_str(&text[run_start..index]);
        if escape.is_empty() {
            push_unicode_escape(out, ch);
        } else {
            out.push_str(escape);
        }
        run_start = index + ch.len_utf8();
    }
    out.push_str(&text[run_start..]);
    out.push('"');
}

fn needs_unicode_escape(ch: char) -> bool {
    matches!(
        ch,
        '\u{00}'..='\u{1F}'
            | '\u{7F}'..='\u{9F}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{FEFF}'
            | '\u{FFFE}'
            | '\u{FFFF}'
    )
}

/// Pushes `\uXXXX`; only called for characters in the Basic Multilingual Plane.
fn push_unicode_escape(out: &mut String, ch: char) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let code = u32::from(ch);
    out.push_str("\\u");
    for shift in [12u32, 8, 4, 0] {
        // The mask keeps the index below 16.
        out.push(char::from(HEX[((code >> shift) & 0xF) as usize]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn byte_classes_are_the_documented_sets() {
        for c in 0..=255u8 {
            let class = CLASS[usize::from(c)];
            let first = c.is_ascii_alphanumeric() || b"_./".contains(&c);
            assert_eq!(class & PLAIN_FIRST != 0, first, "{c}");
            assert_eq!(class & PLAIN != 0, first || b":@+-".contains(&c), "{c}");
            let numeric = c.is_ascii_hexdigit() || b"xXoOtTzZ_.:+-".contains(&c);
            assert_eq!(class & NUMERIC != 0, numeric, "{c}");
        }
    }

    /// The plain-scalar test as first written, one rule after another: the one-pass version
    /// must agree with it on every string.
    fn plain_safe_by_the_rules(text: &str) -> bool {
        let bytes = text.as_bytes();
        let Some(&first) = bytes.first() else {
            return false;
        };
        let first_ok = first.is_ascii_alphanumeric() || b"_./".contains(&first);
        let all_ok = bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"_./:@+-".contains(&b));
        const WORDS: [&str; 16] = [
            "null",
            "true",
            "false",
            "yes",
            "no",
            "on",
            "off",
            "y",
            "n",
            ".inf",
            ".nan",
            "inf",
            "nan",
            "infinity",
            ".infinity",
            "none",
        ];
        let reserved = WORDS.iter().any(|w| text.eq_ignore_ascii_case(w));
        let numeric = (first.is_ascii_digit() || first == b'.')
            && bytes
                .iter()
                .all(|&b| b.is_ascii_hexdigit() || b"xXoOtTzZ_.:+-".contains(&b));
        first_ok
            && all_ok
            && bytes.last() != Some(&b':')
            && !bytes.starts_with(b"..")
            && !reserved
            && !numeric
    }

    #[test]
    fn plain_scalar_test_agrees_with_the_rules() {
        let mut samples: Vec<String> = [
            "",
            "a",
            "y",
            "Y",
            "n",
            "No",
            "NULL",
            "nullx",
            "on",
            "ON",
            "off",
            "oFF",
            "true",
            "False",
            "yes",
            "inf",
            ".inf",
            ".NaN",
            "nan",
            "Infinity",
            ".infinity",
            "none",
            "None",
            "ok",
            "1",
            "1.0",
            "1.0.0",
            "0x1F",
            "0o17",
            "1e3",
            "12ab",
            "128Mi",
            "500m",
            "2001-12-14t21:59:43.10-05:00",
            "..",
            "...",
            ".hidden",
            "a:",
            "a:b",
            "key: v",
            "a b",
            "#x",
            "-x",
            "x-",
            "/path",
            "_x",
            "@x",
            "x@y",
            "+1",
            "é",
            "a,b",
            "tcp",
            "infinityx",
            "ninety",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Every string of up to three bytes over an alphabet that reaches each rule.
        let alphabet = b"0aeflnoruxyINY._:-@+/ #,\"";
        for &a in alphabet {
            samples.push(char::from(a).to_string());
            for &b in alphabet {
                samples.push(String::from_utf8(vec![a, b]).unwrap_or_default());
                for &c in alphabet {
                    samples.push(String::from_utf8(vec![a, b, c]).unwrap_or_default());
                }
            }
        }
        for text in &samples {
            assert_eq!(
                is_plain_safe(text),
                plain_safe_by_the_rules(text),
                "{text:?}"
            );
        }
    }

    fn round_trip(value: &Value) {
        let text = to_yaml(value);
        let parsed: Value = serde_saphyr::from_str(&text)
            .unwrap_or_else(|err| panic!("emitted YAML does not parse: {err}\n{text}"));
        assert_eq!(
            &parsed, value,
            "round trip changed the value; YAML was:\n{text}"
        );
    }

    fn scalar(text: &str) -> String {
        let mut out = String::new();
        write_string(&mut out, text);
        out
    }

    #[test]
    fn deployment_golden() {
        let deployment = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "api-gateway",
                "namespace": "edge",
                "labels": {
                    "app.kubernetes.io/name": "api-gateway",
                    "app.kubernetes.io/version": "1.0.0",
                    "app.kubernetes.io/managed-by": "shipshape"
                },
                "annotations": {}
            },
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app.kubernetes.io/name": "api-gateway"}},
                "template": {
                    "metadata": {"labels": {"app.kubernetes.io/name": "api-gateway"}},
                    "spec": {
                        "containers": [{
                            "name": "app",
                            "image": "ghcr.io/openpolicy/api-gateway:1.0.0",
                            "args": ["--port", "8080", "--verbose"],
                            "env": [
                                {"name": "LOG_LEVEL", "value": "info"},
                                {"name": "FEATURE_X", "value": "on"},
                                {"name": "GREETING", "value": "hello: world\nbye"}
                            ],
                            "ports": [{"containerPort": 80, "protocol": "TCP"}],
                            "resources": {
                                "requests": {"cpu": "500m", "memory": "128Mi"},
                                "limits": {"cpu": "1", "memory": "1Gi"}
                            },
                            "readinessProbe": {
                                "httpGet": {"path": "/healthz", "port": 8080},
                                "periodSeconds": 2.5
                            },
                            "volumeMounts": []
                        }],
                        "automountServiceAccountToken": false,
                        "nodeSelector": null
                    }
                }
            }
        });
        let expected = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: api-gateway
  namespace: edge
  labels:
    app.kubernetes.io/name: api-gateway
    app.kubernetes.io/version: "1.0.0"
    app.kubernetes.io/managed-by: shipshape
  annotations: {}
spec:
  replicas: 3
  selector:
    matchLabels:
      app.kubernetes.io/name: api-gateway
  template:
    metadata:
      labels:
        app.kubernetes.io/name: api-gateway
    spec:
      containers:
      - name: app
        image: ghcr.io/openpolicy/api-gateway:1.0.0
        args:
        - "--port"
        - "8080"
        - "--verbose"
        env:
        - name: LOG_LEVEL
          value: info
        - name: FEATURE_X
          value: "on"
        - name: GREETING
          value: "hello: world\nbye"
        ports:
        - containerPort: 80
          protocol: TCP
        resources:
          requests:
            cpu: 500m
            memory: 128Mi
          limits:
            cpu: "1"
            memory: 1Gi
        readinessProbe:
          httpGet:
            path: /healthz
            port: 8080
          periodSeconds: 2.5
        volumeMounts: []
      automountServiceAccountToken: false
      nodeSelector: null
"#;
        assert_eq!(to_yaml(&deployment), expected);
        round_trip(&deployment);
    }

    #[test]
    fn write_yaml_appends_one_document() {
        let mut out = String::from("---\n");
        write_yaml(&mut out, &json!({"a": 1}));
        out.push_str("---\n");
        write_yaml(&mut out, &json!([1, "x"]));
        assert_eq!(out, "---\na: 1\n---\n- 1\n- x\n");
    }

    #[test]
    fn top_level_scalars_and_empty_collections() {
        assert_eq!(to_yaml(&json!(null)), "null\n");
        assert_eq!(to_yaml(&json!(true)), "true\n");
        assert_eq!(to_yaml(&json!(-7)), "-7\n");
        assert_eq!(to_yaml(&json!(u64::MAX)), "18446744073709551615\n");
        assert_eq!(to_yaml(&json!(0.1)), "0.1\n");
        assert_eq!(to_yaml(&json!(1.0)), "1.0\n");
        assert_eq!(to_yaml(&json!("x")), "x\n");
        assert_eq!(to_yaml(&json!({})), "{}\n");
        assert_eq!(to_yaml(&json!([])), "[]\n");
    }

    #[test]
    fn must_quote() {
        for text in [
            "1.10",
            "0755",
            "NO",
            "on",
            "~",
            "",
            "null",
            "8080",
            "a: b",
            "#x",
            "- x",
            "2001-12-14",
            "1e3",
            "true",
            "x\ny",
            "  lead",
            "trail ",
            "Yes",
            "y",
            "N",
            "OFF",
            "Null",
            "NULL",
            "None",
            ".inf",
            "-.inf",
            ".NaN",
            "nan",
            "Infinity",
            ".5",
            "5.",
            "1_000",
            "0x1f",
            "0o17",
            "0b101",
            "1:20",
            "190:20:30.15",
            "+1",
            "-1",
            "1E+3",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14T21:59:43Z",
            "-",
            "?",
            ":",
            "?x",
            ":x",
            "x:",
            "a #b",
            "a,b",
            "[a]",
            "{a}",
            "*ref",
            "&anchor",
            "!tag",
            "|",
            ">",
            "%x",
            "@x",
            "`x",
            "'x'",
            "\"x\"",
            "<<",
            "=",
            "...",
            "..x",
            "---",
            "tab\there",
            "caf\u{e9}",
            "1.0.0",
        ] {
            let quoted = scalar(text);
            assert!(
                quoted.starts_with('"') && quoted.ends_with('"'),
                "{text:?} must be quoted, got {quoted}"
            );
        }
    }

    #[test]
    fn may_be_plain() {
        for text in [
            "nginx",
            "postgres:16.4",
            "x:y",
            "/healthz",
            "app.kubernetes.io/name",
            "128Mi",
            "500m",
            "1Gi",
            "ghcr.io/openpolicy/api-gateway:1.0.0",
            "v1",
            "apps/v1",
            "_private",
            ".hidden",
            "a-b_c.d",
            "user@example.com",
            "c++",
            "yesterday",
            "nully",
            "TCP",
            "10s",
        ] {
            assert_eq!(scalar(text), text, "{text:?} should be plain");
        }
    }

    #[test]
    fn keys_follow_the_same_rule() {
        let value = json!({"app.kubernetes.io/name": 1, "8080": 2, "on": 3, "": 4, "a b": 5});
        assert_eq!(
            to_yaml(&value),
            "app.kubernetes.io/name: 1\n\"8080\": 2\n\"on\": 3\n\"\": 4\n\"a b\": 5\n"
        );
        round_trip(&value);
    }

    #[test]
    fn escapes() {
        assert_eq!(scalar("x\ny"), r#""x\ny""#);
        assert_eq!(scalar("say \"hi\" \\ bye"), r#""say \"hi\" \\ bye""#);
        assert_eq!(scalar("\u{0}\u{7}\u{1b}"), r#""\u0000\u0007\u001B""#);
        assert_eq!(
            scalar("a\u{7f}\u{85}\u{2028}b"),
            r#""a\u007F\u0085\u2028b""#
        );
        assert_eq!(scalar("\u{feff}x"), r#""\uFEFFx""#);
        assert_eq!(
            scalar("snow \u{2603} \u{1F600}"),
            "\"snow \u{2603} \u{1F600}\""
        );
    }

    #[test]
    fn serde_saphyr_resolution_of_unquoted_scalars() {
        // Documents why the quoting rule exists: serde-saphyr resolves these plain scalars to
        // non-strings (YAML 1.1 booleans in any case, `0755` as the float 755.0, `.inf` as an
        // error), while quoting keeps every one of them a string.
        let resolved = |text: &str| -> Option<Value> {
            serde_saphyr::from_str::<Value>(&format!("k: {text}\n"))
                .ok()
                .map(|doc| doc["k"].clone())
        };
        for (text, expected) in [
            ("on", Some(json!(true))),
            ("yes", Some(json!(true))),
            ("tRue", Some(json!(true))),
            ("NO", Some(json!(false))),
            ("y", Some(json!(true))),
            ("~", Some(json!(null))),
            ("Null", Some(json!(null))),
            ("0755", Some(json!(755.0))),
            ("0x1f", Some(json!(31))),
            ("0o17", Some(json!(15))),
            ("1_000", Some(json!(1000))),
            ("1e3", Some(json!(1000.0))),
            (".5", Some(json!(0.5))),
            ("+1", Some(json!(1))),
            (".inf", None),
        ] {
            assert_eq!(resolved(text), expected, "plain {text}");
            assert_eq!(resolved(&scalar(text)), Some(json!(text)), "quoted {text}");
        }
    }

    #[test]
    fn nested_layouts() {
        let value = json!({
            "a": {"b": {}, "c": [], "d": [[]], "e": [{}]},
            "lists": [["a", "b"], [["c"]], [], {}, [{"k": [1, {"z": null}]}]],
            "maps": [{"x": {"y": [1]}, "w": 2}]
        });
        let expected = r#"a:
  b: {}
  c: []
  d:
  - []
  e:
  - {}
lists:
- - a
  - b
- - - c
- []
- {}
- - k:
    - 1
    - z: null
maps:
- x:
    "y":
    - 1
  w: 2
"#;
        assert_eq!(to_yaml(&value), expected);
        round_trip(&value);
    }

    #[test]
    fn long_keys_use_explicit_form() {
        let long_key = "k".repeat(MAX_IMPLICIT_KEY_BYTES + 1);
        let value = json!([{ long_key.as_str(): {"inner": [1]}, "short": 1 }]);
        let text = to_yaml(&value);
        assert!(text.starts_with("- ? kkk"), "{text}");
        round_trip(&value);
    }

    #[test]
    fn round_trips_tricky_strings() {
        let tricky = [
            "",
            " ",
            "  lead",
            "trail  ",
            "1.10",
            "0755",
            "NO",
            "on",
            "Off",
            "~",
            "null",
            "Null",
            "8080",
            "-1",
            "+1",
            "1e3",
            "1E3",
            ".5",
            ".inf",
            "-.Inf",
            ".nan",
            "NaN",
            "inf",
            "0x1f",
            "0o17",
            "0b11",
            "1_000",
            "1:20",
            "2001-12-14",
            "2001-12-14T21:59:43Z",
            "true",
            "False",
            "yes",
            "y",
            "n",
            "a: b",
            "a:b",
            "x:",
            "#x",
            "a #b",
            "a#b",
            "- x",
            "-",
            "--",
            "---",
            "...",
            "?",
            "? x",
            ":",
            "|",
            ">",
            "|-",
            "[",
            "]",
            "{",
            "}",
            ",",
            "&a",
            "*a",
            "!a",
            "!!str",
            "%TAG",
            "@",
            "`",
            "'",
            "\"",
            "\\",
            "<<",
            "=",
            "x\ny",
            "x\n",
            "\n",
            "\r\n",
            "\t",
            "a\tb",
            "\u{0}",
            "\u{7f}",
            "\u{85}",
            "\u{a0}",
            "\u{2028}",
            "\u{feff}",
            "\u{fffe}",
            "caf\u{e9}",
            "\u{1F600}",
            "nginx",
            "postgres:16.4",
            "/healthz",
            "app.kubernetes.io/name",
            "128Mi",
            "500m",
            "v1",
            "apps/v1",
            "ghcr.io/openpolicy/api-gateway:1.0.0",
            "1.0.0",
            "10.0.0.1",
            "user@example.com",
            "c++",
            "_x",
            ".x",
            "/",
            "./a",
            "../a",
            "a/b:c@d+e-f",
            "http://example.com/a?b=c#d",
            "key: value # comment",
            "{a: 1}",
            "[1, 2]",
        ];
        let strings: Vec<Value> = tricky.iter().map(|s| json!(s)).collect();
        let as_keys: Map<String, Value> = tricky
            .iter()
            .enumerate()
            .map(|(index, s)| ((*s).to_owned(), json!(index)))
            .collect();
        let as_values: Map<String, Value> = tricky
            .iter()
            .enumerate()
            .map(|(index, s)| (format!("k{index}"), json!(s)))
            .collect();
        round_trip(&Value::Array(strings.clone()));
        round_trip(&Value::Object(as_keys.clone()));
        round_trip(&Value::Object(as_values.clone()));
        round_trip(&json!({"deep": [{"keys": as_keys, "values": [as_values, strings]}]}));
        for s in tricky {
            round_trip(&json!(s));
            round_trip(&json!([s]));
            round_trip(&json!({ s: s }));
        }
    }

    #[test]
    fn round_trips_numbers_and_structures() {
        let value = json!({
            "ints": [0, 1, -1, i64::MIN, i64::MAX, u64::MAX],
            "floats": [0.1, -2.5, 1.0, 1e20, 1.5e-7, 123456.789],
            "bools": [true, false],
            "nulls": [null, {"a": null}],
            "empty": [{}, [], {"a": {}}, {"a": []}, [[]], [{}]],
            "deep": [[["a", ["b", {"c": [[{"d": "e"}]]}]]]]
        });
        round_trip(&value);
    }

    /// Deterministic xorshift so the generated structures are the same on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self, bound: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % bound as u64) as usize
        }
    }

    fn generate(rng: &mut Rng, pool: &[&str], depth: usize) -> Value {
        let choice = if depth == 0 { rng.next(5) } else { rng.next(8) };
        match choice {
            0 => json!(pool[rng.next(pool.len())]),
            1 => json!(null),
            2 => json!(rng.next(2) == 0),
            3 => json!(rng.next(100_000) as i64 - 50_000),
            4 => json!(rng.next(1000) as f64 / 8.0),
            5 | 6 => {
                let mut map = Map::new();
                for _ in 0..rng.next(4) {
                    let key = pool[rng.next(pool.len())].to_owned();
                    map.insert(key, generate(rng, pool, depth - 1));
                }
                Value::Object(map)
            }
            _ => Value::Array(
                (0..rng.next(4))
                    .map(|_| generate(rng, pool, depth - 1))
                    .collect(),
            ),
        }
    }

    #[test]
    fn round_trips_generated_structures() {
        let pool = [
            "",
            "a",
            "on",
            "No",
            "~",
            "null",
            "0755",
            "1.10",
            "8080",
            "- x",
            "a: b",
            "#c",
            "x\ny",
            " lead",
            "2001-12-14",
            "1e3",
            "nginx",
            "128Mi",
            "apps/v1",
            "x:y",
            "\u{85}",
            "\"q\"",
        ];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..2000 {
            let value = generate(&mut rng, &pool, 4);
            round_trip(&value);
        }
    }
}
