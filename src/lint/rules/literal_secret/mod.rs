//! `literal-secret`: credentials do not sit in plain text in a manifest.
//!
//! Two kinds of evidence: the name (`DB_PASSWORD: tr0ub4dor`, code `literal-secret`) and the value
//! (a URL with a password, a private key, a JSON Web Token, a token of a known format, a random
//! string under a secret-sounding name, or a placeholder), each with its own code
//! `literal-secret/<condition>` in `Diagnostic.code`. The rule id stays `literal-secret`, so
//! `lint.rules.literal-secret` in the catalogue sets the severity of every code, and a
//! `shipshape.dev/suppress.literal-secret` annotation suppresses them all (see
//! docs/secret-detection.md).
//!
//! No finding prints a secret: messages carry a masked preview (`mask::preview`), and findings
//! point into a copy of their file with every detected secret blotted out, because the human
//! report prints the source line around a finding.

pub mod codes;
mod detect;
mod entropy;
mod mask;
mod names;
mod patterns;

use crate::diagnostic::Location;
use crate::lint::{LintContext, Rule, Sink};
use crate::manifest::{Field, Manifest, ManifestOrigin};
use detect::{detect, Detection, Kind, Place};
use mask::Masks;
use serde_json::Value;

pub const RULE: Rule = Rule {
    id: "literal-secret",
    codes: &[
        &codes::BY_NAME,
        &codes::URL_CREDENTIALS,
        &codes::PRIVATE_KEY,
        &codes::JWT,
        &codes::BASIC_AUTH,
        &codes::TOKEN_PATTERN,
        &codes::HIGH_ENTROPY,
        &codes::PLACEHOLDER,
        &codes::SECRET_DATA,
    ],
    summary: "A password, token, key or credential URL written as a literal value (by name or by its shape), or a Secret with its data inline",
    doc: r#"## What it checks
Every value a manifest carries in plain text: each `env` value of every container, init container
and ephemeral container; each item of their `command` and `args` (`--db-password=...` and
`--token VALUE` are judged under the flag's name, other items by their value alone); each key of a `v1` `ConfigMap`'s `data` (and each `key=value` or `key:
value` line of a config file held there); each annotation of every manifest and pod template. For
shipshape's own output the findings point at the catalogue or environment value that produced them.

By the value, whatever its name (each condition has its own code):
- `literal-secret/url-credentials`: a password in a URL, `postgres://app:tr0ub4dor@db/app`, or in a
  connection string, `Server=db;Password=tr0ub4dor` or `?password=...`.
- `literal-secret/private-key`: a `-----BEGIN ... PRIVATE KEY-----` block.
- `literal-secret/jwt`: a JSON Web Token (`eyJ...`, also after `Bearer `).
- `literal-secret/basic-auth`: HTTP Basic credentials, `Basic dXNlcjpwYXNz`, whose base64 decodes
  to `user:password` (a placeholder or `$(VAR)` password is not one).
- `literal-secret/token-pattern`: a token of a well-known format: AWS access key ids (`AKIA`,
  `ASIA`), GitHub (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`), GitLab (`glpat-`), Slack
  tokens (`xoxb-`, ...) and webhooks (`hooks.slack.com/services/`), Stripe live keys, Google API
  keys (`AIza`), npm, PyPI, SendGrid, Twilio, Square, Shopify, DigitalOcean, Databricks, Hugging
  Face, Azure storage account keys, age keys. docs/secret-detection.md lists every format.

By the name (not for annotations, where names like `...-inject-token: "true"` hold none):
- `literal-secret`: the name says it holds a credential and the value is written inline. A name
  says so when, ignoring case, one of its words contains `SECRET`, `PASSWORD`, `PASSWD`,
  `PASSPHRASE` or `CREDENTIAL`, a word is `CREDS` or is or ends in `TOKEN`, it has the words `API
  KEY`, `PRIVATE KEY` or `ACCESS KEY` (or `APIKEY`, ...), `PASS WORD`, or its last word is `KEY`,
  `PASS`, `PWD` (not alone: that is the working directory) or `PGPASS`. Words are separated by
  `_`, `-`, `.` and camelCase. Names ending in a word that points at the credential rather than
  holding it (`_FILE`, `_PATH`, `_DIR`, `_NAME`, `_REF`, `_URL`, `_URI`, `_ENDPOINT`, `_HOST`,
  `_PORT`, `_ID`, `_TTL`, `_TIMEOUT`) are left alone by this check, and so are `MONKEY`,
  `KEYCLOAK_URL`, `MAX_TOKENS` or `TOKENIZER`.
- `literal-secret/high-entropy`: a random-looking value (16 or more characters, letters and
  digits, a run of 12 without separators, Shannon entropy of at least 3.5 bits per character, 3.0
  for hex) under a name that merely suggests a secret (`*PASS*`, `*PWD*`, `*CRED*`, `*TOKEN*`,
  `*KEY*`, `*SECRET*`, `*AUTH*`), e.g. `SECRET_KEY_ID`. Names of hashes (`*CHECKSUM*`, `*HASH*`,
  `*DIGEST*`, `*SHA*`) and UUIDs are left alone.
- `literal-secret/placeholder` (warning): `changeme`, `<password>`, `xxx`, `${DB_PASSWORD}`,
  `{{ .Values.password }}`, `your-api-key-here` under such a name, or as the password of a URL.
  Kubernetes does not expand `${...}`: the container gets the text, and a placeholder that reaches
  production is a default password or a broken deployment.

Not secrets: an empty value, a `valueFrom` reference, a value that is only a Kubernetes reference
to another variable (`$(DB_PASSWORD)`, also as a URL's password), image digests and content hashes
(`sha256:...`, annotations like `checksum/config`), absolute file paths (`/run/secrets/db`) and
booleans.

And every `v1` `Secret` with non-empty `data` or `stringData` (code `literal-secret`): shipshape
renders no Secret, so one from a custom template (or in linted files) carries its credentials in
the repository.

Findings never print the secret: messages show `gh…3f` (first and last two characters of a long
secret) or `****`, and the excerpt of the human report shows the line with the secret blotted out.

## Why it matters
Rendered manifests are committed to Git and read by Argo CD, CI logs and everyone with access to
the repository. A credential written there is leaked for good: rotating it is the only fix.
Kubernetes Secrets referenced by `valueFrom.secretKeyRef`, filled by an operator (External
Secrets, Sealed Secrets, Vault), keep the value out of Git.

## Configuration
The codes share the rule's id: `lint: { rules: { literal-secret: warning } }` sets every code's
severity, and `shipshape.dev/suppress.literal-secret: "<reason>"` suppresses every code on that
manifest.

## Bad
```yaml
services:
  api:
    env:
      DB_PASSWORD: tr0ub4dor                              # literal-secret
      DATABASE_URL: postgres://api:tr0ub4dor@db:5432/api  # literal-secret/url-credentials
      CI_NOTIFY: ghp_EXAMPLEdocsEXAMPLEdocsEXAMPLEdocs000 # literal-secret/token-pattern
      SMTP_PASSWORD: changeme                             # literal-secret/placeholder
```

## Good
In the catalogue, a variable names its Secret and key; the URL is built from it, and references
are rendered before plain values, so `$(DB_PASSWORD)` expands:
```yaml
services:
  api:
    env:
      DB_PASSWORD: { secret: api-db, key: password }
      DATABASE_URL: postgres://api:$(DB_PASSWORD)@db:5432/api
```
which renders (and is how a hand-written manifest says it):
```yaml
env:
  - name: DB_PASSWORD
    valueFrom:
      secretKeyRef: { name: api-db, key: password }
  - name: DATABASE_URL
    value: postgres://api:$(DB_PASSWORD)@db:5432/api
```
Plain settings stay in the catalogue (`env: { LOG_LEVEL: info, KEYCLOAK_URL: https://sso }`).
"#,
    check,
};

/// A finding, held back until every secret of the run is known so excerpts can be masked.
struct Pending {
    manifest: usize,
    kind: Kind,
    message: String,
    location: Location,
    label: &'static str,
    help: String,
}

/// What the rule collects as it walks the manifests.
struct Walk<'c, 'a> {
    ctx: &'c LintContext<'a>,
    pending: Vec<Pending>,
    masks: Masks,
}

fn check(ctx: &LintContext, out: &mut Sink) {
    let mut walk = Walk {
        ctx,
        pending: Vec::new(),
        masks: Masks::default(),
    };
    for &wi in &ctx.index.workloads {
        walk.containers(wi);
    }
    for (i, m) in ctx.manifests.iter().enumerate() {
        walk.annotations(i, m);
        if m.kind() == "ConfigMap" && m.api_version() == "v1" {
            walk.config_map(i, m);
        }
    }
    for &i in ctx.index.of_kind("Secret") {
        walk.secret(i, out);
    }
    let masked = walk.masks.build();
    for p in walk.pending {
        let location = mask::rebase(p.location, &masked);
        let d = out
            .report(p.kind.code(), Some(p.manifest), p.message)
            .place(Some(location), p.label)
            .help(p.help);
        d.redacts_source = true;
    }
}

/// The pointer and path of a pod template's metadata, from the pointer of its pod spec (a bare
/// Pod's spec has no template: its metadata is the manifest's own).
fn template_metadata(spec: &str) -> Option<(&'static str, &'static [&'static str])> {
    match spec {
        "/spec/template/spec" => Some((
            "/spec/template/metadata",
            &["spec", "template", "metadata"][..],
        )),
        "/spec/jobTemplate/spec/template/spec" => Some((
            "/spec/jobTemplate/spec/template/metadata",
            &["spec", "jobTemplate", "spec", "template", "metadata"][..],
        )),
        _ => None,
    }
}

/// Text of a placeholder for a message: it is not a secret, but it may be long.
fn shown(kind: Kind, secret: &str) -> String {
    match kind {
        Kind::Placeholder => {
            let mut s: String = secret.chars().take(40).collect();
            if secret.chars().count() > 40 {
                s.push('…');
            }
            s
        }
        // The BEGIN line names the kind of key and is no secret.
        Kind::PrivateKey => secret.lines().next().unwrap_or("").trim().to_owned(),
        _ => mask::preview(secret),
    }
}

/// How to fix a finding. `catalogue`: the value is a catalogue `env` entry, so the fix is
/// written there (`{ secret: NAME, key: KEY }`), not in the rendered manifest.
fn help(kind: Kind, name: &str, catalogue: bool) -> String {
    let catalogue_reference = format!("reference a Secret in the catalogue's `env`: `{name}: {{ secret: SECRET, key: KEY }}` (the Secret filled by External Secrets, Sealed Secrets or Vault)");
    let reference = if catalogue {
        catalogue_reference.as_str()
    } else {
        "reference a Secret with `valueFrom: { secretKeyRef: ... }` (filled by External Secrets, Sealed Secrets or Vault)"
    };
    if catalogue && kind == Kind::UrlCredentials {
        return format!(
            "take the password out: `DB_PASSWORD: {{ secret: SECRET, key: KEY }}` in `env`, and `{name}: postgres://app:$(DB_PASSWORD)@db/app` (references come first, so the URL can use it); rotate the password"
        );
    }
    match kind {
        Kind::Name => format!(
            "keep the value out of the repository: {reference}; if `{name}` is not a credential, suppress with a reason"
        ),
        Kind::UrlCredentials => format!(
            "take the password out: build the URL from a variable set from a Secret (`postgres://app:$(DB_PASSWORD)@db/app`, with `DB_PASSWORD` declared before it), or {reference} for the whole URL; rotate the password"
        ),
        Kind::PrivateKey => "mount the key from a Secret (a `secret` volume) filled outside Git; this key is in the repository's history now: replace it".to_owned(),
        Kind::Jwt => format!("{reference}; revoke the token, it is in the repository's history now"),
        Kind::BasicAuth => format!(
            "base64 is an encoding, not a secret: {reference} for the whole header value; change the password, it is in the repository's history now"
        ),
        Kind::Token(p) => format!(
            "revoke this {} and {reference}; if it is a documented example, suppress with a reason",
            p.name
        ),
        Kind::HighEntropy => format!(
            "if `{name}` holds a key or password, {reference}; if it is an id, a hash or a setting, suppress with a reason"
        ),
        Kind::Placeholder => format!(
            "{reference}, or `$(VAR)` for a variable set from one; a placeholder that reaches production is a default password or a broken deployment"
        ),
        Kind::SecretData => "commit a SealedSecret or ExternalSecret instead, or create the Secret outside Git; shipshape's templates render no Secret".to_owned(),
    }
}

impl Walk<'_, '_> {
    /// The scalar node of `pointer` in manifest `i` (or, for shipshape's output, of
    /// `catalogue_rel` in the catalogue or environment file that set it): what to blot out.
    fn value_node(&self, i: usize, pointer: &str, catalogue_rel: &str) -> Option<Location> {
        let m = &self.ctx.manifests[i];
        if let Some(node) = m.patch_value_node(pointer) {
            return Some(node);
        }
        match &m.origin {
            ManifestOrigin::File {
                file, spans, base, ..
            } => spans
                .get(&format!("{base}{pointer}"))
                .map(|s| Location::new(file, s.value)),
            ManifestOrigin::Rendered {
                service: Some(s), ..
            } if !catalogue_rel.is_empty() => self
                .ctx
                .platform?
                .service(s)?
                .layers
                .value_at(catalogue_rel),
            ManifestOrigin::Rendered { .. } => None,
        }
    }

    /// Records the findings of `detections` in `value` at `pointer`, and masks their secrets.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        i: usize,
        pointer: &str,
        catalogue_rel: &str,
        name: &str,
        value: &str,
        detections: Vec<Detection>,
        subject: &dyn Fn(Kind, &str) -> String,
    ) {
        if detections.is_empty() {
            return;
        }
        let location = self.ctx.locate(i, pointer, catalogue_rel);
        let from_catalogue = catalogue_rel.starts_with("/env/")
            && matches!(
                self.ctx.manifests[i].origin,
                ManifestOrigin::Rendered {
                    service: Some(_),
                    ..
                }
            );
        let node = self.value_node(i, pointer, catalogue_rel);
        for d in detections {
            let secret = d.secret(value);
            if d.kind != Kind::Placeholder {
                if let Some(node) = &node {
                    self.masks.add(node, Some(secret));
                }
            }
            self.pending.push(Pending {
                manifest: i,
                kind: d.kind,
                message: subject(d.kind, &shown(d.kind, secret)),
                location: location.clone(),
                label: d.kind.label(),
                help: help(d.kind, name, from_catalogue),
            });
        }
    }

    fn containers(&mut self, wi: usize) {
        let ctx = self.ctx;
        let m = &ctx.manifests[wi];
        let Some((pod, base)) = ctx.index.pod_spec(wi) else {
            return;
        };
        for group in ["initContainers", "containers", "ephemeralContainers"] {
            let Some(containers) = pod.field(group).and_then(Value::as_array) else {
                continue;
            };
            for (ci, c) in containers.iter().enumerate() {
                let cname = c.field("name").and_then(Value::as_str).unwrap_or("?");
                for key in ["command", "args"] {
                    if let Some(items) = c.field(key).and_then(Value::as_array) {
                        let at = (base, group, ci, cname);
                        self.arguments(wi, at, key, items);
                    }
                }
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
                    let found = detect(name, value, Place::Named);
                    if found.is_empty() {
                        continue;
                    }
                    let pointer = format!("{base}/{group}/{ci}/env/{ei}/value");
                    let mut catalogue_rel = String::from("/env");
                    crate::yaml::push_pointer_segment(&mut catalogue_rel, name);
                    let subject = |kind: Kind, shown: &str| {
                        format!(
                            "environment variable `{name}` of container `{cname}` in `{}` holds {} (`{shown}`)",
                            m.name(),
                            kind.what()
                        )
                    };
                    self.record(wi, &pointer, &catalogue_rel, name, value, found, &subject);
                }
            }
        }
    }

    /// A container's `command` or `args`: `--db-password=hunter2` and `--token hunter2` are
    /// judged as a value under the flag's name, anything else by its value alone (a URL with a
    /// password, a token of a known format).
    fn arguments(
        &mut self,
        wi: usize,
        (base, group, ci, cname): (&str, &str, usize, &str),
        key: &str,
        items: &[Value],
    ) {
        let m = &self.ctx.manifests[wi];
        let mut flag: Option<&str> = None;
        for (ai, item) in items.iter().enumerate() {
            let Some(text) = item.as_str() else {
                flag = None;
                continue;
            };
            let (name, value, found) = match argument_setting(text) {
                Some((name, value)) => (name, value, detect(name, value, Place::Named)),
                None => match flag.take() {
                    Some(name) if !text.starts_with('-') => {
                        (name, text, detect(name, text, Place::Named))
                    }
                    _ => ("", text, detect(text, text, Place::ValueOnly)),
                },
            };
            if text.starts_with('-') && !text.contains('=') {
                flag = Some(text.trim_start_matches('-'));
            }
            if found.is_empty() {
                continue;
            }
            let pointer = format!("{base}/{group}/{ci}/{key}/{ai}");
            let catalogue_rel = format!("/{key}/{ai}");
            let subject = |kind: Kind, shown: &str| {
                let what = if name.is_empty() {
                    format!("argument {ai} of `{key}`")
                } else {
                    format!("the `{name}` argument of `{key}`")
                };
                format!(
                    "{what} of container `{cname}` in `{}` holds {} (`{shown}`)",
                    m.name(),
                    kind.what()
                )
            };
            self.record(wi, &pointer, &catalogue_rel, name, value, found, &subject);
        }
    }

    /// Annotations of the manifest and of its pod template: value-based detectors only. Every
    /// manifest passes here, so nothing is allocated unless a value is found.
    fn annotations(&mut self, i: usize, m: &Manifest) {
        let template = self
            .ctx
            .index
            .pod_spec(i)
            .and_then(|(_, base)| template_metadata(base));
        let places = std::iter::once(("/metadata", &["metadata"][..])).chain(template);
        for (meta, segments) in places {
            let Some(annotations) = crate::manifest::at(&m.value, segments)
                .and_then(|v| v.field("annotations"))
                .and_then(Value::as_object)
            else {
                continue;
            };
            for (key, value) in annotations {
                let Some(value) = value.as_str() else {
                    continue;
                };
                let found = detect(key, value, Place::ValueOnly);
                if found.is_empty() {
                    continue;
                }
                let mut pointer = format!("{meta}/annotations");
                crate::yaml::push_pointer_segment(&mut pointer, key);
                let subject = |kind: Kind, shown: &str| {
                    format!(
                        "annotation `{key}` of `{}` holds {} (`{shown}`)",
                        m.resource_id(),
                        kind.what()
                    )
                };
                self.record(i, &pointer, "", key, value, found, &subject);
            }
        }
    }

    /// Each key of `data`, and each `key=value` / `key: value` line of a config file held there.
    fn config_map(&mut self, i: usize, m: &Manifest) {
        let Some(data) = m.value.field("data").and_then(Value::as_object) else {
            return;
        };
        for (key, value) in data {
            let Some(value) = value.as_str() else {
                continue;
            };
            let mut found = detect(key, value, Place::Named);
            if value.contains('\n') {
                found.extend(settings_in_file(value, &found));
            }
            let mut pointer = String::from("/data");
            crate::yaml::push_pointer_segment(&mut pointer, key);
            let subject = |kind: Kind, shown: &str| {
                format!(
                    "key `{key}` of ConfigMap `{}` holds {} (`{shown}`)",
                    m.name(),
                    kind.what()
                )
            };
            self.record(i, &pointer, "", key, value, found, &subject);
        }
    }

    fn secret(&mut self, i: usize, out: &mut Sink) {
        let ctx = self.ctx;
        let m = &ctx.manifests[i];
        if m.api_version() != "v1" {
            return;
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
            // The excerpt under the finding shows the line after `data:`: blot out the values.
            if let Some(Value::Object(map)) = m.value.field(field) {
                for key in map.keys() {
                    let mut pointer = format!("/{field}");
                    crate::yaml::push_pointer_segment(&mut pointer, key);
                    if let Some(node) = self.value_node(i, &pointer, "") {
                        self.masks.add(&node, None);
                    }
                }
            }
            self.pending.push(Pending {
                manifest: i,
                kind: Kind::SecretData,
                message: format!(
                    "Secret `{}` carries its values inline in `{field}`",
                    m.name()
                ),
                location: ctx.locate(i, &format!("/{field}"), ""),
                label: "literal data",
                help: help(Kind::SecretData, field, false),
            });
        }
        let _ = out;
    }
}

/// Findings of the `key=value`, `key: value` and `"key": "value"` lines of a config file, beyond
/// what the whole value already gave (`already`), as ranges of the whole value.
fn settings_in_file(text: &str, already: &[Detection]) -> Vec<Detection> {
    let mut out: Vec<Detection> = Vec::new();
    let mut line_start = 0;
    for line in text.split('\n') {
        let start = line_start;
        line_start += line.len() + 1;
        let Some((k, v)) = split_setting(line) else {
            continue;
        };
        let v_offset = start + (v.as_ptr() as usize - line.as_ptr() as usize);
        for mut d in detect(k, v, Place::Named) {
            d.start += v_offset;
            d.end += v_offset;
            let overlaps = already
                .iter()
                .chain(out.iter())
                .any(|o| o.start < d.end && d.start < o.end);
            if !overlaps {
                out.push(d);
            }
        }
    }
    out
}

/// `key=value`, `key = "value"`, `key: value`, `"key": "value",` -> (key, value unquoted).
fn split_setting(line: &str) -> Option<(&str, &str)> {
    let trimmed = line.trim();
    if trimmed.starts_with('#') || trimmed.starts_with("//") || trimmed.starts_with(';') {
        return None;
    }
    let cut = trimmed.find(['=', ':'])?;
    let key = trimmed[..cut]
        .trim()
        .trim_matches(|c| c == '"' || c == '\'');
    if key.is_empty() || key.contains(char::is_whitespace) {
        return None;
    }
    let mut value = trimmed[cut + 1..].trim().trim_end_matches(',');
    for q in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(q) && value.ends_with(q) {
            value = &value[1..value.len() - 1];
        }
    }
    Some((key, value))
}

/// `--name=value`, `-name=value` or `NAME=value` as a name and a value; `None` for anything
/// else (a flag alone, a positional argument, a URL whose query holds `=`).
fn argument_setting(text: &str) -> Option<(&str, &str)> {
    let (name, value) = text.split_once('=')?;
    let name = name.trim_start_matches('-');
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    plain.then_some((name, value))
}

#[cfg(test)]
mod tests {
    use super::{settings_in_file, split_setting};

    #[test]
    fn settings_lines() {
        assert_eq!(
            split_setting("db.password=tr0ub4dor"),
            Some(("db.password", "tr0ub4dor"))
        );
        assert_eq!(
            split_setting("  \"password\": \"tr0ub4dor\","),
            Some(("password", "tr0ub4dor"))
        );
        assert_eq!(split_setting("# password=x"), None);
        assert_eq!(split_setting("no setting here"), None);
    }

    #[test]
    fn settings_in_a_config_file() {
        let text = "log.level=info\ndb.password=tr0ub4dor\ndb.url=postgres://a:b@c/d\n";
        let found = settings_in_file(text, &[]);
        let secrets: Vec<&str> = found.iter().map(|d| d.secret(text)).collect();
        assert_eq!(secrets, ["tr0ub4dor", "b"]);
    }
}
