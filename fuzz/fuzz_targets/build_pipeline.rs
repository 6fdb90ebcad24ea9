//! Bytes as `catalogue.yaml` beside a fixed valid environment -> the whole compile: load,
//! resolve, render every template, parse the output back, schema-check and lint it. Nothing is
//! written.
#![no_main]

#[path = "common.rs"]
#[allow(dead_code)]
mod common;

use libfuzzer_sys::fuzz_target;
use shipshape::catalogue::ProjectPaths;
use shipshape::pipeline::{compile, CompileOptions};
use shipshape::yaml::Limits;

fuzz_target!(|data: &[u8]| {
    let root = common::write_project(data, common::ENVIRONMENT.as_bytes());
    let opts = CompileOptions {
        paths: ProjectPaths::in_root(root),
        envs: Vec::new(),
        templates: None,
        limits: Limits::default(),
        keep_manifests: false,
        compare_with: None,
    };
    match compile(&opts) {
        Ok(compiled) => {
            // What `build` would write: every file must be canonical YAML that reads back.
            for env in compiled.rendered() {
                for file in &env.files {
                    shipshape::yaml::parse_values(&file.text, &Limits::default())
                        .expect("rendered output reads back");
                }
            }
            common::report(&compiled.findings);
        }
        Err(f) => common::report(&f.diagnostics),
    }
});
