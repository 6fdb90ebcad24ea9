//! One module per subcommand.

pub mod build;
pub mod check;
pub mod diff;
pub mod graph;
pub mod lint;
pub mod man;
pub mod plan;
pub mod rules;
