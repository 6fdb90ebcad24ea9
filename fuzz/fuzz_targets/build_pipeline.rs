//! Bytes as `catalogue.yaml` beside a fixed valid environment -> the whole compile: load,
//! resolve, render every built-in resource, parse the output back, schema-check and lint it.
//! Nothing is written.
#![no_main]

#[path = "common.rs"]
#[allow(dead_code)]
mod common;

use libfuzzer_sys::fuzz_target;
use shipshape::catalogue::ProjectPaths;
use shipshape::diagnostic::Diagnostic;
use shipshape::pipeline::{compile, CompileOptions, Sink};
use shipshape::render::RenderedEnvironment;
use shipshape::yaml::Limits;

/// What `build` would write: every file must be canonical YAML that reads back.
struct ReadBack;

impl Sink for ReadBack {
    fn finished(&mut self, dir: &mut RenderedEnvironment, _clean: bool) -> Result<(), Diagnostic> {
        for file in &dir.files {
            shipshape::yaml::parse_values(&file.text, &Limits::default())
                .expect("rendered output reads back");
        }
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let root = common::write_project(data, common::ENVIRONMENT.as_bytes());
    let opts = CompileOptions {
        paths: ProjectPaths::in_root(root),
        envs: Vec::new(),
        templates: None,
        limits: Limits::default(),
        layout: Default::default(),
    };
    match compile(&opts, &mut ReadBack) {
        Ok(compiled) => common::report(&compiled.findings),
        Err(f) => common::report(&f.diagnostics),
    }
});
