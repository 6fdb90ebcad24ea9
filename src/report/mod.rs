//! Output formats for diagnostics: human (miette), JSON, SARIF 2.1.0, GitHub annotations.

pub mod github;
pub mod human;
pub mod json;
pub mod sarif;
