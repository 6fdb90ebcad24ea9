//! Bytes -> the catalogue and environment loaders: YAML reading with limits, the JSON Schemas,
//! the typed model, and the semantic checks of resolution (phases, batches, dependencies,
//! quantities, overrides). The first byte picks which file the rest is: `e` = the environment
//! file (beside a fixed valid catalogue), anything else = the catalogue (beside a fixed
//! environment file).
#![no_main]

#[path = "common.rs"]
#[allow(dead_code)]
mod common;

use libfuzzer_sys::fuzz_target;
use shipshape::catalogue::{Loader, Project, ProjectPaths};
use shipshape::yaml::Limits;
use std::sync::OnceLock;

fn loader() -> &'static Loader {
    static LOADER: OnceLock<Loader> = OnceLock::new();
    LOADER.get_or_init(|| Loader::new(Limits::default()).expect("built-in schemas compile"))
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let root = if selector == b'e' {
        common::write_project(common::CATALOGUE.as_bytes(), rest)
    } else {
        common::write_project(rest, common::ENVIRONMENT.as_bytes())
    };
    let paths = ProjectPaths::in_root(root);
    let loader = loader();
    let catalogue = loader.load_catalogue(&paths.catalogue);
    let environments = loader.load_environments(&paths.environments);
    match (catalogue, environments) {
        (Ok(catalogue), Ok(environments)) => {
            let project = Project {
                catalogue,
                environments,
            };
            match project.resolve(&[]) {
                Ok(_) => {}
                Err(f) => common::report(&f.diagnostics),
            }
        }
        (Err(f), _) | (_, Err(f)) => common::report(&f.diagnostics),
    }
});
