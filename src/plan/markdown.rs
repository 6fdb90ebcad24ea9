//! The plan as Markdown: one section per environment, with the rollout order and the figures in
//! tables, for a pull request or a docs page.

use super::target_phrases;
use super::text::mark;
use super::{cpu, limit, mem, over_commit_phrases, pct, rollout_name, service_label};
use super::{Checks, EnvPlan, Missing, Plan};

pub fn render(plan: &Plan) -> String {
    super::join_environments(plan, environment)
}

fn environment(env: &EnvPlan) -> String {
    let mut out = Vec::new();
    out.push(format!("## Rollout plan: {}", env.name));
    out.push(String::new());
    out.push(format!(
        "Namespace `{}`. Capacity **{} CPU, {} memory**; requests may use up to **{}** of it. \
         Requests and limits are per phase, x min replicas (the HPA minimum where an HPA scales \
         a service); cumulative figures are after the phase, with their share of capacity.",
        env.namespace,
        env.policy.capacity.cpu.map_or("?".to_owned(), cpu),
        env.policy.capacity.memory.map_or("?".to_owned(), mem),
        limit(env.policy.max_utilisation)
    ));
    out.push(String::new());
    out.push("### Rollout order".to_owned());
    out.push(String::new());
    out.push(
        "| Phase | Rollout | Wave | Batch | Services | Rolling-update surge: peak |".to_owned(),
    );
    out.push("| --- | --- | ---: | --- | --- | --- |".to_owned());
    for p in &env.phases {
        let title = format!("{}. {}", p.number, p.name);
        if p.steps.is_empty() {
            out.push(format!(
                "| {title} | {} | | | *(none)* | |",
                rollout_name(p.rollout)
            ));
        }
        for (i, step) in p.steps.iter().enumerate() {
            let services: Vec<String> = p
                .services
                .iter()
                .filter(|s| step.services.contains(&s.name))
                .map(service_label)
                .collect();
            let (phase_cell, rollout_cell) = if i == 0 {
                (title.as_str(), rollout_name(p.rollout))
            } else {
                ("", "")
            };
            out.push(format!(
                "| {phase_cell} | {rollout_cell} | {} | {} | {} | {} |",
                step.wave,
                step.batch.as_deref().unwrap_or(""),
                services.join(", "),
                surge(env, step)
            ));
        }
    }
    out.push(String::new());
    out.push("### Resources".to_owned());
    out.push(String::new());
    out.push(
        "| Phase | CPU requests | Memory requests | CPU limits | Memory limits | Cumulative CPU \
         | Cumulative memory | Budget | HPA max | HPA max, cumulative | Cumulative limits \
         | Cumulative limits, HPA max |"
            .to_owned(),
    );
    out.push(
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |"
            .to_owned(),
    );
    for p in &env.phases {
        out.push(format!(
            "| {}. {} | {} | {} | {} | {} | {} ({}) | {} ({}) | {} | {}, {} | {}, {} | {}, {} | {}, {} |",
            p.number,
            p.name,
            cpu(p.requests.cpu),
            mem(p.requests.memory),
            cpu(p.limits.cpu),
            mem(p.limits.memory),
            cpu(p.cumulative.cpu),
            pct(p.cumulative_share.cpu),
            mem(p.cumulative.memory),
            pct(p.cumulative_share.memory),
            budget(&p.budget),
            cpu(p.requests_at_max.cpu),
            mem(p.requests_at_max.memory),
            pct(p.cumulative_at_max_share.cpu),
            pct(p.cumulative_at_max_share.memory),
            pct(p.cumulative_limits_share.cpu),
            pct(p.cumulative_limits_share.memory),
            pct(p.cumulative_limits_at_max_share.cpu),
            pct(p.cumulative_limits_at_max_share.memory),
        ));
    }
    let t = &env.totals;
    let v = &t.verdicts;
    out.push(format!(
        "| **Total** | **{}** | **{}** | **{}** | **{}** | **{}** | **{}** | ceiling {}: {} | **{}, {}** | **{}, {}** | **{}, {}** | **{}, {}** |",
        cpu(t.requests.cpu),
        mem(t.requests.memory),
        cpu(t.limits.cpu),
        mem(t.limits.memory),
        pct(t.requests_share.cpu),
        pct(t.requests_share.memory),
        limit(env.policy.max_utilisation),
        mark_both(&v.ceiling),
        cpu(t.requests_at_max.cpu),
        mem(t.requests_at_max.memory),
        pct(t.requests_at_max_share.cpu),
        pct(t.requests_at_max_share.memory),
        pct(t.limits_share.cpu),
        pct(t.limits_share.memory),
        pct(t.limits_at_max_share.cpu),
        pct(t.limits_at_max_share.memory),
    ));
    out.push(String::new());
    out.push(format!(
        "- **Ceiling** (requests, {} of capacity): CPU {} {}, memory {} {}",
        limit(env.policy.max_utilisation),
        pct(t.requests_share.cpu),
        mark(v.ceiling.cpu),
        pct(t.requests_share.memory),
        mark(v.ceiling.memory),
    ));
    out.push(format!(
        "- **HPA worst case** (requests, every HPA at max replicas, against the whole capacity): CPU {} {}, memory {} {}",
        pct(t.requests_at_max_share.cpu),
        mark(v.hpa_worst_case.cpu),
        pct(t.requests_at_max_share.memory),
        mark(v.hpa_worst_case.memory),
    ));
    let [memory, processor] = over_commit_phrases(env);
    out.push(format!(
        "- **Over-commitment** (limits against capacity; `cluster.limits`): {}: {memory}; {processor}",
        if v.over_committed() {
            "✘ **the platform is over-committed**"
        } else {
            "✔ **the platform is not over-committed**"
        }
    ));
    let targets = target_phrases(env);
    if !targets.is_empty() {
        out.push(format!(
            "- **Target** (requests; `cluster.target`, information only): {}",
            targets.join(", ")
        ));
    }
    out.push(format!(
        "- **Services**: {}; pods: {} at min replicas, {} at HPA max",
        t.services, t.pods_at_min, t.pods_at_max
    ));
    missing(&mut out, "request", &t.missing_requests);
    missing(&mut out, "limit", &t.missing_limits);
    let failures = env.phases.iter().filter(|p| !p.budget.ok()).count();
    out.push(if env.ok() {
        "- **Verdict**: every budget, the ceiling and the HPA worst case hold; limits and rolling updates fit ✔"
            .to_owned()
    } else {
        format!(
            "- **Verdict**: ✘ {failures} phase budget{} exceeded{}{}{}{}",
            if failures == 1 { "" } else { "s" },
            if v.ceiling.ok() {
                ""
            } else {
                "; the ceiling is exceeded"
            },
            if v.hpa_worst_case.ok() {
                ""
            } else {
                "; the HPA worst case exceeds capacity"
            },
            if v.over_committed() {
                "; limits over-commit the cluster"
            } else {
                ""
            },
            match env.rollout_failures() {
                0 => String::new(),
                n => format!("; {n} wave{} cannot roll out", if n == 1 { "" } else { "s" }),
            }
        )
    });
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// A wave's rolling update: the pods it adds, and the platform's peak while they run.
fn surge(env: &EnvPlan, step: &crate::plan::Step) -> String {
    if step.surge_pods == 0 {
        return "none (StatefulSets replace pods one at a time)".to_owned();
    }
    let c = &step.rollout;
    format!(
        "+{} pod{}: CPU {}, memory {} of capacity (≤ {}{}) {}",
        step.surge_pods,
        if step.surge_pods == 1 { "" } else { "s" },
        pct(c.cpu.map(|k| k.used)),
        pct(c.memory.map(|k| k.used)),
        limit(env.policy.rollout_limit()),
        if env.policy.quota { ", the quota" } else { "" },
        if c.ok() { "✔" } else { "✘" }
    )
}

fn budget(c: &Checks) -> String {
    if c.is_empty() {
        return "—".to_owned();
    }
    let mut parts = Vec::new();
    for (what, check) in [("memory", c.memory), ("CPU", c.cpu)] {
        if let Some(k) = check {
            parts.push(format!("{what} ≤ {} {}", limit(k.limit), mark(check)));
        }
    }
    parts.join(", ")
}

fn mark_both(c: &Checks) -> String {
    if c.ok() {
        mark(c.cpu.or(c.memory)).to_owned()
    } else {
        "✘ OVER".to_owned()
    }
}

fn missing(out: &mut Vec<String>, what: &str, list: &[Missing]) {
    for resource in ["cpu", "memory"] {
        let names: Vec<String> = list
            .iter()
            .filter(|m| m.resource == resource)
            .map(|m| format!("`{}`", m.service))
            .collect();
        if !names.is_empty() {
            out.push(format!(
                "- **No {resource} {what}** (counted as 0): {}",
                names.join(", ")
            ));
        }
    }
}
