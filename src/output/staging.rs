//! The next output tree, assembled in the work area and completed from the current one.

use super::boundary;
use super::swap::{remove_tree, swap_in};
use super::workarea::{io_error, WorkArea};
use crate::diagnostic::{Diagnostic, Failure};
use crate::render::{RenderedEnvironment, RenderedFile, TextAt};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Test hook: fail with an I/O error after this many files were written to staging. The value is
/// `N` or `N:kind`, kind one of `disk-full`, `permission-denied` or `other`.
pub const FAULT_AFTER_FILES_VAR: &str = "SHIPSHAPE_TEST_FAIL_AFTER_FILES";
/// Test hook: sleep this many milliseconds after each staged file, so a test can kill the run.
pub const SLOW_WRITE_VAR: &str = "SHIPSHAPE_TEST_SLOW_WRITE_MS";

/// What a write changed, for the summary line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WriteSummary {
    pub written: usize,
    pub unchanged: usize,
    pub removed: usize,
    pub kept_foreign: usize,
}

/// The test hooks, read once per build.
struct TestHooks {
    fail_after: Option<usize>,
    fault_kind: String,
    slow_ms: Option<u64>,
}

impl TestHooks {
    fn from_env() -> TestHooks {
        let fault = std::env::var(FAULT_AFTER_FILES_VAR)
            .ok()
            .unwrap_or_default();
        let (n, kind) = fault.split_once(':').unwrap_or((&fault, "other"));
        TestHooks {
            fail_after: n.parse().ok(),
            fault_kind: kind.to_owned(),
            slow_ms: std::env::var(SLOW_WRITE_VAR)
                .ok()
                .and_then(|v| v.parse().ok()),
        }
    }

    /// Called before the `n`th file (from 0) is staged.
    fn before_file(&self, n: usize, target: &Path) -> Result<(), Diagnostic> {
        if self.fail_after.is_some_and(|limit| n >= limit) {
            // The errors the kernel gives, so the message is the one a user would see.
            let e = match self.fault_kind.as_str() {
                "disk-full" => std::io::Error::from_raw_os_error(28),
                "permission-denied" => std::io::Error::from_raw_os_error(13),
                _ => std::io::Error::other("injected fault"),
            };
            return Err(io_error("cannot write", target, &e));
        }
        Ok(())
    }

    fn after_file(&self) {
        if let Some(ms) = self.slow_ms {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
    }
}

/// The next output tree, assembled beside the current one and swapped in whole.
///
/// A build stages each environment's changed files as soon as the environment is compared with
/// the tree ([`Staging::stage_changed`]), so their text need not stay in memory until every
/// environment is rendered; [`Staging::finish`] then links the unchanged files from the current
/// tree, carries over what shipshape did not generate, and swaps. The caller holds the output
/// lock ([`lock`]) for the whole life of a `Staging`. Dropping one removes its directory: after a
/// failure that is the half-built tree, after the swap the previous one.
pub struct Staging {
    out: PathBuf,
    dir: PathBuf,
    area: WorkArea,
    created: bool,
    staged: usize,
    summary: WriteSummary,
    hooks: TestHooks,
    failed: Option<Diagnostic>,
}

impl Staging {
    /// Touches nothing yet: the directory is made when the first file is staged.
    pub fn new(out: &Path, area: &WorkArea) -> Staging {
        Staging {
            out: out.to_path_buf(),
            dir: area.staging_path(),
            area: area.clone(),
            created: false,
            staged: 0,
            summary: WriteSummary::default(),
            hooks: TestHooks::from_env(),
            failed: None,
        }
    }

    /// The first write that failed; once one has, nothing more is staged.
    pub fn failure(&self) -> Option<&Diagnostic> {
        self.failed.as_ref()
    }

    /// Writes the files of `env` whose text is still in memory ([`TextAt::Memory`]) to the
    /// staging directory and lets go of their text. A failure is kept for [`Staging::failure`].
    pub fn stage_changed(&mut self, env: &mut RenderedEnvironment) {
        if self.failed.is_some() {
            return;
        }
        if let Err(d) = self.write_held(env) {
            self.failed = Some(d);
        }
    }

    fn write_held(&mut self, env: &mut RenderedEnvironment) -> Result<(), Diagnostic> {
        if !env.files.iter().any(|f| f.text_at == TextAt::Memory) {
            return Ok(());
        }
        self.create()?;
        let dir = self.dir.join(&env.name);
        fs::create_dir_all(&dir).map_err(|e| io_error("cannot create", &dir, &e))?;
        let held = [(
            env.name.as_str(),
            env.files.iter().filter(|f| f.text_at == TextAt::Memory),
        )];
        self.stage_batches(&batches(held))?;
        for file in env.files.iter_mut().filter(|f| f.text_at == TextAt::Memory) {
            file.text = String::new();
            file.text_at = TextAt::Staging;
        }
        Ok(())
    }

    fn create(&mut self) -> Result<(), Diagnostic> {
        if !self.created {
            fs::create_dir(&self.dir).map_err(|e| io_error("cannot create", &self.dir, &e))?;
            self.created = true;
        }
        Ok(())
    }

    /// Creates the directory `target` goes in unless it is `dir`, made already.
    fn make_parent(&self, target: &Path, dir: &Path) -> Result<(), Diagnostic> {
        match target.parent() {
            Some(parent) if parent != dir && !parent.is_dir() => {
                fs::create_dir_all(parent).map_err(|e| io_error("cannot create", parent, &e))
            }
            _ => Ok(()),
        }
    }

    /// Completes the tree and swaps it in: `envs` are every directory rendered (environments
    /// and `argocd/`); the files of each are either staged already, held by the current tree
    /// as they are (linked, or copied where a link fails), or still in memory (written now).
    /// Directories not rendered, and files shipshape did not generate, are carried over.
    pub fn finish(mut self, envs: &[&RenderedEnvironment]) -> Result<WriteSummary, Failure> {
        if let Some(d) = self.failed.take() {
            return Err(d.into());
        }
        let t = std::time::Instant::now();
        self.complete(envs)?;
        crate::profile::mark("stage", t);
        swap_in(&self.out, &self.dir, &self.area)?;
        let t = std::time::Instant::now();
        // The staging path now holds the previous tree.
        remove_tree(&self.dir);
        self.created = false;
        crate::profile::mark("remove old tree", t);
        Ok(std::mem::take(&mut self.summary))
    }

    fn complete(&mut self, envs: &[&RenderedEnvironment]) -> Result<(), Diagnostic> {
        self.create()?;
        if self.out.exists() {
            let produced: Produced = envs
                .iter()
                .map(|e| {
                    let paths = e
                        .files
                        .iter()
                        .map(|f| (Path::new(f.path.as_str()), f.text_at == TextAt::Tree))
                        .collect();
                    (e.name.as_str(), paths)
                })
                .collect();
            let (out, dir) = (self.out.clone(), self.dir.clone());
            carry_over(&out, &dir, &out, envs, &produced, &mut self.summary)?;
        }
        let mut rest = Vec::new();
        for env in envs {
            if env.files.is_empty() {
                // Nothing rendered here (e.g. no environment uses Argo CD): create no directory.
                continue;
            }
            let dir = self.dir.join(&env.name);
            fs::create_dir_all(&dir).map_err(|e| io_error("cannot create", &dir, &e))?;
            let unstaged = env.files.iter().filter(|f| f.text_at != TextAt::Staging);
            rest.push((env.name.as_str(), unstaged));
        }
        self.stage_batches(&batches(rest))
    }

    /// Stages `batches` on both cores: each file is linked from the current tree when the
    /// tree holds it as it is ([`TextAt::Tree`]), otherwise written from memory. The first
    /// failure in batch order is returned and stops the other thread at its next file.
    fn stage_batches(&mut self, batches: &[Vec<(&str, &RenderedFile)>]) -> Result<(), Diagnostic> {
        // Two threads in one directory queue on its lock and spin there (kernel time doubled
        // when a fresh build wrote each environment on two threads); in different directories
        // they work side by side.
        let mut dirs = batches.iter().flatten().map(|(dir, _)| *dir);
        let first = dirs.next();
        let several_dirs = dirs.any(|dir| Some(dir) != first);
        let min_batches = if several_dirs { 2 } else { usize::MAX };
        let next = AtomicUsize::new(self.staged);
        let stop = AtomicBool::new(false);
        let this = &*self;
        let results = crate::parallel::map(batches, min_batches, |batch| {
            let mut done = WriteSummary::default();
            for &(name, file) in batch {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let dir = this.dir.join(name);
                match this.stage_one(&dir, name, file, next.fetch_add(1, Ordering::Relaxed)) {
                    Ok(true) => done.unchanged += 1,
                    Ok(false) => done.written += 1,
                    Err(d) => {
                        stop.store(true, Ordering::Relaxed);
                        return Err(d);
                    }
                }
            }
            Ok(done)
        });
        self.staged = next.into_inner();
        for done in results {
            let done = done?;
            self.summary.written += done.written;
            self.summary.unchanged += done.unchanged;
        }
        Ok(())
    }

    /// Stages one file of the directory `name` (staged at `dir`); the `n`th file of the build.
    /// Returns whether it was linked (unchanged) rather than written.
    fn stage_one(
        &self,
        dir: &Path,
        name: &str,
        file: &RenderedFile,
        n: usize,
    ) -> Result<bool, Diagnostic> {
        let target = dir.join(&file.path);
        self.make_parent(&target, dir)?;
        self.hooks.before_file(n, &target)?;
        let linked = file.text_at == TextAt::Tree;
        if linked {
            // Linked, not rewritten: a link is one metadata update where a write allocates and
            // fills blocks, and removing the old tree afterwards then frees nothing. The old
            // tree is never written through.
            let previous = self.out.join(name).join(&file.path);
            link_or_copy(&previous, &target)?;
        } else {
            write_new(&target, &file.text)?;
        }
        self.hooks.after_file();
        Ok(linked)
    }
}

/// Files in a row for one thread: enough that taking the next batch costs nothing, few enough
/// that two threads share a directory of a thousand files evenly.
const BATCH_FILES: usize = 128;

/// Cuts each directory's files into batches and deals them out one directory after another,
/// so that the two threads mostly change different directories: adding or removing an entry
/// locks its directory, and threads in the same one wait for each other.
pub(super) fn deal<T: Clone>(dirs: Vec<Vec<T>>) -> Vec<Vec<T>> {
    let mut per_dir: Vec<std::collections::VecDeque<Vec<T>>> = dirs
        .iter()
        .map(|files| files.chunks(BATCH_FILES).map(<[T]>::to_vec).collect())
        .collect();
    let mut dealt = Vec::new();
    while per_dir.iter().any(|d| !d.is_empty()) {
        for dir in &mut per_dir {
            dealt.extend(dir.pop_front());
        }
    }
    dealt
}

/// The files of each output directory, paired with its name, dealt into batches.
fn batches<'a>(
    dirs: impl IntoIterator<Item = (&'a str, impl Iterator<Item = &'a RenderedFile>)>,
) -> Vec<Vec<(&'a str, &'a RenderedFile)>> {
    deal(
        dirs.into_iter()
            .map(|(dir, files)| files.map(|f| (dir, f)).collect())
            .collect(),
    )
}

impl Drop for Staging {
    fn drop(&mut self) {
        if self.created {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Puts the file at `from` (in the current tree) at `to` (in staging, where nothing is yet): a
/// hard link where the file system allows one, else a copy. Neither can land on `from` itself:
/// `to` is always created new, and a copy reads only a regular file.
fn link_or_copy(from: &Path, to: &Path) -> Result<(), Diagnostic> {
    match fs::hard_link(from, to) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(io_error("cannot link", to, &e));
        }
        Err(_) => {}
    }
    let Some(mut source) = boundary::open_regular(from)? else {
        return Err(io_error(
            "cannot copy",
            from,
            &std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    };
    let mut target = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)
        .map_err(|e| io_error("cannot write", to, &e))?;
    std::io::copy(&mut source, &mut target).map_err(|e| io_error("cannot copy", from, &e))?;
    Ok(())
}

/// Creates `target` and writes `text` to it; never opens an existing file, so nothing staged can
/// write through a link into the current tree.
fn write_new(target: &Path, text: &str) -> Result<(), Diagnostic> {
    use std::io::Write;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(target)
        .map_err(|e| io_error("cannot write", target, &e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| io_error("cannot write", target, &e))
}

/// The files each re-rendered environment produces, by environment name, each with whether the
/// comparison found the file on disk identical to it ([`TextAt::Tree`]): looked up once per file
/// on disk, so a map rather than a scan.
type Produced<'a> = HashMap<&'a str, HashMap<&'a Path, bool>>;

/// Copies (hard-links where possible) `dir` into `staging`, skipping generated files of the
/// environments being re-rendered: those are replaced, or removed when no longer produced.
fn carry_over(
    root: &Path,
    staging: &Path,
    dir: &Path,
    envs: &[&RenderedEnvironment],
    produced: &Produced,
    summary: &mut WriteSummary,
) -> Result<(), Diagnostic> {
    let entries = fs::read_dir(dir).map_err(|e| io_error("cannot read", dir, &e))?;
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        let rel = path.strip_prefix(root).unwrap_or(&path);
        let target = staging.join(rel);
        let ft = entry
            .file_type()
            .map_err(|e| io_error("cannot inspect", &path, &e))?;
        let mut parts = rel.components();
        let env_name = parts
            .next()
            .map(|c| c.as_os_str().to_string_lossy().into_owned());
        let rel_in_env = parts.as_path();
        let rerendered = env_name
            .as_deref()
            .and_then(|n| envs.iter().find(|e| e.name == n));
        let produced_as = rerendered.and_then(|env| {
            produced
                .get(env.name.as_str())
                .and_then(|paths| paths.get(rel_in_env))
        });
        let produced_here = produced_as.is_some();
        // Only files of re-rendered directories need the header read; one the comparison found
        // identical to its rendered text has it (at N = 10,000, 30,000 opens saved).
        let generated = rerendered.is_some()
            && ft.is_file()
            && (produced_as == Some(&true) || super::drift::is_generated(&path));
        if produced_here && !generated {
            return Err(in_the_way(&path));
        }
        if ft.is_dir() {
            fs::create_dir_all(&target).map_err(|e| io_error("cannot create", &target, &e))?;
            carry_over(root, staging, &path, envs, produced, summary)?;
            continue;
        }
        if let Some(env) = rerendered {
            if generated {
                if produced_here {
                    continue;
                }
                if env.complete {
                    summary.removed += 1;
                    continue;
                }
                // A partial render (the Argo CD directory under `--env`): keep the other
                // environments' generated files as they are.
            } else {
                summary.kept_foreign += 1;
            }
        }
        if ft.is_symlink() {
            #[cfg(unix)]
            {
                let link =
                    fs::read_link(&path).map_err(|e| io_error("cannot read link", &path, &e))?;
                std::os::unix::fs::symlink(link, &target)
                    .map_err(|e| io_error("cannot link", &target, &e))?;
            }
            continue;
        }
        link_or_copy(&path, &target)?;
    }
    Ok(())
}

/// A file shipshape did not generate (or a directory, or a link) sits where the catalogue now
/// renders a file: shipshape never overwrites what it did not write.
fn in_the_way(path: &Path) -> Diagnostic {
    Diagnostic::error(
        "output/not-generated",
        format!(
            "{} was not generated by shipshape (it does not start with the generated-file header), but the catalogue renders a file to this path",
            crate::paths::shown(path)
        ),
    )
    .with_help("shipshape does not overwrite files it did not write: move or delete this one (or put your change into the catalogue), then build again; the previous output was left untouched")
}
