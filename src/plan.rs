//! The rollout plan of an environment, computed from the resolved catalogue: phases in order, the
//! sync waves and batches inside each, what each phase requests, and whether the cumulative
//! requests stay inside the phase budgets and the utilisation ceiling.
//!
//! The figures follow the `resource-overcommit` rule: requests x minimum replicas (the HPA
//! minimum where an HPA scales the service), and the HPA worst case at maximum replicas. The plan
//! is computed from [`ResolvedEnvironment`] alone, so it is pure and the formats below are views
//! of one [`Plan`].

pub mod json;
pub mod markdown;
pub mod text;

use crate::catalogue::model::Rollout;
use crate::catalogue::quantity::{format_cpu, format_memory, format_memory_human};
use crate::catalogue::resolve::Amount;
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

/// Allowed rounding slack when comparing a share with a limit, the same as the lint rule's, so
/// the plan and `resource-overcommit` never disagree on a figure that sits exactly on a limit.
const EPSILON: f64 = 1e-9;

/// CPU in millicores and memory in bytes. Saturating, because a catalogue is free to ask for
/// absurd amounts and the plan must still print rather than overflow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub cpu: u64,
    pub memory: u64,
}

impl Usage {
    fn plus(self, other: Usage) -> Usage {
        Usage {
            cpu: self.cpu.saturating_add(other.cpu),
            memory: self.memory.saturating_add(other.memory),
        }
    }

    /// A per-pod amount times `n` pods; a missing quantity counts as zero (reported separately).
    fn of(amount: Amount, n: u32) -> Usage {
        Usage {
            cpu: amount.cpu.unwrap_or(0).saturating_mul(u64::from(n)),
            memory: amount.memory.unwrap_or(0).saturating_mul(u64::from(n)),
        }
    }
}

/// A usage as percentages of capacity; `None` where the capacity is unknown or zero.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Share {
    pub cpu: Option<f64>,
    pub memory: Option<f64>,
}

impl Share {
    fn of(used: Usage, capacity: Amount) -> Share {
        Share {
            cpu: percent(used.cpu, capacity.cpu),
            memory: percent(used.memory, capacity.memory),
        }
    }
}

fn percent(used: u64, capacity: Option<u64>) -> Option<f64> {
    match capacity {
        Some(cap) if cap > 0 => Some(used as f64 * 100.0 / cap as f64),
        _ => None,
    }
}

/// One share held against one limit (a budget, the ceiling, or the full capacity).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Check {
    pub limit: f64,
    pub used: f64,
    pub ok: bool,
}

impl Check {
    fn new(used: Option<f64>, limit: Option<f64>) -> Option<Check> {
        let (used, limit) = (used?, limit?);
        Some(Check {
            limit,
            used,
            ok: used <= limit + EPSILON,
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
    fn new(share: Share, cpu_limit: Option<f64>, memory_limit: Option<f64>) -> Checks {
        Checks {
            cpu: Check::new(share.cpu, cpu_limit),
            memory: Check::new(share.memory, memory_limit),
        }
    }

    pub fn ok(&self) -> bool {
        self.cpu.is_none_or(|c| c.ok) && self.memory.is_none_or(|c| c.ok)
    }

    pub fn is_empty(&self) -> bool {
        self.cpu.is_none() && self.memory.is_none()
    }
}

#[derive(Debug, Clone)]
pub struct ServicePlan {
    pub name: String,
    pub batch: Option<String>,
    pub wave: i64,
    pub replicas_min: u32,
    /// The most replicas the service can run: the HPA maximum, else the minimum.
    pub replicas_max: u32,
    /// Whether an HPA scales the service (the renderer emits one when max > min).
    pub hpa: bool,
    /// Per pod, as resolved; `None` where the catalogue leaves a quantity out.
    pub requests: Amount,
    pub limits: Amount,
}

/// Services that start together: one sync wave of a phase.
#[derive(Debug, Clone)]
pub struct Step {
    pub wave: i64,
    /// The batch when every service of the step names the same one.
    pub batch: Option<String>,
    pub services: Vec<String>,
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
    /// Requests of this phase alone at maximum replicas.
    pub requests_at_max: Usage,
    /// Requests of this phase and all before it.
    pub cumulative: Usage,
    pub cumulative_share: Share,
    pub cumulative_at_max: Usage,
    pub cumulative_at_max_share: Share,
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

/// A quantity the catalogue leaves out, so totals count it as zero.
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
    /// Requests against capacity x maxUtilisation.
    pub ceiling: Checks,
    /// Requests at HPA maximum against the full capacity.
    pub hpa_worst_case: Checks,
    pub missing_requests: Vec<Missing>,
    pub missing_limits: Vec<Missing>,
}

#[derive(Debug, Clone)]
pub struct EnvPlan {
    pub name: String,
    pub namespace: String,
    pub capacity: Amount,
    /// Percent of capacity that requests may use.
    pub max_utilisation: f64,
    pub phases: Vec<PhasePlan>,
    pub totals: Totals,
}

impl EnvPlan {
    /// Every budget, the ceiling and the HPA worst case hold.
    pub fn ok(&self) -> bool {
        self.phases.iter().all(|p| p.budget.ok())
            && self.totals.ceiling.ok()
            && self.totals.hpa_worst_case.ok()
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

pub fn plan_environment(env: &ResolvedEnvironment) -> EnvPlan {
    let mut phases = Vec::with_capacity(env.phases.len());
    let mut cumulative = Usage::default();
    let mut cumulative_at_max = Usage::default();
    for (pi, phase) in env.phases.iter().enumerate() {
        let mut services: Vec<ServicePlan> = env
            .services
            .iter()
            .filter(|s| s.phase == pi)
            .map(|s| {
                let hpa = s.replicas_max.is_some_and(|max| max > s.replicas_min);
                ServicePlan {
                    name: s.name.clone(),
                    batch: s.batch.clone(),
                    wave: s.wave,
                    replicas_min: s.replicas_min,
                    replicas_max: if hpa {
                        s.replicas_max.unwrap_or(s.replicas_min)
                    } else {
                        s.replicas_min
                    },
                    hpa,
                    requests: s.requests,
                    limits: s.limits,
                }
            })
            .collect();
        // Stable, so services of one wave keep the catalogue's order.
        services.sort_by_key(|s| s.wave);
        let mut requests = Usage::default();
        let mut limits = Usage::default();
        let mut requests_at_max = Usage::default();
        for s in &services {
            requests = requests.plus(Usage::of(s.requests, s.replicas_min));
            limits = limits.plus(Usage::of(s.limits, s.replicas_min));
            requests_at_max = requests_at_max.plus(Usage::of(s.requests, s.replicas_max));
        }
        cumulative = cumulative.plus(requests);
        cumulative_at_max = cumulative_at_max.plus(requests_at_max);
        let cumulative_share = Share::of(cumulative, env.capacity);
        phases.push(PhasePlan {
            number: pi + 1,
            name: phase.name.clone(),
            rollout: phase.rollout,
            steps: steps(&services),
            budget: Checks::new(cumulative_share, phase.cpu_budget, phase.memory_budget),
            services,
            requests,
            limits,
            requests_at_max,
            cumulative,
            cumulative_share,
            cumulative_at_max,
            cumulative_at_max_share: Share::of(cumulative_at_max, env.capacity),
        });
    }
    let totals = totals(env, &phases);
    EnvPlan {
        name: env.name.clone(),
        namespace: env.namespace.clone(),
        capacity: env.capacity,
        max_utilisation: env.max_utilisation,
        phases,
        totals,
    }
}

fn steps(services: &[ServicePlan]) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for s in services {
        match steps.last_mut() {
            Some(step) if step.wave == s.wave => {
                if step.batch != s.batch {
                    step.batch = None;
                }
                step.services.push(s.name.clone());
            }
            _ => steps.push(Step {
                wave: s.wave,
                batch: s.batch.clone(),
                services: vec![s.name.clone()],
            }),
        }
    }
    steps
}

fn totals(env: &ResolvedEnvironment, phases: &[PhasePlan]) -> Totals {
    let all = || phases.iter().flat_map(|p| p.services.iter());
    let sum = |f: &dyn Fn(&PhasePlan) -> Usage| {
        phases
            .iter()
            .fold(Usage::default(), |acc, p| acc.plus(f(p)))
    };
    let requests = sum(&|p| p.requests);
    let limits = sum(&|p| p.limits);
    let requests_at_max = sum(&|p| p.requests_at_max);
    let requests_share = Share::of(requests, env.capacity);
    let requests_at_max_share = Share::of(requests_at_max, env.capacity);
    let missing = |pick: fn(&ServicePlan) -> Amount| -> Vec<Missing> {
        let mut out = Vec::new();
        for s in all() {
            let amount = pick(s);
            if amount.cpu.is_none() {
                out.push(Missing {
                    service: s.name.clone(),
                    resource: "cpu",
                });
            }
            if amount.memory.is_none() {
                out.push(Missing {
                    service: s.name.clone(),
                    resource: "memory",
                });
            }
        }
        out
    };
    Totals {
        services: all().count(),
        pods_at_min: all().map(|s| u64::from(s.replicas_min)).sum(),
        pods_at_max: all().map(|s| u64::from(s.replicas_max)).sum(),
        requests,
        requests_share,
        limits,
        limits_share: Share::of(limits, env.capacity),
        requests_at_max,
        requests_at_max_share,
        ceiling: Checks::new(
            requests_share,
            Some(env.max_utilisation),
            Some(env.max_utilisation),
        ),
        hpa_worst_case: Checks::new(requests_at_max_share, Some(100.0), Some(100.0)),
        missing_requests: missing(|s| s.requests),
        missing_limits: missing(|s| s.limits),
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

pub(crate) fn cpu(millis: u64) -> String {
    format_cpu(millis)
}

/// One decimal, the way the lint rule prints shares.
pub(crate) fn pct(p: Option<f64>) -> String {
    match p {
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
    fn shares_and_checks() {
        assert_eq!(percent(1, Some(0)), None);
        assert_eq!(percent(4, Some(8)), Some(50.0));
        let c = Check::new(Some(80.0), Some(80.0)).map(|c| c.ok);
        assert_eq!(c, Some(true));
        let c = Check::new(Some(80.01), Some(80.0)).map(|c| c.ok);
        assert_eq!(c, Some(false));
        assert_eq!(Check::new(None, Some(80.0)), None);
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
