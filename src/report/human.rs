//! Human output: miette's graphical reports, with the source line underlined.

use crate::diagnostic::{Diagnostic, Location, Severity};
use crate::report::printable;
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use std::fmt;

struct Report<'a> {
    d: &'a Diagnostic,
    /// Places in other files become related reports of their own.
    others: Vec<Related>,
    source: Option<NamedSource<String>>,
}

struct Related {
    message: String,
    location: Location,
    source: NamedSource<String>,
}

fn source_of(l: &Location) -> NamedSource<String> {
    NamedSource::new(l.file.name.clone(), l.file.text.to_string())
}

fn span_of(l: &Location) -> SourceSpan {
    (l.span.start, l.span.len()).into()
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = printable(&self.d.message);
        match (&self.d.environment, &self.d.resource) {
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
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            self.d.label.as_deref().map(|l| printable(l).into_owned()),
            span_of(primary),
        )];
        for (l, text) in &self.d.related {
            if is_near(primary, l) {
                labels.push(LabeledSpan::new_with_span(
                    Some(printable(text).into_owned()),
                    span_of(l),
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
            LabeledSpan::new_primary_with_span(Some(self.message.clone()), span_of(&self.location)),
        )))
    }
}

/// Labels close together share one excerpt; a far-away one gets an excerpt of its own, so a
/// report never prints the hundred lines between two places.
fn is_near(a: &Location, b: &Location) -> bool {
    a.file.name == b.file.name && a.span.line.abs_diff(b.span.line) <= 8
}

/// Renders diagnostics for a terminal (`color`) or for logs and snapshots (no colour).
pub fn render(diagnostics: &[Diagnostic], color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(110)
        .with_links(false);
    let mut out = String::new();
    for d in diagnostics {
        let report = Report {
            d,
            others: d
                .related
                .iter()
                .filter(|(l, _)| d.location.as_ref().is_none_or(|p| !is_near(p, l)))
                .map(|(l, text)| Related {
                    message: printable(text).into_owned(),
                    location: l.clone(),
                    source: source_of(l),
                })
                .collect(),
            source: d.location.as_ref().map(source_of),
        };
        if handler.render_report(&mut out, &report).is_err() {
            out.push_str(&format!("{}: {}\n", d.severity, d.message));
        }
        out.push('\n');
    }
    out
}

/// One line per diagnostic: `file:line:col: severity[code]: message`, for logs and editors.
pub fn render_short(diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        if let Some(l) = &d.location {
            out.push_str(&format!(
                "{}:{}:{}: ",
                l.file.name, l.span.line, l.span.column
            ));
        }
        out.push_str(&format!(
            "{}[{}]: {}\n",
            d.severity,
            d.code,
            printable(&d.message)
        ));
    }
    out
}
