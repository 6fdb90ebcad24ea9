//! Human output: miette's graphical reports, with the source line underlined.

use crate::diagnostic::{Diagnostic, Location, Severity};
use crate::report::printable;
use crate::yaml::SourceFile;
use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

struct Report<'a> {
    d: &'a Diagnostic,
    /// `dev, prod`: the environments the finding was made in.
    environments: Option<String>,
    /// Places in other files become related reports of their own.
    others: Vec<Related>,
    source: Option<Excerpt>,
}

struct Related {
    message: String,
    location: Location,
    source: Excerpt,
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = printable(&self.d.message);
        match (&self.environments, &self.d.resource) {
            (Some(env), Some(res)) => write!(f, "[{env}] {}: {message}", printable(res)),
            (Some(env), None) => write!(f, "[{env}] {message}"),
            (None, Some(res)) => write!(f, "{}: {message}", printable(res)),
            (None, None) => f.write_str(&message),
        }
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(&self.d.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.d
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let primary = self.d.location.as_ref()?;
        let source = self.source.as_ref()?;
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            self.d.label.as_deref().map(|l| printable(l).into_owned()),
            source.span_of(primary),
        )];
        for (l, text) in &self.d.related {
            if is_near(primary, l) {
                labels.push(LabeledSpan::new_with_span(
                    Some(printable(text).into_owned()),
                    source.span_of(l),
                ));
            }
        }
        Some(Box::new(labels.into_iter()))
    }

    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn miette::Diagnostic> + 'b>> {
        if self.others.is_empty() {
            return None;
        }
        Some(Box::new(
            self.others.iter().map(|r| r as &dyn miette::Diagnostic),
        ))
    }
}

impl fmt::Debug for Related {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Related {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Related {}

impl miette::Diagnostic for Related {
    fn severity(&self) -> Option<miette::Severity> {
        Some(miette::Severity::Advice)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(
            LabeledSpan::new_primary_with_span(
                Some(self.message.clone()),
                self.source.span_of(&self.location),
            ),
        )))
    }
}

/// The redacted copies of input files that findings in this report carry (see
/// [`Diagnostic::redacts_source`]), by file name.
struct Redactions(HashMap<String, Arc<SourceFile>>);

impl Redactions {
    fn of(diagnostics: &[Diagnostic]) -> Redactions {
        Redactions(
            diagnostics
                .iter()
                .filter(|d| d.redacts_source)
                .filter_map(|d| d.location.as_ref())
                .map(|l| (l.file.name.clone(), Arc::clone(&l.file)))
                .collect(),
        )
    }

    /// `file`, or its redacted copy. A copy keeps every byte offset, so spans into the original
    /// point at the same place in it; one of another length is not a copy of this file.
    fn source_for<'a>(&'a self, file: &'a Arc<SourceFile>) -> &'a Arc<SourceFile> {
        match self.0.get(&file.name) {
            Some(copy) if copy.text.len() == file.text.len() => copy,
            _ => file,
        }
    }
}

/// Labels close together share one excerpt; a far-away one gets an excerpt of its own, so a
/// report never prints the hundred lines between two places.
fn is_near(a: &Location, b: &Location) -> bool {
    a.file.name == b.file.name && a.span.line.abs_diff(b.span.line) <= 8
}

/// Lines longer than this are shown as a window around the place reported, so a minified or
/// hostile 2 MiB line does not flood a terminal or a CI log.
const MAX_LINE_BYTES: usize = 200;
/// Bytes of a cut line shown before and after the place reported.
const WINDOW_BEFORE: usize = 40;
const WINDOW_AFTER: usize = 80;
/// Lines kept around the places reported: more than the report shows, so what it shows is
/// what it would show from the whole file.
const MARGIN_LINES: u32 = 3;
/// Stands for the cut part of a line.
const CUT: &str = "…";

/// The lines of a file around the places a report points at, long lines cut, with what is
/// needed to map file offsets into it and its positions back to the file's lines and columns.
struct Excerpt {
    name: String,
    text: String,
    /// 0-based number of the file line the excerpt starts with.
    first_line: usize,
    lines: Vec<ExcerptLine>,
}

struct ExcerptLine {
    /// Where the line starts in the file and in the excerpt.
    file_start: usize,
    start: usize,
    /// Bytes of the file line left out before the window, and the marker shown in their place.
    skipped: usize,
    marker: usize,
    /// Bytes of the file line shown.
    kept: usize,
}

impl Excerpt {
    /// The excerpt of the file of `places` (one file) covering all of them, shown from its
    /// redacted copy when the report has one.
    fn around(places: &[&Location], redacted: &Redactions) -> Excerpt {
        let file = redacted.source_for(&places[0].file);
        let first = places.iter().map(|l| l.span.line).min().unwrap_or(1);
        let last = places
            .iter()
            .map(|l| file.line_of(l.span.end).max(l.span.line))
            .max()
            .unwrap_or(first);
        let first = first.saturating_sub(MARGIN_LINES).max(1);
        let last = last.saturating_add(MARGIN_LINES).min(file.line_count());
        let mut excerpt = Excerpt {
            name: file.name.clone(),
            text: String::new(),
            first_line: first as usize - 1,
            lines: Vec::new(),
        };
        for line in first..=last {
            let anchor = places
                .iter()
                .find(|l| l.span.line == line)
                .map_or(0, |l| l.span.start.saturating_sub(file.line_start(line)));
            excerpt.push_line(file, line, anchor);
            if line < file.line_count() {
                excerpt.text.push('\n');
            }
        }
        excerpt
    }

    /// Appends file line `line`, cut to a window around byte `anchor` of it when too long.
    fn push_line(&mut self, file: &SourceFile, line: u32, anchor: usize) {
        let text = file.line_text(line);
        let (from, to) = window(text, anchor);
        let start = self.text.len();
        if from > 0 {
            self.text.push_str(CUT);
        }
        let marker = self.text.len() - start;
        push_shown(&mut self.text, &text[from..to]);
        if to < text.len() {
            self.text.push_str(CUT);
        }
        self.lines.push(ExcerptLine {
            file_start: file.line_start(line),
            start,
            skipped: from,
            marker,
            kept: to - from,
        });
    }

    /// Where file offset `offset` is shown in the excerpt (clamped to what is shown).
    fn offset_of(&self, offset: usize) -> usize {
        let i = self
            .lines
            .partition_point(|l| l.file_start <= offset)
            .saturating_sub(1);
        let Some(l) = self.lines.get(i) else {
            return 0;
        };
        let in_line = offset.saturating_sub(l.file_start);
        let shown = in_line.saturating_sub(l.skipped).min(l.kept);
        l.start + l.marker + shown
    }

    fn span_of(&self, l: &Location) -> SourceSpan {
        let start = self.offset_of(l.span.start);
        let end = self.offset_of(l.span.end).max(start);
        (start, end - start).into()
    }

    /// The file column of a position miette found at byte `column` of excerpt line `line`.
    fn file_column(&self, line: usize, column: usize) -> usize {
        match self.lines.get(line) {
            Some(l) if l.skipped > 0 => column.saturating_sub(l.marker) + l.skipped,
            _ => column,
        }
    }
}

/// The byte range of `line` to show: all of it when short, else a window around `anchor`, on
/// character boundaries.
fn window(line: &str, anchor: usize) -> (usize, usize) {
    if line.len() <= MAX_LINE_BYTES {
        return (0, line.len());
    }
    let anchor = anchor.min(line.len());
    let mut from = anchor.saturating_sub(WINDOW_BEFORE);
    while !line.is_char_boundary(from) {
        from -= 1;
    }
    let mut to = anchor.saturating_add(WINDOW_AFTER).min(line.len());
    while !line.is_char_boundary(to) {
        to += 1;
    }
    (from, to)
}

/// Appends `text` with each byte of a control character shown as `?`: an excerpt must not
/// move the cursor or clear the screen, and keeping the byte length keeps every offset valid.
/// A carriage return ending the line (CRLF files) is kept: it is part of the line break.
fn push_shown(out: &mut String, text: &str) {
    let body = text.strip_suffix('\r').unwrap_or(text);
    for c in body.chars() {
        if c.is_control() && c != '\t' {
            out.extend(std::iter::repeat_n('?', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    out.push_str(&text[body.len()..]);
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self.text.read_span(span, before, after)?;
        // Columns are only counted from inside a line when no context is asked for: that is the
        // reported place, whose column must be the file's, not the cut line's.
        let column = match inner.column() {
            0 => 0,
            c => self.file_column(inner.line(), c),
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line,
            column,
            // miette's own count runs from the start of the source, and decides from it whether
            // two nearby labels share one excerpt: counted from the file's start here too.
            inner.line_count() + self.first_line,
        )))
    }
}

/// Renders diagnostics for a terminal (`color`) or for logs and snapshots (no colour).
pub fn render(diagnostics: &[Diagnostic], color: bool) -> String {
    render_drawn(diagnostics, color, true)
}

/// [`render`], with the excerpts' frames drawn in box characters (`unicode`) or in plain ASCII
/// for a terminal that cannot show them (TERM=dumb).
pub fn render_drawn(diagnostics: &[Diagnostic], color: bool, unicode: bool) -> String {
    let theme = match (color, unicode) {
        (true, true) => GraphicalTheme::unicode(),
        (false, true) => GraphicalTheme::unicode_nocolor(),
        (true, false) => GraphicalTheme::ascii(),
        (false, false) => GraphicalTheme::none(),
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(110)
        .with_links(false);
    let redacted = Redactions::of(diagnostics);
    let mut out = String::new();
    for finding in crate::report::group::group(diagnostics) {
        let d = finding.diagnostic;
        let report = Report {
            d,
            environments: finding.environment_list(),
            others: d
                .related
                .iter()
                .filter(|(l, _)| d.location.as_ref().is_none_or(|p| !is_near(p, l)))
                .map(|(l, text)| Related {
                    message: printable(text).into_owned(),
                    location: l.clone(),
                    source: Excerpt::around(&[l], &redacted),
                })
                .collect(),
            source: d.location.as_ref().map(|primary| {
                let near = d
                    .related
                    .iter()
                    .map(|(l, _)| l)
                    .filter(|l| is_near(primary, l));
                Excerpt::around(
                    &std::iter::once(primary).chain(near).collect::<Vec<_>>(),
                    &redacted,
                )
            }),
        };
        if handler.render_report(&mut out, &report).is_err() {
            out.push_str(&format!("{}: {}\n", d.severity, d.message));
        }
        out.push('\n');
    }
    out
}

/// One line per finding: `file:line:col: severity[code]: message [environments]`, for logs and
/// editors.
pub fn render_short(diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for finding in crate::report::group::group(diagnostics) {
        let d = finding.diagnostic;
        if let Some(l) = &d.location {
            out.push_str(&format!(
                "{}:{}:{}: ",
                l.file.name, l.span.line, l.span.column
            ));
        }
        out.push_str(&format!(
            "{}[{}]: {}",
            d.severity,
            d.code,
            printable(&d.message)
        ));
        if let Some(envs) = finding.environment_list() {
            out.push_str(&format!(" [{envs}]"));
        }
        out.push('\n');
    }
    out
}
