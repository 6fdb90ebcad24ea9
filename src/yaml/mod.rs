//! Span-aware YAML reading.
//!
//! serde-saphyr deserialises YAML well, but a diagnostic about a catalogue or a hand-written
//! manifest has to point at the exact line of a value, and JSON Schema errors arrive as JSON
//! pointers. So user input is read here from serde-saphyr's own parser (granit) into a
//! `serde_json::Value` plus a map from every JSON pointer to its source span, in one pass.
//! The same pass enforces the input limits (size, depth, node count including alias expansion)
//! and refuses duplicate keys.

mod fast;
pub mod input;
pub mod limits;
mod scalar;
mod source;

pub use limits::Limits;
pub use source::{SourceFile, Span};

use scalar::resolve_plain_in;
pub use scalar::Schema;
use serde_json::{Map, Value};
use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, ScanError, Tag};
use std::collections::HashMap;
use std::sync::Arc;

/// Where one node sits in its file: the value and, for map entries, the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeSpan {
    pub value: Span,
    pub key: Option<Span>,
}

/// Spans of every node of one document, looked up by JSON pointer ("" is the root).
///
/// Stored as a tree (each node keeps only its own pointer segment), not as a map of full
/// pointers: a full pointer repeats every key above the node, so long keys over many nodes (or
/// deep nesting) would cost memory quadratic in the input.
#[derive(Debug, Clone, Default)]
pub struct SpanIndex {
    /// Span of each node, by node id.
    spans: Vec<NodeSpan>,
    /// (mapping id, key as escaped in a JSON pointer) -> child id.
    children: HashMap<(usize, Box<str>), usize>,
    /// Sequence id -> its items' ids, in order.
    items: HashMap<usize, Vec<usize>>,
    root: Option<usize>,
}

/// A node's place under its parent: an index in a sequence or a key in a mapping.
enum Segment {
    Index,
    /// The key, escaped as in a JSON pointer.
    Key(String),
}

impl SpanIndex {
    pub fn get(&self, pointer: &str) -> Option<NodeSpan> {
        match self.walk(pointer)? {
            (id, true) => Some(self.spans[id]),
            (_, false) => None,
        }
    }

    /// The span of `pointer`, or of its nearest ancestor that has one.
    pub fn nearest(&self, pointer: &str) -> Option<NodeSpan> {
        self.walk(pointer).map(|(id, _)| self.spans[id])
    }

    /// The deepest node on the path of `pointer`, and whether it is the node `pointer` names.
    fn walk(&self, pointer: &str) -> Option<(usize, bool)> {
        let mut id = self.root?;
        if pointer.is_empty() {
            return Some((id, true));
        }
        for segment in pointer.strip_prefix('/')?.split('/') {
            let child = match self.items.get(&id) {
                Some(items) => segment
                    .parse::<usize>()
                    .ok()
                    // Only the canonical form, as the pointer of an item is written.
                    .filter(|i| i.to_string() == segment)
                    .and_then(|i| items.get(i)),
                None => self.children.get(&(id, Box::from(segment))),
            };
            match child {
                Some(&child) => id = child,
                None => return Some((id, false)),
            }
        }
        Some((id, true))
    }

    /// Adds a node under `parent` (`None`: the root) and returns its id.
    fn add(&mut self, parent: Option<(usize, Segment)>, span: NodeSpan) -> usize {
        let id = self.spans.len();
        self.spans.push(span);
        match parent {
            Some((parent, Segment::Index)) => self.items.entry(parent).or_default().push(id),
            Some((parent, Segment::Key(key))) => {
                self.children.insert((parent, key.into_boxed_str()), id);
            }
            None => self.root = Some(id),
        }
        id
    }
}

/// One YAML document with the spans of its nodes.
#[derive(Debug, Clone)]
pub struct YamlDocument {
    pub value: Value,
    pub spans: Arc<SpanIndex>,
    /// Span of the document's root node (or of its start marker when empty).
    pub start: Span,
}

/// A YAML file that could not be read, with the place where reading stopped.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    pub message: String,
    pub span: Span,
    pub label: String,
    pub help: Option<String>,
    /// A second place involved, e.g. the first occurrence of a duplicate key.
    pub related: Option<(Span, String)>,
}

/// Appends one JSON-pointer segment, escaped as RFC 6901 requires.
pub fn push_pointer_segment(pointer: &mut String, segment: &str) {
    pointer.push('/');
    for c in segment.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

/// Where a node about to be added goes in the span tree: its parent's id and its pointer segment
/// (`None` for the root), and its key's span inside a map.
type Slot = (Option<(usize, Segment)>, Option<Span>);

enum Frame {
    Seq {
        items: Vec<Value>,
        /// Node id in the span tree (0 when spans are not tracked).
        id: usize,
        start: Span,
        anchor: usize,
    },
    Map {
        entries: Map<String, Value>,
        id: usize,
        start: Span,
        anchor: usize,
        pending_key: Option<(String, Span)>,
        key_spans: HashMap<String, Span>,
    },
}

struct Builder<'a> {
    limits: &'a Limits,
    file: &'a SourceFile,
    /// Record pointers and spans; off for text shipshape generated itself, where nobody needs a
    /// line number and the bookkeeping would dominate the cost.
    track: bool,
    schema: Schema,
    stack: Vec<Frame>,
    spans: SpanIndex,
    anchors: HashMap<usize, Value>,
    nodes: usize,
    /// Bytes of keys and strings replayed by aliases so far in the file.
    expanded_bytes: usize,
    root: Option<(Value, Span)>,
}

/// Parses every document of `file`, recording the span of every node.
pub fn parse_documents(file: &SourceFile, limits: &Limits) -> Result<Vec<YamlDocument>, YamlError> {
    parse(file, limits, true, Schema::Core)
}

/// [`parse_documents`] with plain scalars resolved by `schema` (YAML 1.1 for manifests read as
/// Kubernetes reads them).
pub fn parse_documents_in(
    file: &SourceFile,
    limits: &Limits,
    schema: Schema,
) -> Result<Vec<YamlDocument>, YamlError> {
    parse(file, limits, true, schema)
}

/// Parses every document of `text` into values only, with the same scalar rules and limits as
/// [`parse_documents`] but no span bookkeeping: the fast path for rendered template output.
pub fn parse_values(text: &str, limits: &Limits) -> Result<Vec<Value>, YamlError> {
    if text.len() <= limits.max_file_bytes {
        if let Some(values) = fast::parse(text) {
            return Ok(values);
        }
    }
    let file = SourceFile::new("<rendered>", text);
    match parse(&file, limits, false, Schema::Core) {
        Ok(docs) => Ok(docs.into_iter().map(|d| d.value).collect()),
        // Parse again with spans so the error can say where.
        Err(_) => parse(&file, limits, true, Schema::Core)
            .map(|docs| docs.into_iter().map(|d| d.value).collect()),
    }
}

fn parse(
    file: &SourceFile,
    limits: &Limits,
    track: bool,
    schema: Schema,
) -> Result<Vec<YamlDocument>, YamlError> {
    if file.text.len() > limits.max_file_bytes {
        return Err(YamlError {
            message: format!(
                "file is {} bytes, above the input limit of {} bytes",
                file.text.len(),
                limits.max_file_bytes
            ),
            span: file.span_of(0, 0),
            label: "file starts here".into(),
            help: Some(format!(
                "split the file, or raise the limit with {}=<bytes>",
                limits::MAX_FILE_BYTES_VAR
            )),
            related: None,
        });
    }
    // The parser's own nesting limits are ours, so deep input is refused at the same depth, with
    // the same message, whether the parser (which scans flow collections ahead) or the builder
    // sees it first; raising SHIPSHAPE_MAX_DEPTH raises both.
    let mut options = serde_saphyr::granit_parser::Options::default();
    options.flow_nesting_limit = limits.max_depth;
    options.block_nesting_limit = limits.max_depth;
    let mut parser = Parser::new_from_str_with_options(&file.text, options);
    let mut docs = Vec::new();
    let mut builder: Option<Builder> = None;
    let mut total_nodes = 0usize;
    let mut total_expanded = 0usize;
    let mut doc_start = file.span_of(0, 0);
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| scan_error(file, &e, limits))?;
        let span = if track {
            file.span_from_markers(span.start, span.end)
        } else {
            Span::default()
        };
        match event {
            Event::StreamStart | Event::StreamEnd => {}
            Event::DocumentStart(..) => {
                doc_start = span;
                builder = Some(Builder {
                    limits,
                    file,
                    track,
                    schema,
                    stack: Vec::new(),
                    spans: SpanIndex::default(),
                    anchors: HashMap::new(),
                    nodes: total_nodes,
                    expanded_bytes: total_expanded,
                    root: None,
                });
            }
            Event::DocumentEnd => {
                if let Some(b) = builder.take() {
                    total_nodes = b.nodes;
                    total_expanded = b.expanded_bytes;
                    let (value, start) = b.root.unwrap_or((Value::Null, doc_start));
                    docs.push(YamlDocument {
                        value,
                        spans: Arc::new(b.spans),
                        start,
                    });
                }
            }
            other => {
                let b = builder.as_mut().ok_or_else(|| YamlError {
                    message: "YAML content outside a document".into(),
                    span,
                    label: "here".into(),
                    help: None,
                    related: None,
                })?;
                b.event(other, span)?;
            }
        }
    }
    Ok(docs)
}

fn scan_error(file: &SourceFile, e: &ScanError, limits: &Limits) -> YamlError {
    let m = e.marker();
    let span = file.span_from_markers(*m, *m);
    // A raw control character stops the parser (which points at the start of the scalar
    // holding it); say which and why, not "check indentation".
    let rest_of_line = file.text.get(span.start..).and_then(|t| t.lines().next());
    if let Some((i, c)) =
        rest_of_line.and_then(|t| t.char_indices().find(|&(_, c)| is_refused_control(c)))
    {
        return control_error(
            file.span_of(span.start + i, c.len_utf8()),
            c,
            "this character",
        );
    }
    if e.info().contains("recursion limit") {
        return YamlError {
            message: format!("nesting deeper than {} levels", limits.max_depth),
            span,
            label: "too deep here".into(),
            help: Some(format!(
                "flatten the structure, or raise the limit with {}=<levels>",
                limits::MAX_DEPTH_VAR
            )),
            related: None,
        };
    }
    YamlError {
        message: format!("not valid YAML: {}", e.info()),
        span,
        label: "the YAML parser stopped here".into(),
        help: Some(
            "check indentation, unclosed quotes or brackets, and tabs (YAML allows spaces only)"
                .into(),
        ),
        related: None,
    }
}

impl Builder<'_> {
    fn error(&self, span: Span, message: String, label: &str, help: Option<String>) -> YamlError {
        YamlError {
            message,
            span,
            label: label.into(),
            help,
            related: None,
        }
    }

    fn count_node(&mut self, span: Span, added: usize) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(added);
        if self.nodes > self.limits.max_nodes {
            return Err(self.error(
                span,
                format!(
                    "input has more than {} YAML nodes (aliases count every node they repeat)",
                    self.limits.max_nodes
                ),
                "limit reached here",
                Some(format!(
                    "this looks like an alias bomb or generated data; raise the limit with {}=<count> if it is real",
                    limits::MAX_NODES_VAR
                )),
            ));
        }
        Ok(())
    }

    /// Whether `tag` makes the scalar a string; an error for a tag shipshape cannot honour.
    ///
    /// An application tag (`!vault`, `!Ref`) asks another program to compute the value; read
    /// as YAML alone its node would silently become the tagged text, and the secret or reference
    /// it stood for would never be resolved.
    fn check_tag(&self, tag: Option<&Tag>, span: Span) -> Result<bool, YamlError> {
        let Some(tag) = tag else {
            return Ok(false);
        };
        if let Some(core) = tag.core_suffix() {
            return Ok(core == "str");
        }
        // The non-specific tag `!` only says "not a plain scalar": a string.
        if tag.handle() == "!" && tag.suffix().is_empty() {
            return Ok(true);
        }
        let shown = tag.original();
        Err(self.error(
            self.tag_span(span, &shown),
            format!("unknown YAML tag `{}`", brief(&shown)),
            "tagged here",
            Some(format!(
                "shipshape reads plain YAML (the tags !!str, !!int, !!float, !!bool, !!null, \
                 !!seq and !!map only) and resolves no application tag; write the value itself, \
                 or quote the whole thing (\"{} ...\") if the tag is meant as text",
                brief(&shown)
            )),
        ))
    }

    /// Refuses control characters (C0 but tab and line breaks, DEL, C1) in a key or value.
    ///
    /// Written raw, the parser refuses them already; written as escapes (`"\x7f"`, `"\u0085"`)
    /// they would reach the rendered output, and kustomize (what Argo CD runs) fails on the whole
    /// environment when it meets DEL or a C1 control. One rule for all of them, raw or escaped.
    fn check_controls(&self, text: &str, span: Span) -> Result<(), YamlError> {
        let Some(c) = text.chars().find(|&c| is_refused_control(c)) else {
            return Ok(());
        };
        let raw = self.file.text.get(span.start..span.end).unwrap_or("");
        let (span, label) = match raw.find(c) {
            Some(i) if self.track => (
                self.file.span_of(span.start + i, c.len_utf8()),
                "this character",
            ),
            _ => (span, "written as an escape here"),
        };
        Err(control_error(span, c, label))
    }

    /// The span of the tag written before the node at `span` (the node's own span if it is not
    /// found), so the report points at `!vault`, not at the value after it.
    fn tag_span(&self, span: Span, written: &str) -> Span {
        const LOOK_BACK: usize = 4096;
        let mut from = span.start.saturating_sub(LOOK_BACK);
        while !self.file.text.is_char_boundary(from) {
            from -= 1;
        }
        match self
            .file
            .text
            .get(from..span.start)
            .and_then(|t| t.rfind(written))
        {
            Some(i) if self.track && !written.is_empty() => {
                self.file.span_of(from + i, written.len())
            }
            _ => span,
        }
    }

    fn count_expanded(&mut self, span: Span, added: usize) -> Result<(), YamlError> {
        self.expanded_bytes = self.expanded_bytes.saturating_add(added);
        if self.expanded_bytes <= self.limits.max_expanded_bytes {
            return Ok(());
        }
        Err(self.error(
            span,
            format!(
                "aliases in this file repeat more than {} bytes of keys and strings",
                self.limits.max_expanded_bytes
            ),
            "limit reached at this alias",
            Some(format!(
                "this looks like an alias bomb (a long string repeated through aliases); write the \
                 value out where it is needed, or raise the limit with {}=<bytes> if it is real",
                limits::MAX_EXPANDED_BYTES_VAR
            )),
        ))
    }

    /// Where the node that is about to be added goes; `None` when it is a mapping key itself.
    fn child_slot(&self) -> Option<Slot> {
        if !self.track {
            return match self.stack.last() {
                Some(Frame::Map {
                    pending_key: None, ..
                }) => None,
                _ => Some((None, None)),
            };
        }
        match self.stack.last() {
            None => Some((None, None)),
            Some(Frame::Seq { id, .. }) => Some((Some((*id, Segment::Index)), None)),
            Some(Frame::Map {
                id, pending_key, ..
            }) => match pending_key {
                Some((key, key_span)) => {
                    let mut segment = String::with_capacity(key.len() + 1);
                    push_pointer_segment(&mut segment, key);
                    segment.remove(0);
                    Some((Some((*id, Segment::Key(segment))), Some(*key_span)))
                }
                // No pending key: this node is a key itself.
                None => None,
            },
        }
    }

    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), YamlError> {
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let is_key_position = matches!(
                    self.stack.last(),
                    Some(Frame::Map {
                        pending_key: None,
                        ..
                    })
                );
                if text.len() > self.limits.max_scalar_bytes {
                    return Err(self.error(
                        span,
                        format!(
                            "a scalar of {} bytes is above the limit of {} bytes",
                            text.len(),
                            self.limits.max_scalar_bytes
                        ),
                        "this value",
                        Some(format!(
                            "raise the limit with {}=<bytes> if the value is real",
                            limits::MAX_SCALAR_BYTES_VAR
                        )),
                    ));
                }
                let forced_string = self.check_tag(tag.as_deref(), span)?;
                self.check_controls(&text, span)?;
                if is_key_position {
                    return self.map_key(text.into_owned(), span);
                }
                let value = if style != ScalarStyle::Plain || forced_string {
                    Value::String(text.into_owned())
                } else {
                    resolve_plain_in(&text, self.schema).map_err(|msg| {
                        self.error(
                            span,
                            msg,
                            "this value",
                            Some("quote the value to keep it as a string".into()),
                        )
                    })?
                };
                self.count_node(span, 1)?;
                if anchor != 0 {
                    self.anchors.insert(anchor, value.clone());
                }
                self.add_value(value, span)
            }
            Event::Alias(id) => {
                if matches!(
                    self.stack.last(),
                    Some(Frame::Map {
                        pending_key: None,
                        ..
                    })
                ) {
                    return Err(self.error(
                        span,
                        "an alias used as a mapping key is not supported".into(),
                        "alias key",
                        Some("write the key out in full".into()),
                    ));
                }
                let Some(anchored) = self.anchors.get(&id) else {
                    return Err(self.error(
                        span,
                        "alias refers to an unknown anchor".into(),
                        "unknown alias",
                        None,
                    ));
                };
                // Measured before it is copied: the copy is what would exhaust memory.
                let node_budget = self.limits.max_nodes.saturating_sub(self.nodes) + 1;
                let byte_budget = self
                    .limits
                    .max_expanded_bytes
                    .saturating_sub(self.expanded_bytes)
                    + 1;
                let size = measure(anchored, node_budget, byte_budget);
                self.count_node(span, size.nodes)?;
                self.count_expanded(span, size.bytes)?;
                let value = self.anchors.get(&id).cloned().unwrap_or(Value::Null);
                self.add_value(value, span)
            }
            Event::SequenceStart(_, anchor, ref tag) | Event::MappingStart(_, anchor, ref tag) => {
                self.check_tag(tag.as_deref(), span)?;
                let is_map = matches!(event, Event::MappingStart(..));
                if self.stack.len() >= self.limits.max_depth {
                    return Err(self.error(
                        span,
                        format!("nesting deeper than {} levels", self.limits.max_depth),
                        "too deep here",
                        Some(format!(
                            "flatten the structure, or raise the limit with {}=<levels>",
                            limits::MAX_DEPTH_VAR
                        )),
                    ));
                }
                let Some((parent, key)) = self.child_slot() else {
                    return Err(self.error(
                        span,
                        "a mapping or sequence used as a mapping key is not supported".into(),
                        "complex key",
                        Some("use a plain string as the key".into()),
                    ));
                };
                self.count_node(span, 1)?;
                // The collection's id is taken now, so its children can name it; its span is
                // completed when it ends.
                let id = if self.track {
                    self.spans.add(parent, NodeSpan { value: span, key })
                } else {
                    0
                };
                self.stack.push(if is_map {
                    Frame::Map {
                        entries: Map::new(),
                        id,
                        start: span,
                        anchor,
                        pending_key: None,
                        key_spans: HashMap::new(),
                    }
                } else {
                    Frame::Seq {
                        items: Vec::new(),
                        id,
                        start: span,
                        anchor,
                    }
                });
                Ok(())
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Ok(());
                };
                let (value, id, start, anchor) = match frame {
                    Frame::Seq {
                        items,
                        id,
                        start,
                        anchor,
                    } => (Value::Array(items), id, start, anchor),
                    Frame::Map {
                        entries,
                        id,
                        start,
                        anchor,
                        ..
                    } => (Value::Object(entries), id, start, anchor),
                };
                let whole = Span::cover(start, span);
                if anchor != 0 {
                    self.anchors.insert(anchor, value.clone());
                }
                if self.track {
                    self.spans.spans[id].value = whole;
                }
                self.attach(value, whole);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn map_key(&mut self, key: String, span: Span) -> Result<(), YamlError> {
        let track = self.track;
        let Some(Frame::Map {
            pending_key,
            key_spans,
            entries,
            ..
        }) = self.stack.last_mut()
        else {
            return Ok(());
        };
        if !track {
            if entries.contains_key(&key) {
                return Err(YamlError {
                    message: format!("duplicate key `{key}`"),
                    span,
                    label: "repeated here".into(),
                    help: None,
                    related: None,
                });
            }
            *pending_key = Some((key, span));
            return Ok(());
        }
        if let Some(first) = key_spans.get(&key) {
            return Err(YamlError {
                message: format!("duplicate key `{key}`"),
                span,
                label: "repeated here".into(),
                help: Some(
                    "a key may appear once per mapping; remove one of them or merge their contents"
                        .into(),
                ),
                related: Some((*first, "first defined here".into())),
            });
        }
        key_spans.insert(key.clone(), span);
        *pending_key = Some((key, span));
        Ok(())
    }

    /// Records the span of a scalar or alias node and attaches it to its parent.
    fn add_value(&mut self, value: Value, span: Span) -> Result<(), YamlError> {
        let Some((parent, key)) = self.child_slot() else {
            return Ok(());
        };
        if self.track {
            self.spans.add(parent, NodeSpan { value: span, key });
        }
        self.attach(value, span);
        Ok(())
    }

    fn attach(&mut self, value: Value, span: Span) {
        match self.stack.last_mut() {
            None => self.root = Some((value, span)),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map {
                entries,
                pending_key,
                ..
            }) => {
                if let Some((key, _)) = pending_key.take() {
                    entries.insert(key, value);
                }
            }
        }
    }
}

/// Control characters but tab and the line breaks: C0, DEL and C1 (U+0080 to U+009F, NEL
/// included).
fn is_refused_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

fn control_error(span: Span, c: char, label: &str) -> YamlError {
    YamlError {
        message: format!("control character U+{:04X} is not allowed", u32::from(c)),
        span,
        label: label.into(),
        help: Some(
            "remove it (often pasted by accident from a terminal or a PDF): kustomize, which \
             Argo CD runs, fails on a whole environment holding DEL or a C1 control, and YAML \
             allows no other control character but tab and line breaks; binary data belongs \
             base64-encoded in a Secret's `data` or a ConfigMap's `binaryData`"
                .into(),
        ),
        related: None,
    }
}

/// `text` cut to a length a message can carry.
fn brief(text: &str) -> String {
    const MAX: usize = 60;
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

/// What an alias replays: nodes, and bytes of keys and strings.
struct Size {
    nodes: usize,
    bytes: usize,
}

/// Measures `value`, stopping once either budget is exceeded.
fn measure(value: &Value, node_budget: usize, byte_budget: usize) -> Size {
    let mut size = Size { nodes: 0, bytes: 0 };
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        size.nodes += 1;
        match v {
            Value::String(s) => size.bytes = size.bytes.saturating_add(s.len()),
            Value::Array(items) => stack.extend(items.iter()),
            Value::Object(map) => {
                for (k, v) in map {
                    size.bytes = size.bytes.saturating_add(k.len());
                    stack.push(v);
                }
            }
            _ => {}
        }
        if size.nodes > node_budget || size.bytes > byte_budget {
            break;
        }
    }
    size
}

#[cfg(test)]
mod tests;
