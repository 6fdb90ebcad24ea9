//! What a name says about its value: an environment variable, a ConfigMap key or a `key=value`
//! setting in a config file.

/// Words of a name, upper-cased: split at `_`, `-`, `.`, `/` (any non-alphanumeric character)
/// and camelCase.
pub fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        word.extend(c.to_uppercase());
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// Last words that point at a credential (a file, a URL, a name) rather than hold it.
const POINTER_WORDS: &[&str] = &[
    "FILE", "PATH", "DIR", "NAME", "REF", "URL", "URI", "ENDPOINT", "HOST", "PORT", "ID", "TTL",
    "TIMEOUT",
];

/// Last words that are only a credential when they are not the whole name: `PWD` alone is the
/// shell's working directory.
const SHORT_PASSWORD_WORDS: &[&str] = &["PASS", "PWD"];

/// Whether a value of this name holds a credential: the name-based check of `literal-secret`.
pub fn names_a_credential(name: &str) -> bool {
    let words = words(name);
    let Some(last) = words.last() else {
        return false;
    };
    if POINTER_WORDS.contains(&last.as_str()) {
        return false;
    }
    let compound = |w: &str| {
        ["APIKEY", "PRIVATEKEY", "ACCESSKEY", "SECRETKEY"]
            .iter()
            .any(|k| w.ends_with(k))
    };
    let n = words.len();
    // `DB_PASS`, `DB_PWD`, `PGPASS`: a password word at the end (not `BYPASS` or `COMPASS`).
    let short_password =
        (n > 1 && SHORT_PASSWORD_WORDS.contains(&last.as_str())) || last == "PGPASS";
    short_password
        || words.iter().enumerate().any(|(i, w)| {
            w.contains("SECRET")
                || w.contains("PASSWORD")
                || w.contains("PASSWD")
                || w.contains("PASSPHRASE")
                || w.contains("CREDENTIAL")
                || w == "CREDS"
                || w.ends_with("TOKEN")
                || compound(w)
                // `PASS_WORD`, `pass-word`: one word written as two.
                || (w == "PASS" && words.get(i + 1).is_some_and(|next| next == "WORD"))
                || (w == "KEY"
                    && (i + 1 == n
                        || (i > 0
                            && matches!(words[i - 1].as_str(), "API" | "PRIVATE" | "ACCESS"))))
        })
}

/// Whether a name suggests a secret at all (`*PASS*`, `*PWD*`, `*CRED*`, `*TOKEN*`, `*KEY*`,
/// `*SECRET*`, `*AUTH*`, whatever the separators and the last word): broader than
/// [`names_a_credential`], so `SECRET_KEY_ID` and `CACHE_KEY` qualify. Values under such names are
/// judged by their entropy (and flagged as placeholders), never by the name alone.
pub fn suggests_secret(name: &str) -> bool {
    let joined: String = words(name).concat();
    [
        "PASS",
        "PWD",
        "CRED",
        "TOKEN",
        "KEY",
        "SECRET",
        "AUTH",
        "SIGNATURE",
        "SALT",
    ]
    .iter()
    .any(|w| joined.contains(w))
}

/// Words that say a value is a content hash, not a key (`CONFIG_CHECKSUM`, `CACHE_KEY_SHA256`).
pub fn names_a_hash(name: &str) -> bool {
    words(name).iter().any(|w| {
        w.contains("CHECKSUM")
            || w.contains("HASH")
            || w.contains("DIGEST")
            || w.starts_with("SHA")
            || w == "MD5"
            || w == "ETAG"
            || w == "FINGERPRINT"
    })
}

#[cfg(test)]
mod tests {
    use super::{names_a_credential, names_a_hash, suggests_secret};

    #[test]
    fn credential_names() {
        for name in [
            "DB_PASSWORD",
            "API_KEY",
            "api_key",
            "apiKey",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY",
            "GITHUB_TOKEN",
            "AUTHTOKEN",
            "CLIENT_SECRET",
            "clientSecret",
            "MYSQL_ROOT_PASSWD",
            "SSH_PRIVATE_KEY",
            "PRIVATE_KEY_PEM",
            "API_KEY_V2",
            "SIGNING_KEY",
            "DBPASSWORD",
            "STRIPE_APIKEY",
            "JWT_SECRET",
            "SECRET",
            "TOKEN",
            // Found missing in issue 20.
            "DB_PASS",
            "DB_PWD",
            "PGPASS",
            "CREDENTIALS",
            "SMTP_CREDENTIALS",
            "pass_word",
            "DB-Pass-Word",
            "GPG_PASSPHRASE",
        ] {
            assert!(names_a_credential(name), "{name} should be a credential");
        }
    }

    #[test]
    fn ordinary_names() {
        for name in [
            "KEYCLOAK_URL",
            "MONKEY",
            "MAX_TOKENS",
            "TOKENIZER",
            "TOKEN_URL",
            "OAUTH_TOKEN_ENDPOINT",
            "POSTGRES_PASSWORD_FILE",
            "DB_SECRET_NAME",
            "AWS_ACCESS_KEY_ID",
            "SECRET_KEY_ID",
            "CACHE_KEY_PREFIX",
            "KEYS",
            "LOG_LEVEL",
            "PASS_THROUGH",
            "BYPASS",
            "COMPASS",
            "PWD",
            "PGPASSFILE",
            "",
            "_",
        ] {
            assert!(
                !names_a_credential(name),
                "{name} should not be a credential"
            );
        }
    }

    #[test]
    fn names_that_suggest_a_secret() {
        for name in [
            "SECRET_KEY_ID",
            "CACHE_KEY",
            "AUTH",
            "x-api-token-id",
            "DB_PWD",
        ] {
            assert!(suggests_secret(name), "{name}");
        }
        for name in ["LOG_LEVEL", "REPLICAS", "checksum/config"] {
            assert!(!suggests_secret(name), "{name}");
        }
        assert!(names_a_hash("checksum/config"));
        assert!(names_a_hash("CACHE_KEY_SHA256"));
        assert!(!names_a_hash("API_KEY"));
    }
}
