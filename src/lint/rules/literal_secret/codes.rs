//! The conditions of `literal-secret`, one code each.

use crate::diagnostic::Severity;
use crate::example;
use crate::lint::Code;

pub static BY_NAME: Code = Code {
    id: "literal-secret/by-name",
    severity: Severity::Error,
    summary: "A value under a name that says it is a credential (`DB_PASSWORD`, `api_key`) is written inline",
    bad: example!("literal-secret/fires/password-and-api-key.yaml"),
    good: example!("literal-secret/quiet/value-from-secret-ref.yaml"),
};

pub static URL_CREDENTIALS: Code = Code {
    id: "literal-secret/url-credentials",
    severity: Severity::Error,
    summary: "A password inside a URL or a connection string",
    bad: example!("literal-secret/fires/url-credentials.yaml"),
    good: example!("literal-secret/quiet/references-digests-and-hashes.yaml"),
};

pub static PRIVATE_KEY: Code = Code {
    id: "literal-secret/private-key",
    severity: Severity::Error,
    summary: "A PEM private key block written into a manifest",
    bad: example!("literal-secret/fires/private-key.yaml"),
    good: example!("literal-secret/quiet/value-from-secret-ref.yaml"),
};

pub static JWT: Code = Code {
    id: "literal-secret/jwt",
    severity: Severity::Error,
    summary: "A JSON Web Token written inline",
    bad: example!("literal-secret/fires/jwt.yaml"),
    good: example!("literal-secret/quiet/value-from-secret-ref.yaml"),
};

pub static BASIC_AUTH: Code = Code {
    id: "literal-secret/basic-auth",
    severity: Severity::Error,
    summary: "HTTP Basic credentials (`Basic` and base64 of user:password) written inline",
    bad: example!("literal-secret/fires/basic-auth.yaml"),
    good: example!("literal-secret/quiet/value-from-secret-ref.yaml"),
};

pub static TOKEN_PATTERN: Code = Code {
    id: "literal-secret/token-pattern",
    severity: Severity::Error,
    summary: "A token of a well-known format (cloud, source-forge, payment or chat provider)",
    bad: example!("literal-secret/fires/token-github-classic.yaml"),
    good: example!("literal-secret/quiet/look-alike-tokens.yaml"),
};

pub static HIGH_ENTROPY: Code = Code {
    id: "literal-secret/high-entropy",
    severity: Severity::Error,
    summary: "A random-looking literal under a name that suggests a secret",
    bad: example!("literal-secret/fires/high-entropy.yaml"),
    good: example!("literal-secret/quiet/references-digests-and-hashes.yaml"),
};

pub static PLACEHOLDER: Code = Code {
    id: "literal-secret/placeholder",
    severity: Severity::Warning,
    summary: "A credential's value is a placeholder (`changeme`, `<password>`, `${VAR}`) instead of a reference",
    bad: example!("literal-secret/fires/placeholders.yaml"),
    good: example!("literal-secret/quiet/value-from-secret-ref.yaml"),
};

pub static SECRET_DATA: Code = Code {
    id: "literal-secret/secret-data",
    severity: Severity::Error,
    summary: "A Secret manifest carries its values in `data` or `stringData`",
    bad: example!("literal-secret/fires/secret-with-data.yaml"),
    good: example!("literal-secret/quiet/secret-without-data.yaml"),
};
