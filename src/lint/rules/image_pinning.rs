//! `image-pinning`: every container names the image it runs, not whatever a tag points at today.

use crate::diagnostic::Severity;
use crate::example;
use crate::lint::{Code, LintContext, Rule, Sink};
use crate::manifest::Field;
use serde_json::Value;

pub const RULE: Rule = Rule {
    id: "image-pinning",
    codes: &[&UNPINNED],
    summary: "A container image without a tag or digest, or with the moving tag `latest`",
    doc: r#"## What it checks
Every container, init container and ephemeral container of every workload names its image with a
tag other than `latest` (`registry.example.com/api:1.4.2`) or a digest (`...@sha256:...`). An image
without either means `latest`. A registry port (`registry:5000/api`) is not a tag. Helm test hooks
are left alone, as by `missing-probe`.

The same condition is exported to the cluster by `enforce.admission` (docs/enforcement.md).

## Why it matters
GitOps promises that the repository says what runs. A moving tag breaks the promise: two nodes
pulling `api:latest` an hour apart run different code, a rollback to the previous commit restores
the manifest but not the image, and `shipshape diff` shows no change for a release that changed
everything.

## Bad
```yaml
containers:
  - name: api
    image: registry.example.com/api:latest
```

## Good
```yaml
containers:
  - name: api
    image: registry.example.com/api:1.4.2
```
In the catalogue, images without a tag take the environment's `imageTag`.
"#,
    check,
};

pub static UNPINNED: Code = Code {
    id: "image-pinning/unpinned",
    severity: Severity::Error,
    summary: "A container image has no tag, the tag `latest`, or an empty tag, and no digest",
    bad: example!("image-pinning/fires/latest-and-untagged.yaml"),
    good: example!("image-pinning/quiet/tags-digests-and-ports.yaml"),
};

/// Why an image reference is not pinned, or `None` when it is.
pub fn unpinned(image: &str) -> Option<&'static str> {
    if image.contains('@') {
        return None;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, "latest")) => Some("uses the moving tag `latest`"),
        Some((_, tag)) if !tag.is_empty() => None,
        _ => Some("has no tag or digest, which means `latest`"),
    }
}

fn check(ctx: &LintContext, out: &mut Sink) {
    for &wi in &ctx.index.workloads {
        if ctx.index.facts(wi).helm_test {
            continue;
        }
        let m = &ctx.manifests[wi];
        let Some((pod, base)) = ctx.index.pod_spec(wi) else {
            continue;
        };
        for group in ["initContainers", "containers", "ephemeralContainers"] {
            let Some(containers) = pod.field(group).and_then(Value::as_array) else {
                continue;
            };
            for (ci, c) in containers.iter().enumerate() {
                let Some(image) = c.field("image").and_then(Value::as_str) else {
                    continue;
                };
                let Some(why) = unpinned(image) else {
                    continue;
                };
                let cname = c.field("name").and_then(Value::as_str).unwrap_or("?");
                out.report(
                    &UNPINNED,
                    Some(wi),
                    format!(
                        "image `{image}` of container `{cname}` in `{}` {why}: what runs can change without a commit",
                        m.name()
                    ),
                )
                .place(
                    Some(ctx.locate(wi, &format!("{base}/{group}/{ci}/image"), "/image")),
                    "not pinned",
                )
                .help("name a release tag (`:1.4.2`) or a digest (`@sha256:...`); in the catalogue, set the environment's `imageTag`");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::unpinned;

    #[test]
    fn tags_digests_and_registry_ports() {
        assert_eq!(unpinned("registry.example.com/api:1.4.2"), None);
        assert_eq!(unpinned("api@sha256:0123"), None);
        assert_eq!(unpinned("registry:5000/api:2"), None);
        assert!(unpinned("registry:5000/api").is_some());
        assert!(unpinned("busybox").is_some());
        assert!(unpinned("busybox:latest").is_some());
        assert!(unpinned("busybox:").is_some());
    }
}
