//! The rollout plan of an environment, computed from the resolved catalogue: phases in order, the
//! sync waves and batches inside each, what each phase requests, and whether the cumulative
//! requests stay inside the phase budgets and the utilisation ceiling.
//!
//! The figures follow the `resource-overcommit` rule, through the same [`ledger`]: requests and
//! limits x minimum replicas (the HPA minimum where an HPA scales the service), and the HPA worst
//! case at maximum replicas. The phases, waves and budgets come from [`ResolvedEnvironment`]; each
//! service's replicas, HPA range, per-pod requests and limits and rolling-update surge come from
//! its rendered, patched workload ([`Workloads`]), which is what the rule and the namespace's
//! quota count. The plan is pure, and the formats below are views of one [`Plan`].

pub mod json;
pub mod ledger;
pub mod markdown;
pub mod text;
pub mod workloads;

pub use ledger::{
    Check, Checks, Footprint, PodResources, Policy, Replicas, Share, Surge, Usage, Verdicts,
};
pub use workloads::{Sizing, Workloads};

use crate::catalogue::model::{Rollout, Workload};
use crate::catalogue::quantity::{format_cpu, format_memory, format_memory_human};
use crate::catalogue::ResolvedEnvironment;
use clap::ValueEnum;

/// Output formats of `shipshape plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// Aligned text for a terminal, at most 100 columns.
    Text,
    /// Markdown tables, for a pull request or a docs page.
    Markdown,
    /// A stable JSON document for other tools (see docs/plan-json.md).
    Json,
}

#[derive(Debug, Clone)]
pub struct ServicePlan {
    pub name: String,
    pub batch: Option<String>,
    pub wave: i64,
    /// What the service runs at rest: the HPA minimum where an HPA scales it, else its replicas.
    pub replicas_min: u64,
    /// The most replicas the service can run: the HPA maximum, else the minimum.
    pub replicas_max: u64,
    /// Whether an HPA scales the service (the renderer emits one when max > min).
    pub hpa: bool,
    /// Per pod, as its containers ask, without an injected sidecar.
    pub pod: PodResources,
    /// A Deployment (a rolling update surges) rather than a StatefulSet.
    pub deployment: bool,
    /// How its rolling update surges.
    pub surge: Surge,
}

/// Services that start together: one sync wave of a phase.
#[derive(Debug, Clone)]
pub struct Step {
    pub wave: i64,
    /// The batch when every service of the step names the same one.
    pub batch: Option<String>,
    pub services: Vec<String>,
    /// Pods a rolling update of the wave adds, and their requests (sidecar included).
    pub surge_pods: u64,
    pub surge: Usage,
    /// The whole platform at minimum replicas plus the wave's surge, against the ceiling where a
    /// quota enforces it, else against the capacity.
    pub rollout: Checks,
}

#[derive(Debug, Clone)]
pub struct PhasePlan {
    /// 1-based position in the rollout.
    pub number: usize,
    pub name: String,
    pub rollout: Rollout,
    /// In wave order; a sequential phase has one step per service.
    pub steps: Vec<Step>,
    /// In wave order, then catalogue order.
    pub services: Vec<ServicePlan>,
    /// Requests and limits of this phase alone, x minimum replicas.
    pub requests: Usage,
    pub limits: Usage,
    /// Requests and limits of this phase alone at maximum replicas.
    pub requests_at_max: Usage,
    pub limits_at_max: Usage,
    /// Requests of this phase and all before it.
    pub cumulative: Usage,
    pub cumulative_share: Share,
    pub cumulative_at_max: Usage,
    pub cumulative_at_max_share: Share,
    /// Limits of this phase and all before it, at minimum and at maximum replicas: how far the
    /// rollout has over-committed the cluster once the phase is up.
    pub cumulative_limits: Usage,
    pub cumulative_limits_share: Share,
    pub cumulative_limits_at_max: Usage,
    pub cumulative_limits_at_max_share: Share,
    /// The phase budget held against the cumulative share.
    pub budget: Checks,
}

impl PhasePlan {
    /// Distinct waves of the phase, ascending.
    pub fn waves(&self) -> Vec<i64> {
        let mut waves: Vec<i64> = self.steps.iter().map(|s| s.wave).collect();
        waves.dedup();
        waves
    }

    pub fn has_hpa(&self) -> bool {
        self.services.iter().any(|s| s.hpa)
    }
}

/// A quantity a service's containers leave out, so totals count it as zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub service: String,
    /// `cpu` or `memory`.
    pub resource: &'static str,
}

#[derive(Debug, Clone)]
pub struct Totals {
    pub services: usize,
    pub pods_at_min: u64,
    pub pods_at_max: u64,
    pub requests: Usage,
    pub requests_share: Share,
    pub limits: Usage,
    pub limits_share: Share,
    pub requests_at_max: Usage,
    pub requests_at_max_share: Share,
    pub limits_at_max: Usage,
    pub limits_at_max_share: Share,
    /// Requests against capacity x maxUtilisation, the HPA worst case against capacity, limits
    /// against the limits policy, requests against the target.
    pub verdicts: Verdicts,
    pub missing_requests: Vec<Missing>,
    pub missing_limits: Vec<Missing>,
}

#[derive(Debug, Clone)]
pub struct EnvPlan {
    pub name: String,
    pub namespace: String,
    /// Capacity, the requests ceiling, the limits policy and the target.
    pub policy: Policy,
    pub phases: Vec<PhasePlan>,
    pub totals: Totals,
}

impl EnvPlan {
    /// Every budget, the ceiling and the HPA worst case hold, limits do not over-commit the
    /// cluster beyond the policy, and every wave's rolling update fits. The target is not part
    /// of it: missing it is information.
    pub fn ok(&self) -> bool {
        let v = &self.totals.verdicts;
        self.phases.iter().all(|p| p.budget.ok())
            && v.ceiling.ok()
            && v.hpa_worst_case.ok()
            && !v.over_committed()
            && self.rollout_failures() == 0
    }

    /// Waves whose rolling update does not fit beside the running platform.
    pub fn rollout_failures(&self) -> usize {
        self.phases
            .iter()
            .flat_map(|p| &p.steps)
            .filter(|s| !s.rollout.ok())
            .count()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub environments: Vec<EnvPlan>,
}

impl Plan {
    pub fn new(environments: Vec<EnvPlan>) -> Plan {
        Plan { environments }
    }
}

/// The rollout plan of one environment.
/// One block per environment, separated by a blank line; shared by the text and Markdown forms.
fn join_environments(plan: &Plan, environment: impl Fn(&EnvPlan) -> String) -> String {
    if plan.environments.is_empty() {
        return "No environments to plan.\n".to_owned();
    }
    let blocks: Vec<String> = plan.environments.iter().map(environment).collect();
    blocks.join("\n")
}

/// `workloads`: what the environment's rendered workloads say of each service
/// ([`Workloads::rendered`]); an empty table plans every service from the catalogue.
pub fn plan_environment(env: &ResolvedEnvironment, workloads: &Workloads) -> EnvPlan {
    let policy = Policy::of(env);
    let mut phases = Vec::with_capacity(env.phases.len());
    let mut cumulative = Footprint::default();
    for (pi, phase) in env.phases.iter().enumerate() {
        let mut services: Vec<ServicePlan> = env
            .services
            .iter()
            .filter(|s| s.phase == pi)
            .map(|s| {
                let Sizing {
                    replicas,
                    pod,
                    surge,
                } = workloads.of(s);
                ServicePlan {
                    name: s.name.clone(),
                    batch: s.batch.clone(),
                    wave: s.wave,
                    replicas_min: replicas.min,
                    replicas_max: replicas.max,
                    hpa: replicas.hpa,
                    pod,
                    deployment: s.workload == Workload::Deployment,
                    surge,
                }
            })
            .collect();
        // Stable, so services of one wave keep the catalogue's order.
        services.sort_by_key(|s| s.wave);
        let own = services.iter().fold(Footprint::default(), |acc, s| {
            acc.plus(Footprint::of(
                Usage::of(s.pod.requests, 1).plus(policy.pod_requests),
                Usage::of(s.pod.limits, 1).plus(policy.pod_limits),
                s.replicas_min,
                s.replicas_max,
            ))
        });
        cumulative = cumulative.plus(own);
        let share = |u: Usage| Share::of(u, env.settings.capacity);
        let cumulative_share = share(cumulative.requests);
        phases.push(PhasePlan {
            number: pi + 1,
            name: phase.name.clone(),
            rollout: phase.rollout,
            steps: steps(&services, &policy),
            budget: Checks::exact(
                cumulative.requests,
                env.settings.capacity,
                phase.cpu_budget,
                phase.memory_budget,
            ),
            services,
            requests: own.requests,
            limits: own.limits,
            requests_at_max: own.requests_at_max,
            limits_at_max: own.limits_at_max,
            cumulative: cumulative.requests,
            cumulative_share,
            cumulative_at_max: cumulative.requests_at_max,
            cumulative_at_max_share: share(cumulative.requests_at_max),
            cumulative_limits: cumulative.limits,
            cumulative_limits_share: share(cumulative.limits),
            cumulative_limits_at_max: cumulative.limits_at_max,
            cumulative_limits_at_max_share: share(cumulative.limits_at_max),
        });
    }
    // Rollouts happen with the whole platform running: each wave's surge on top of it all.
    let steady = cumulative.requests;
    for step in phases.iter_mut().flat_map(|p| p.steps.iter_mut()) {
        step.rollout = ledger::rollout(steady, step.surge, &policy);
    }
    let totals = totals(&policy, &phases);
    EnvPlan {
        name: env.name.clone(),
        namespace: env.namespace.clone(),
        policy,
        phases,
        totals,
    }
}

fn steps(services: &[ServicePlan], policy: &Policy) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for s in services {
        let pods = s.surge.pods(s.replicas_min);
        let surge = Usage::of(s.pod.requests, 1)
            .plus(policy.pod_requests)
            .times(pods);
        match steps.last_mut() {
            Some(step) if step.wave == s.wave => {
                if step.batch != s.batch {
                    step.batch = None;
                }
                step.services.push(s.name.clone());
                step.surge_pods += pods;
                step.surge = step.surge.plus(surge);
            }
            _ => steps.push(Step {
                wave: s.wave,
                batch: s.batch.clone(),
                services: vec![s.name.clone()],
                surge_pods: pods,
                surge,
                rollout: Checks::default(),
            }),
        }
    }
    steps
}

fn totals(policy: &Policy, phases: &[PhasePlan]) -> Totals {
    let all = || phases.iter().flat_map(|p| p.services.iter());
    // The last phase's cumulative figures are the environment's.
    let footprint = phases
        .last()
        .map(|p| Footprint {
            requests: p.cumulative,
            limits: p.cumulative_limits,
            requests_at_max: p.cumulative_at_max,
            limits_at_max: p.cumulative_limits_at_max,
        })
        .unwrap_or_default();
    let share = |u: Usage| Share::of(u, policy.capacity);
    let missing = |pick: fn(&PodResources) -> &[&'static str]| -> Vec<Missing> {
        all()
            .flat_map(|s| {
                pick(&s.pod).iter().map(|&resource| Missing {
                    service: s.name.clone(),
                    resource,
                })
            })
            .collect()
    };
    Totals {
        services: all().count(),
        pods_at_min: all().fold(0, |n: u64, s| n.saturating_add(s.replicas_min)),
        pods_at_max: all().fold(0, |n: u64, s| n.saturating_add(s.replicas_max)),
        requests: footprint.requests,
        requests_share: share(footprint.requests),
        limits: footprint.limits,
        limits_share: share(footprint.limits),
        requests_at_max: footprint.requests_at_max,
        requests_at_max_share: share(footprint.requests_at_max),
        limits_at_max: footprint.limits_at_max,
        limits_at_max_share: share(footprint.limits_at_max),
        verdicts: ledger::judge(&footprint, policy),
        missing_requests: missing(|p| &p.missing_requests),
        missing_limits: missing(|p| &p.missing_limits),
    }
}

// ---- helpers shared by the formats ------------------------------------------------------------

/// Memory exactly when a binary suffix divides it into a short number (`3Gi`, `1152Mi`), so the
/// reader can check the arithmetic; rounded (`5.75Gi`) otherwise.
pub(crate) fn mem(bytes: u64) -> String {
    let exact = format_memory(bytes);
    let short = exact.len() <= 7 && exact.ends_with('i');
    if bytes == 0 || short {
        exact
    } else {
        format_memory_human(bytes)
    }
}

/// Whether limits over-commit the cluster, one phrase per resource with its figures and verdict:
/// `memory limits 78.1% of capacity, 95.3% at HPA max: within 100% ✔`.
pub(crate) fn over_commit_phrases(env: &EnvPlan) -> [String; 2] {
    let t = &env.totals;
    let v = &t.verdicts;
    let hpa = t.pods_at_max != t.pods_at_min;
    let phrase = |what: &str,
                  min: Option<f64>,
                  max: Option<f64>,
                  checks: [Option<Check>; 2],
                  set: Option<f64>| {
        let mut out = format!("{what} limits {} of capacity", pct(min));
        if hpa {
            out.push_str(&format!(", {} at HPA max", pct(max)));
        }
        let default = if set.is_some() { "" } else { " (default)" };
        let judged: Vec<Check> = checks.into_iter().flatten().collect();
        match judged.first() {
            Some(c) if judged.iter().all(|c| c.ok) => {
                out.push_str(&format!(": within {}{default} ✔", limit(c.limit)));
            }
            Some(c) => {
                out.push_str(&format!(
                    ": above the {} allowed{default} ✘ OVER",
                    limit(c.limit)
                ));
            }
            None if what == "CPU" && set.is_none() => {
                out.push_str(": not judged (CPU over-commit throttles, it does not kill)");
            }
            None => out.push_str(": capacity unknown"),
        }
        out
    };
    [
        phrase(
            "memory",
            t.limits_share.memory,
            t.limits_at_max_share.memory,
            [v.limits.memory, v.limits_at_max.memory],
            env.policy.limits_memory,
        ),
        phrase(
            "CPU",
            t.limits_share.cpu,
            t.limits_at_max_share.cpu,
            [v.limits.cpu, v.limits_at_max.cpu],
            env.policy.limits_cpu,
        ),
    ]
}

/// Whether limits over-commit the cluster, short enough for a terminal line:
/// `✘ over-committed: memory limits above the 100% allowed (default)`.
pub(crate) fn over_commit_summary(env: &EnvPlan) -> String {
    let v = &env.totals.verdicts;
    let over: Vec<String> = [
        (
            "memory",
            [v.limits.memory, v.limits_at_max.memory],
            env.policy.limits_memory,
        ),
        (
            "CPU",
            [v.limits.cpu, v.limits_at_max.cpu],
            env.policy.limits_cpu,
        ),
    ]
    .into_iter()
    .filter_map(|(what, checks, set)| {
        let c = checks.into_iter().flatten().find(|c| !c.ok)?;
        let default = if set.is_some() { "" } else { " (default)" };
        Some(format!(
            "{what} limits above the {} allowed{default}",
            limit(c.limit)
        ))
    })
    .collect();
    if over.is_empty() {
        "✔ not over-committed: limits fit the policy".to_owned()
    } else {
        format!("✘ over-committed: {}", over.join("; "))
    }
}

/// The target per resource that has one: `memory ≤ 45%: 78.1% ✘ missed`.
pub(crate) fn target_phrases(env: &EnvPlan) -> Vec<String> {
    let target = &env.totals.verdicts.target;
    [("memory", target.memory), ("CPU", target.cpu)]
        .into_iter()
        .filter_map(|(what, check)| {
            let c = check?;
            Some(format!(
                "{what} ≤ {}: {} {}",
                limit(c.limit),
                pct(Some(c.used)),
                if c.ok { "✔ met" } else { "✘ missed" }
            ))
        })
        .collect()
}

pub(crate) fn cpu(millis: u64) -> String {
    format_cpu(millis)
}

/// One decimal, the way the lint rule prints shares.
pub(crate) fn pct(p: Option<f64>) -> String {
    match p {
        Some(p) if p.is_infinite() => "∞%".to_owned(),
        Some(p) => format!("{p:.1}%"),
        None => "?%".to_owned(),
    }
}

/// A limit as written: `80%`, `12.5%`.
pub(crate) fn limit(p: f64) -> String {
    format!("{p}%")
}

pub(crate) fn rollout_name(r: Rollout) -> &'static str {
    match r {
        Rollout::Sequential => "sequential",
        Rollout::Parallel => "parallel",
    }
}

/// `4`, or `0-3` for a run of waves.
pub(crate) fn wave_range(waves: &[i64]) -> String {
    match (waves.first(), waves.last()) {
        (Some(a), Some(b)) if a == b => a.to_string(),
        (Some(a), Some(b)) => format!("{a}-{b}"),
        _ => "-".to_owned(),
    }
}

/// `name`, `name ×2`, or `name ×3-10 (HPA)`.
pub(crate) fn service_label(s: &ServicePlan) -> String {
    if s.hpa {
        format!("{} ×{}-{} (HPA)", s.name, s.replicas_min, s.replicas_max)
    } else if s.replicas_min != 1 {
        format!("{} ×{}", s.name, s.replicas_min)
    } else {
        s.name.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_exact_when_short() {
        assert_eq!(mem(3 << 30), "3Gi");
        assert_eq!(mem(1152 << 20), "1152Mi");
        assert_eq!(mem(6400 << 20), "6400Mi");
        assert_eq!(mem(0), "0");
        assert_eq!(mem(1_000_000_000), "953.67Mi");
    }

    #[test]
    fn wave_ranges() {
        assert_eq!(wave_range(&[]), "-");
        assert_eq!(wave_range(&[4]), "4");
        assert_eq!(wave_range(&[0, 1, 2, 3]), "0-3");
    }
}
