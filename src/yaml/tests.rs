use super::*;
use serde_json::json;

fn parse(text: &str) -> Result<Vec<YamlDocument>, YamlError> {
    let file = SourceFile::new("t.yaml", text);
    parse_documents(&file, &Limits::default())
}

#[test]
fn values_and_spans() {
    let docs = parse("a: 1\nb:\n  - x\n  - 'y'\nc: {d: true}\n").unwrap();
    assert_eq!(docs.len(), 1);
    assert_eq!(
        docs[0].value,
        json!({"a": 1, "b": ["x", "y"], "c": {"d": true}})
    );
    let s = docs[0].spans.get("/b/1").unwrap();
    assert_eq!((s.value.line, s.value.column), (4, 5));
    let a = docs[0].spans.get("/a").unwrap();
    assert_eq!(a.key.map(|k| (k.line, k.column)), Some((1, 1)));
    assert_eq!(docs[0].spans.nearest("/c/d/zz").unwrap().value.line, 5);
}

#[test]
fn core_schema_scalars() {
    let docs = parse("a: 0755\nb: on\nc: 1.10\nd: '1.10'\ne: ~\nf: 0x1f\ng: 1e3\nh: NO\n").unwrap();
    assert_eq!(
        docs[0].value,
        json!({"a": 755, "b": "on", "c": 1.1, "d": "1.10", "e": null, "f": 31, "g": 1000.0, "h": "NO"})
    );
}

#[test]
fn duplicate_key_is_an_error_with_both_places() {
    let e = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
    assert_eq!(e.message, "duplicate key `a`");
    assert_eq!(e.span.line, 3);
    assert_eq!(e.related.unwrap().0.line, 1);
}

#[test]
fn multiple_documents() {
    let docs = parse("a: 1\n---\nb: 2\n---\n").unwrap();
    assert_eq!(docs.len(), 3);
    assert_eq!(docs[1].value, json!({"b": 2}));
    assert_eq!(docs[1].start.line, 3);
    assert_eq!(docs[2].value, Value::Null);
}

#[test]
fn alias_bomb_is_refused() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        text.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n",
            p = i - 1
        ));
    }
    let e = parse(&text).unwrap_err();
    assert!(e.message.contains("YAML nodes"), "{}", e.message);
}

#[test]
fn deep_nesting_is_refused() {
    let text = "[".repeat(500) + &"]".repeat(500);
    let e = parse(&text).unwrap_err();
    assert!(e.message.contains("nesting deeper"), "{}", e.message);
    let e = parse(&("a:\n".to_owned() + &"- ".repeat(100) + "x\n")).unwrap_err();
    assert!(e.message.contains("nesting deeper"), "{}", e.message);
}

#[test]
fn syntax_error_has_a_place() {
    let e = parse("a: [1, 2\nb: 3\n").unwrap_err();
    assert!(e.message.starts_with("not valid YAML"));
    assert!(e.span.line >= 1);
}

#[test]
fn pointer_escaping() {
    let docs = parse("\"a/b\": {\"c~d\": 1}\n").unwrap();
    assert!(docs[0].spans.get("/a~1b/c~0d").is_some());
}

#[test]
fn unicode_columns_and_offsets() {
    let text = "name: \"é€\"\nnext: x\n";
    let docs = parse(text).unwrap();
    let s = docs[0].spans.get("/next").unwrap().value;
    assert_eq!(&text[s.start..s.end], "x");
    assert_eq!((s.line, s.column), (2, 7));
}

#[test]
fn span_lookups_follow_sequences_and_escaped_keys() {
    let file = SourceFile::new("t.yaml", "a:\n  - x\n  - k/~: [1, 2]\n\"0\": { \"\": z }\n");
    let docs = parse_documents(&file, &Limits::default()).unwrap();
    let spans = &docs[0].spans;
    assert_eq!(spans.get("/a/1/k~1~0/1").unwrap().value.line, 3);
    assert_eq!(spans.get("/0/").unwrap().value.line, 4);
    assert_eq!(spans.get("").unwrap().value.line, 1);
    // Not the canonical index form, or past the end: only the nearest ancestor is found.
    assert!(spans.get("/a/01").is_none());
    assert!(spans.get("/a/+1").is_none());
    assert!(spans.get("/a/2").is_none());
    assert_eq!(spans.nearest("/a/2/x").unwrap().value.line, 2);
    assert!(spans.get("a").is_none() && spans.nearest("a").is_none());
}

/// Span bookkeeping is linear in the input: a node stores its own key, not the keys above it (a
/// long key over many children once cost key length x children bytes).
#[test]
fn span_index_stores_each_key_once() {
    let key = "k".repeat(100_000);
    let mut text = format!("? {key}\n:\n");
    for i in 0..1_000 {
        text.push_str(&format!("  a{i}:\n    - x\n"));
    }
    let docs = parse(&text).unwrap();
    let spans = &docs[0].spans;
    let stored: usize = spans.children.keys().map(|(_, k)| k.len()).sum();
    assert!(
        stored < 2 * text.len(),
        "{stored} bytes of keys for {} bytes of input",
        text.len()
    );
    assert_eq!(
        spans.get(&format!("/{key}/a999/0")).unwrap().value.line,
        2002
    );
}
