//! Input budgets: every file shipshape reads is bounded, so hostile input ends in an error.

pub const MAX_FILE_BYTES_VAR: &str = "SHIPSHAPE_MAX_FILE_BYTES";
pub const MAX_NODES_VAR: &str = "SHIPSHAPE_MAX_NODES";
pub const MAX_DEPTH_VAR: &str = "SHIPSHAPE_MAX_DEPTH";
pub const MAX_SCALAR_BYTES_VAR: &str = "SHIPSHAPE_MAX_SCALAR_BYTES";
pub const MAX_EXPANDED_BYTES_VAR: &str = "SHIPSHAPE_MAX_EXPANDED_BYTES";

/// Budgets for reading one YAML file.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_file_bytes: usize,
    /// Nodes per file, counting each node an alias repeats: this is what stops alias bombs.
    pub max_nodes: usize,
    pub max_depth: usize,
    pub max_scalar_bytes: usize,
    /// Bytes of keys and strings that aliases repeat, per file: a few nodes can each replay a
    /// megabyte-long string, which the node count alone lets through.
    pub max_expanded_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 32 * 1024 * 1024,
            max_nodes: 2_000_000,
            max_depth: 64,
            max_scalar_bytes: 1024 * 1024,
            // Twice the largest file: room for real reuse of anchors, far below what would
            // exhaust a CI runner's memory.
            max_expanded_bytes: 64 * 1024 * 1024,
        }
    }
}

impl Limits {
    /// The defaults, with any limit raised or lowered through its environment variable.
    pub fn from_env() -> Limits {
        let d = Limits::default();
        let read = |var: &str, default: usize| {
            std::env::var(var)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(default)
        };
        Limits {
            max_file_bytes: read(MAX_FILE_BYTES_VAR, d.max_file_bytes),
            max_nodes: read(MAX_NODES_VAR, d.max_nodes),
            max_depth: read(MAX_DEPTH_VAR, d.max_depth),
            max_scalar_bytes: read(MAX_SCALAR_BYTES_VAR, d.max_scalar_bytes),
            max_expanded_bytes: read(MAX_EXPANDED_BYTES_VAR, d.max_expanded_bytes),
        }
    }
}
