//! Shared by the fuzz targets: a scratch project written once per process, and the report
//! renderers every diagnostic goes through (a span that breaks a renderer is a crash too).

use shipshape::diagnostic::Diagnostic;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A small valid catalogue: the fixed partner of a fuzzed environment file. The same files
/// stand beside the inputs of tests/fuzz_regressions.rs.
pub const CATALOGUE: &str =
    include_str!("../../tests/fixtures/fuzz-regressions/base/catalogue.yaml");

/// A valid environment file: the fixed partner of a fuzzed catalogue.
pub const ENVIRONMENT: &str =
    include_str!("../../tests/fixtures/fuzz-regressions/base/environment.yaml");

/// A per-process scratch directory holding `catalogue.yaml` and `environments/dev.yaml`.
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("shipshape-fuzz-")
            .tempdir()
            .expect("temporary directory")
            .keep();
        std::fs::create_dir_all(dir.join("environments")).unwrap();
        dir
    })
}

pub fn write_project(catalogue: &[u8], environment: &[u8]) -> &'static Path {
    let root = scratch();
    std::fs::write(root.join("catalogue.yaml"), catalogue).unwrap();
    std::fs::write(root.join("environments/dev.yaml"), environment).unwrap();
    root
}

/// Every output format, as the binary would print it.
pub fn report(diagnostics: &[Diagnostic]) {
    let mut diagnostics = diagnostics.to_vec();
    shipshape::diagnostic::normalise(&mut diagnostics);
    let _ = shipshape::report::human::render(&diagnostics, false);
    let _ = shipshape::report::human::render_short(&diagnostics);
    let _ = shipshape::report::json::render(&diagnostics, None);
    let _ = shipshape::report::sarif::render(&diagnostics);
    let _ = shipshape::report::github::render(&diagnostics);
}
