//! Source files and byte spans inside them.

use serde_saphyr::granit_parser::Marker;
use std::sync::Arc;

/// A file as read, kept whole so diagnostics can quote it.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as the user should see it (relative to where they ran shipshape when possible).
    pub name: String,
    pub text: Arc<str>,
    line_starts: Vec<usize>,
    /// Characters before each block of [`BLOCK`] bytes; empty when the text is ASCII (a column
    /// is then a byte difference). Counting from the line start instead made every span of a
    /// long line cost the line's length: a 2 MiB one-line list took over a minute.
    block_chars: Vec<usize>,
}

/// Bytes per entry of `block_chars`.
const BLOCK: usize = 512;

/// Characters that start in `bytes` (every byte but UTF-8 continuation bytes).
fn chars_in(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b as i8) >= -0x40).count()
}

/// A byte range in a source file, with its 1-based line and column for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub line: u32,
    pub column: u32,
}

impl Span {
    /// The range from the start of `a` to the end of `b`.
    pub fn cover(a: Span, b: Span) -> Span {
        Span {
            start: a.start,
            end: b.end.max(a.start),
            line: a.line,
            column: a.column,
        }
    }

    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> Arc<SourceFile> {
        let text: Arc<str> = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        let block_chars = if text.is_ascii() {
            Vec::new()
        } else {
            let mut total = 0;
            let mut marks = vec![0];
            for block in text.as_bytes().chunks(BLOCK) {
                total += chars_in(block);
                marks.push(total);
            }
            marks
        };
        Arc::new(SourceFile {
            name: name.into(),
            text,
            line_starts,
            block_chars,
        })
    }

    /// The span of `len` bytes at byte offset `start`, clamped to the file.
    pub fn span_of(&self, start: usize, len: usize) -> Span {
        let start = start.min(self.text.len());
        let end = start.saturating_add(len).min(self.text.len());
        let line_index = match self.line_starts.binary_search(&start) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let line_start = self.line_starts.get(line_index).copied().unwrap_or(0);
        let column = self.chars_before(start) - self.chars_before(line_start.min(start));
        Span {
            start,
            end,
            line: u32::try_from(line_index + 1).unwrap_or(u32::MAX),
            column: u32::try_from(column + 1).unwrap_or(u32::MAX),
        }
    }

    /// Characters in the text before byte `offset`.
    fn chars_before(&self, offset: usize) -> usize {
        if self.block_chars.is_empty() {
            return offset;
        }
        let block = offset / BLOCK;
        let from = block * BLOCK;
        let rest = self.text.as_bytes().get(from..offset).unwrap_or(&[]);
        self.block_chars.get(block).copied().unwrap_or(0) + chars_in(rest)
    }

    /// The span between two parser markers.
    pub fn span_from_markers(&self, start: Marker, end: Marker) -> Span {
        let s = self.byte_offset(start);
        let e = self.byte_offset(end).max(s);
        self.span_of(s, e - s)
    }

    fn byte_offset(&self, marker: Marker) -> usize {
        if let Some(b) = marker.byte_offset() {
            return b;
        }
        // The parser counts characters; convert through the line table.
        let line = marker.line().max(1) - 1;
        let line_start = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        let rest = self.text.get(line_start..).unwrap_or("");
        let col_bytes = rest
            .char_indices()
            .nth(marker.col())
            .map_or(rest.len(), |(i, _)| i);
        line_start + col_bytes
    }

    /// Number of lines (a final line break starts an empty last line).
    pub fn line_count(&self) -> u32 {
        u32::try_from(self.line_starts.len()).unwrap_or(u32::MAX)
    }

    /// Byte offset where 1-based line `line` starts (the end of the file past the last line).
    pub fn line_start(&self, line: u32) -> usize {
        let i = (line as usize).saturating_sub(1);
        self.line_starts.get(i).copied().unwrap_or(self.text.len())
    }

    /// The 1-based line holding byte offset `offset`.
    pub fn line_of(&self, offset: usize) -> u32 {
        let i = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        u32::try_from(i + 1).unwrap_or(u32::MAX)
    }

    /// The text of 1-based line `line`, without its line break.
    pub fn line_text(&self, line: u32) -> &str {
        let i = (line as usize).saturating_sub(1);
        let start = self.line_starts.get(i).copied().unwrap_or(self.text.len());
        let end = self
            .line_starts
            .get(i + 1)
            .map_or(self.text.len(), |e| e.saturating_sub(1));
        self.text.get(start..end.max(start)).unwrap_or("")
    }
}
