//! One module per subcommand.

pub mod build;
pub mod check;
pub mod diff;
pub mod lint;
pub mod rules;
