//! The plan as JSON. The shape is documented in docs/plan-json.md and built here field by field,
//! not derived from the structs, so refactoring the plan cannot change it by accident.

use super::{rollout_name, Check, Checks, EnvPlan, Missing, PhasePlan, Plan, Share, Usage};
use crate::catalogue::resolve::Amount;
use serde_json::{json, Value};

/// Bumped on any change that could break a reader (a removed or renamed field, a changed unit).
pub const SCHEMA_VERSION: u32 = 1;

pub fn render(plan: &Plan) -> String {
    let doc = json!({
        "schemaVersion": SCHEMA_VERSION,
        "environments": plan.environments.iter().map(environment).collect::<Vec<_>>(),
    });
    // Serialising a Value built from strings, integers and finite floats cannot fail.
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// Percentages to two decimals, so the text is stable across platforms' float printing; the
/// exact figures are the integers next to them.
fn percent(p: Option<f64>) -> Value {
    match p {
        Some(p) if p.is_finite() => json!((p * 100.0).round() / 100.0),
        _ => Value::Null,
    }
}

fn usage(u: Usage) -> Value {
    json!({ "cpuMillicores": u.cpu, "memoryBytes": u.memory })
}

fn usage_share(u: Usage, s: Share) -> Value {
    json!({
        "cpuMillicores": u.cpu,
        "memoryBytes": u.memory,
        "cpuPercent": percent(s.cpu),
        "memoryPercent": percent(s.memory),
    })
}

fn amount(a: Amount) -> Value {
    json!({ "cpuMillicores": a.cpu, "memoryBytes": a.memory })
}

fn check(c: Option<Check>) -> Value {
    match c {
        Some(c) => json!({
            "limitPercent": c.limit,
            "usedPercent": percent(Some(c.used)),
            "ok": c.ok,
        }),
        None => Value::Null,
    }
}

fn checks(c: &Checks) -> Value {
    json!({ "cpu": check(c.cpu), "memory": check(c.memory) })
}

fn missing(list: &[Missing]) -> Value {
    list.iter()
        .map(|m| json!({ "service": m.service, "resource": m.resource }))
        .collect()
}

fn phase(p: &PhasePlan) -> Value {
    json!({
        "number": p.number,
        "name": p.name,
        "rollout": rollout_name(p.rollout),
        "waves": p.waves(),
        "steps": p.steps.iter().map(|s| json!({
            "wave": s.wave,
            "batch": s.batch,
            "services": s.services,
            "surge": { "pods": s.surge_pods, "requests": usage(s.surge) },
            "rollout": checks(&s.rollout),
        })).collect::<Vec<_>>(),
        "services": p.services.iter().map(|s| json!({
            "name": s.name,
            "batch": s.batch,
            "wave": s.wave,
            "replicas": { "min": s.replicas_min, "max": s.replicas_max, "hpa": s.hpa },
            "requests": amount(s.pod.requests),
            "limits": amount(s.pod.limits),
        })).collect::<Vec<_>>(),
        "requests": usage(p.requests),
        "limits": usage(p.limits),
        "requestsAtMax": usage(p.requests_at_max),
        "limitsAtMax": usage(p.limits_at_max),
        "cumulative": usage_share(p.cumulative, p.cumulative_share),
        "cumulativeAtMax": usage_share(p.cumulative_at_max, p.cumulative_at_max_share),
        "cumulativeLimits": usage_share(p.cumulative_limits, p.cumulative_limits_share),
        "cumulativeLimitsAtMax": usage_share(p.cumulative_limits_at_max, p.cumulative_limits_at_max_share),
        "budget": checks(&p.budget),
        "ok": p.budget.ok(),
    })
}

fn environment(env: &EnvPlan) -> Value {
    let t = &env.totals;
    let v = &t.verdicts;
    let p = &env.policy;
    let (limits_cpu, limits_memory) = p.limits_allowed();
    json!({
        "name": env.name,
        "namespace": env.namespace,
        "capacity": amount(p.capacity),
        "maxUtilisationPercent": p.max_utilisation,
        "limitsPolicy": {
            "cpuPercent": limits_cpu,
            "memoryPercent": limits_memory,
            "cpuSet": p.limits_cpu.is_some(),
            "memorySet": p.limits_memory.is_some(),
        },
        "targetPercent": { "cpu": p.target_cpu, "memory": p.target_memory },
        "phases": env.phases.iter().map(phase).collect::<Vec<_>>(),
        "totals": {
            "services": t.services,
            "podsAtMin": t.pods_at_min,
            "podsAtMax": t.pods_at_max,
            "requests": usage_share(t.requests, t.requests_share),
            "limits": usage_share(t.limits, t.limits_share),
            "requestsAtMax": usage_share(t.requests_at_max, t.requests_at_max_share),
            "limitsAtMax": usage_share(t.limits_at_max, t.limits_at_max_share),
            "ceiling": checks(&v.ceiling),
            "hpaWorstCase": checks(&v.hpa_worst_case),
            "overCommit": checks(&v.limits),
            "overCommitAtMax": checks(&v.limits_at_max),
            "overCommitted": v.over_committed(),
            "target": checks(&v.target),
            "targetMet": v.target.ok(),
            "missingRequests": missing(&t.missing_requests),
            "missingLimits": missing(&t.missing_limits),
        },
        "ok": env.ok(),
    })
}
