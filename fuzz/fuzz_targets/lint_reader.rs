//! Bytes as one YAML file given to `shipshape lint` -> the manifest reader (multi-document
//! YAML, `kind: List`, limits), the Kubernetes schemas, and every lint rule.
#![no_main]

#[path = "common.rs"]
#[allow(dead_code)]
mod common;

use libfuzzer_sys::fuzz_target;
use shipshape::lint::index::{Placement, DEFAULT_NAMESPACE};
use shipshape::lint::{self, LintContext};
use shipshape::manifest::read::{read_paths, GroupBy};
use shipshape::manifest::schema;
use shipshape::yaml::Limits;

fuzz_target!(|data: &[u8]| {
    let path = common::scratch().join("input.yaml");
    std::fs::write(&path, data).unwrap();
    let read = read_paths(std::slice::from_ref(&path), &Limits::default(), GroupBy::All);
    if !read.errors.is_empty() {
        common::report(&read.errors);
        return;
    }
    for m in &read.manifests {
        let _ = schema::validate(&m.value);
        let _ = m.file_location("/metadata/name");
    }
    let placement = Placement {
        default: DEFAULT_NAMESPACE,
        forced: &[],
    };
    let ctx = LintContext::for_files("lint", &read.manifests, placement, None, Vec::new());
    let findings = lint::run(&ctx, &Default::default());
    common::report(&findings);
});
