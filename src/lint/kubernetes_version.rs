//! The Kubernetes version manifests are applied to: what `deprecated-api` judges API versions by.

use std::fmt;

/// A Kubernetes minor release, `1.30`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KubernetesVersion {
    pub major: u32,
    pub minor: u32,
}

/// The version of the Kubernetes schemas shipshape embeds (schemas/kubernetes/, v1.30.0, see
/// schemas/README.md): the files carry no version of their own, so it is stated here, and moves
/// with them when they are replaced.
pub const SCHEMA_VERSION: KubernetesVersion = KubernetesVersion {
    major: 1,
    minor: 30,
};

impl Default for KubernetesVersion {
    fn default() -> Self {
        SCHEMA_VERSION
    }
}

impl KubernetesVersion {
    pub const fn new(major: u32, minor: u32) -> KubernetesVersion {
        KubernetesVersion { major, minor }
    }

    /// `1.30`, `v1.30` or `1.30.2` (the patch release changes no API). `None` for anything else.
    pub fn parse(text: &str) -> Option<KubernetesVersion> {
        let text = text.trim();
        let text = text.strip_prefix('v').unwrap_or(text);
        let mut parts = text.split('.');
        let number = |p: Option<&str>| {
            p.filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<u32>().ok())
        };
        let major = number(parts.next())?;
        let minor = number(parts.next())?;
        if let Some(patch) = parts.next() {
            number(Some(patch))?;
        }
        if parts.next().is_some() || major != 1 {
            return None;
        }
        Some(KubernetesVersion { major, minor })
    }
}

impl fmt::Display for KubernetesVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_as_kubectl_prints_them() {
        assert_eq!(
            KubernetesVersion::parse("1.30"),
            Some(KubernetesVersion::new(1, 30))
        );
        assert_eq!(
            KubernetesVersion::parse("v1.25.3"),
            Some(KubernetesVersion::new(1, 25))
        );
        assert!(KubernetesVersion::parse("1.3.0.1").is_none());
        assert!(KubernetesVersion::parse("2.0").is_none());
        assert!(KubernetesVersion::parse("1.").is_none());
        assert!(KubernetesVersion::parse("1.x").is_none());
        assert!(KubernetesVersion::parse("").is_none());
        assert!(KubernetesVersion::new(1, 9) < KubernetesVersion::new(1, 30));
    }
}
