//! Shannon entropy: how random a value looks, for values whose names suggest a secret.
//!
//! `H = -Σ p(c) · log2 p(c)` over the value's characters, in bits per character. A random string
//! over an alphabet of `n` symbols approaches `log2 n` (hex 4.0, base64 6.0) but never exceeds
//! `log2(len)`; words and settings repeat letters and score lower (`production` 2.9,
//! `orders-service-v2` 3.2). The thresholds are documented in docs/secret-detection.md.

/// Bits per character, 0 for the empty string.
pub fn shannon(text: &str) -> f64 {
    let mut counts = [0u32; 128];
    let mut other: std::collections::HashMap<char, u32> = std::collections::HashMap::new();
    let mut total = 0u32;
    for c in text.chars() {
        total += 1;
        match usize::try_from(u32::from(c)) {
            Ok(i) if i < 128 => counts[i] += 1,
            _ => *other.entry(c).or_default() += 1,
        }
    }
    if total == 0 {
        return 0.0;
    }
    let n = f64::from(total);
    counts
        .iter()
        .chain(other.values())
        .filter(|&&k| k > 0)
        .map(|&k| {
            let p = f64::from(k) / n;
            -p * p.log2()
        })
        .sum()
}

/// Shortest value judged by entropy: below it even a random string is too short to tell from a
/// setting (and `log2(len)` caps the score).
pub const MIN_LEN: usize = 16;
/// Threshold for values of hex digits only (alphabet of 16: at most 4 bits per character).
pub const HEX_THRESHOLD: f64 = 3.0;
/// Threshold for every other value.
pub const THRESHOLD: f64 = 3.5;

/// Longest run without a separator (`-_.:/@,;`) a random value needs: settings are words
/// joined by separators (`cache-prefix-v1-orders`, `api-gateway-2024-05-01`), keys are long runs.
pub const MIN_RUN: usize = 12;

/// Whether `value` looks like a random key: at least [`MIN_LEN`] characters, one word (no
/// whitespace), letters and digits both, a run of [`MIN_RUN`] characters between separators, and
/// entropy at or above the threshold for its alphabet.
pub fn looks_random(value: &str) -> bool {
    let len = value.chars().count();
    if !(MIN_LEN..=4096).contains(&len) || value.chars().any(char::is_whitespace) {
        return false;
    }
    let longest_run = value
        .split(['-', '_', '.', ':', '/', '@', ',', ';'])
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0);
    if longest_run < MIN_RUN {
        return false;
    }
    let letters = value.chars().any(|c| c.is_ascii_alphabetic());
    let digits = value.chars().any(|c| c.is_ascii_digit());
    if !(letters && digits) {
        return false;
    }
    let hex = value.chars().all(|c| c.is_ascii_hexdigit());
    shannon(value) >= if hex { HEX_THRESHOLD } else { THRESHOLD }
}

#[cfg(test)]
mod tests {
    use super::{looks_random, shannon};

    #[test]
    fn entropy_of_known_strings() {
        assert_eq!(shannon(""), 0.0);
        assert_eq!(shannon("aaaa"), 0.0);
        assert!((shannon("ab") - 1.0).abs() < 1e-9);
        assert!((shannon("0123456789abcdef") - 4.0).abs() < 1e-9);
    }

    #[test]
    fn random_keys_and_settings() {
        assert!(looks_random("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"));
        assert!(looks_random("9f86d081884c7d659a2feaa0c55ad015"));
        assert!(looks_random("Zx8Qp2Lr7Vt4Kw9N"));
        assert!(!looks_random("orders-service-v2"));
        assert!(!looks_random("cache-prefix-v1-orders"));
        assert!(!looks_random("api-gateway-2024-05-01"));
        assert!(!looks_random("postgres-primary.db.svc.cluster.local"));
        assert!(!looks_random("production"));
        assert!(!looks_random("1234567890123456"));
        assert!(!looks_random("aaaaaaaaaaaaaaaa1"));
        assert!(!looks_random("correct horse battery staple 42"));
        assert!(!looks_random("short1"));
    }
}
