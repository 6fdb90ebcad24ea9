//! What each service's rendered workload says of its size, after patches: the replicas (and the
//! HPA that scales it), what one pod asks for, and how a rolling update surges. A patch may set
//! any of them, and `resource-overcommit` and the namespace's ResourceQuota count what is
//! rendered, so `plan` reads the same documents, through the same readers
//! ([`Replicas::of`], [`PodResources::of`], [`Surge::of`]), rather than the catalogue.

use super::ledger::{PodResources, Replicas, Surge};
use crate::catalogue::model::Workload;
use crate::catalogue::{ResolvedEnvironment, ResolvedService};
use crate::manifest::containers;
use crate::manifest::{at, pod_template, Manifest};
use serde_json::Value;
use std::collections::HashMap;

/// One service's workload, as rendered and patched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sizing {
    pub replicas: Replicas,
    /// Per pod, without an injected sidecar (the environment's [`super::Policy`] adds it).
    pub pod: PodResources,
    pub surge: Surge,
}

impl Sizing {
    /// What the built-in workload says before any patch: the catalogue as resolved. The
    /// renderer emits an HPA only where the maximum is above the minimum.
    pub fn resolved(svc: &ResolvedService) -> Sizing {
        let min = u64::from(svc.replicas_min);
        let max = svc.replicas_max.map(u64::from).filter(|&max| max > min);
        Sizing {
            replicas: Replicas {
                min,
                max: max.unwrap_or(min),
                hpa: max.is_some(),
            },
            pod: PodResources::single(svc.requests, svc.limits),
            surge: match svc.workload {
                Workload::Deployment => Surge::Default,
                Workload::StatefulSet => Surge::Never,
            },
        }
    }
}

/// Every service's [`Sizing`] in one environment, by service name.
#[derive(Debug, Clone, Default)]
pub struct Workloads(HashMap<String, Sizing>);

impl Workloads {
    /// The sizing of `env`'s services, from their rendered workloads: the Deployment or
    /// StatefulSet named after the service and rendered for it, and the HorizontalPodAutoscaler
    /// in its namespace that targets it, the way the lint index pairs them (the last one, where
    /// two claim a workload: `resource-overcommit` counts that one too).
    pub fn rendered<'m>(env: &'m ResolvedEnvironment, manifests: &'m [Manifest]) -> Workloads {
        let namespace = |m: &'m Manifest| m.namespace().unwrap_or(&env.namespace);
        let mut hpas: HashMap<(&str, &str, &str), &Value> = HashMap::new();
        let mut own: Vec<(&str, &Manifest, &str)> = Vec::with_capacity(env.services.len());
        for m in manifests {
            match m.kind() {
                "HorizontalPodAutoscaler" => {
                    let target = |key| {
                        at(&m.value, &["spec", "scaleTargetRef", key])
                            .and_then(Value::as_str)
                            .unwrap_or("")
                    };
                    hpas.insert((namespace(m), target("kind"), target("name")), &m.value);
                }
                kind @ ("Deployment" | "StatefulSet") => {
                    if let Some(service) = m.service().filter(|&s| s == m.name()) {
                        own.push((service, m, kind));
                    }
                }
                _ => {}
            }
        }
        let mut sizings = HashMap::with_capacity(own.len());
        for (service, m, kind) in own {
            if sizings.contains_key(service) {
                continue;
            }
            let hpa = hpas.get(&(namespace(m), kind, m.name())).copied();
            let replicas = Replicas::of(&m.value, hpa);
            let pod = pod_template(&m.value, kind)
                .map(|p| PodResources::of(&containers::resources(p.spec)))
                .unwrap_or_default();
            let sizing = Sizing {
                replicas,
                pod,
                surge: Surge::of(&m.value, kind),
            };
            sizings.insert(service.to_owned(), sizing);
        }
        Workloads(sizings)
    }

    /// The sizing of `svc`: its rendered workload's, else what the built-in one would say.
    pub fn of(&self, svc: &ResolvedService) -> Sizing {
        self.0
            .get(&svc.name)
            .cloned()
            .unwrap_or_else(|| Sizing::resolved(svc))
    }
}
