//! The annotation and label names shipshape writes on what it renders and reads back when it
//! lints, plans or diffs. They live here, below the renderer and the linter alike, so that a name
//! has one spelling: the linter must recognise exactly what the renderer writes, and neither has
//! to import the other to agree on it.
//!
//! Each name says who writes it and who reads it. Names Kubernetes or another tool owns (Argo CD,
//! Helm, Pod Security admission) are here too when shipshape writes or reads them.

/// Annotation keys.
pub mod annotation {
    /// Argo CD's sync wave: the order Argo CD applies resources in, lowest first.
    ///
    /// Written by the renderer on every resource of a service (the service's wave), on the
    /// Namespace and the enforcement resources (before every phase) and on the Argo CD
    /// Applications. Read by `lint` (the dependency graph and `phase-order`, and
    /// `resource-overcommit`, which rolls a wave's Deployments out together) and by `diff`.
    pub const SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";

    /// The rollout phase a service belongs to (`catalogue.yaml` `phases`).
    ///
    /// Written by the renderer on every resource of a service. Read by `lint`
    /// (`resource-overcommit`'s phase budgets, `phase-order`) and by `diff`.
    pub const PHASE: &str = "shipshape.dev/phase";

    /// The services a workload needs running before it starts, comma-separated (`dependsOn`).
    ///
    /// Written by the renderer on every resource of a service that has dependencies. Read by
    /// `lint` (the dependency graph, `phase-order`).
    pub const DEPENDS_ON: &str = "shipshape.dev/depends-on";

    /// Prefix of a suppression: `shipshape.dev/suppress.<rule>: <reason>` turns a lint rule off
    /// for one resource, `shipshape.dev/suppress.<rule>.<condition>` one of its codes (see
    /// [`suppress`]).
    ///
    /// Written by the renderer from a service's `suppress` entries, or by hand on manifests
    /// linted with `shipshape lint`. Read by `lint` (which skips the rule's findings on that
    /// resource and checks that the rule exists and a reason is given) and mirrored by the
    /// admission policies `enforce` renders.
    pub const SUPPRESS_PREFIX: &str = "shipshape.dev/suppress.";

    /// The hash of a service's configuration files, on its pod template: changing a file changes
    /// the template, so the pods roll (a ConfigMap change alone restarts nothing).
    ///
    /// Written by the renderer on the pod template of a service with `configFiles`. Read by the
    /// catalogue checks, which refuse it among a service's own `annotations`.
    pub const CONFIG_HASH: &str = "shipshape.dev/config-hash";

    /// Helm's hook annotation; a `test` hook is a pod `helm test` runs once to completion.
    ///
    /// Written by Helm charts, never by shipshape. Read by `lint`, which does not hold a test
    /// hook to what a long-running workload needs (probes, a share of capacity).
    pub const HELM_HOOK: &str = "helm.sh/hook";

    /// Istio's older, per-pod switch for its sidecar (`"true"` or `"false"`); the label of the
    /// same name ([`super::label::ISTIO_SIDECAR_INJECT`]) replaces it and wins when both are set.
    ///
    /// Written by users and charts on pod templates, never by shipshape. Read by `lint`
    /// (`mesh-routing/port-protocol` does not judge the ports of pods that opt out).
    pub const ISTIO_SIDECAR_INJECT: &str = "sidecar.istio.io/inject";

    /// The suppression annotation key for a rule (`port-conflict`) or a code
    /// (`port-conflict/duplicate-host-port`). A code's `/` becomes a `.`: an annotation name has
    /// room for one `/`, and the prefix has it.
    pub fn suppress(rule_or_code: &str) -> String {
        format!("{SUPPRESS_PREFIX}{}", rule_or_code.replacen('/', ".", 1))
    }
}

/// Label keys, and the values shipshape gives them where they are fixed.
pub mod label {
    /// The service's name: with [`INSTANCE`], what a Service and the workload select pods by.
    ///
    /// Written by the renderer on every resource of a service and on its pods; its NetworkPolicies
    /// select callers by it. Read by `diff` to name a selector.
    pub const NAME: &str = "app.kubernetes.io/name";

    /// The service's instance; the same value as [`NAME`].
    ///
    /// Written by the renderer on every resource of a service and on its pods (selectors).
    pub const INSTANCE: &str = "app.kubernetes.io/instance";

    /// The rollout phase, as a component of the platform.
    ///
    /// Written by the renderer on every resource of a service.
    pub const COMPONENT: &str = "app.kubernetes.io/component";

    /// The platform a resource belongs to (`catalogue.yaml` `platform`).
    ///
    /// Written by the renderer on every resource it renders (services, Namespace, enforcement,
    /// Argo CD Applications). Read by `lint` (`port-conflict`: Services of one platform in one
    /// namespace are held to distinct ports).
    pub const PART_OF: &str = "app.kubernetes.io/part-of";

    /// The service's image tag or digest, made a valid label value.
    ///
    /// Written by the renderer on every resource of a service.
    pub const VERSION: &str = "app.kubernetes.io/version";

    /// The tool that manages a resource; shipshape writes [`MANAGED_BY_SHIPSHAPE`].
    ///
    /// Written by the renderer on every resource it renders. Read by `lint` (`port-conflict`
    /// treats a resource labelled so as rendered by shipshape).
    pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";

    /// The value of [`MANAGED_BY`] on everything shipshape renders.
    pub const MANAGED_BY_SHIPSHAPE: &str = "shipshape";

    /// The environment an Argo CD Application deploys.
    ///
    /// Written by the renderer on the Argo CD Applications of each environment.
    pub const ENVIRONMENT: &str = "shipshape.dev/environment";

    /// The track Istio routes canary traffic by: a DestinationRule subset selects pods by it.
    ///
    /// Written by the renderer on a service's pods (the stable track) and in the subsets of its
    /// DestinationRule.
    pub const TRACK: &str = "version";

    /// The labels every pod of a service carries for shipshape's selectors, routing and tooling:
    /// a service's own `labels` must not set them. Read by the catalogue checks.
    pub const RESERVED_POD_LABELS: [&str; 7] = [
        NAME, INSTANCE, COMPONENT, PART_OF, VERSION, MANAGED_BY, TRACK,
    ];

    /// Pod Security admission: the profile the namespace's pods must meet, and the version of it.
    ///
    /// Written by the renderer on the environment's Namespace (`restricted`).
    pub const POD_SECURITY_ENFORCE: &str = "pod-security.kubernetes.io/enforce";
    pub const POD_SECURITY_ENFORCE_VERSION: &str = "pod-security.kubernetes.io/enforce-version";
    /// Pod Security admission: the profile violations are audited and warned against.
    ///
    /// Written by the renderer on the environment's Namespace (`restricted`).
    pub const POD_SECURITY_AUDIT: &str = "pod-security.kubernetes.io/audit";
    pub const POD_SECURITY_WARN: &str = "pod-security.kubernetes.io/warn";

    /// The name of a Namespace, as a label the API server sets on every namespace.
    ///
    /// Read through selectors the renderer writes: NetworkPolicies select the platform's and
    /// Istio's namespaces by it, and the admission policies `enforce` renders their namespace.
    pub const NAMESPACE_NAME: &str = "kubernetes.io/metadata.name";

    /// A node's host name, as the kubelet labels every node.
    ///
    /// Written by the renderer as the topology key that spreads a service's pods over nodes.
    pub const HOSTNAME: &str = "kubernetes.io/hostname";

    /// Istio's per-namespace switch for its sidecar: `enabled` or `disabled`.
    ///
    /// Written by the renderer on the environment's Namespace when Istio is on. Read by `lint`
    /// (`mesh-routing` judges the namespaces that have the sidecar).
    pub const ISTIO_INJECTION: &str = "istio-injection";

    /// The Istio control-plane revision whose sidecar a namespace's pods get: any value turns
    /// injection on, unless [`ISTIO_INJECTION`] is `disabled`.
    ///
    /// Written by users, never by shipshape. Read by `lint` (`mesh-routing`).
    pub const ISTIO_REVISION: &str = "istio.io/rev";

    /// Istio's per-pod switch for its sidecar (`"true"` or `"false"`), which wins over the
    /// namespace's: a pod labelled `"false"` has no sidecar in an injected namespace.
    ///
    /// Written by users and charts on pod templates, never by shipshape. Read by `lint`
    /// (`mesh-routing`).
    pub const ISTIO_SIDECAR_INJECT: &str = "sidecar.istio.io/inject";
}

/// Argo CD names that are neither annotations nor labels, which the renderer writes into the
/// Applications and `lint` (`argocd-application`) expects of any Application.
pub mod argocd {
    /// Argo CD's own project, present in every installation: shipshape never renders it.
    ///
    /// Written by the renderer as the root app's project when no other is named. Read by `lint`,
    /// which does not look for it among the AppProjects (every installation has it).
    pub const BUILTIN_PROJECT: &str = "default";

    /// Deleting an Application with this finalizer deletes what it deployed (a cascading
    /// delete); without it, the workloads stay in the cluster, unmanaged.
    ///
    /// Written by the renderer on the Applications that ask for it. Read by `lint`, which
    /// reports an Application without it.
    pub const FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";
}

#[cfg(test)]
mod tests {
    use super::{annotation, label};

    /// Kubernetes' qualified name: an optional DNS-subdomain prefix (at most 253 characters) and
    /// `/`, then a name of at most 63 characters of `[A-Za-z0-9._-]`, alphanumeric at both ends.
    fn is_qualified_name(key: &str) -> bool {
        let (prefix, name) = match key.split_once('/') {
            Some((prefix, name)) => (Some(prefix), name),
            None => (None, key),
        };
        let alnum_ends = |s: &str| {
            s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
                && s.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
        };
        let name_ok = !name.is_empty()
            && name.len() <= 63
            && alnum_ends(name)
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        let prefix_ok = prefix.is_none_or(|p| {
            !p.is_empty()
                && p.len() <= 253
                && p.split('.').all(|part| {
                    !part.is_empty()
                        && part.len() <= 63
                        && alnum_ends(part)
                        && part
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                })
        });
        name_ok && prefix_ok
    }

    #[test]
    fn the_validator_refuses_what_the_api_server_refuses() {
        assert!(is_qualified_name("app"));
        assert!(is_qualified_name("example.com/a_b.c-d"));
        for bad in [
            "",
            "/name",
            "Example.com/name",
            "example.com/",
            "a/b/c",
            "example.com/-name",
            "example..com/name",
            "example.com/na me",
        ] {
            assert!(!is_qualified_name(bad), "{bad:?} passed");
        }
        assert!(!is_qualified_name(&"a".repeat(64)));
    }

    #[test]
    fn every_name_is_a_valid_kubernetes_key() {
        let names = [
            annotation::SYNC_WAVE,
            annotation::PHASE,
            annotation::DEPENDS_ON,
            annotation::CONFIG_HASH,
            annotation::HELM_HOOK,
            annotation::ISTIO_SIDECAR_INJECT,
            label::NAME,
            label::INSTANCE,
            label::COMPONENT,
            label::PART_OF,
            label::VERSION,
            label::MANAGED_BY,
            label::ENVIRONMENT,
            label::TRACK,
            label::POD_SECURITY_ENFORCE,
            label::POD_SECURITY_ENFORCE_VERSION,
            label::POD_SECURITY_AUDIT,
            label::POD_SECURITY_WARN,
            label::NAMESPACE_NAME,
            label::HOSTNAME,
            label::ISTIO_INJECTION,
            label::ISTIO_REVISION,
            label::ISTIO_SIDECAR_INJECT,
        ];
        for name in names.into_iter().chain(label::RESERVED_POD_LABELS) {
            assert!(is_qualified_name(name), "`{name}` is not a valid key");
        }
    }

    #[test]
    fn every_suppression_key_is_a_valid_annotation_key() {
        let rules = crate::lint::rules::all();
        assert!(!rules.is_empty());
        let names = rules
            .iter()
            .map(|r| r.id.to_owned())
            .chain(crate::lint::all_codes().map(|c| c.id.to_owned()));
        for name in names {
            let key = annotation::suppress(&name);
            assert!(is_qualified_name(&key), "`{key}` is not a valid key");
        }
        assert_eq!(
            annotation::suppress("port-conflict/duplicate-host-port"),
            "shipshape.dev/suppress.port-conflict.duplicate-host-port"
        );
    }

    /// The admission policies spell the suppression keys inside CEL literals (`concat!` takes no
    /// constant): they must be the keys the linter reads.
    #[test]
    fn the_admission_policies_honour_the_linter_s_suppression_keys() {
        for exported in crate::enforce::admission::EXPORTED {
            for name in [exported.code.rule(), exported.code.id] {
                let key = format!("'{}'", annotation::suppress(name));
                assert!(
                    exported.expression.contains(&key),
                    "{}: no {key} in {}",
                    exported.code.id,
                    exported.expression
                );
            }
        }
    }

    #[test]
    fn the_managed_by_value_is_a_valid_label_value() {
        let v = label::MANAGED_BY_SHIPSHAPE;
        assert!(v.len() <= 63 && is_qualified_name(v) && !v.contains('/'));
    }
}
