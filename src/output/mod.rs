//! Everything between "an environment is rendered and checked" and "the tree on disk is the new
//! one": comparing with the tree ([`drift`]), the link policy ([`boundary`]), the work area beside
//! the output ([`workarea`]), the build lock ([`lock`]), the staged tree ([`staging`]) and the
//! swap ([`swap`]). No other module touches the output directory.
//!
//! The commands drive it through their pipeline sinks: `check` and `diff` compare each finished
//! environment; `build` opens a [`Writer`] when the first environment is finished, compares and
//! stages each one, then swaps.

pub mod boundary;
pub mod drift;
pub mod lock;
pub mod staging;
pub mod swap;
pub mod workarea;

use crate::diagnostic::{Diagnostic, Failure};
use crate::render::RenderedEnvironment;
pub use drift::{Drift, DriftKind};
pub use staging::{WriteSummary, FAULT_AFTER_FILES_VAR, SLOW_WRITE_VAR};
use std::path::Path;

/// A build's hold on the output directory: the lock, and the tree it stages. Dropping it
/// removes the staging tree, then the lock file, then the work area if nothing else is in it.
pub struct Writer {
    // Declared first so it is dropped first: the staging tree goes while the lock is still held.
    staging: staging::Staging,
    lock: lock::OutputLock,
}

impl Writer {
    /// Checks the output directory against the link policy, takes its lock and clears what
    /// killed runs left in the work area.
    pub fn open(out: &Path) -> Result<Writer, Diagnostic> {
        boundary::check_output_dir(out)?;
        let area = workarea::WorkArea::of(out);
        let lock = lock::take(out, &area)?;
        area.clean_leftovers(out);
        Ok(Writer {
            staging: staging::Staging::new(out, &area),
            lock,
        })
    }

    /// Writes the files of `env` that differ from the tree to the staging tree at once (see
    /// [`staging::Staging::stage_changed`]).
    pub fn stage_changed(&mut self, env: &mut RenderedEnvironment) {
        self.staging.stage_changed(env);
    }

    /// The first staging write that failed.
    pub fn failure(&self) -> Option<&Diagnostic> {
        self.staging.failure()
    }

    /// Completes the staged tree from `envs` (every directory rendered) and swaps it in.
    pub fn finish(self, envs: &[&RenderedEnvironment]) -> Result<WriteSummary, Failure> {
        let Writer { staging, lock } = self;
        let written = staging.finish(envs);
        drop(lock);
        written
    }
}
