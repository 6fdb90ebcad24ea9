//! Well-known credential formats, as data: a name, the fixed prefixes that start a token, the
//! characters its body may use and how long the body is.
//!
//! The table is the single list `docs/secret-detection.md` describes and the fixtures in
//! `tests/fixtures/lint/literal-secret/fires/token-*.yaml` exercise, one per entry. Facts about
//! each format come from the issuers' public documentation (and the public rule lists of secret
//! scanners); the matcher is ours: a prefix at a token boundary, then a run of body characters
//! whose length must fall in `min..=max`.

/// Characters a token's body may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// `A-Z 0-9`.
    UpperAlnum,
    /// `A-Z a-z 0-9`.
    Alnum,
    /// `A-Z a-z 0-9 _`.
    AlnumUnderscore,
    /// `A-Z a-z 0-9 _ -` (base64url).
    UrlSafe,
    /// `A-Z a-z 0-9 -`.
    AlnumDash,
    /// `A-Z a-z 0-9 _ - .` (SendGrid's two dotted parts).
    UrlSafeDot,
    /// `A-Z a-z 0-9 _ /` (the path of a Slack webhook).
    PathSafe,
    /// `A-Z a-z 0-9 + / =` (standard base64).
    Base64,
    /// `0-9 a-f A-F`.
    Hex,
    /// `0-9 a-f`.
    LowerHex,
}

impl Charset {
    pub fn allows(self, c: char) -> bool {
        let alnum = c.is_ascii_alphanumeric();
        match self {
            Charset::UpperAlnum => c.is_ascii_uppercase() || c.is_ascii_digit(),
            Charset::Alnum => alnum,
            Charset::AlnumUnderscore => alnum || c == '_',
            Charset::UrlSafe => alnum || matches!(c, '_' | '-'),
            Charset::AlnumDash => alnum || c == '-',
            Charset::UrlSafeDot => alnum || matches!(c, '_' | '-' | '.'),
            Charset::PathSafe => alnum || matches!(c, '_' | '/'),
            Charset::Base64 => alnum || matches!(c, '+' | '/' | '='),
            Charset::Hex => c.is_ascii_hexdigit(),
            Charset::LowerHex => c.is_ascii_digit() || matches!(c, 'a'..='f'),
        }
    }
}

/// One credential format.
#[derive(Debug, PartialEq, Eq)]
pub struct TokenPattern {
    /// What the finding calls it: "GitHub personal access token".
    pub name: &'static str,
    /// Any of these starts a token (case-sensitive).
    pub prefixes: &'static [&'static str],
    pub body: Charset,
    /// Length of the body after the prefix, in characters.
    pub min: usize,
    pub max: usize,
}

const fn p(
    name: &'static str,
    prefixes: &'static [&'static str],
    body: Charset,
    min: usize,
    max: usize,
) -> TokenPattern {
    TokenPattern {
        name,
        prefixes,
        body,
        min,
        max,
    }
}

/// Every format `literal-secret/token-pattern` knows. Order matters only where prefixes overlap
/// (a longer prefix first).
pub static PATTERNS: &[TokenPattern] = &[
    p(
        "AWS access key id",
        &["AKIA", "ASIA"],
        Charset::UpperAlnum,
        16,
        16,
    ),
    p(
        "GitHub fine-grained personal access token",
        &["github_pat_"],
        Charset::AlnumUnderscore,
        60,
        255,
    ),
    p(
        "GitHub token",
        &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
        Charset::Alnum,
        36,
        255,
    ),
    p(
        "GitLab personal access token",
        &["glpat-"],
        Charset::UrlSafe,
        20,
        64,
    ),
    p(
        "GitLab pipeline trigger token",
        &["glptt-"],
        Charset::UrlSafe,
        20,
        64,
    ),
    p(
        "Slack token",
        &["xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-", "xapp-"],
        Charset::AlnumDash,
        10,
        255,
    ),
    p(
        "Slack incoming webhook",
        &["hooks.slack.com/services/", "hooks.slack.com/workflows/"],
        Charset::PathSafe,
        20,
        255,
    ),
    p(
        "Stripe live secret key",
        &["sk_live_", "rk_live_"],
        Charset::Alnum,
        24,
        247,
    ),
    p("Google API key", &["AIza"], Charset::UrlSafe, 35, 35),
    p("npm access token", &["npm_"], Charset::Alnum, 36, 36),
    p(
        "PyPI upload token",
        &["pypi-AgEIcHlwaS5vcmc"],
        Charset::UrlSafe,
        50,
        255,
    ),
    p("SendGrid API key", &["SG."], Charset::UrlSafeDot, 66, 66),
    p("Twilio API key", &["SK"], Charset::LowerHex, 32, 32),
    p(
        "Square access token",
        &["sq0atp-"],
        Charset::UrlSafe,
        22,
        60,
    ),
    p(
        "Square OAuth secret",
        &["sq0csp-"],
        Charset::UrlSafe,
        43,
        43,
    ),
    p(
        "Shopify access token",
        &["shpat_", "shpss_", "shpca_", "shppa_"],
        Charset::Hex,
        32,
        32,
    ),
    p(
        "DigitalOcean token",
        &["dop_v1_", "doo_v1_", "dor_v1_"],
        Charset::LowerHex,
        64,
        64,
    ),
    p("Databricks token", &["dapi"], Charset::LowerHex, 32, 32),
    p("Hugging Face token", &["hf_"], Charset::Alnum, 34, 40),
    p(
        "Azure storage account key",
        &["AccountKey="],
        Charset::Base64,
        40,
        120,
    ),
    p(
        "age secret key",
        &["AGE-SECRET-KEY-1"],
        Charset::UpperAlnum,
        58,
        58,
    ),
];

/// A token found in a value: which format, and where (byte range, prefix included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenMatch {
    pub pattern: &'static TokenPattern,
    pub start: usize,
    pub end: usize,
}

/// Where a token may start: every prefix of every pattern by its first byte, as `(pattern,
/// prefix)` indices, and which two-byte openings any prefix has. One pass over a value finds
/// every place a token may start (searching for each of the forty prefixes in turn was most of
/// this rule's time), and the pair test spares the prefix comparisons at nearly every byte of
/// ordinary text (`svc-00068` starts no prefix beginning with `s`).
struct Starts {
    by_first_byte: Vec<Vec<(usize, usize)>>,
    /// Bit `(first << 8) | second` is set when some prefix opens with those two bytes.
    pairs: Vec<u64>,
}

impl Starts {
    fn opens_a_prefix(&self, first: u8, second: u8) -> bool {
        let pair = usize::from(first) << 8 | usize::from(second);
        self.pairs[pair >> 6] & (1 << (pair & 63)) != 0
    }
}

fn starts() -> &'static Starts {
    static STARTS: std::sync::OnceLock<Starts> = std::sync::OnceLock::new();
    STARTS.get_or_init(|| {
        let mut by_first_byte = vec![Vec::new(); 256];
        let mut pairs = vec![0u64; 1 << 10];
        for (pi, pattern) in PATTERNS.iter().enumerate() {
            for (xi, prefix) in pattern.prefixes.iter().enumerate() {
                // Every prefix has two bytes at least (a unit test holds the table to it).
                if let [first, second, ..] = *prefix.as_bytes() {
                    by_first_byte[usize::from(first)].push((pi, xi));
                    let pair = usize::from(first) << 8 | usize::from(second);
                    pairs[pair >> 6] |= 1 << (pair & 63);
                }
            }
        }
        Starts {
            by_first_byte,
            pairs,
        }
    })
}

/// The shortest text any pattern matches: shorter values (most settings) are not looked at.
fn shortest_token() -> usize {
    static SHORTEST: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *SHORTEST.get_or_init(|| {
        PATTERNS
            .iter()
            .flat_map(|p| p.prefixes.iter().map(move |x| x.len() + p.min))
            .min()
            .unwrap_or(0)
    })
}

/// Every token of a known format in `text`, left to right, not overlapping. Where two formats
/// claim overlapping text, the one listed first in [`PATTERNS`] wins.
pub fn find_tokens(text: &str) -> Vec<TokenMatch> {
    if text.len() < shortest_token() {
        return Vec::new();
    }
    let table = starts();
    let bytes = text.as_bytes();
    // (pattern, prefix, start): sorted, the order in which the formats are tried.
    let mut candidates: Vec<(usize, usize, usize)> = Vec::new();
    for (start, pair) in bytes.windows(2).enumerate() {
        if !table.opens_a_prefix(pair[0], pair[1]) {
            continue;
        }
        for &(pi, xi) in &table.by_first_byte[usize::from(pair[0])] {
            if bytes[start..].starts_with(PATTERNS[pi].prefixes[xi].as_bytes()) {
                candidates.push((pi, xi, start));
            }
        }
    }
    if candidates.is_empty() {
        return Vec::new();
    }
    candidates.sort_unstable();
    let mut out: Vec<TokenMatch> = Vec::new();
    let mut resume = (usize::MAX, usize::MAX, 0);
    for (pi, xi, start) in candidates {
        let pattern = &PATTERNS[pi];
        let prefix = pattern.prefixes[xi];
        // A prefix found again inside its own previous occurrence is not a new start.
        if (pi, xi) == (resume.0, resume.1) && start < resume.2 {
            continue;
        }
        resume = (pi, xi, start + prefix.len());
        if let Some(m) = match_at(text, start, prefix, pattern) {
            if !out.iter().any(|o| o.start < m.end && m.start < o.end) {
                out.push(m);
            }
        }
    }
    out.sort_by_key(|m| m.start);
    out
}

/// The token starting at `start` with `prefix`, if its body is long enough and it stands alone:
/// the character before it is not a word character (so `XAKIA...` is not an AWS key id), and the
/// body does not run on past `max`.
fn match_at(
    text: &str,
    start: usize,
    prefix: &str,
    pattern: &'static TokenPattern,
) -> Option<TokenMatch> {
    let before = text.get(..start)?.chars().next_back();
    // A prefix that starts with a letter or digit must not continue a longer word; a prefix that
    // starts with punctuation or a host name (`hooks.slack.com/`) follows whatever it likes.
    let word_prefix = prefix
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    let host_prefix = prefix.contains('/');
    if word_prefix && !host_prefix && before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return None;
    }
    if host_prefix && before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') {
        // `evilhooks.slack.com/...` is another host.
        return None;
    }
    let body_start = start + prefix.len();
    let body: usize = text
        .get(body_start..)?
        .chars()
        .take_while(|&c| pattern.body.allows(c))
        .count();
    if body < pattern.min || body > pattern.max {
        return None;
    }
    // Body characters are ASCII, so characters are bytes.
    Some(TokenMatch {
        pattern,
        start,
        end: body_start + body,
    })
}

#[cfg(test)]
mod tests {
    use super::{find_tokens, PATTERNS};

    fn names(text: &str) -> Vec<&'static str> {
        find_tokens(text).iter().map(|m| m.pattern.name).collect()
    }

    #[test]
    fn every_prefix_is_distinct_and_every_range_sane() {
        let mut seen = Vec::new();
        for p in PATTERNS {
            assert!(p.min <= p.max, "{}", p.name);
            for prefix in p.prefixes {
                assert!(!seen.contains(prefix), "{prefix} twice");
                // The search looks for a prefix's first two bytes.
                assert!(prefix.len() >= 2, "{prefix}: too short to search for");
                seen.push(prefix);
            }
        }
    }

    #[test]
    fn finds_known_formats() {
        assert_eq!(names("AKIAIOSFODNN7EXAMPLE"), ["AWS access key id"]);
        assert_eq!(names("key=AKIAIOSFODNN7EXAMPLE;"), ["AWS access key id"]);
        assert_eq!(
            names("ghp_EXAMPLE0123456789abcdefghijklmnopqrstu"),
            ["GitHub token"]
        );
        assert_eq!(
            names("https://hooks.slack.com/services/T00000000/B00000000/EXAMPLEEXAMPLEEXAMPLE00"),
            ["Slack incoming webhook"]
        );
        assert_eq!(
            names("AIzaSyEXAMPLE-EXAMPLE_EXAMPLE0123456789"),
            ["Google API key"]
        );
    }

    #[test]
    fn ignores_look_alikes() {
        // Too short, too long, glued to a longer word, or the wrong case.
        assert!(names("AKIAEXAMPLE").is_empty());
        assert!(names("AKIAIOSFODNN7EXAMPLEXX").is_empty());
        assert!(names("XAKIAIOSFODNN7EXAMPLE").is_empty());
        assert!(names("akiaiosfodnn7example").is_empty());
        assert!(names("ghp_0123456789abcdef").is_empty());
        assert!(names("sk_test_EXAMPLE0123456789abcdefghij").is_empty());
        assert!(names("").is_empty());
        assert!(names("évè AKIA").is_empty());
    }
}
