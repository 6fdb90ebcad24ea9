//! Reading manifests shipshape did not render: any mix of files and directories of YAML.

use crate::catalogue::load::display_path;
use crate::diagnostic::Diagnostic;
use crate::manifest::{Manifest, ManifestOrigin};
use crate::yaml::{parse_documents, Limits, SourceFile};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// What reading produced: manifests, notes about what was skipped, and hard errors.
#[derive(Default)]
pub struct ReadResult {
    pub manifests: Vec<Manifest>,
    pub skipped: Vec<String>,
    pub errors: Vec<Diagnostic>,
}

fn yaml_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(path)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| {
            // Hidden directories (.git, .github) hold no manifests to lint.
            e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.')
        })
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    files
}

pub fn read_paths(paths: &[PathBuf], limits: &Limits) -> ReadResult {
    let mut result = ReadResult::default();
    for root in paths {
        if !root.exists() {
            result.errors.push(
                Diagnostic::error(
                    "usage/path",
                    format!("{} does not exist", display_path(root)),
                )
                .with_help("pass files or directories of Kubernetes YAML"),
            );
            continue;
        }
        for path in yaml_files(root) {
            read_file(&path, limits, &mut result);
        }
    }
    result
}

fn read_file(path: &Path, limits: &Limits, result: &mut ReadResult) {
    let name = display_path(path);
    match std::fs::metadata(path) {
        Ok(m) if m.len() > limits.max_file_bytes as u64 => {
            result.errors.push(
                Diagnostic::error(
                    "input/limit",
                    format!(
                        "{name} is {} bytes, above the input limit of {} bytes",
                        m.len(),
                        limits.max_file_bytes
                    ),
                )
                .with_help(format!(
                    "raise the limit with {}=<bytes>",
                    crate::yaml::limits::MAX_FILE_BYTES_VAR
                )),
            );
            return;
        }
        Err(e) => {
            result.errors.push(Diagnostic::error(
                "input/io",
                format!("cannot read {name}: {e}"),
            ));
            return;
        }
        Ok(_) => {}
    }
    let text = match std::fs::read(path).map(String::from_utf8) {
        Ok(Ok(t)) => t,
        Ok(Err(_)) => {
            result.skipped.push(format!("{name}: not UTF-8 text"));
            return;
        }
        Err(e) => {
            result.errors.push(Diagnostic::error(
                "input/io",
                format!("cannot read {name}: {e}"),
            ));
            return;
        }
    };
    let file = SourceFile::new(name.clone(), text);
    let docs = match parse_documents(&file, limits) {
        Ok(d) => d,
        Err(e) => {
            result.errors.push(Diagnostic::from_yaml(&file, e));
            return;
        }
    };
    for (i, doc) in docs.into_iter().enumerate() {
        if doc.value.is_null() {
            continue;
        }
        let is_manifest = doc.value.get("apiVersion").is_some_and(Value::is_string)
            && doc.value.get("kind").is_some_and(Value::is_string);
        if !is_manifest {
            result.skipped.push(format!(
                "{name}:{}: document {} is not a Kubernetes manifest (no apiVersion and kind)",
                doc.start.line,
                i + 1
            ));
            continue;
        }
        if doc.value.get("kind").and_then(Value::as_str) == Some("List") {
            // `kubectl get -o yaml` output: lint the items.
            if let Some(items) = doc.value.get("items").and_then(Value::as_array) {
                for (n, item) in items.iter().enumerate().filter(|(_, v)| v.is_object()) {
                    let base = format!("/items/{n}");
                    let start = doc.spans.get(&base).map_or(doc.start, |s| s.value);
                    result.manifests.push(Manifest {
                        value: item.clone(),
                        origin: ManifestOrigin::File {
                            file: file.clone(),
                            spans: doc.spans.clone(),
                            start,
                            base,
                        },
                    });
                }
            }
            continue;
        }
        result.manifests.push(Manifest {
            value: doc.value,
            origin: ManifestOrigin::File {
                file: file.clone(),
                spans: doc.spans,
                start: doc.start,
                base: String::new(),
            },
        });
    }
}
