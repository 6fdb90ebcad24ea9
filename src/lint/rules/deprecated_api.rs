//! `deprecated-api`: every manifest uses an API version the target Kubernetes release serves.

use crate::diagnostic::{Location, Severity};
use crate::example;
use crate::lint::kubernetes_version::KubernetesVersion;
use crate::lint::{Code, LintContext, Rule, Sink};
use crate::manifest::{Field, ManifestOrigin};
use serde_json::Value;

pub const RULE: Rule = Rule {
    id: "deprecated-api",
    codes: &[&REMOVED, &DEPRECATED, &NOT_YET_SERVED],
    summary: "An apiVersion and kind the target Kubernetes release no longer serves, serves as deprecated, or does not serve yet",
    doc: r#"## What it checks
The `apiVersion` and `kind` of every manifest, against the Kubernetes deprecation guide's table of
built-in APIs (custom resources are left alone):
- removed in the target release: an error, the API server refuses the manifest;
- deprecated in the target release but still served: a warning, with the release that removes it;
- first served by a later release than the target (`autoscaling/v2` before 1.23, `policy/v1`
  PodDisruptionBudgets and `batch/v1` CronJobs before 1.21, `networking.k8s.io/v1` Ingress before
  1.19, `flowcontrol.apiserver.k8s.io/v1` before 1.29...): an error, the API server does not know
  it yet. Only the API versions and kinds of shipshape's table of when each was first served (from
  the deprecation guide's "available since" and the release notes) are judged; any other is left
  alone.

The target release is `--kubernetes-version X.Y` for `shipshape lint`, and the environment's
`cluster.kubernetesVersion` for `build` and `check`. Both default to the release of the schemas
shipshape embeds (1.30). A finding on a resource shipshape renders itself (not an extra template's,
not a patched `apiVersion`) points at that `cluster.kubernetesVersion`: its API version is
shipshape's choice, the release it must run on is the environment's.

## Why it matters
A removed API is not a warning at upgrade time: the sync fails for every manifest that still uses
it, often in the middle of a cluster upgrade, and Argo CD cannot even delete what it can no longer
name. Deprecated APIs are the same failure scheduled for a known release.

## Bad
```yaml
apiVersion: policy/v1beta1     # removed in 1.25
kind: PodDisruptionBudget
```

## Good
```yaml
apiVersion: policy/v1
kind: PodDisruptionBudget
```
Check the replacement's changes before switching (the guide lists them): a `policy/v1`
PodDisruptionBudget with an empty selector selects every pod of the namespace, not none.
"#,
    check,
};

pub static REMOVED: Code = Code {
    id: "deprecated-api/removed",
    severity: Severity::Error,
    summary: "An apiVersion and kind that the target Kubernetes release no longer serves: the API server refuses the manifest",
    bad: example!("deprecated-api/fires/removed-apis.yaml"),
    good: example!("deprecated-api/quiet/current-apis.yaml"),
};

pub static DEPRECATED: Code = Code {
    id: "deprecated-api/deprecated",
    severity: Severity::Warning,
    summary: "An apiVersion and kind that the target Kubernetes release still serves but has deprecated, with the release that removes it",
    bad: example!("deprecated-api/fires/deprecated-flow-schema.yaml"),
    good: example!("deprecated-api/quiet/current-apis.yaml"),
};

pub static NOT_YET_SERVED: Code = Code {
    id: "deprecated-api/not-yet-served",
    severity: Severity::Error,
    summary: "An apiVersion and kind that the target Kubernetes release does not serve yet: the API server refuses the manifest",
    bad: example!("deprecated-api/fires/not-yet-served.yaml"),
    good: example!("deprecated-api/quiet/served-since-the-target-release.yaml"),
};

/// One API version of built-in kinds, as the Kubernetes deprecation guide lists it.
struct Retired {
    api_version: &'static str,
    kinds: &'static [&'static str],
    /// Minor release of 1.x that deprecated it.
    deprecated: u32,
    /// Minor release that stopped serving it; `None` while it is still served.
    removed: Option<u32>,
    /// What to use instead.
    replacement: &'static str,
}

const fn retired(
    api_version: &'static str,
    kinds: &'static [&'static str],
    deprecated: u32,
    removed: Option<u32>,
    replacement: &'static str,
) -> Retired {
    Retired {
        api_version,
        kinds,
        deprecated,
        removed,
        replacement,
    }
}

/// Facts from the Kubernetes deprecation guide
/// (kubernetes.io/docs/reference/using-api/deprecation-guide/) and the release notes of 1.9 and
/// 1.33. Only kinds a repository stores are listed: reviews and other request-only kinds are not.
#[rustfmt::skip]
const RETIRED: &[Retired] = &[
    retired("extensions/v1beta1", &["Deployment", "DaemonSet", "ReplicaSet"], 9, Some(16), "apps/v1"),
    retired("apps/v1beta1", &["Deployment", "StatefulSet", "ReplicaSet", "ControllerRevision"], 9, Some(16), "apps/v1"),
    retired("apps/v1beta2", &["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ControllerRevision"], 9, Some(16), "apps/v1"),
    retired("extensions/v1beta1", &["NetworkPolicy"], 9, Some(16), "networking.k8s.io/v1"),
    retired("extensions/v1beta1", &["PodSecurityPolicy"], 10, Some(16), "policy/v1beta1 (itself removed in 1.25: Pod Security admission replaces it)"),
    retired("extensions/v1beta1", &["Ingress"], 14, Some(22), "networking.k8s.io/v1"),
    retired("networking.k8s.io/v1beta1", &["Ingress", "IngressClass"], 19, Some(22), "networking.k8s.io/v1"),
    retired("admissionregistration.k8s.io/v1beta1", &["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"], 16, Some(22), "admissionregistration.k8s.io/v1"),
    retired("apiextensions.k8s.io/v1beta1", &["CustomResourceDefinition"], 16, Some(22), "apiextensions.k8s.io/v1"),
    retired("apiregistration.k8s.io/v1beta1", &["APIService"], 19, Some(22), "apiregistration.k8s.io/v1"),
    retired("certificates.k8s.io/v1beta1", &["CertificateSigningRequest"], 19, Some(22), "certificates.k8s.io/v1"),
    retired("coordination.k8s.io/v1beta1", &["Lease"], 19, Some(22), "coordination.k8s.io/v1"),
    retired("rbac.authorization.k8s.io/v1beta1", &["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"], 17, Some(22), "rbac.authorization.k8s.io/v1"),
    retired("scheduling.k8s.io/v1beta1", &["PriorityClass"], 14, Some(22), "scheduling.k8s.io/v1"),
    retired("storage.k8s.io/v1beta1", &["CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"], 19, Some(22), "storage.k8s.io/v1"),
    retired("batch/v1beta1", &["CronJob"], 21, Some(25), "batch/v1"),
    retired("discovery.k8s.io/v1beta1", &["EndpointSlice"], 21, Some(25), "discovery.k8s.io/v1"),
    retired("events.k8s.io/v1beta1", &["Event"], 19, Some(25), "events.k8s.io/v1"),
    retired("autoscaling/v2beta1", &["HorizontalPodAutoscaler"], 22, Some(25), "autoscaling/v2"),
    retired("policy/v1beta1", &["PodDisruptionBudget"], 21, Some(25), "policy/v1"),
    retired("policy/v1beta1", &["PodSecurityPolicy"], 21, Some(25), "no API: Pod Security admission (the `pod-security.kubernetes.io/*` namespace labels)"),
    retired("node.k8s.io/v1beta1", &["RuntimeClass"], 20, Some(25), "node.k8s.io/v1"),
    retired("flowcontrol.apiserver.k8s.io/v1beta1", &["FlowSchema", "PriorityLevelConfiguration"], 23, Some(26), "flowcontrol.apiserver.k8s.io/v1"),
    retired("autoscaling/v2beta2", &["HorizontalPodAutoscaler"], 23, Some(26), "autoscaling/v2"),
    retired("storage.k8s.io/v1beta1", &["CSIStorageCapacity"], 24, Some(27), "storage.k8s.io/v1"),
    retired("flowcontrol.apiserver.k8s.io/v1beta2", &["FlowSchema", "PriorityLevelConfiguration"], 26, Some(29), "flowcontrol.apiserver.k8s.io/v1"),
    retired("flowcontrol.apiserver.k8s.io/v1beta3", &["FlowSchema", "PriorityLevelConfiguration"], 29, Some(32), "flowcontrol.apiserver.k8s.io/v1"),
    retired("v1", &["Endpoints"], 33, None, "EndpointSlice in discovery.k8s.io/v1 (Kubernetes manages both for a Service with a selector)"),
];

/// When the API server first served some built-in kinds at one API version, by default.
struct Introduced {
    api_version: &'static str,
    kinds: &'static [&'static str],
    /// Minor release of 1.x that first served it.
    since: u32,
}

const fn introduced(
    api_version: &'static str,
    kinds: &'static [&'static str],
    since: u32,
) -> Introduced {
    Introduced {
        api_version,
        kinds,
        since,
    }
}

/// Facts from the deprecation guide (the "available since" of each replacement) and the release
/// notes of 1.23 (`flowcontrol.apiserver.k8s.io/v1beta2`) and 1.30 (ValidatingAdmissionPolicy
/// GA). Betas that are off by default (every new beta since 1.24 but flow control's) are not
/// listed: they are served only where a cluster turns them on.
#[rustfmt::skip]
const INTRODUCED: &[Introduced] = &[
    introduced("storage.k8s.io/v1", &["StorageClass"], 6),
    introduced("networking.k8s.io/v1", &["NetworkPolicy"], 8),
    introduced("rbac.authorization.k8s.io/v1", &["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"], 8),
    introduced("apps/v1", &["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ControllerRevision"], 9),
    introduced("apiregistration.k8s.io/v1", &["APIService"], 10),
    introduced("storage.k8s.io/v1", &["VolumeAttachment"], 13),
    introduced("coordination.k8s.io/v1", &["Lease"], 14),
    introduced("scheduling.k8s.io/v1", &["PriorityClass"], 14),
    introduced("admissionregistration.k8s.io/v1", &["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"], 16),
    introduced("apiextensions.k8s.io/v1", &["CustomResourceDefinition"], 16),
    introduced("storage.k8s.io/v1", &["CSINode"], 17),
    introduced("networking.k8s.io/v1", &["Ingress", "IngressClass"], 19),
    introduced("events.k8s.io/v1", &["Event"], 19),
    introduced("certificates.k8s.io/v1", &["CertificateSigningRequest"], 19),
    introduced("storage.k8s.io/v1", &["CSIDriver"], 19),
    introduced("node.k8s.io/v1", &["RuntimeClass"], 20),
    introduced("policy/v1", &["PodDisruptionBudget"], 21),
    introduced("batch/v1", &["CronJob"], 21),
    introduced("discovery.k8s.io/v1", &["EndpointSlice"], 21),
    introduced("autoscaling/v2", &["HorizontalPodAutoscaler"], 23),
    introduced("flowcontrol.apiserver.k8s.io/v1beta2", &["FlowSchema", "PriorityLevelConfiguration"], 23),
    introduced("storage.k8s.io/v1", &["CSIStorageCapacity"], 24),
    introduced("flowcontrol.apiserver.k8s.io/v1beta3", &["FlowSchema", "PriorityLevelConfiguration"], 26),
    introduced("flowcontrol.apiserver.k8s.io/v1", &["FlowSchema", "PriorityLevelConfiguration"], 29),
    introduced("admissionregistration.k8s.io/v1", &["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"], 30),
];

/// The release of 1.x that first served `kind` at `api_version`, if the table knows it.
fn first_served(api_version: &str, kind: &str) -> Option<u32> {
    INTRODUCED
        .iter()
        .find(|i| i.api_version == api_version && i.kinds.contains(&kind))
        .map(|i| i.since)
}

fn find(api_version: &str, kind: &str) -> Option<&'static Retired> {
    RETIRED
        .iter()
        .find(|r| r.api_version == api_version && r.kinds.contains(&kind))
}

fn check(ctx: &LintContext, out: &mut Sink) {
    let target = ctx.kubernetes;
    let at = |minor: u32| KubernetesVersion::new(1, minor);
    for (i, m) in ctx.manifests.iter().enumerate() {
        let kind = ctx.index.facts(i).kind;
        let Some(api_version) = m.value.field("apiVersion").and_then(Value::as_str) else {
            continue;
        };
        if let Some(since) = first_served(api_version, kind).filter(|&s| target < at(s)) {
            not_yet_served(ctx, out, i, api_version, since);
            continue;
        }
        let Some(r) = find(api_version, kind) else {
            continue;
        };
        if target < at(r.deprecated) {
            continue;
        }
        let removed = r.removed.filter(|&minor| target >= at(minor));
        let (code, message, label) = match (removed, r.removed) {
            (Some(minor), _) => (
                &REMOVED,
                format!(
                    "{kind} `{}` uses `{api_version}`, which Kubernetes 1.{minor} stopped serving (deprecated since 1.{}): the API server of the target release {target} refuses it",
                    m.name(),
                    r.deprecated
                ),
                format!("removed in 1.{minor}"),
            ),
            (None, Some(minor)) => (
                &DEPRECATED,
                format!(
                    "{kind} `{}` uses `{api_version}`, deprecated since Kubernetes 1.{} and removed in 1.{minor}: the target release {target} still serves it",
                    m.name(),
                    r.deprecated
                ),
                format!("deprecated, removed in 1.{minor}"),
            ),
            (None, None) => (
                &DEPRECATED,
                format!(
                    "{kind} `{}` uses `{api_version}`, deprecated since Kubernetes 1.{}: the target release {target} serves it with a warning",
                    m.name(),
                    r.deprecated
                ),
                "deprecated".to_owned(),
            ),
        };
        let target_from = target_from(ctx);
        out.report(code, Some(i), message)
            .place(Some(place(ctx, i)), label)
            .help(format!(
                "use {} (the deprecation guide lists what changed in it); the target release comes from {target_from}",
                r.replacement
            ));
    }
}

/// Where to point a finding about manifest `i`'s API version. Its `apiVersion` line, or the patch
/// that wrote it, where someone wrote it; for a resource shipshape renders itself the version is
/// shipshape's choice, and what the environment decides is the target release its help says to
/// set: the `cluster.kubernetesVersion` key. Without that key (the default release), an
/// enforcement document points at the `enforce` key that asked for it, and any other at what
/// [`LintContext::locate`] finds.
fn place(ctx: &LintContext, i: usize) -> Location {
    let m = &ctx.manifests[i];
    let (
        ManifestOrigin::Rendered {
            template: None,
            file,
            ..
        },
        Some(env),
    ) = (&m.origin, ctx.platform)
    else {
        return ctx.locate(i, "/apiVersion", "");
    };
    if m.patch_location("/apiVersion").is_some() {
        return ctx.locate(i, "/apiVersion", "");
    }
    let enforcement = file == crate::enforce::FILE;
    env.origin
        .key_at("/cluster/kubernetesVersion")
        .or_else(|| enforcement.then(|| env.origin.key_at("/enforce")).flatten())
        .unwrap_or_else(|| ctx.locate(i, "/apiVersion", ""))
}

/// Where the target release comes from, for a help line.
fn target_from(ctx: &LintContext) -> &'static str {
    if ctx.platform.is_some() {
        "the environment's `cluster.kubernetesVersion`"
    } else {
        "`--kubernetes-version`"
    }
}

fn not_yet_served(ctx: &LintContext, out: &mut Sink, i: usize, api_version: &str, since: u32) {
    let m = &ctx.manifests[i];
    let target = ctx.kubernetes;
    let kind = ctx.index.facts(i).kind;
    out.report(
        &NOT_YET_SERVED,
        Some(i),
        format!(
            "{kind} `{}` uses `{api_version}`, which Kubernetes first served in 1.{since}: the API server of the target release {target} does not know it and refuses the manifest",
            m.name()
        ),
    )
    .place(
        Some(place(ctx, i)),
        format!("served from 1.{since}"),
    )
    .help(not_yet_served_help(ctx, i, kind, since));
}

/// What to do about an API version the target release does not serve yet. For what shipshape
/// itself renders (a built-in resource, not an extra template) the apiVersion is shipshape's
/// choice, not the user's: only the target release can change.
fn not_yet_served_help(ctx: &LintContext, i: usize, kind: &str, since: u32) -> String {
    let target = ctx.kubernetes;
    let rendered_by_shipshape = matches!(
        ctx.manifests[i].origin,
        ManifestOrigin::Rendered { template: None, .. }
    );
    if rendered_by_shipshape {
        format!(
            "shipshape renders {kind} at this API version, which needs Kubernetes 1.{since} or later: set the environment's `cluster.kubernetesVersion` to the release the cluster runs, and upgrade a cluster older than 1.{since} before deploying to it"
        )
    } else {
        format!(
            "use the API version of {kind} that {target} serves (`kubectl api-resources` on such a cluster lists it), or, if the cluster runs 1.{since} or later, say so with {}",
            target_from(ctx)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_an_api_version_is_listed_once() {
        for (i, a) in RETIRED.iter().enumerate() {
            assert!(
                a.removed.is_none_or(|r| r > a.deprecated),
                "{}",
                a.api_version
            );
            for b in &RETIRED[i + 1..] {
                if a.api_version == b.api_version {
                    assert!(
                        !a.kinds.iter().any(|k| b.kinds.contains(k)),
                        "{} listed twice",
                        a.api_version
                    );
                }
            }
        }
    }

    #[test]
    fn each_kind_of_an_api_version_is_introduced_once() {
        for (i, a) in INTRODUCED.iter().enumerate() {
            for b in &INTRODUCED[i + 1..] {
                if a.api_version == b.api_version {
                    assert!(
                        !a.kinds.iter().any(|k| b.kinds.contains(k)),
                        "{} introduced twice",
                        a.api_version
                    );
                }
            }
        }
    }

    #[test]
    fn a_retired_api_version_was_served_before_it_was_deprecated() {
        for r in RETIRED {
            for kind in r.kinds {
                if let Some(since) = first_served(r.api_version, kind) {
                    assert!(since <= r.deprecated, "{} {kind}", r.api_version);
                }
            }
        }
    }

    #[test]
    fn the_releases_that_first_served_common_apis() {
        assert_eq!(
            first_served("autoscaling/v2", "HorizontalPodAutoscaler"),
            Some(23)
        );
        assert_eq!(first_served("policy/v1", "PodDisruptionBudget"), Some(21));
        assert_eq!(first_served("batch/v1", "CronJob"), Some(21));
        assert_eq!(first_served("networking.k8s.io/v1", "Ingress"), Some(19));
        assert_eq!(
            first_served("networking.k8s.io/v1", "NetworkPolicy"),
            Some(8)
        );
        assert_eq!(
            first_served("flowcontrol.apiserver.k8s.io/v1", "FlowSchema"),
            Some(29)
        );
        // Kinds the table does not list are not judged: batch/v1 Jobs, custom resources.
        assert_eq!(first_served("batch/v1", "Job"), None);
        assert_eq!(first_served("example.com/v1", "CronJob"), None);
    }
}
