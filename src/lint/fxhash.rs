//! A fast, non-cryptographic hasher for the lint indexes, after rustc's FxHash.
//!
//! The indexes are keyed by short strings from the manifests (kinds, names, labels) and rebuilt
//! for every environment; SipHash's start-up and rounds cost more than the lookups themselves.
//! Nothing here is keyed by input an attacker could shape to collide at scale on purpose (a
//! linter run over one's own repository), and no map is iterated, so output does not depend on it.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // Each multiply mixes only upwards, and names differing in a digit or two left the bits
        // the table picks buckets with nearly alike: murmur3's finaliser spreads them.
        let mut h = self.hash;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

pub type FxBuildHasher = BuildHasherDefault<FxHasher>;
pub type FxHashMap<K, V> = HashMap<K, V, FxBuildHasher>;
pub type FxHashSet<T> = HashSet<T, FxBuildHasher>;

/// An empty map with room for `n` entries.
pub fn map_with_capacity<K, V>(n: usize) -> FxHashMap<K, V> {
    HashMap::with_capacity_and_hasher(n, FxBuildHasher::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_similar_names() {
        let names: Vec<String> = (0..10_000).map(|i| format!("svc-{i:05}")).collect();
        let mut map: FxHashMap<&str, usize> = map_with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            map.insert(n, i);
        }
        for (i, n) in names.iter().enumerate() {
            assert_eq!(map.get(n.as_str()), Some(&i));
        }
        let hashes: Vec<u64> = names
            .iter()
            .map(|n| {
                let mut h = FxHasher::default();
                std::hash::Hash::hash(n.as_str(), &mut h);
                h.finish()
            })
            .collect();
        let low = hashes
            .iter()
            .map(|h| h & 0x3fff)
            .collect::<FxHashSet<u64>>();
        let high = hashes.iter().map(|h| h >> 57).collect::<FxHashSet<u64>>();
        // 10,000 keys over 16,384 buckets: a good hash leaves about 7,500 distinct. The top 7
        // bits tell entries of one group apart.
        assert!(low.len() > 7_000, "{}", low.len());
        assert_eq!(high.len(), 128);
    }
}
