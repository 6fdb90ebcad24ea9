//! The plan as aligned text for a terminal: no line wider than [`WIDTH`] columns.

use super::{cpu, limit, mem, over_commit_summary, pct, rollout_name, service_label};
use super::{target_phrases, wave_range, Check, Checks, EnvPlan, Missing, Plan, Share, Usage};

pub const WIDTH: usize = 100;

pub fn render(plan: &Plan) -> String {
    super::join_environments(plan, environment)
}

fn environment(env: &EnvPlan) -> String {
    let mut out = Vec::new();
    out.push(format!(
        "Rollout plan of {} (namespace {})",
        env.name, env.namespace
    ));
    out.push(format!(
        "Capacity {} CPU, {} memory; requests may use up to {} of it.",
        env.policy.capacity.cpu.map_or("?".to_owned(), cpu),
        env.policy.capacity.memory.map_or("?".to_owned(), mem),
        limit(env.policy.max_utilisation)
    ));
    out.push(
        "Requests and limits are x min replicas (the HPA minimum where an HPA scales a service)."
            .to_owned(),
    );
    out.push(limits_policy(env));
    let count = env.phases.len();
    for p in &env.phases {
        out.push(String::new());
        let waves = p.waves();
        out.push(format!(
            "Phase {} of {count}: {}, {}, {} {}",
            p.number,
            p.name,
            rollout_name(p.rollout),
            if waves.len() == 1 { "wave" } else { "waves" },
            wave_range(&waves)
        ));
        if p.steps.is_empty() {
            out.push("  (no services)".to_owned());
        }
        for step in &p.steps {
            let prefix = format!("  wave {:<3} ", step.wave);
            let lead = match &step.batch {
                Some(b) => format!("{b}: "),
                _ => String::new(),
            };
            let items: Vec<String> = p
                .services
                .iter()
                .filter(|s| step.services.contains(&s.name))
                .map(service_label)
                .collect();
            wrap(&mut out, &format!("{prefix}{lead}"), prefix.len(), &items);
        }
        out.push(row("requests", plain(p.requests), ""));
        out.push(row("limits", plain(p.limits), ""));
        out.push(row(
            "cumulative",
            shared(p.cumulative, p.cumulative_share),
            "",
        ));
        let note = if p.has_hpa() {
            format!(
                "HPA max {} CPU, {} memory",
                pct(p.cumulative_limits_at_max_share.cpu),
                pct(p.cumulative_limits_at_max_share.memory)
            )
        } else {
            String::new()
        };
        out.push(row(
            "cum. limits",
            shared(p.cumulative_limits, p.cumulative_limits_share),
            &note,
        ));
        out.push(format!("  {:<11}  {}", "budget", budget(&p.budget)));
        let note = if p.has_hpa() {
            format!(
                "cumulative {} CPU, {} memory",
                pct(p.cumulative_at_max_share.cpu),
                pct(p.cumulative_at_max_share.memory)
            )
        } else {
            "no HPA in this phase".to_owned()
        };
        out.push(row("HPA max", plain(p.requests_at_max), &note));
        for (i, step) in p.steps.iter().filter(|s| s.surge_pods > 0).enumerate() {
            let label = if i == 0 { "surge" } else { "" };
            out.push(format!("  {label:<11}  {}", surge_note(env, step)));
        }
    }
    let t = &env.totals;
    out.push(String::new());
    out.push(format!(
        "Totals: {} services, {} pods at min replicas ({} at HPA max)",
        t.services, t.pods_at_min, t.pods_at_max
    ));
    let v = &t.verdicts;
    out.push(row(
        "requests",
        shared(t.requests, t.requests_share),
        &format!(
            "ceiling {}: {}",
            limit(env.policy.max_utilisation),
            both(&v.ceiling)
        ),
    ));
    out.push(row(
        "HPA max",
        shared(t.requests_at_max, t.requests_at_max_share),
        &format!("capacity: {}", both(&v.hpa_worst_case)),
    ));
    out.push(row(
        "limits",
        shared(t.limits, t.limits_share),
        &judged(&v.limits),
    ));
    out.push(row(
        "limits max",
        shared(t.limits_at_max, t.limits_at_max_share),
        &judged(&v.limits_at_max),
    ));
    out.push(format!(
        "  {:<11}  {}",
        "over-commit",
        over_commit_summary(env)
    ));
    for target in target_phrases(env) {
        out.push(format!("  {:<11}  {target} (information)", "target"));
    }
    missing(&mut out, "no request", &t.missing_requests);
    missing(&mut out, "no limit", &t.missing_limits);
    let failures = env.phases.iter().filter(|p| !p.budget.ok()).count();
    let verdict = if env.ok() {
        "budgets, ceiling and HPA worst case hold; limits and rolling updates fit ✔".to_owned()
    } else {
        let mut parts = Vec::new();
        if failures > 0 {
            parts.push(format!(
                "{failures} phase budget{} exceeded",
                if failures == 1 { "" } else { "s" }
            ));
        }
        if !v.ceiling.ok() {
            parts.push("the ceiling is exceeded".to_owned());
        }
        if !v.hpa_worst_case.ok() {
            parts.push("the HPA worst case exceeds capacity".to_owned());
        }
        if v.over_committed() {
            parts.push("limits over-commit the cluster".to_owned());
        }
        match env.rollout_failures() {
            0 => {}
            1 => parts.push("one wave's rolling update does not fit".to_owned()),
            n => parts.push(format!("{n} waves' rolling updates do not fit")),
        }
        format!("✘ {}", parts.join("; "))
    };
    out.push(format!("  {:<11}  {verdict}", "verdict"));
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// What limits may add up to, and what requests should stay under, as the environment sets it.
fn limits_policy(env: &EnvPlan) -> String {
    let p = &env.policy;
    let mut line = format!(
        "Limits may add up to {} of memory{}; ",
        limit(
            p.limits_memory
                .unwrap_or(super::ledger::DEFAULT_MEMORY_LIMITS)
        ),
        if p.limits_memory.is_some() {
            ""
        } else {
            " (default)"
        }
    );
    match p.limits_cpu {
        Some(c) => line.push_str(&format!("{} of CPU", limit(c))),
        None => line.push_str("CPU limits are not judged"),
    }
    let targets: Vec<String> = [("memory", p.target_memory), ("CPU", p.target_cpu)]
        .into_iter()
        .filter_map(|(what, t)| Some(format!("{what} {}", limit(t?))))
        .collect();
    if !targets.is_empty() {
        line.push_str(&format!("; target {}", targets.join(", ")));
    }
    line.push('.');
    line
}

/// A wave's rolling update: its surge pods, and the platform's peak while they run against what
/// they must fit under.
fn surge_note(env: &EnvPlan, step: &crate::plan::Step) -> String {
    let c = &step.rollout;
    format!(
        "wave {} +{} pod{} (CPU {}, memory {}): peak {} CPU, {} memory ≤ {}{} {}",
        step.wave,
        step.surge_pods,
        if step.surge_pods == 1 { "" } else { "s" },
        cpu(step.surge.cpu),
        mem(step.surge.memory),
        pct(c.cpu.map(|k| k.used)),
        pct(c.memory.map(|k| k.used)),
        limit(env.policy.rollout_limit()),
        if env.policy.quota { " quota" } else { "" },
        if c.ok() { "✔" } else { "✘ OVER" }
    )
}

fn row(label: &str, (cpu_cell, mem_cell): (String, String), extra: &str) -> String {
    format!("  {label:<11}  {cpu_cell:<24} {mem_cell:<24} {extra}")
        .trim_end()
        .to_owned()
}

fn plain(u: Usage) -> (String, String) {
    (
        format!("CPU {}", cpu(u.cpu)),
        format!("memory {}", mem(u.memory)),
    )
}

fn shared(u: Usage, s: Share) -> (String, String) {
    (
        format!("CPU {} ({})", cpu(u.cpu), pct(s.cpu)),
        format!("memory {} ({})", mem(u.memory), pct(s.memory)),
    )
}

pub(crate) fn mark(check: Option<Check>) -> &'static str {
    match check {
        Some(c) if c.ok => "✔",
        Some(_) => "✘ OVER",
        None => "?",
    }
}

/// Only the resources the limits policy judges: CPU has none by default.
fn judged(c: &Checks) -> String {
    let parts: Vec<String> = [("CPU", c.cpu), ("memory", c.memory)]
        .into_iter()
        .filter(|(_, k)| k.is_some())
        .map(|(what, k)| format!("{what} {}", mark(k)))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("policy: {}", parts.join(", "))
    }
}

fn both(c: &Checks) -> String {
    format!("CPU {}, memory {}", mark(c.cpu), mark(c.memory))
}

fn budget(c: &Checks) -> String {
    if c.is_empty() {
        return "none".to_owned();
    }
    let mut parts = Vec::new();
    for (what, check) in [("memory", c.memory), ("CPU", c.cpu)] {
        if let Some(k) = check {
            parts.push(format!(
                "{what} ≤ {}: {} {}",
                limit(k.limit),
                pct(Some(k.used)),
                mark(check)
            ));
        }
    }
    parts.join("   ")
}

fn missing(out: &mut Vec<String>, what: &str, list: &[Missing]) {
    for resource in ["cpu", "memory"] {
        let names: Vec<String> = list
            .iter()
            .filter(|m| m.resource == resource)
            .map(|m| m.service.clone())
            .collect();
        if names.is_empty() {
            continue;
        }
        let lead = format!("  {:<11}  {what} for {resource} (counted as 0): ", "note");
        wrap(out, &lead, 15, &names);
    }
}

/// Appends `items` joined with commas after `first`, breaking lines at [`WIDTH`] columns and
/// indenting continuation lines by `indent`.
fn wrap(out: &mut Vec<String>, first: &str, indent: usize, items: &[String]) {
    let mut line = first.to_owned();
    let mut at_start = true;
    for (i, item) in items.iter().enumerate() {
        let piece = if i + 1 < items.len() {
            format!("{item},")
        } else {
            item.clone()
        };
        let sep = if at_start { "" } else { " " };
        if !at_start && line.chars().count() + sep.len() + piece.chars().count() > WIDTH {
            out.push(line);
            line = " ".repeat(indent);
            line.push_str(&piece);
        } else {
            line.push_str(sep);
            line.push_str(&piece);
        }
        at_start = false;
    }
    out.push(line.trim_end().to_owned());
}
