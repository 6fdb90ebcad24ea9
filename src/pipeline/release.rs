//! Letting go of an environment's manifests once its sink has it: freed beside the next stage,
//! or left for the process exit where that is cheaper and the memory allows.

use std::sync::atomic::{AtomicUsize, Ordering};

/// How many manifests of finished environments a run may let go of without freeing them.
static UNFREED_BUDGET: AtomicUsize = AtomicUsize::new(0);

/// Lets a run leave up to `manifests` manifests of finished environments unfreed, for a process
/// that exits right after the command (the binary; library callers keep the default, 0). The
/// renderer's threads allocate the manifests and have exited by the time they are freed, so every
/// free takes the allocator's slow cross-thread path: at N = 1,000 freeing was a quarter of a
/// `check`'s CPU for memory the process was about to return whole. Above the budget (large
/// platforms, where peak memory is the limit) environments are freed as before.
pub fn allow_unfreed_manifests(manifests: usize) {
    UNFREED_BUDGET.store(manifests, Ordering::Relaxed);
}

/// Whether an environment of `manifests` manifests will be left unfreed by [`let_go`] after
/// `unfreed` others were. While it is, the next environment may render beside its checks
/// (render ahead): both are in memory at the peak either way, and the checks and the renderer
/// each leave one of the two cores idle for part of their time (the lint index is built on one
/// thread, the rules are few and unequal, the renderer waits for its slowest service). Where
/// environments are freed (large platforms, peak memory the limit) each renders alone, after
/// the previous one's free.
pub(super) fn stays_unfreed(unfreed: usize, manifests: usize) -> bool {
    unfreed + manifests <= UNFREED_BUDGET.load(Ordering::Relaxed)
}

/// Takes an environment's manifests away once they are checked: left unfreed while the run's
/// budget allows ([`allow_unfreed_manifests`]), otherwise freed on other threads while the next
/// environment renders; the caller joins them before that environment's checks.
pub(super) fn let_go(
    manifests: &mut Vec<crate::manifest::Manifest>,
    unfreed: &mut usize,
) -> Option<[std::thread::JoinHandle<()>; 2]> {
    let taken = std::mem::take(manifests);
    if stays_unfreed(*unfreed, taken.len()) {
        *unfreed += taken.len();
        std::mem::forget(taken);
        return None;
    }
    Some(free_in_background(taken))
}

/// Drops `manifests` on two threads, half each: a free walks every node of every tree, and
/// one thread alone took longer than the comparison it runs beside.
fn free_in_background(
    mut manifests: Vec<crate::manifest::Manifest>,
) -> [std::thread::JoinHandle<()>; 2] {
    let second = manifests.split_off(manifests.len() / 2);
    [
        std::thread::spawn(move || drop(manifests)),
        std::thread::spawn(move || drop(second)),
    ]
}

/// Waits for a free begun by [`let_go`], so the next environment's checks do not share the peak.
pub(super) fn wait_for(freeing: [std::thread::JoinHandle<()>; 2]) {
    let t = std::time::Instant::now();
    for half in freeing {
        let _ = half.join();
    }
    crate::profile::mark("wait for the free", t);
}

/// Copies what outlives an environment's turn (its file list, the paths and any text the sink
/// kept) into memory of this thread, once its manifests are being freed. The renderer's threads allocated them among the manifests,
/// and one small survivor keeps the allocator's whole page of freed manifests: at N = 10,000,
/// about 40 MB of freed pages stayed resident per environment, and each environment's peak sat
/// that much above the last one's.
pub(super) fn move_out_of_freed_pages(files: &mut Vec<crate::render::RenderedFile>) {
    let mut moved = Vec::with_capacity(files.len());
    moved.extend(files.drain(..).map(|f| crate::render::RenderedFile {
        path: f.path.as_str().to_owned(),
        text: if f.text.is_empty() {
            String::new()
        } else {
            f.text.as_str().to_owned()
        },
        text_at: f.text_at,
        // Written by now (the sink had it first); what it was written from is gone.
        source: String::new(),
        documents: 0..0,
    }));
    *files = moved;
}
