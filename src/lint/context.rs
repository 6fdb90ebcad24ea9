//! What rules read: the manifests, their indexes, and what the platform knows beyond them.

use crate::catalogue::ResolvedEnvironment;
use crate::diagnostic::Location;
use crate::lint::index::Index;
use crate::manifest::{Manifest, ManifestOrigin};

/// Cluster capacity and the ceiling on what may be requested of it.
#[derive(Debug, Clone)]
pub struct Capacity {
    /// Millicores.
    pub cpu: Option<u64>,
    /// Bytes.
    pub memory: Option<u64>,
    /// Percent of capacity that requests may use.
    pub max_utilisation: f64,
    pub location: Option<Location>,
}

/// A phase, in rollout order, with its cumulative budgets.
#[derive(Debug, Clone)]
pub struct PhaseInfo {
    pub name: String,
    pub memory_budget: Option<f64>,
    pub cpu_budget: Option<f64>,
    pub location: Option<Location>,
}

pub struct LintContext<'a> {
    pub environment: String,
    pub manifests: &'a [Manifest],
    pub index: Index,
    /// The resolved catalogue when the manifests were rendered by shipshape.
    pub platform: Option<&'a ResolvedEnvironment>,
    pub capacity: Option<Capacity>,
    pub phases: Vec<PhaseInfo>,
}

impl<'a> LintContext<'a> {
    pub fn for_rendered(
        env: &'a ResolvedEnvironment,
        manifests: &'a [Manifest],
    ) -> LintContext<'a> {
        let cluster = env.origin.child("cluster");
        LintContext {
            environment: env.name.clone(),
            manifests,
            index: Index::build(manifests),
            platform: Some(env),
            capacity: Some(Capacity {
                cpu: env.capacity.cpu,
                memory: env.capacity.memory,
                max_utilisation: env.max_utilisation,
                location: Some(cluster.location()),
            }),
            phases: env
                .phases
                .iter()
                .map(|p| PhaseInfo {
                    name: p.name.clone(),
                    memory_budget: p.memory_budget,
                    cpu_budget: p.cpu_budget,
                    location: Some(
                        p.origin
                            .key_at("/budget")
                            .unwrap_or_else(|| p.origin.location()),
                    ),
                })
                .collect(),
        }
    }

    pub fn for_files(
        environment: &str,
        manifests: &'a [Manifest],
        capacity: Option<Capacity>,
        phases: Vec<PhaseInfo>,
    ) -> LintContext<'a> {
        LintContext {
            environment: environment.to_owned(),
            manifests,
            index: Index::build(manifests),
            platform: None,
            capacity,
            phases,
        }
    }

    /// Where to point a finding about `pointer` in manifest `i`: the manifest's own line for a
    /// file shipshape did not write, else the catalogue value (`catalogue_rel`, relative to the
    /// service) that produced it.
    pub fn locate(&self, i: usize, pointer: &str, catalogue_rel: &str) -> Location {
        let m = &self.manifests[i];
        if let Some(l) = m.file_location(pointer) {
            return l;
        }
        let platform = self.platform;
        match (&m.origin, platform) {
            (
                ManifestOrigin::Rendered {
                    service: Some(s), ..
                },
                Some(env),
            ) => match env.service(s) {
                Some(svc) if catalogue_rel.is_empty() => svc.declaration(),
                Some(svc) => svc.locate(catalogue_rel),
                None => env.catalogue_origin.location(),
            },
            (_, Some(env)) => env.origin.location(),
            (_, None) => Location::new(
                &crate::yaml::SourceFile::new("<unknown>", ""),
                Default::default(),
            ),
        }
    }

    /// The service of the catalogue a workload was rendered from, by name.
    pub fn service_of(&self, i: usize) -> Option<&crate::catalogue::ResolvedService> {
        let name = self.manifests[i].service()?;
        self.platform?.service(name)
    }
}
