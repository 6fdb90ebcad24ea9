//! Kubernetes name rules. Names reach file paths and object names, so they are checked strictly.

/// A DNS-1123 label: 1-63 of `[a-z0-9-]`, starting and ending alphanumeric.
pub fn is_dns_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// A DNS-1035 label: a DNS-1123 label that starts with a letter. Kubernetes holds Service names
/// to this (a Service name becomes a DNS name that must not look like a number), so a service
/// named `123` would pass every other check and be rejected only by the cluster.
pub fn is_dns1035_label(name: &str) -> bool {
    is_dns_label(name) && name.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
}

/// The nearest valid DNS-1035 label, to show in a help line.
pub fn suggest_dns1035_label(name: &str) -> String {
    let label = suggest_dns_label(name);
    if label.as_bytes().first().is_some_and(u8::is_ascii_lowercase) {
        return label;
    }
    // A prefix keeps the digits the user chose recognisable; 63 bytes is still the ceiling.
    let prefixed: String = format!("svc-{label}").chars().take(63).collect();
    prefixed.trim_end_matches('-').to_owned()
}

/// Service names that are valid labels but name a file every environment directory already has:
/// `rendered/<env>/<service>.yaml` would overwrite (or be overwritten by) it, losing manifests.
pub const RESERVED_SERVICE_NAMES: &[(&str, &str)] = &[
    (
        "namespace",
        "the environment's Namespace and namespace-wide policies",
    ),
    ("kustomization", "the environment's kustomization"),
];

/// Why `name` cannot be a service name, when it is reserved.
pub fn reserved_service_name(name: &str) -> Option<&'static str> {
    RESERVED_SERVICE_NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, why)| *why)
}

/// The nearest valid label, to show in a help line.
pub fn suggest_dns_label(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed: String = out.trim_matches('-').chars().take(63).collect();
    let trimmed = trimmed.trim_end_matches('-').to_owned();
    if trimmed.is_empty() {
        "my-service".into()
    } else {
        trimmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert!(is_dns_label("api-gateway"));
        assert!(is_dns_label("a"));
        assert!(!is_dns_label("Api"));
        assert!(!is_dns_label("-a"));
        assert!(!is_dns_label("a-"));
        assert!(!is_dns_label("../etc"));
        assert!(!is_dns_label(&"a".repeat(64)));
        assert_eq!(suggest_dns_label("My_Service"), "my-service");
        assert_eq!(suggest_dns_label("../x"), "x");
    }

    #[test]
    fn service_labels_start_with_a_letter() {
        assert!(is_dns1035_label("api-2"));
        assert!(!is_dns1035_label("123"));
        assert!(!is_dns1035_label("1abc"));
        assert!(!is_dns1035_label("Api"));
        assert_eq!(suggest_dns1035_label("123"), "svc-123");
        assert_eq!(suggest_dns1035_label("1abc"), "svc-1abc");
        assert_eq!(suggest_dns1035_label("Api"), "api");
        assert!(is_dns1035_label(&suggest_dns1035_label(&"9".repeat(80))));
    }
}
