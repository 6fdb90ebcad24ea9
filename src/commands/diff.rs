//! `shipshape diff`: what a catalogue change does to the rendered tree, per environment and per
//! resource, as text for a terminal or Markdown for a pull-request comment.

use crate::app::{self, Io, EXIT_OK};
use crate::cli::OutputArgs;
use crate::commands::check::Comparing;
use crate::diff::colorize;
use crate::output::Drift;
use crate::pipeline::CompileOptions;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    Text,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    Added,
    Changed,
    Removed,
}

impl Change {
    fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Changed => "changed",
            Change::Removed => "removed",
        }
    }
}

/// Resources of one file, by `Kind/name`.
fn resources(text: &str) -> BTreeMap<String, Value> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).unwrap_or_default();
    docs.into_iter()
        .filter(|d| d.is_object())
        .map(|d| {
            let kind = d.get("kind").and_then(Value::as_str).unwrap_or("?");
            let name = d
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("?");
            (format!("{kind}/{name}"), d.clone())
        })
        .collect()
}

/// Resource-level changes of one drifted file.
pub fn resource_changes(d: &Drift) -> Vec<(String, Change)> {
    let old = resources(&d.old);
    let new = resources(&d.new);
    let mut out = Vec::new();
    for (id, v) in &new {
        match old.get(id) {
            None => out.push((id.clone(), Change::Added)),
            Some(o) if o != v => out.push((id.clone(), Change::Changed)),
            Some(_) => {}
        }
    }
    for id in old.keys().filter(|id| !new.contains_key(*id)) {
        out.push((id.clone(), Change::Removed));
    }
    out.sort();
    out
}

pub fn run(
    opts: &CompileOptions,
    out: PathBuf,
    format: DiffFormat,
    output: &OutputArgs,
    io: &mut Io<'_>,
) -> i32 {
    let mut sink = Comparing::with(&out);
    let compiled = match app::compile_or_fail(opts, &mut sink, output, io) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let rendered = compiled.rendered();
    let drifts = sink.drifts;
    let text = match format {
        DiffFormat::Text => {
            let color = app::use_color(output.color, io.stdout_is_terminal());
            text_report(&drifts, color)
        }
        DiffFormat::Markdown => {
            // Environments that render nothing (an argocd tree without ArgoCD settings) and did
            // not change are noise in a pull-request comment.
            let names: Vec<String> = rendered
                .iter()
                .filter(|e| !e.files.is_empty() || drifts.iter().any(|d| d.environment == e.name))
                .map(|e| e.name.clone())
                .collect();
            markdown_report(&drifts, &names)
        }
    };
    let _ = io.stdout.write_all(text.as_bytes());
    EXIT_OK
}

pub fn text_report(drifts: &[Drift], color: bool) -> String {
    if drifts.is_empty() {
        return "No changes: the rendered tree matches the catalogue.\n".into();
    }
    let mut out = String::new();
    for d in drifts {
        out.push_str(&format!("== {}\n", d.path));
        for (id, change) in resource_changes(d) {
            out.push_str(&format!("   {:8} {id}\n", change.as_str()));
        }
        let diff = d.unified();
        out.push_str(&if color { colorize(&diff) } else { diff });
    }
    out
}

pub fn markdown_report(drifts: &[Drift], envs: &[String]) -> String {
    let mut out = String::from("### shipshape: rendered changes\n\n");
    if drifts.is_empty() {
        out.push_str("No changes: the rendered tree matches the catalogue.\n");
        return out;
    }
    out.push_str("| Environment | Added | Changed | Removed | Files |\n| --- | ---: | ---: | ---: | ---: |\n");
    for env in envs {
        let mine: Vec<&Drift> = drifts.iter().filter(|d| &d.environment == env).collect();
        let mut counts = [0usize; 3];
        for d in &mine {
            for (_, c) in resource_changes(d) {
                counts[c as usize] += 1;
            }
        }
        out.push_str(&format!(
            "| `{env}` | {} | {} | {} | {} |\n",
            counts[0],
            counts[1],
            counts[2],
            mine.len()
        ));
    }
    for env in envs {
        let mine: Vec<&Drift> = drifts.iter().filter(|d| &d.environment == env).collect();
        if mine.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "\n<details><summary><code>{env}</code>: {} file{} changed</summary>\n\n",
            mine.len(),
            if mine.len() == 1 { "" } else { "s" }
        ));
        for d in mine {
            let changes = resource_changes(d)
                .into_iter()
                .map(|(id, c)| format!("{} `{id}`", c.as_str()))
                .collect::<Vec<_>>()
                .join(", ");
            out.push_str(&format!("**`{}`**: {changes}\n\n", d.path));
            // A fence longer than any backtick run in the diff keeps the block intact.
            let diff = d.unified();
            let fence = "`".repeat(longest_backtick_run(&diff).max(2) + 1);
            out.push_str(&format!("{fence}diff\n{diff}{fence}\n\n"));
        }
        out.push_str("</details>\n");
    }
    out
}

fn longest_backtick_run(s: &str) -> usize {
    let mut best = 0;
    let mut cur = 0;
    for c in s.chars() {
        if c == '`' {
            cur += 1;
            best = best.max(cur);
        } else {
            cur = 0;
        }
    }
    best
}
