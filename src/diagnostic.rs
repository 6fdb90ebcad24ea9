//! One diagnostic type for everything shipshape reports: bad input and lint findings alike, so
//! every output format (human, JSON, SARIF, GitHub) handles both the same way.

use crate::yaml::input::InputError;
use crate::yaml::{SourceFile, Span, YamlError};
use serde::Serialize;
use std::fmt;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        match text {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A place in a file the user can open.
#[derive(Debug, Clone)]
pub struct Location {
    pub file: Arc<SourceFile>,
    pub span: Span,
}

impl Location {
    pub fn new(file: &Arc<SourceFile>, span: Span) -> Location {
        Location {
            file: Arc::clone(file),
            span,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// Stable identifier: a lint rule id (`port-conflict`) or an input error class (`input/schema`).
    pub code: String,
    pub severity: Severity,
    pub message: String,
    pub location: Option<Location>,
    /// Text under the primary underline.
    pub label: Option<String>,
    /// Other places involved, each with its own label.
    pub related: Vec<(Location, String)>,
    pub help: Option<String>,
    /// The environment a finding belongs to, when it is environment specific.
    pub environment: Option<String>,
    /// `Kind/name` of the manifest a lint finding is about.
    pub resource: Option<String>,
    /// The file of `location` is a copy of the input with secrets masked (same length, same
    /// lines): every excerpt of that file in the report, whichever finding it belongs to, is
    /// shown from this copy, so no neighbouring finding prints a masked secret as context.
    pub redacts_source: bool,
}

impl Diagnostic {
    pub fn error(code: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(code, Severity::Error, message)
    }

    pub fn new(code: &str, severity: Severity, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code: code.to_owned(),
            severity,
            message: message.into(),
            location: None,
            label: None,
            related: Vec::new(),
            help: None,
            environment: None,
            resource: None,
            redacts_source: false,
        }
    }

    pub fn at(mut self, location: Option<Location>, label: impl Into<String>) -> Diagnostic {
        self.location = location;
        self.label = Some(label.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn with_related(mut self, location: Option<Location>, label: impl Into<String>) -> Self {
        if let Some(location) = location {
            self.related.push((location, label.into()));
        }
        self
    }

    pub fn in_environment(mut self, env: &str) -> Diagnostic {
        self.environment = Some(env.to_owned());
        self
    }

    pub fn on_resource(mut self, resource: impl Into<String>) -> Diagnostic {
        self.resource = Some(resource.into());
        self
    }

    /// A YAML reading error in `file`.
    pub fn from_yaml(file: &Arc<SourceFile>, e: YamlError) -> Diagnostic {
        let mut d = Diagnostic::error("input/yaml", e.message)
            .at(Some(Location::new(file, e.span)), e.label);
        d.help = e.help;
        if let Some((span, label)) = e.related {
            d.related.push((Location::new(file, span), label));
        }
        d
    }

    /// An input file that was refused before it was parsed; there is no excerpt to show, as its
    /// text was not read (or must not be echoed).
    pub fn from_input(e: InputError) -> Diagnostic {
        Diagnostic::error(e.code, e.message).with_help(e.help)
    }

    /// Sort key that makes report order independent of rule or thread scheduling.
    pub fn sort_key(&self) -> (String, u32, u32, String, String, String) {
        let (file, line, col) = match &self.location {
            Some(l) => (l.file.name.clone(), l.span.line, l.span.column),
            None => (String::new(), 0, 0),
        };
        (
            self.environment.clone().unwrap_or_default(),
            line,
            col,
            file,
            self.code.clone(),
            self.message.clone(),
        )
    }
}

/// Puts diagnostics in a stable order and drops exact repeats (the same finding in two places of
/// the pipeline must be reported once).
pub fn normalise(diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.sort_by_cached_key(|d| d.sort_key());
    diagnostics.dedup_by(|a, b| {
        a.sort_key() == b.sort_key() && a.resource == b.resource && a.severity == b.severity
    });
}

/// The outcome of a failed stage: everything wrong with the input, not just the first thing.
#[derive(Debug)]
pub struct Failure {
    pub diagnostics: Vec<Diagnostic>,
}

impl From<Diagnostic> for Failure {
    fn from(d: Diagnostic) -> Self {
        Failure {
            diagnostics: vec![d],
        }
    }
}

impl From<Vec<Diagnostic>> for Failure {
    fn from(diagnostics: Vec<Diagnostic>) -> Self {
        Failure { diagnostics }
    }
}
