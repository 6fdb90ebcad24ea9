//! Reading manifests shipshape did not render: any mix of files and directories of YAML.

use crate::catalogue::load::display_path;
use crate::diagnostic::Diagnostic;
use crate::manifest::{Manifest, ManifestOrigin};
use crate::yaml::{input, parse_documents, Limits, SourceFile};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// What reading produced: manifests, notes about what was skipped, and hard errors.
#[derive(Default)]
pub struct ReadResult {
    pub manifests: Vec<Manifest>,
    pub skipped: Vec<String>,
    pub errors: Vec<Diagnostic>,
}

/// The YAML files to read for one path the user named, each with the boundary it must resolve
/// inside.
///
/// A file named directly may be a link, but only to a place beside it: `lint *.yaml` in a
/// cloned repository expands to whatever links the repository holds, and one to a credentials
/// file would otherwise have its text quoted in the findings. Files found by walking a
/// directory must resolve inside that directory.
fn yaml_files(path: &Path) -> (Vec<PathBuf>, PathBuf) {
    if !path.is_dir() {
        return (vec![path.to_path_buf()], input::boundary_around(path));
    }
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(path)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| {
            // Hidden directories (.git, .github) hold no manifests to lint.
            e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.')
        })
        .filter_map(Result::ok)
        // Links and special files are kept, to be read or refused with a reason.
        .filter(|e| !e.file_type().is_dir())
        .map(walkdir::DirEntry::into_path)
        .filter(|p| {
            matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) && !p.is_dir()
        })
        .collect();
    files.sort();
    (files, input::boundary_within(path))
}

pub fn read_paths(paths: &[PathBuf], limits: &Limits) -> ReadResult {
    let mut result = ReadResult::default();
    for root in paths {
        if std::fs::symlink_metadata(root).is_err() {
            result.errors.push(
                Diagnostic::error(
                    "usage/path",
                    format!("{} does not exist", display_path(root)),
                )
                .with_help("pass files or directories of Kubernetes YAML"),
            );
            continue;
        }
        let (files, boundary) = yaml_files(root);
        for path in files {
            read_file(&path, &boundary, limits, &mut result);
        }
    }
    result
}

fn read_file(path: &Path, boundary: &Path, limits: &Limits, result: &mut ReadResult) {
    let name = display_path(path);
    let bytes = match input::read_input(path, &name, boundary, limits) {
        Ok(b) => b,
        Err(e) => {
            result.errors.push(Diagnostic::from_input(e));
            return;
        }
    };
    let Ok(text) = String::from_utf8(bytes) else {
        result.skipped.push(format!("{name}: not UTF-8 text"));
        return;
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
