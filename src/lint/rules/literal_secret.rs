//! `literal-secret`: credentials do not sit in plain text in a manifest.

use crate::diagnostic::Severity;
use crate::lint::{LintContext, Rule, Sink};
use crate::manifest::Field;
use serde_json::Value;

pub const RULE: Rule = Rule {
    id: "literal-secret",
    severity: Severity::Error,
    summary:
        "A password, token or key written as a literal value, or a Secret with its data inline",
    doc: r#"## What it checks
- Every container and init container of every workload: an `env` entry whose name says it holds a
  credential and whose value is written inline (`value:`, not `valueFrom:`). A name says so when,
  ignoring case, one of its words contains `SECRET`, `PASSWORD` or `PASSWD`, a word is or ends in
  `TOKEN`, it has the words `API KEY`, `PRIVATE KEY` or `ACCESS KEY` (or `APIKEY`, ...), or its last
  word is `KEY`. Words are separated by `_`, `-`, `.` and camelCase. Names ending in a word that
  points at the credential rather than holding it (`_FILE`, `_PATH`, `_DIR`, `_NAME`, `_REF`,
  `_URL`, `_URI`, `_ENDPOINT`, `_HOST`, `_PORT`, `_ID`, `_TTL`, `_TIMEOUT`) are left alone, and so are
  `MONKEY`, `KEYCLOAK_URL`, `MAX_TOKENS` or `TOKENIZER`. An empty value, and a value that is only a
  Kubernetes reference to another variable (`$(DB_PASSWORD)`), are fine.
- Every `v1` `Secret` with non-empty `data` or `stringData`: shipshape renders no Secret, so one
  from a custom template (or in linted files) carries its credentials in the repository.

## Why it matters
Rendered manifests are committed to Git and read by Argo CD, CI logs and everyone with access to
the repository. A credential written there is leaked for good: rotating it is the only fix.
Kubernetes Secrets referenced by `valueFrom.secretKeyRef`, filled by an operator (External
Secrets, Sealed Secrets, Vault), keep the value out of Git.

## Bad
```yaml
services:
  api:
    env: { DB_PASSWORD: hunter2, API_KEY: abc123 }
```

## Good
```yaml
env:
  - name: DB_PASSWORD
    valueFrom:
      secretKeyRef: { name: api-db, key: password }
```
Plain settings stay in the catalogue (`env: { LOG_LEVEL: info, KEYCLOAK_URL: https://sso }`).
"#,
    check,
};

fn check(ctx: &LintContext, out: &mut Sink) {
    for &wi in &ctx.index.workloads {
        let m = &ctx.manifests[wi];
        let Some((pod, base)) = ctx.index.pod_spec(wi) else {
            continue;
        };
        for group in ["initContainers", "containers"] {
            let Some(containers) = pod.field(group).and_then(Value::as_array) else {
                continue;
            };
            for (ci, c) in containers.iter().enumerate() {
                let cname = c.field("name").and_then(Value::as_str).unwrap_or("?");
                let Some(env) = c.field("env").and_then(Value::as_array) else {
                    continue;
                };
                for (ei, entry) in env.iter().enumerate() {
                    let Some(name) = entry.field("name").and_then(Value::as_str) else {
                        continue;
                    };
                    let Some(value) = entry.field("value").and_then(Value::as_str) else {
                        continue;
                    };
                    if value.is_empty() || is_reference(value) || !names_a_credential(name) {
                        continue;
                    }
                    let pointer = format!("{base}/{group}/{ci}/env/{ei}/value");
                    let mut catalogue_rel = String::from("/env");
                    crate::yaml::push_pointer_segment(&mut catalogue_rel, name);
                    out.report(
                        Some(wi),
                        format!(
                            "environment variable `{name}` of container `{cname}` in `{}` holds a literal credential",
                            m.name()
                        ),
                    )
                    .place(
                        Some(ctx.locate(wi, &pointer, &catalogue_rel)),
                        "literal value",
                    )
                    .help(format!(
                        "keep the value out of the repository: reference a Secret with `valueFrom: {{ secretKeyRef: ... }}` (filled by External Secrets, Sealed Secrets or Vault); if `{name}` is not a credential, suppress with a reason"
                    ));
                }
            }
        }
    }
    for &i in ctx.index.of_kind("Secret") {
        let m = &ctx.manifests[i];
        if m.api_version() != "v1" {
            continue;
        }
        for field in ["data", "stringData"] {
            let filled = match m.value.field(field) {
                Some(Value::Object(map)) => !map.is_empty(),
                Some(Value::Null) | None => false,
                Some(_) => true,
            };
            if !filled {
                continue;
            }
            out.report(
                Some(i),
                format!(
                    "Secret `{}` carries its values inline in `{field}`",
                    m.name()
                ),
            )
            .place(Some(ctx.locate(i, &format!("/{field}"), "")), "literal data")
            .help("commit a SealedSecret or ExternalSecret instead, or create the Secret outside Git; shipshape's templates render no Secret");
        }
    }
}

/// Whether the whole value is one Kubernetes dependent-variable reference, `$(NAME)`.
fn is_reference(value: &str) -> bool {
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

/// Words of an environment variable name, upper-cased: split at `_`, `-`, `.` and camelCase.
fn words(name: &str) -> Vec<String> {
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

/// Whether an environment variable of this name holds a credential.
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
    words.iter().enumerate().any(|(i, w)| {
        w.contains("SECRET")
            || w.contains("PASSWORD")
            || w.contains("PASSWD")
            || w.ends_with("TOKEN")
            || compound(w)
            || (w == "KEY"
                && (i + 1 == words.len()
                    || (i > 0 && matches!(words[i - 1].as_str(), "API" | "PRIVATE" | "ACCESS"))))
    })
}

#[cfg(test)]
mod tests {
    use super::{is_reference, names_a_credential};

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
            "CACHE_KEY_PREFIX",
            "KEYS",
            "LOG_LEVEL",
            "PASS_THROUGH",
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
    fn references() {
        assert!(is_reference("$(DB_PASSWORD)"));
        assert!(!is_reference("$()"));
        assert!(!is_reference("x$(DB_PASSWORD)"));
        assert!(!is_reference("hunter2"));
    }
}
