//! ValidatingAdmissionPolicies for the lint conditions one object can be judged by, so what
//! `check` refused in the pull request the API server refuses too, whoever applies it.
//!
//! Each [`Exported`] condition is CEL over the object, written to agree with its lint condition
//! on the same input: never refusing what the rule passes, and refusing what it reports at
//! error severity. `tests/admission_policies.rs` evaluates every expression against the rules'
//! fire and quiet fixtures to hold them to that. Conditions that need more than one object
//! (capacity, ports, policies, phases) stay build-time; docs/enforcement.md lists both.
//!
//! The policy matches the workload controllers, not Pods: a mesh injects its sidecar into Pods
//! after the controller was admitted, and that container is the mesh's to configure.

use super::{metadata, object};
use crate::catalogue::model::AdmissionAction;
use crate::catalogue::ResolvedEnvironment;
use crate::diagnostic::Severity;
use crate::lint::rules::{image_pinning, literal_secret, missing_probe, resource_overcommit};
use crate::lint::Code;
use serde_json::Value;

/// One lint condition as a CEL validation.
pub struct Exported {
    /// The lint code whose findings this expression mirrors.
    pub code: &'static Code,
    /// True when the object passes.
    pub expression: &'static str,
    /// What the API server says when it does not.
    pub message: &'static str,
}

/// The pod template of every matched kind, as the policy's `variables.pod`.
pub const POD_VARIABLE: &str = "object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec : object.spec.template.spec";

/// Every container of the pod, init containers after the others, as `variables.containers`.
pub const CONTAINERS_VARIABLE: &str = "variables.pod.containers + (has(variables.pod.initContainers) ? variables.pod.initContainers : [])";

/// A suppression annotation on the object naming the rule (`shipshape.dev/suppress.RULE`) or
/// the code alone (`shipshape.dev/suppress.RULE.CONDITION`) turns the check off for it, as it
/// does for the linter.
macro_rules! unless_suppressed {
    ($rule:literal, $condition:literal, $expr:expr) => {
        concat!(
            "(has(object.metadata.annotations) && ('shipshape.dev/suppress.",
            $rule,
            "' in object.metadata.annotations || 'shipshape.dev/suppress.",
            $rule,
            ".",
            $condition,
            "' in object.metadata.annotations)) || (",
            $expr,
            ")"
        )
    };
}

/// Probe `$p` of container `c`, if it has one, has a handler.
macro_rules! has_handler {
    ($p:literal) => {
        concat!(
            "(!has(c.",
            $p,
            ") || has(c.",
            $p,
            ".httpGet) || has(c.",
            $p,
            ".tcpSocket) || has(c.",
            $p,
            ".grpc) || has(c.",
            $p,
            ".exec))"
        )
    };
}

/// Probe `$p` of container `c`, if it is an HTTP probe, has an absolute path.
macro_rules! absolute_path {
    ($p:literal) => {
        concat!(
            "(!has(c.",
            $p,
            ") || !has(c.",
            $p,
            ".httpGet) || (has(c.",
            $p,
            ".httpGet.path) && c.",
            $p,
            ".httpGet.path.startsWith('/')))"
        )
    };
}

pub const EXPORTED: &[Exported] = &[
    Exported {
        code: &missing_probe::NO_READINESS,
        expression: unless_suppressed!(
            "missing-probe",
            "no-readiness",
            "variables.pod.containers.all(c, has(c.readinessProbe))"
        ),
        message: "every container needs a readinessProbe (shipshape: missing-probe/no-readiness)",
    },
    Exported {
        code: &missing_probe::NO_LIVENESS,
        expression: unless_suppressed!(
            "missing-probe",
            "no-liveness",
            "variables.pod.containers.all(c, has(c.livenessProbe))"
        ),
        message: "every container needs a livenessProbe (shipshape: missing-probe/no-liveness)",
    },
    Exported {
        code: &missing_probe::NO_HANDLER,
        expression: unless_suppressed!(
            "missing-probe",
            "no-handler",
            concat!(
                "variables.pod.containers.all(c, ",
                has_handler!("readinessProbe"),
                " && ",
                has_handler!("livenessProbe"),
                ")"
            )
        ),
        message: "every probe needs an httpGet, tcpSocket, grpc or exec handler (shipshape: missing-probe/no-handler)",
    },
    Exported {
        code: &missing_probe::HTTP_PATH,
        expression: unless_suppressed!(
            "missing-probe",
            "http-path",
            concat!(
                "variables.pod.containers.all(c, ",
                absolute_path!("readinessProbe"),
                " && ",
                absolute_path!("livenessProbe"),
                ")"
            )
        ),
        message: "an HTTP probe needs an absolute path (shipshape: missing-probe/http-path)",
    },
    Exported {
        code: &resource_overcommit::MISSING_REQUESTS,
        expression: unless_suppressed!(
            "resource-overcommit",
            "missing-requests",
            "variables.pod.containers.all(c, ['cpu', 'memory'].all(r, has(c.resources) && ((has(c.resources.requests) && r in c.resources.requests) || (has(c.resources.limits) && r in c.resources.limits))))"
        ),
        message: "every container needs CPU and memory requests (or limits) so the namespace's totals are known (shipshape: resource-overcommit/missing-requests)",
    },
    Exported {
        code: &resource_overcommit::REQUEST_ABOVE_LIMIT,
        expression: unless_suppressed!(
            "resource-overcommit",
            "request-above-limit",
            "variables.pod.containers.all(c, !has(c.resources) || !has(c.resources.requests) || !has(c.resources.limits) || ['cpu', 'memory'].all(r, !(r in c.resources.requests) || !(r in c.resources.limits) || quantity(c.resources.requests[r]).compareTo(quantity(c.resources.limits[r])) <= 0))"
        ),
        message: "a container requests more CPU or memory than its limit (shipshape: resource-overcommit/request-above-limit)",
    },
    Exported {
        code: &image_pinning::UNPINNED,
        expression: unless_suppressed!(
            "image-pinning",
            "unpinned",
            "variables.containers.all(c, c.image.contains('@') || (c.image.matches(':[^/:]+$') && !c.image.endsWith(':latest')))"
        ),
        message: "every container image needs a release tag other than latest, or a digest (shipshape: image-pinning/unpinned)",
    },
    Exported {
        code: &literal_secret::codes::PRIVATE_KEY,
        expression: unless_suppressed!(
            "literal-secret",
            "private-key",
            "variables.containers.all(c, !has(c.env) || c.env.all(e, !has(e.value) || !e.value.matches('-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----|-----BEGIN PGP PRIVATE KEY BLOCK-----')))"
        ),
        message: "a private key is written into an environment variable; mount it from a Secret (shipshape: literal-secret/private-key)",
    },
];

/// The validations an environment's API server enforces: those whose code the environment's
/// lint configuration keeps at error (a condition `check` lets pass must pass admission too).
pub fn enforced(env: &ResolvedEnvironment) -> impl Iterator<Item = &'static Exported> + '_ {
    EXPORTED.iter().filter(|e| {
        crate::lint::effective_severity(&env.settings.rule_levels, e.code) == Some(Severity::Error)
    })
}

/// The policy's and the binding's name: cluster-scoped, so named after the namespace, which is
/// unique in the cluster.
pub fn name(env: &ResolvedEnvironment) -> String {
    format!("shipshape-{}", env.namespace)
}

fn strings(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|s| Value::from(*s)).collect())
}

/// The platform's namespace, by the label the API server sets on every namespace.
fn namespace_selector(env: &ResolvedEnvironment) -> Value {
    object([(
        "namespaceSelector",
        object([(
            "matchLabels",
            object([(
                crate::vocabulary::label::NAMESPACE_NAME,
                Value::from(env.namespace.as_str()),
            )]),
        )]),
    )])
}

pub fn policy(env: &ResolvedEnvironment) -> Value {
    let rule = |groups: &[&str], resources: &[&str]| {
        object([
            ("apiGroups", strings(groups)),
            ("apiVersions", strings(&["v1"])),
            ("operations", strings(&["CREATE", "UPDATE"])),
            ("resources", strings(resources)),
        ])
    };
    let mut constraints = namespace_selector(env);
    if let Value::Object(m) = &mut constraints {
        m.insert(
            "resourceRules".into(),
            Value::Array(vec![
                rule(&["apps"], &["deployments", "statefulsets", "daemonsets"]),
                rule(&["batch"], &["jobs", "cronjobs"]),
            ]),
        );
    }
    let variable = |name: &str, expression: &str| {
        object([
            ("name", Value::from(name)),
            ("expression", Value::from(expression)),
        ])
    };
    let validations = enforced(env)
        .map(|e| {
            object([
                ("expression", Value::from(e.expression)),
                ("message", Value::from(e.message)),
                ("reason", Value::from("Invalid")),
            ])
        })
        .collect();
    object([
        ("apiVersion", Value::from("admissionregistration.k8s.io/v1")),
        ("kind", Value::from("ValidatingAdmissionPolicy")),
        ("metadata", metadata(env, &name(env), false)),
        (
            "spec",
            object([
                ("failurePolicy", Value::from("Fail")),
                ("matchConstraints", constraints),
                (
                    "variables",
                    Value::Array(vec![
                        variable("pod", POD_VARIABLE),
                        variable("containers", CONTAINERS_VARIABLE),
                    ]),
                ),
                ("validations", Value::Array(validations)),
            ]),
        ),
    ])
}

pub fn binding(env: &ResolvedEnvironment, action: AdmissionAction) -> Value {
    object([
        ("apiVersion", Value::from("admissionregistration.k8s.io/v1")),
        ("kind", Value::from("ValidatingAdmissionPolicyBinding")),
        ("metadata", metadata(env, &name(env), false)),
        (
            "spec",
            object([
                ("policyName", Value::from(name(env))),
                ("validationActions", strings(&[action.as_str()])),
                ("matchResources", namespace_selector(env)),
            ]),
        ),
    ])
}
