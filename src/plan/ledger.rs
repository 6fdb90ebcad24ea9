//! The capacity ledger: what an environment allows (capacity, the requests ceiling, the limits
//! policy, the target) and the verdicts on what its workloads add up to. `shipshape plan` and the
//! `resource-overcommit` rule both judge through [`judge`], so they cannot disagree on a figure.
//! Every verdict is decided in whole millicores and bytes ([`Check::exact`]); percentages are
//! what the verdicts print, never what they compare. Both read a workload's replicas, its HPA's
//! bounds, what its pods ask for and how it surges through the same readers ([`Replicas::of`],
//! [`PodResources::of`], [`Surge::of`]), so a patch to any of them moves them alike.
//!
//! Requests decide whether pods fit: the scheduler places a pod only where its requests fit. Limits
//! decide what happens once they run: memory is incompressible, so limits above capacity mean the
//! kernel OOM-kills pods when they use what they were allowed; CPU is compressible, so CPU limits
//! above capacity only mean throttling. Hence the default: memory limits over capacity are a
//! warning, CPU limits are not judged until the environment says how far they may go.

use crate::catalogue::model::ClusterSpec;
use crate::catalogue::resolve::Amount;
use crate::catalogue::ResolvedEnvironment;
use crate::diagnostic::Severity;
use crate::manifest::containers::Resources;
use crate::manifest::{at, Field};
use serde_json::Value;

/// Memory limits may reach the whole capacity when the environment sets no policy.
pub const DEFAULT_MEMORY_LIMITS: f64 = 100.0;

/// CPU in millicores and memory in bytes. Saturating, because a catalogue or a manifest is free
/// to ask for absurd amounts and the figures must still print rather than overflow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub cpu: u64,
    pub memory: u64,
}

impl Usage {
    pub fn plus(self, other: Usage) -> Usage {
        Usage {
            cpu: self.cpu.saturating_add(other.cpu),
            memory: self.memory.saturating_add(other.memory),
        }
    }

    pub fn times(self, n: u64) -> Usage {
        Usage {
            cpu: self.cpu.saturating_mul(n),
            memory: self.memory.saturating_mul(n),
        }
    }

    /// A per-pod amount times `n` pods; a missing quantity counts as zero (reported separately).
    pub fn of(amount: Amount, n: u32) -> Usage {
        Usage {
            cpu: amount.cpu.unwrap_or(0),
            memory: amount.memory.unwrap_or(0),
        }
        .times(u64::from(n))
    }
}

/// A usage as percentages of capacity; `None` where the capacity is unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Share {
    pub cpu: Option<f64>,
    pub memory: Option<f64>,
}

impl Share {
    pub fn of(used: Usage, capacity: Amount) -> Share {
        Share {
            cpu: percent(used.cpu, capacity.cpu),
            memory: percent(used.memory, capacity.memory),
        }
    }
}

/// `None` where the capacity is unknown. Nothing fits a zero capacity: any use of it is infinitely
/// over, so a check against it fails rather than passing unseen.
pub fn percent(used: u64, capacity: Option<u64>) -> Option<f64> {
    match capacity? {
        0 if used == 0 => Some(0.0),
        0 => Some(f64::INFINITY),
        cap => Some(used as f64 * 100.0 / cap as f64),
    }
}

/// The amount a share of `capacity` allows, rounded down to a whole millicore or byte: exactly
/// what a ResourceQuota rendered from the same share holds the namespace to (`crate::enforce`).
/// The share is taken to a millionth of a percent, so the arithmetic is exact in integers.
pub fn allowed(capacity: u64, percent: f64) -> u64 {
    if !percent.is_finite() || percent <= 0.0 {
        return 0;
    }
    let millionths = (percent * 1e6).round().min(u64::MAX as f64) as u128;
    let amount = u128::from(capacity) * millionths / 100_000_000;
    u64::try_from(amount).unwrap_or(u64::MAX)
}

/// Pods a rolling update adds above the replica count: Kubernetes' default `maxSurge` of 25%,
/// rounded up, for a Deployment. A StatefulSet replaces its pods one at a time and adds none.
pub fn surge_pods(deployment: bool, replicas: u64) -> u64 {
    if deployment {
        replicas.div_ceil(4)
    } else {
        0
    }
}

/// How a workload's rolling update goes beyond its replica count, as its manifest says: what
/// `plan` reads from the rendered (and patched) workload and `resource-overcommit` from any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surge {
    /// No pod above the replicas: a StatefulSet (one pod replaced at a time), a `Recreate`
    /// Deployment (the old pods stop first), any other kind.
    Never,
    /// A Deployment without `maxSurge`: Kubernetes' 25%, rounded up.
    Default,
    /// `maxSurge` as a count of pods.
    Pods(u64),
    /// `maxSurge` as a percentage of the replicas, rounded up.
    Percent(u64),
}

impl Surge {
    /// Reads `spec.strategy` of a workload of `kind`. A `maxSurge` Kubernetes would not accept
    /// (a negative count, a string that is no percentage) counts as the default: the schema
    /// check reports it, and the rollout is judged as if it were absent.
    pub fn of(workload: &Value, kind: &str) -> Surge {
        if kind != "Deployment" {
            return Surge::Never;
        }
        let strategy = at(workload, &["spec", "strategy"]);
        if strategy
            .and_then(|s| s.field("type"))
            .and_then(Value::as_str)
            == Some("Recreate")
        {
            return Surge::Never;
        }
        match strategy
            .and_then(|s| s.field("rollingUpdate"))
            .and_then(|r| r.field("maxSurge"))
        {
            Some(Value::Number(n)) => n.as_u64().map_or(Surge::Default, Surge::Pods),
            Some(Value::String(p)) => p
                .strip_suffix('%')
                .and_then(|p| p.parse::<u64>().ok())
                .map_or(Surge::Default, Surge::Percent),
            _ => Surge::Default,
        }
    }

    /// Pods a rolling update of `replicas` adds.
    pub fn pods(self, replicas: u64) -> u64 {
        match self {
            Surge::Never => 0,
            Surge::Default => surge_pods(true, replicas),
            Surge::Pods(n) => n,
            Surge::Percent(p) => replicas.saturating_mul(p).div_ceil(100),
        }
    }
}

/// How many pods a workload runs, as its manifests say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replicas {
    /// What it runs at rest: the HPA minimum where an HPA scales it, else `spec.replicas`.
    pub min: u64,
    /// The most it runs: the HPA maximum, else the minimum.
    pub max: u64,
    /// Whether an HPA scales it.
    pub hpa: bool,
}

impl Replicas {
    /// `spec.replicas` of `workload` (Kubernetes' 1 where unset), or the range of the HPA that
    /// scales it ([`hpa_range`]): an HPA owns the count, whatever the workload writes.
    pub fn of(workload: &Value, hpa: Option<&Value>) -> Replicas {
        match hpa {
            Some(hpa) => {
                let (min, max) = hpa_range(hpa);
                Replicas {
                    min,
                    max,
                    hpa: true,
                }
            }
            None => {
                let replicas = at(workload, &["spec", "replicas"])
                    .and_then(Value::as_u64)
                    .unwrap_or(1);
                Replicas {
                    min: replicas,
                    max: replicas,
                    hpa: false,
                }
            }
        }
    }
}

/// An HPA's `minReplicas` (Kubernetes' 1 where unset) and `maxReplicas` (never below the
/// minimum: the HPA does not scale under it).
pub fn hpa_range(hpa: &Value) -> (u64, u64) {
    let replicas = |key| at(hpa, &["spec", key]).and_then(Value::as_u64);
    let min = replicas("minReplicas").unwrap_or(1);
    (min, replicas("maxReplicas").unwrap_or(min).max(min))
}

/// What one pod asks for, its containers summed as the ledger counts each
/// ([`crate::manifest::containers::Resources::counted`]); an injected sidecar is the
/// environment's to add ([`Policy::pod_requests`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodResources {
    /// `None` for a resource no container writes.
    pub requests: Amount,
    pub limits: Amount,
    /// `cpu` and `memory`, where some container writes neither a request nor a limit for it:
    /// it counts as zero, so the totals are short by an unknown amount.
    pub missing_requests: Vec<&'static str>,
    /// Where some container writes no limit: it counts as zero.
    pub missing_limits: Vec<&'static str>,
}

impl PodResources {
    /// A pod whose containers have `resources`
    /// ([`crate::manifest::containers::resources`], or each [`Container`]'s).
    ///
    /// [`Container`]: crate::manifest::containers::Container
    pub fn of<'r, I>(resources: I) -> PodResources
    where
        I: IntoIterator<Item = &'r Resources>,
        I::IntoIter: Clone,
    {
        let resources = resources.into_iter();
        let mut pod = PodResources::default();
        for key in ["cpu", "memory"] {
            let (mut requests, mut limits) = (None, None);
            let (mut missing_request, mut missing_limit) = (false, false);
            for r in resources.clone() {
                let counted = r.counted(key);
                add(&mut requests, counted.request, &mut missing_request);
                add(&mut limits, counted.limit, &mut missing_limit);
            }
            pod.set(key, requests, limits, missing_request, missing_limit);
        }
        pod
    }

    /// A pod of one container with `requests` and `limits` (`None`: not written), as the
    /// catalogue resolves a service's.
    pub fn single(requests: Amount, limits: Amount) -> PodResources {
        let mut pod = PodResources::default();
        for (key, request, limit) in [
            ("cpu", requests.cpu, limits.cpu),
            ("memory", requests.memory, limits.memory),
        ] {
            pod.set(key, request, limit, request.is_none(), limit.is_none());
        }
        pod
    }

    fn set(
        &mut self,
        key: &'static str,
        request: Option<u64>,
        limit: Option<u64>,
        missing_request: bool,
        missing_limit: bool,
    ) {
        let (r, l) = if key == "cpu" {
            (&mut self.requests.cpu, &mut self.limits.cpu)
        } else {
            (&mut self.requests.memory, &mut self.limits.memory)
        };
        (*r, *l) = (request, limit);
        if missing_request {
            self.missing_requests.push(key);
        }
        if missing_limit {
            self.missing_limits.push(key);
        }
    }
}

/// Adds one container's amount to a pod's sum, noting where the container has none.
fn add(sum: &mut Option<u64>, amount: Option<u64>, missing: &mut bool) {
    match amount {
        Some(x) => *sum = Some(sum.unwrap_or(0).saturating_add(x)),
        None => *missing = true,
    }
}

/// Whether a wave's rollout fits: the platform's steady requests plus the wave's surge pods,
/// against [`Policy::rollout_limit`].
pub fn rollout(steady: Usage, surge: Usage, policy: &Policy) -> Checks {
    let limit = Some(policy.rollout_limit());
    Checks::exact(steady.plus(surge), policy.capacity, limit, limit)
}

/// One amount held against a share of capacity (a budget, the ceiling, the capacity, the limits
/// policy or the target): `limit` and `used` are percentages to print, `ok` the whole-unit
/// verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Check {
    pub limit: f64,
    pub used: f64,
    pub ok: bool,
}

impl Check {
    /// An amount against a share of a known capacity, decided in whole units (see [`allowed`]):
    /// the verdict the API server's quota admission gives, to the byte.
    pub fn exact(used: u64, capacity: Option<u64>, limit: Option<f64>) -> Option<Check> {
        let (capacity, limit) = (capacity?, limit?);
        Some(Check {
            limit,
            used: percent(used, Some(capacity))?,
            ok: used <= allowed(capacity, limit),
        })
    }
}

/// Checks per resource; `None` where there is no limit or the share is unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Checks {
    pub cpu: Option<Check>,
    pub memory: Option<Check>,
}

impl Checks {
    /// Amounts against shares of a capacity, decided in whole units.
    pub fn exact(
        used: Usage,
        capacity: Amount,
        cpu_limit: Option<f64>,
        memory_limit: Option<f64>,
    ) -> Checks {
        Checks {
            cpu: Check::exact(used.cpu, capacity.cpu, cpu_limit),
            memory: Check::exact(used.memory, capacity.memory, memory_limit),
        }
    }

    pub fn ok(&self) -> bool {
        self.cpu.is_none_or(|c| c.ok) && self.memory.is_none_or(|c| c.ok)
    }

    pub fn is_empty(&self) -> bool {
        self.cpu.is_none() && self.memory.is_none()
    }
}

/// What an environment allows, as percentages of its capacity.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Policy {
    pub capacity: Amount,
    /// Share of capacity that requests may use (`cluster.maxUtilisation`, else 100).
    pub max_utilisation: f64,
    /// Share of capacity limits may add up to, as `cluster.limits` sets it.
    pub limits_cpu: Option<f64>,
    pub limits_memory: Option<f64>,
    /// Share of capacity requests should stay under (`cluster.target`).
    pub target_cpu: Option<f64>,
    pub target_memory: Option<f64>,
    /// Requests and limits every pod adds beyond its declared containers (an injected sidecar).
    pub pod_requests: Usage,
    pub pod_limits: Usage,
    /// Whether a ResourceQuota holds the namespace to the ceiling (`enforce.quota`).
    pub quota: bool,
}

impl Policy {
    pub fn of(env: &ResolvedEnvironment) -> Policy {
        env.settings.policy()
    }

    /// From an environment's settings (`crate::catalogue::settings`, the one reader of them).
    pub fn new(
        capacity: Amount,
        max_utilisation: f64,
        cluster: &ClusterSpec,
        pod_overhead: (Amount, Amount),
        quota: bool,
    ) -> Policy {
        Policy {
            capacity,
            max_utilisation,
            limits_cpu: cluster.limits.cpu.map(|p| p.0),
            limits_memory: cluster.limits.memory.map(|p| p.0),
            target_cpu: cluster.target.cpu.map(|p| p.0),
            target_memory: cluster.target.memory.map(|p| p.0),
            pod_requests: Usage::of(pod_overhead.0, 1),
            pod_limits: Usage::of(pod_overhead.1, 1),
            quota,
        }
    }

    /// What a rollout's surge pods must fit under, as a share of capacity: the ceiling where a
    /// quota enforces it (the API server refuses the surge pod), else the whole capacity (the
    /// scheduler cannot place it).
    pub fn rollout_limit(&self) -> f64 {
        if self.quota {
            self.max_utilisation
        } else {
            100.0
        }
    }

    /// How far limits may go: as set, else memory up to the capacity and CPU unjudged.
    pub fn limits_allowed(&self) -> (Option<f64>, Option<f64>) {
        (
            self.limits_cpu,
            Some(self.limits_memory.unwrap_or(DEFAULT_MEMORY_LIMITS)),
        )
    }

    /// A limits policy the environment wrote is a gate; the default only warns.
    pub fn limits_severity(&self, memory: bool) -> Severity {
        let set = if memory {
            self.limits_memory.is_some()
        } else {
            self.limits_cpu.is_some()
        };
        if set {
            Severity::Error
        } else {
            Severity::Warning
        }
    }

    pub fn has_target(&self) -> bool {
        self.target_cpu.is_some() || self.target_memory.is_some()
    }
}

/// What workloads add up to: requests and limits, at minimum and at maximum replicas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Footprint {
    pub requests: Usage,
    pub limits: Usage,
    pub requests_at_max: Usage,
    pub limits_at_max: Usage,
}

impl Footprint {
    /// One workload: per-pod requests and limits, at `min` and `max` replicas.
    pub fn of(requests: Usage, limits: Usage, min: u64, max: u64) -> Footprint {
        Footprint {
            requests: requests.times(min),
            limits: limits.times(min),
            requests_at_max: requests.times(max),
            limits_at_max: limits.times(max),
        }
    }

    pub fn plus(self, other: Footprint) -> Footprint {
        Footprint {
            requests: self.requests.plus(other.requests),
            limits: self.limits.plus(other.limits),
            requests_at_max: self.requests_at_max.plus(other.requests_at_max),
            limits_at_max: self.limits_at_max.plus(other.limits_at_max),
        }
    }
}

/// Every verdict on one environment's footprint.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Verdicts {
    /// Requests against capacity x maxUtilisation (an error when over).
    pub ceiling: Checks,
    /// Requests at HPA maximum against the whole capacity (a warning when over).
    pub hpa_worst_case: Checks,
    /// Limits against the limits policy: over means over-committed.
    pub limits: Checks,
    /// The same at HPA maximum replicas.
    pub limits_at_max: Checks,
    /// Requests against the target (information when missed).
    pub target: Checks,
}

impl Verdicts {
    /// Whether limits exceed the policy, at minimum or at maximum replicas.
    pub fn over_committed(&self) -> bool {
        !self.limits.ok() || !self.limits_at_max.ok()
    }
}

pub fn judge(f: &Footprint, policy: &Policy) -> Verdicts {
    let check = |u: Usage, cpu: Option<f64>, memory: Option<f64>| {
        Checks::exact(u, policy.capacity, cpu, memory)
    };
    let (limits_cpu, limits_memory) = policy.limits_allowed();
    let ceiling = Some(policy.max_utilisation);
    Verdicts {
        ceiling: check(f.requests, ceiling, ceiling),
        hpa_worst_case: check(f.requests_at_max, Some(100.0), Some(100.0)),
        limits: check(f.limits, limits_cpu, limits_memory),
        limits_at_max: check(f.limits_at_max, limits_cpu, limits_memory),
        target: check(f.requests, policy.target_cpu, policy.target_memory),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GI: u64 = 1 << 30;

    fn policy() -> Policy {
        Policy {
            capacity: Amount {
                cpu: Some(16_000),
                memory: Some(8 * GI),
            },
            max_utilisation: 80.0,
            ..Policy::default()
        }
    }

    fn pod(memory: u64) -> Usage {
        Usage { cpu: 1000, memory }
    }

    #[test]
    fn shares_and_checks() {
        assert_eq!(percent(1, None), None);
        assert_eq!(percent(1, Some(0)), Some(f64::INFINITY));
        assert_eq!(
            Check::exact(1, Some(0), Some(100.0)).map(|c| c.ok),
            Some(false)
        );
        assert_eq!(
            Check::exact(0, Some(0), Some(100.0)).map(|c| c.ok),
            Some(true)
        );
        assert_eq!(percent(4, Some(8)), Some(50.0));
        assert_eq!(
            Check::exact(8, Some(10), Some(80.0)),
            Some(Check {
                limit: 80.0,
                used: 80.0,
                ok: true
            })
        );
        assert_eq!(
            Check::exact(8001, Some(10_000), Some(80.0)).map(|c| c.ok),
            Some(false)
        );
        assert_eq!(Check::exact(1, None, Some(80.0)), None);
        assert_eq!(Check::exact(1, Some(10), None), None);
    }

    #[test]
    fn a_surge_is_read_from_the_workload() {
        let deployment = |strategy: Value| serde_json::json!({ "kind": "Deployment", "spec": { "replicas": 4, "strategy": strategy } });
        let surge = |strategy: Value| Surge::of(&deployment(strategy), "Deployment");
        assert_eq!(surge(Value::Null), Surge::Default);
        assert_eq!(surge(Value::Null).pods(4), 1);
        assert_eq!(surge(Value::Null).pods(5), 2);
        assert_eq!(
            surge(serde_json::json!({ "type": "Recreate" })),
            Surge::Never
        );
        let rolling =
            |max: Value| surge(serde_json::json!({ "rollingUpdate": { "maxSurge": max } }));
        assert_eq!(rolling(Value::from(0)).pods(4), 0);
        assert_eq!(rolling(Value::from(3)).pods(4), 3);
        assert_eq!(rolling(Value::from("100%")).pods(4), 4);
        assert_eq!(rolling(Value::from("30%")).pods(4), 2, "1.2 pods round up");
        assert_eq!(rolling(Value::from(-1)), Surge::Default);
        assert_eq!(rolling(Value::from("lots")), Surge::Default);
        assert_eq!(
            rolling(Value::from("1000000000000000000000%")),
            Surge::Default
        );
        assert_eq!(Surge::Percent(u64::MAX).pods(u64::MAX), u64::MAX / 100 + 1);
        assert_eq!(
            Surge::of(&deployment(Value::Null), "StatefulSet"),
            Surge::Never
        );
    }

    #[test]
    fn replicas_are_the_hpa_range_where_an_hpa_scales_the_workload() {
        let workload = serde_json::json!({ "spec": { "replicas": 3 } });
        let hpa = |spec: Value| serde_json::json!({ "spec": spec });
        assert_eq!(
            Replicas::of(&workload, None),
            Replicas {
                min: 3,
                max: 3,
                hpa: false
            }
        );
        assert_eq!(Replicas::of(&serde_json::json!({}), None).min, 1);
        let scaled = hpa(serde_json::json!({ "minReplicas": 2, "maxReplicas": 6 }));
        assert_eq!(
            Replicas::of(&workload, Some(&scaled)),
            Replicas {
                min: 2,
                max: 6,
                hpa: true
            },
            "the HPA owns the count"
        );
        assert_eq!(hpa_range(&hpa(serde_json::json!({}))), (1, 1));
        assert_eq!(
            hpa_range(&hpa(
                serde_json::json!({ "minReplicas": 4, "maxReplicas": 2 })
            )),
            (4, 4)
        );
    }

    #[test]
    fn a_pod_sums_its_containers_and_says_which_leave_a_resource_out() {
        let pod = serde_json::json!({ "containers": [
            { "resources": { "requests": { "cpu": "100m", "memory": "64Mi" }, "limits": { "memory": "128Mi" } } },
            { "resources": { "limits": { "cpu": "50m" } } },
        ]});
        let containers = crate::manifest::containers::read(&pod);
        let counted = PodResources::of(containers.iter().map(|c| &c.resources));
        assert_eq!(
            counted,
            PodResources::of(&crate::manifest::containers::resources(&pod)),
            "read with the containers or on their own, resources count the same"
        );
        assert_eq!(
            counted.requests,
            Amount {
                cpu: Some(150),
                memory: Some(64 << 20)
            }
        );
        assert_eq!(
            counted.limits,
            Amount {
                cpu: Some(50),
                memory: Some(128 << 20)
            }
        );
        assert_eq!(counted.missing_requests, vec!["memory"]);
        assert_eq!(counted.missing_limits, vec!["cpu", "memory"]);
        let resolved = PodResources::single(
            Amount {
                cpu: Some(100),
                memory: None,
            },
            Amount::default(),
        );
        assert_eq!(resolved.missing_requests, vec!["memory"]);
        assert_eq!(resolved.missing_limits, vec!["cpu", "memory"]);
        assert_eq!(PodResources::of(&[]), PodResources::default());
    }

    #[test]
    fn memory_limits_exactly_at_capacity_hold_and_one_byte_more_does_not() {
        let p = policy();
        let at = Footprint::of(pod(GI), pod(2 * GI), 4, 4);
        assert!(!judge(&at, &p).over_committed());
        let over = Footprint::of(pod(GI), pod(2 * GI + 1), 4, 4);
        let v = judge(&over, &p);
        assert!(v.over_committed());
        assert_eq!(p.limits_severity(true), Severity::Warning);
        // CPU is not judged by default: 4 x 1 core of 16 leaves nothing to say either way.
        assert_eq!(v.limits.cpu, None);
    }

    #[test]
    fn the_hpa_worst_case_over_commits_on_its_own() {
        let v = judge(&Footprint::of(pod(GI), pod(GI), 2, 10), &policy());
        assert!(v.limits.ok());
        assert!(!v.limits_at_max.ok());
        assert!(v.over_committed());
    }

    #[test]
    fn a_written_policy_is_an_error_and_may_allow_over_commit() {
        let p = Policy {
            limits_cpu: Some(200.0),
            limits_memory: Some(150.0),
            ..policy()
        };
        let v = judge(&Footprint::of(pod(GI), pod(3 * GI), 4, 4), &p);
        assert!(!v.over_committed(), "12Gi is 150% of 8Gi: allowed");
        assert_eq!(p.limits_severity(true), Severity::Error);
        assert_eq!(p.limits_severity(false), Severity::Error);
        assert_eq!(v.limits.cpu.map(|c| c.ok), Some(true));
    }

    #[test]
    fn the_target_is_judged_on_requests_only_where_set() {
        let p = Policy {
            target_memory: Some(45.0),
            ..policy()
        };
        let v = judge(&Footprint::of(pod(GI), pod(GI), 4, 4), &p);
        assert_eq!(v.target.memory.map(|c| c.ok), Some(false), "50% > 45%");
        assert_eq!(v.target.cpu, None);
        assert!(v.ceiling.ok());
    }

    #[test]
    fn the_ceiling_is_decided_to_the_byte() {
        // 80% of 8Gi is 6871947673.6 bytes: a quota holds 6871947673, and so does the ledger.
        assert_eq!(allowed(8 * GI, 80.0), 6_871_947_673);
        assert_eq!(allowed(16_000, 80.0), 12_800);
        assert_eq!(allowed(16_000, 12.5), 2_000);
        assert_eq!(allowed(0, 80.0), 0);
        assert_eq!(allowed(u64::MAX, 1000.0), u64::MAX);
        let p = policy();
        let at = Footprint::of(
            Usage {
                cpu: 12_800,
                memory: 6_871_947_673,
            },
            Usage::default(),
            1,
            1,
        );
        assert!(judge(&at, &p).ceiling.ok());
        let over = Footprint::of(
            Usage {
                cpu: 12_800,
                memory: 6_871_947_674,
            },
            Usage::default(),
            1,
            1,
        );
        assert!(!judge(&over, &p).ceiling.ok());
        // One byte over a terabyte-sized ceiling is under any float tolerance, not under this.
        let big = Policy {
            capacity: Amount {
                cpu: None,
                memory: Some(1 << 50),
            },
            ..policy()
        };
        let at = allowed(1 << 50, 80.0);
        let one_over = Footprint::of(
            Usage {
                cpu: 0,
                memory: at + 1,
            },
            Usage::default(),
            1,
            1,
        );
        assert!(!judge(&one_over, &big).ceiling.ok());
    }

    #[test]
    fn usage_saturates() {
        let big = Amount {
            cpu: Some(u64::MAX),
            memory: None,
        };
        assert_eq!(
            Usage::of(big, 3),
            Usage {
                cpu: u64::MAX,
                memory: 0
            }
        );
    }
}
