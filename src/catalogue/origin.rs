//! Where a value came from, so a finding about rendered output points at the input line to change.

use crate::diagnostic::Location;
use crate::yaml::{push_pointer_segment, SourceFile, SpanIndex};
use serde_json::Value;
use std::sync::Arc;

/// A parsed input file.
#[derive(Debug, Clone)]
pub struct SourceDoc {
    pub file: Arc<SourceFile>,
    pub value: Value,
    pub spans: Arc<SpanIndex>,
}

impl SourceDoc {
    pub fn root(&self) -> Origin {
        Origin {
            file: Arc::clone(&self.file),
            spans: Arc::clone(&self.spans),
            pointer: String::new(),
        }
    }
}

/// A node inside a source document, addressed by JSON pointer.
#[derive(Debug, Clone)]
pub struct Origin {
    pub file: Arc<SourceFile>,
    pub spans: Arc<SpanIndex>,
    pub pointer: String,
}

impl Origin {
    pub fn child(&self, segment: &str) -> Origin {
        let mut pointer = self.pointer.clone();
        push_pointer_segment(&mut pointer, segment);
        Origin {
            file: Arc::clone(&self.file),
            spans: Arc::clone(&self.spans),
            pointer,
        }
    }

    /// Location of the value at `relative` (a pointer like `/resources/requests/cpu`) if this
    /// document sets it.
    pub fn value_at(&self, relative: &str) -> Option<Location> {
        let full = format!("{}{}", self.pointer, relative);
        self.spans
            .get(&full)
            .map(|s| Location::new(&self.file, s.value))
    }

    /// Location of the key naming the value at `relative`, falling back to the value.
    pub fn key_at(&self, relative: &str) -> Option<Location> {
        let full = format!("{}{}", self.pointer, relative);
        self.spans
            .get(&full)
            .map(|s| Location::new(&self.file, s.key.unwrap_or(s.value)))
    }

    /// This node itself: its key where it has one, which is what a person scans for.
    pub fn location(&self) -> Location {
        let span = self
            .spans
            .nearest(&self.pointer)
            .map(|s| s.key.unwrap_or(s.value))
            .unwrap_or_default();
        Location::new(&self.file, span)
    }
}

/// The layers that were merged into one resolved value, highest priority first.
#[derive(Debug, Clone, Default)]
pub struct Layers {
    pub layers: Vec<Origin>,
}

impl Layers {
    /// Where the effective value at `relative` was written: the highest-priority layer that sets it.
    pub fn value_at(&self, relative: &str) -> Option<Location> {
        self.layers.iter().find_map(|l| l.value_at(relative))
    }

    pub fn key_at(&self, relative: &str) -> Option<Location> {
        self.layers.iter().find_map(|l| l.key_at(relative))
    }
}
