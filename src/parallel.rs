//! Order-preserving parallel map on scoped threads, with no dependency beyond std: two cores are
//! worth using, and rayon's build cost is not.

use std::sync::atomic::{AtomicUsize, Ordering};

/// `items.iter().map(f)` on all cores, results in input order. Threads take the next item from a
/// shared counter, so unequal items (lint rules) balance as well as equal ones (services).
/// Below `min_items` it runs on the calling thread, where spawning would cost more than it saves.
pub fn map<T: Sync, R: Send>(items: &[T], min_items: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = cores().min(items.len());
    if threads < 2 || items.len() < min_items {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut parts: Vec<Vec<(usize, R)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        done.push((i, f(item)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(v) => v,
                // A panic in a worker is a bug; re-raise it on this thread unchanged.
                Err(e) => std::panic::resume_unwind(e),
            })
            .collect()
    });
    let mut all: Vec<(usize, R)> = parts.iter_mut().flat_map(std::mem::take).collect();
    all.sort_unstable_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

/// The cores this process may use, asked once: the standard library reads the cgroup's CPU
/// quota files on every call, and a run maps in parallel a few dozen times.
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_order() {
        let items: Vec<u32> = (0..1000).collect();
        let out = super::map(&items, 1, |x| x * 2);
        assert_eq!(out, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        assert_eq!(super::map(&items[..3], 16, |x| *x), vec![0, 1, 2]);
    }
}
