//! What a value holds: value-based detectors (they judge the value alone), then the name-based
//! checks (the value under a name that says or suggests it is a credential).

use super::codes;
use super::entropy;
use super::names::{names_a_credential, names_a_hash, suggests_secret};
use super::patterns::{find_tokens, TokenPattern};
use crate::lint::Code;

/// The condition a finding reports, each with its own code under `literal-secret`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The name says it is a credential and the value is written inline.
    Name,
    /// `scheme://user:password@host`, or `Password=...` in a connection string.
    UrlCredentials,
    /// `-----BEGIN ... PRIVATE KEY-----`.
    PrivateKey,
    /// A JSON Web Token.
    Jwt,
    /// `Basic dXNlcjpwYXNz`: an HTTP Authorization value, `user:password` in base64.
    BasicAuth,
    /// A token of a well-known format (see `patterns.rs`).
    Token(&'static TokenPattern),
    /// A random-looking value under a name that suggests a secret.
    HighEntropy,
    /// `changeme`, `<password>`, `${DB_PASSWORD}`: no secret yet, but no reference either.
    Placeholder,
    /// A Secret manifest with its values in `data` or `stringData`.
    SecretData,
}

impl Kind {
    pub fn code(self) -> &'static Code {
        match self {
            Kind::Name => &codes::BY_NAME,
            Kind::UrlCredentials => &codes::URL_CREDENTIALS,
            Kind::PrivateKey => &codes::PRIVATE_KEY,
            Kind::Jwt => &codes::JWT,
            Kind::BasicAuth => &codes::BASIC_AUTH,
            Kind::Token(_) => &codes::TOKEN_PATTERN,
            Kind::HighEntropy => &codes::HIGH_ENTROPY,
            Kind::Placeholder => &codes::PLACEHOLDER,
            Kind::SecretData => &codes::SECRET_DATA,
        }
    }

    /// What the value holds, for the message: "holds {what}".
    pub fn what(self) -> String {
        match self {
            Kind::Name => "a literal credential".to_owned(),
            Kind::UrlCredentials => "a password inside a URL or connection string".to_owned(),
            Kind::PrivateKey => "a private key".to_owned(),
            Kind::Jwt => "a JSON Web Token".to_owned(),
            Kind::BasicAuth => "HTTP Basic credentials (a user and password in base64)".to_owned(),
            Kind::Token(p) => format!("a credential of a known format: {}", p.name),
            Kind::HighEntropy => "a random-looking literal (a key or password?)".to_owned(),
            Kind::Placeholder => "a placeholder instead of a reference".to_owned(),
            Kind::SecretData => "Secret values inline".to_owned(),
        }
    }

    /// Text under the underline.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Name => "literal value",
            Kind::UrlCredentials => "password in the URL",
            Kind::PrivateKey => "private key",
            Kind::Jwt => "JSON Web Token",
            Kind::BasicAuth => "Basic credentials",
            Kind::Token(_) => "token",
            Kind::HighEntropy => "high-entropy value",
            Kind::Placeholder => "placeholder",
            Kind::SecretData => "literal data",
        }
    }
}

/// One thing found in a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub kind: Kind,
    /// Byte range of the secret in the value (for a URL: the password only).
    pub start: usize,
    pub end: usize,
}

impl Detection {
    fn new(kind: Kind, start: usize, end: usize) -> Detection {
        Detection { kind, start, end }
    }

    /// The secret itself, as the value holds it.
    pub fn secret<'v>(&self, value: &'v str) -> &'v str {
        value.get(self.start..self.end).unwrap_or("")
    }
}

/// Where a value sits decides which checks apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A container's `env` value, a ConfigMap key, a `key=value` line of a config file: the name
    /// matters.
    Named,
    /// An annotation: names like `vault.hashicorp.com/agent-inject-token: "true"` do not hold
    /// credentials, so only the value-based detectors run.
    ValueOnly,
}

/// Everything `value` (under `name`) holds that `literal-secret` reports, most specific first;
/// empty when it is fine.
pub fn detect(name: &str, value: &str, place: Place) -> Vec<Detection> {
    let trimmed = value.trim();
    if trimmed.is_empty() || is_reference(trimmed) {
        return Vec::new();
    }
    let found = detect_in_value(value);
    if !found.is_empty() || place == Place::ValueOnly {
        return found;
    }
    let offset = value.len() - value.trim_start().len();
    let whole = |kind| vec![Detection::new(kind, offset, offset + trimmed.len())];
    let strict = names_a_credential(name);
    if !strict && !suggests_secret(name) {
        return Vec::new();
    }
    if is_placeholder(trimmed) {
        return whole(Kind::Placeholder);
    }
    if is_not_a_secret(trimmed) {
        return Vec::new();
    }
    if strict {
        return whole(Kind::Name);
    }
    if !names_a_hash(name) && !is_uuid(trimmed) && entropy::looks_random(trimmed) {
        return whole(Kind::HighEntropy);
    }
    Vec::new()
}

/// The value-based detectors, whatever the name: private keys, credentials in URLs, tokens of
/// known formats, JSON Web Tokens. Found secrets do not overlap.
pub fn detect_in_value(value: &str) -> Vec<Detection> {
    let mut out: Vec<Detection> = Vec::new();
    let push = |d: Detection, out: &mut Vec<Detection>| {
        if !out.iter().any(|o| o.start < d.end && d.start < o.end) {
            out.push(d);
        }
    };
    let has = bytes_present(value);
    // `-----BEGIN ` holds both a dash and a space.
    if has & (DASH | SPACE) == DASH | SPACE {
        for d in private_keys(value) {
            push(d, &mut out);
        }
    }
    if has & COLON != 0 {
        for d in url_credentials(value) {
            push(d, &mut out);
        }
    }
    if has & EQUALS != 0 {
        for d in connection_string_passwords(value) {
            push(d, &mut out);
        }
    }
    for m in find_tokens(value) {
        push(
            Detection::new(Kind::Token(m.pattern), m.start, m.end),
            &mut out,
        );
    }
    if has & CAPITAL_J != 0 {
        for d in jwts(value) {
            push(d, &mut out);
        }
    }
    if has & SPACE != 0 {
        for d in basic_auth(value) {
            push(d, &mut out);
        }
    }
    out.sort_by_key(|d| d.start);
    out
}

/// Bytes a value-based detector cannot match without: a dash and a space (private keys), `:`
/// (URLs), `=` (connection strings), `J` (a JWT starts `eyJ`), a space (`Basic `).
const DASH: u8 = 1;
const SPACE: u8 = 2;
const COLON: u8 = 4;
const EQUALS: u8 = 8;
const CAPITAL_J: u8 = 16;

const BYTE_MARKS: [u8; 256] = {
    let mut marks = [0u8; 256];
    marks[b'-' as usize] = DASH;
    marks[b' ' as usize] = SPACE;
    marks[b':' as usize] = COLON;
    marks[b'=' as usize] = EQUALS;
    marks[b'J' as usize] = CAPITAL_J;
    marks
};

/// Which of the marked bytes `value` holds, in one pass. Every annotation of every manifest is
/// searched, and most (phases, waves, lists of names) hold none of them: one table lookup per
/// byte replaces a substring search per detector.
fn bytes_present(value: &str) -> u8 {
    value
        .as_bytes()
        .iter()
        .fold(0, |has, &b| has | BYTE_MARKS[usize::from(b)])
}

/// Whether the whole value is one Kubernetes dependent-variable reference, `$(NAME)`, which the
/// kubelet replaces with another variable's value (typically one from a Secret).
pub fn is_reference(value: &str) -> bool {
    value
        .strip_prefix("$(")
        .and_then(|v| v.strip_suffix(')'))
        .is_some_and(|inner| {
            !inner.is_empty()
                && inner
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        })
}

/// Words that stand in for a secret to be filled in later.
const PLACEHOLDER_WORDS: &[&str] = &[
    "changeme",
    "changeit",
    "changethis",
    "replaceme",
    "placeholder",
    "example",
    "dummy",
    "todo",
    "tbd",
    "fixme",
    "redacted",
    "notset",
    "secret",
    "password",
];

/// `changeme`, `CHANGE_ME`, `<password>`, `${DB_PASSWORD}`, `{{ .Values.password }}`, `xxx`,
/// `****`, `your-api-key-here`: a value that stands in for a secret. Kubernetes does not expand
/// `${...}` (only `$(...)`), so the container gets the text as it is.
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    let wrapped = |open: &str, close: &str| {
        v.len() > open.len() + close.len() && v.starts_with(open) && v.ends_with(close)
    };
    if wrapped("${", "}") || wrapped("{{", "}}") || wrapped("<", ">") || wrapped("%", "%") {
        return true;
    }
    // `$DB_PASSWORD`: a shell variable nobody expands.
    if let Some(name) = v.strip_prefix('$') {
        if !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        {
            return true;
        }
    }
    let lower = v.to_ascii_lowercase();
    let letters: String = lower.chars().filter(char::is_ascii_alphanumeric).collect();
    if v.chars().count() >= 3 && v.chars().all(|c| matches!(c, 'x' | 'X' | '*' | '.' | '#')) {
        return true;
    }
    if PLACEHOLDER_WORDS.contains(&letters.as_str()) {
        return true;
    }
    // `your-api-key-here`, `YOUR_TOKEN`, `insert-password-here`.
    letters.len() <= 40
        && (letters.starts_with("your") || letters.starts_with("insert"))
        && !v.contains(char::is_whitespace)
}

/// Values that are not secrets whatever their name: content hashes and image digests
/// (`sha256:9f86...`), absolute file paths (`/run/secrets/db`) and booleans.
pub fn is_not_a_secret(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    if let Some((algo, hex)) = lower.split_once(':') {
        if matches!(
            algo,
            "sha1" | "sha224" | "sha256" | "sha384" | "sha512" | "md5"
        ) && hex.len() >= 32
            && hex.chars().all(|c| c.is_ascii_hexdigit())
        {
            return true;
        }
    }
    if value.starts_with('/') && !value.contains(char::is_whitespace) {
        return true;
    }
    matches!(
        lower.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "null"
    )
}

/// `8-4-4-4-12` hex digits: an identifier (a key's id, a tenant), told apart from a key by shape.
fn is_uuid(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Characters that end a URL inside a longer text.
fn ends_url(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`' | ',' | ';')
}

/// `scheme://user:password@host`: the password, unless it is a `$(VAR)` reference (the kubelet
/// fills it in) or a placeholder (reported as one).
fn url_credentials(value: &str) -> Vec<Detection> {
    let mut out = Vec::new();
    // Most values hold no `:` at all; a byte scan is far cheaper than a substring searcher.
    if !value.as_bytes().contains(&b':') {
        return out;
    }
    let mut from = 0;
    while let Some(found) = value.get(from..).and_then(|r| r.find("://")) {
        let sep = from + found;
        from = sep + 3;
        let scheme_ok = value
            .get(..sep)
            .and_then(|before| before.chars().next_back())
            .is_some_and(|c| c.is_ascii_alphanumeric());
        if !scheme_ok {
            continue;
        }
        let rest = value.get(sep + 3..).unwrap_or("");
        // The authority runs to the path, query or fragment; a password may hold `/`, `?` or
        // `#` unencoded (people write them), so the userinfo runs to the last `@` before the end
        // of the URL.
        let url_end = rest.find(ends_url).unwrap_or(rest.len());
        let url = &rest[..url_end];
        let first_path = url.find(['/', '?', '#']).unwrap_or(url.len());
        let Some(at) = url.rfind('@') else {
            continue;
        };
        // An `@` after the path starts (`https://host/@user`, `https://host:8080/a?b=c:d@e`)
        // belongs to a userinfo only if a password (not a port) starts before the path.
        if at > first_path {
            let before_path = &url[..first_path];
            let port = before_path
                .split_once(':')
                .is_none_or(|(_, p)| p.chars().all(|c| c.is_ascii_digit()));
            if port {
                continue;
            }
        }
        let userinfo = &url[..at];
        let Some(colon) = userinfo.find(':') else {
            continue;
        };
        let password = &userinfo[colon + 1..];
        let host = &url[at + 1..];
        if password.is_empty() || host.is_empty() || is_reference(password) {
            continue;
        }
        let start = sep + 3 + colon + 1;
        let kind = if is_placeholder(password) {
            Kind::Placeholder
        } else {
            Kind::UrlCredentials
        };
        out.push(Detection::new(kind, start, start + password.len()));
        from = sep + 3 + at + 1;
    }
    out
}

/// `Password=...` (and `pwd=`, `password=` in a query string) in a connection string:
/// `Server=db;User Id=app;Password=hunter2;`, `jdbc:postgresql://db/app?user=app&password=...`.
fn connection_string_passwords(value: &str) -> Vec<Detection> {
    let mut out = Vec::new();
    let bytes = value.as_bytes();
    let mut seg_start = 0;
    for i in 0..=bytes.len() {
        let at_end = i == bytes.len();
        if !at_end && !matches!(bytes[i], b';' | b'&' | b'?' | b'\n') {
            continue;
        }
        let segment = &value[seg_start..i];
        let base = seg_start;
        seg_start = i + 1;
        let Some((key, secret)) = segment.split_once('=') else {
            continue;
        };
        let key = key.trim();
        let k = key.to_ascii_lowercase();
        if !matches!(k.as_str(), "password" | "pwd" | "passwd" | "pass") {
            continue;
        }
        let lead = secret.len() - secret.trim_start().len();
        let secret = secret.trim();
        if secret.is_empty() || is_reference(secret) {
            continue;
        }
        let start = base + segment.find('=').unwrap_or(0) + 1 + lead;
        let kind = if is_placeholder(secret) {
            Kind::Placeholder
        } else {
            Kind::UrlCredentials
        };
        out.push(Detection::new(kind, start, start + secret.len()));
    }
    out
}

/// `-----BEGIN [RSA|EC|DSA|OPENSSH|ENCRYPTED|...] PRIVATE KEY-----` (or `PGP PRIVATE KEY
/// BLOCK`), to its END line or the end of the value.
fn private_keys(value: &str) -> Vec<Detection> {
    let mut out = Vec::new();
    if value.len() < "-----BEGIN ".len() || !value.as_bytes().contains(&b'-') {
        return out;
    }
    let mut from = 0;
    while let Some(found) = value.get(from..).and_then(|r| r.find("-----BEGIN ")) {
        let start = from + found;
        let label_start = start + "-----BEGIN ".len();
        from = label_start;
        let Some(label_len) = value.get(label_start..).and_then(|r| r.find("-----")) else {
            break;
        };
        let label = &value[label_start..label_start + label_len];
        if label.contains('\n')
            || !(label.ends_with("PRIVATE KEY") || label == "PGP PRIVATE KEY BLOCK")
        {
            continue;
        }
        let end_marker = format!("-----END {label}-----");
        let end = value
            .get(label_start..)
            .and_then(|r| r.find(&end_marker))
            .map_or(value.len(), |e| label_start + e + end_marker.len());
        out.push(Detection::new(Kind::PrivateKey, start, end));
        from = end;
    }
    out
}

fn is_base64url(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_')
}

/// Decodes base64url (padding optional) into bytes; `None` if it is not base64url.
fn decode_base64url(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in text.trim_end_matches('=').chars() {
        let v = match c {
            'A'..='Z' => c as u32 - 'A' as u32,
            'a'..='z' => c as u32 - 'a' as u32 + 26,
            '0'..='9' => c as u32 - '0' as u32 + 52,
            '-' | '+' => 62,
            '_' | '/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// `Basic <base64>` (an HTTP `Authorization` value, alone or in a header line) whose base64
/// decodes to `user:password` with a password that is neither a reference nor a placeholder.
fn basic_auth(value: &str) -> Vec<Detection> {
    let mut out = Vec::new();
    // `basic ` needs a space after it; without one, no lower-case copy is made.
    if value.len() < "basic ".len() || !value.as_bytes().contains(&b' ') {
        return out;
    }
    let lower = value.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower.get(from..).and_then(|r| r.find("basic ")) {
        let word = from + found;
        from = word + 6;
        if value[..word]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        {
            continue;
        }
        let start = word + 6 + value[word + 6..].len() - value[word + 6..].trim_start().len();
        let rest = &value[start..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')))
            .unwrap_or(rest.len());
        let encoded = &rest[..len];
        if encoded.len() < 8 {
            continue;
        }
        let decoded = decode_base64url(encoded).and_then(|b| String::from_utf8(b).ok());
        let Some((user, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let printable = |t: &str| !t.is_empty() && t.chars().all(|c| !c.is_control());
        if printable(user)
            && printable(password)
            && !is_reference(password)
            && !is_placeholder(password)
        {
            out.push(Detection::new(Kind::BasicAuth, start, start + len));
            from = start + len;
        }
    }
    out
}

/// `header.payload.signature`, base64url, where the header decodes to a JSON object naming an
/// `alg` (`eyJ` is how `{"` starts in base64url).
fn jwts(value: &str) -> Vec<Detection> {
    let mut out = Vec::new();
    if !value.as_bytes().contains(&b'J') {
        return out;
    }
    let mut from = 0;
    while let Some(found) = value.get(from..).and_then(|r| r.find("eyJ")) {
        let start = from + found;
        from = start + 3;
        if value[..start].chars().next_back().is_some_and(is_base64url) {
            continue;
        }
        let rest = &value[start..];
        let token_len = rest
            .find(|c: char| !(is_base64url(c) || c == '.'))
            .unwrap_or(rest.len());
        let token = &rest[..token_len];
        let parts: Vec<&str> = token.split('.').collect();
        if parts.len() != 3 || parts[0].len() < 10 || parts[1].len() < 4 {
            continue;
        }
        let header_ok = decode_base64url(parts[0])
            .and_then(|h| String::from_utf8(h).ok())
            .is_some_and(|h| h.trim_start().starts_with('{') && h.contains("\"alg\""));
        if !header_ok {
            continue;
        }
        out.push(Detection::new(Kind::Jwt, start, start + token_len));
        from = start + token_len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{detect, detect_in_value, is_placeholder, Kind, Place};

    fn kinds(name: &str, value: &str) -> Vec<&'static str> {
        detect(name, value, Place::Named)
            .iter()
            .map(|d| d.kind.code().id)
            .collect()
    }

    const JWT: &str =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJFWEFNUExFIn0.RVhBTVBMRS1zaWduYXR1cmU";

    #[test]
    fn basic_credentials_are_found_by_their_decoded_shape() {
        // "admin:s3cr3t-Pa55" and "svc:hunter2" in base64.
        assert_eq!(
            kinds("AUTH_HEADER", "Basic YWRtaW46czNjcjN0LVBhNTU="),
            ["literal-secret/basic-auth"]
        );
        assert_eq!(
            kinds("PROXY", "Authorization: basic c3ZjOmh1bnRlcjI="),
            ["literal-secret/basic-auth"]
        );
        // Not base64 of user:password, a placeholder password, or a word that merely ends in it.
        assert!(kinds("MODE", "Basic auth enabled").is_empty());
        assert!(kinds("MODE", "Basic Y2hhbmdlbWU=").is_empty()); // "changeme", no colon
        assert!(kinds("X", "Basic dXNlcjpjaGFuZ2VtZQ==").is_empty()); // "user:changeme"
        assert!(kinds("X", "AcidBasic YWRtaW46czNjcjN0LVBhNTU=").is_empty());
    }

    #[test]
    fn issue_20_misses_are_found() {
        assert_eq!(kinds("DB_PASS", "hunter2"), ["literal-secret/by-name"]);
        assert_eq!(kinds("DB_PWD", "hunter2"), ["literal-secret/by-name"]);
        assert_eq!(kinds("PGPASS", "hunter2"), ["literal-secret/by-name"]);
        assert_eq!(
            kinds("CREDENTIALS", "app:hunter2"),
            ["literal-secret/by-name"]
        );
        assert_eq!(kinds("pass_word", "hunter2"), ["literal-secret/by-name"]);
        assert_eq!(
            kinds("AUTH", &format!("Bearer {JWT}")),
            ["literal-secret/jwt"]
        );
        assert_eq!(
            kinds("DATABASE_URL", "postgres://app:hunter2@db:5432/app"),
            ["literal-secret/url-credentials"]
        );
        assert_eq!(
            kinds("REDIS_URL", "redis://:hunter2@cache:6379/0"),
            ["literal-secret/url-credentials"]
        );
        assert_eq!(
            kinds(
                "ALERTS",
                "https://hooks.slack.com/services/T00000000/B00000000/EXAMPLEEXAMPLEEXAMPLE00"
            ),
            ["literal-secret/token-pattern"]
        );
        assert_eq!(
            kinds(
                "TLS_KEY",
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEXAMPLE\n-----END RSA PRIVATE KEY-----\n"
            ),
            ["literal-secret/private-key"]
        );
        assert_eq!(
            kinds("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
            ["literal-secret/token-pattern"]
        );
        assert_eq!(
            kinds("SECRET_KEY_ID", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            ["literal-secret/high-entropy"]
        );
    }

    #[test]
    fn references_placeholders_and_hashes() {
        assert!(kinds("DB_PASSWORD", "$(DB_SECRET)").is_empty());
        assert!(kinds("DATABASE_URL", "postgres://app:$(DB_PASSWORD)@db/app").is_empty());
        assert_eq!(
            kinds("DB_PASSWORD", "changeme"),
            ["literal-secret/placeholder"]
        );
        assert_eq!(
            kinds("DB_PASSWORD", "<password>"),
            ["literal-secret/placeholder"]
        );
        assert_eq!(
            kinds("DB_PASSWORD", "${DB_PASSWORD}"),
            ["literal-secret/placeholder"]
        );
        assert_eq!(kinds("API_TOKEN", "xxx"), ["literal-secret/placeholder"]);
        assert_eq!(
            kinds("DATABASE_URL", "postgres://app:${DB_PASSWORD}@db/app"),
            ["literal-secret/placeholder"]
        );
        assert!(kinds("LOG_LEVEL", "changeme").is_empty());
        assert!(kinds(
            "CACHE_KEY",
            "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        )
        .is_empty());
        assert!(kinds(
            "CONFIG_CHECKSUM",
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        )
        .is_empty());
        assert!(kinds("SIGNING_KEY_ID", "123e4567-e89b-12d3-a456-426614174000").is_empty());
        assert!(kinds(
            "GOOGLE_APPLICATION_CREDENTIALS",
            "/var/run/secrets/google/key.json"
        )
        .is_empty());
        assert!(kinds("KEYCLOAK_URL", "https://sso.example.com/realms/shop").is_empty());
        assert!(kinds("API_URL", "https://user@example.com/path").is_empty());
    }

    #[test]
    fn connection_strings() {
        let found = detect_in_value("Server=db;User Id=app;Password=hunter2;");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, Kind::UrlCredentials);
        assert_eq!(
            found[0].secret("Server=db;User Id=app;Password=hunter2;"),
            "hunter2"
        );
        let v = "jdbc:postgresql://db/app?user=app&password=hunter2";
        assert_eq!(detect_in_value(v)[0].secret(v), "hunter2");
    }

    #[test]
    fn jwt_needs_a_json_header() {
        assert_eq!(detect_in_value(JWT).len(), 1);
        assert!(detect_in_value("eyJustSomeWord.eyJmore.x").is_empty());
        assert!(detect_in_value("xeyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ9.x").is_empty());
    }

    #[test]
    fn placeholders() {
        for p in [
            "changeme",
            "CHANGE_ME",
            "<your password>",
            "{{ .Values.pw }}",
            "xxxx",
            "****",
            "your-api-key-here",
            "$DB_PASSWORD",
            "%DB_PASSWORD%",
        ] {
            assert!(is_placeholder(p), "{p}");
        }
        for p in ["hunter2", "s3cr3t", "abc123", "demo"] {
            assert!(!is_placeholder(p), "{p}");
        }
    }

    #[test]
    fn public_keys_and_certificates_are_not_private_keys() {
        assert!(
            detect_in_value("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----")
                .is_empty()
        );
        assert!(
            detect_in_value("-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----")
                .is_empty()
        );
        assert_eq!(
            detect_in_value(
                "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----"
            )[0]
            .kind,
            Kind::PrivateKey
        );
    }
}
