//! `resource-overcommit`: what the platform requests must fit the cluster, phase by phase.

use crate::catalogue::quantity::{format_memory_human, parse_cpu, parse_memory};
use crate::diagnostic::Severity;
use crate::lint::{LintContext, Rule, Sink};
use crate::manifest::{at, Field};
use crate::render::context::ANNOTATION_PHASE;
use serde_json::Value;
use std::borrow::Cow;

pub const RULE: Rule = Rule {
    id: "resource-overcommit",
    severity: Severity::Error,
    summary: "Requests above capacity x utilisation ceiling, HPA worst case above capacity, a phase over its budget, or missing requests/limits",
    doc: r#"## What it checks
With the environment's cluster capacity and utilisation ceiling (`cluster:` in the environment file,
or `--capacity-cpu/--capacity-memory/--max-utilisation` for `shipshape lint`):
- CPU and memory requests x replicas, summed over the environment, against capacity x ceiling
  (error). Replicas are the HPA minimum where an HPA scales the workload.
- The same at every HPA's maximum replicas against the full capacity (warning: the platform cannot
  scale out as configured).
- After each phase, in rollout order, the cumulative requests against the phase's budget
  (`budget: { memory: 60% }`), the way the rollout plan sets a ceiling per phase (error).
- A container without CPU or memory requests (error: the totals above become unknowable) or
  without limits (warning).
Every finding states the numbers: used, capacity, percentage, and the largest contributors.

## Why it matters
Pods that do not fit stay Pending; a phase that overruns its budget leaves no room for the next
one, and the rollout stops half-way with the platform in neither state.

## Bad
```yaml
cluster: { capacity: { cpu: "16", memory: 8Gi }, maxUtilisation: 80% }
# ... and services whose requests x replicas add up to 7Gi (87.5%)
```

## Good
Lower requests or replicas, raise capacity, or move services to another environment, until the
totals sit under the ceiling. `shipshape plan` shows the figures per phase.
"#,
    check,
};

#[derive(Default, Clone, Copy)]
struct Usage {
    cpu: u128,
    memory: u128,
}

struct WorkloadUsage<'m> {
    manifest: usize,
    name: &'m str,
    phase: Option<&'m str>,
    at_min: Usage,
    at_max: Usage,
}

fn quantity(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        _ => None,
    }
}

fn pct(used: u128, capacity: u64) -> f64 {
    if capacity == 0 {
        return f64::INFINITY;
    }
    used as f64 * 100.0 / capacity as f64
}

fn mem(b: u128) -> String {
    format_memory_human(u64::try_from(b).unwrap_or(u64::MAX))
}

/// Memory in binary units, CPU in cores: the units people size clusters in.
fn amount(x: u128, is_memory: bool) -> String {
    if is_memory {
        mem(x)
    } else {
        format!("{} cores", cores(x))
    }
}

/// CPU as cores, the unit people size clusters in: `12.8`, `16`, `0.25`.
fn cores(m: u128) -> String {
    let whole = m / 1000;
    let frac = m % 1000;
    if frac == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{frac:03}")
            .trim_end_matches('0')
            .to_owned()
    }
}

/// Reads one container's resources. Kubernetes takes a missing request to equal the limit, so a
/// request is only unknown when both are missing.
fn container_usage(
    ctx: &LintContext,
    out: &mut Sink,
    wi: usize,
    c: &Value,
    (base, ci): (&str, usize),
) -> Usage {
    let m = &ctx.manifests[wi];
    // Built only for a finding.
    let cpointer = || format!("{base}/containers/{ci}");
    let cname = c.field("name").and_then(Value::as_str).unwrap_or("?");
    let mut usage = Usage::default();
    let mut missing_requests = Vec::new();
    let mut missing_limits = Vec::new();
    let resources = c.field("resources");
    for key in ["cpu", "memory"] {
        let get = |kind: &str| {
            resources
                .and_then(|r| r.field(kind))
                .and_then(|r| r.field(key))
        };
        let mut parse = |kind: &str, v: &Value| -> Option<u64> {
            let text = quantity(v).unwrap_or_default();
            let parsed = if key == "cpu" {
                parse_cpu(&text)
            } else {
                parse_memory(&text)
            };
            match parsed {
                Ok(x) => Some(x),
                Err(e) => {
                    let at = ctx.locate(
                        wi,
                        &format!("{}/resources/{kind}/{key}", cpointer()),
                        &format!("/resources/{kind}/{key}"),
                    );
                    let d = out
                        .report(
                            Some(wi),
                            format!("{key} {kind} of `{}`: {}", m.name(), e.message),
                        )
                        .place(Some(at), "not a quantity");
                    if let Some(s) = e.suggestion {
                        d.help(format!("did you mean `{s}`?"));
                    }
                    None
                }
            }
        };
        let request = get("requests").map(|v| parse("requests", v));
        let limit = get("limits").map(|v| parse("limits", v));
        let effective = match (request, limit) {
            (Some(r), _) => r,
            (None, Some(l)) => l,
            (None, None) => {
                missing_requests.push(key);
                None
            }
        };
        if limit.is_none() {
            missing_limits.push(key);
        }
        if let Some(v) = effective {
            if key == "cpu" {
                usage.cpu += u128::from(v);
            } else {
                usage.memory += u128::from(v);
            }
        }
    }
    let place = || ctx.locate(wi, &format!("{}/name", cpointer()), "/resources");
    let fix = |kind: &str, keys: &[&str]| {
        if ctx.platform.is_some() {
            format!(
                "set resources.{kind}.{} for the service, or in `defaults.resources`",
                keys.join(" and ")
            )
        } else {
            format!(
                "set resources.{kind}.{} on the container",
                keys.join(" and ")
            )
        }
    };
    if !missing_requests.is_empty() {
        out.report(
            Some(wi),
            format!(
                "container `{cname}` of `{}` sets no {} request or limit: the platform's totals cannot be known",
                m.name(),
                missing_requests.join(" or ")
            ),
        )
        .place(Some(place()), "no requests")
        .help(fix("requests", &missing_requests));
    }
    if !missing_limits.is_empty() {
        out.report_as(
            Some(wi),
            Severity::Warning,
            format!(
                "container `{cname}` of `{}` sets no {} limit: one pod can starve the others on its node",
                m.name(),
                missing_limits.join(" or ")
            ),
        )
        .place(Some(place()), "no limits")
        .help(fix("limits", &missing_limits));
    }
    usage
}

fn check(ctx: &LintContext, out: &mut Sink) {
    let mut usages = Vec::new();
    for &wi in &ctx.index.workloads {
        let m = &ctx.manifests[wi];
        let facts = ctx.index.facts(wi);
        let Some((pod, base)) = facts.pod_spec else {
            continue;
        };
        let mut per_pod = Usage::default();
        let containers = pod
            .field("containers")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        for (ci, c) in containers.iter().enumerate() {
            let u = container_usage(ctx, out, wi, c, (base, ci));
            per_pod.cpu += u.cpu;
            per_pod.memory += u.memory;
        }
        let replicas = at(&m.value, &["spec", "replicas"])
            .and_then(Value::as_u64)
            .unwrap_or(1);
        let (min, max) = match ctx.index.hpa_for(facts.kind, facts.name) {
            Some(h) => {
                let hpa = &ctx.manifests[h].value;
                let min = at(hpa, &["spec", "minReplicas"])
                    .and_then(Value::as_u64)
                    .unwrap_or(1);
                let max = at(hpa, &["spec", "maxReplicas"])
                    .and_then(Value::as_u64)
                    .unwrap_or(min);
                (min, max.max(min))
            }
            None => (replicas, replicas),
        };
        let times = |u: Usage, n: u64| Usage {
            cpu: u.cpu * u128::from(n),
            memory: u.memory * u128::from(n),
        };
        usages.push(WorkloadUsage {
            manifest: wi,
            name: facts.name,
            phase: m.annotation(ANNOTATION_PHASE),
            at_min: times(per_pod, min),
            at_max: times(per_pod, max),
        });
    }
    let Some(capacity) = &ctx.capacity else {
        return;
    };
    let total = usages.iter().fold(Usage::default(), |a, u| Usage {
        cpu: a.cpu + u.at_min.cpu,
        memory: a.memory + u.at_min.memory,
    });
    let worst = usages.iter().fold(Usage::default(), |a, u| Usage {
        cpu: a.cpu + u.at_max.cpu,
        memory: a.memory + u.at_max.memory,
    });
    let ceiling = capacity.max_utilisation;
    // Plain manifests have no capacity line to point at: point at the largest contributor, which
    // is also the first place to look for savings.
    let place = |by_memory: bool, at_max: bool| {
        capacity.location.clone().or_else(|| {
            usages
                .iter()
                .max_by_key(|u| {
                    let x = if at_max { u.at_max } else { u.at_min };
                    (
                        if by_memory { x.memory } else { x.cpu },
                        std::cmp::Reverse(u.manifest),
                    )
                })
                .map(|u| ctx.locate(u.manifest, "/metadata/name", "/resources"))
        })
    };
    let label = if capacity.location.is_some() {
        "cluster capacity"
    } else {
        "largest contributor"
    };
    let top = |by_memory: bool, at_max: bool| -> String {
        let mut v: Vec<&WorkloadUsage> = usages.iter().collect();
        let key = |u: &WorkloadUsage| {
            let x = if at_max { u.at_max } else { u.at_min };
            if by_memory {
                x.memory
            } else {
                x.cpu
            }
        };
        v.sort_by(|a, b| key(b).cmp(&key(a)).then(a.name.cmp(b.name)));
        v.iter()
            .take(3)
            .map(|u| format!("{} {}", u.name, amount(key(u), by_memory)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let checks = [
        ("memory", total.memory, capacity.memory, true),
        ("CPU", total.cpu, capacity.cpu, false),
    ];
    for (what, used, cap, is_mem) in checks {
        let Some(cap) = cap else { continue };
        let share = pct(used, cap);
        if share > ceiling + 1e-9 {
            let show = |x: u128| amount(x, is_mem);
            out.report(
                None,
                format!(
                    "{what} requests total {} of {} capacity ({share:.1}%), above the {ceiling}% ceiling ({})",
                    show(used),
                    show(u128::from(cap)),
                    show((cap as f64 * ceiling / 100.0) as u128)
                ),
            )
            .place(place(is_mem, false), label)
            .help(format!("largest requests: {}; lower requests or replicas, or raise capacity", top(is_mem, false)));
        }
    }
    let has_hpa = !ctx.index.of_kind("HorizontalPodAutoscaler").is_empty();
    for (what, used, cap, is_mem) in [
        ("memory", worst.memory, capacity.memory, true),
        ("CPU", worst.cpu, capacity.cpu, false),
    ] {
        let Some(cap) = cap else { continue };
        if !has_hpa {
            break;
        }
        let share = pct(used, cap);
        if share > 100.0 + 1e-9 {
            let show = |x: u128| amount(x, is_mem);
            out.report_as(
                None,
                Severity::Warning,
                format!("at HPA maximum replicas, {what} requests total {} of {} capacity ({share:.1}%): the platform cannot scale out as configured", show(used), show(u128::from(cap))),
            )
            .place(place(is_mem, true), label)
            .help(format!("largest at maximum: {}; lower HPA maxReplicas or raise capacity", top(is_mem, true)));
        }
    }
    // Phase budgets: cumulative requests after each phase, in rollout order.
    let mut cumulative = Usage::default();
    for phase in &ctx.phases {
        for u in usages
            .iter()
            .filter(|u| u.phase == Some(phase.name.as_str()))
        {
            cumulative.cpu += u.at_min.cpu;
            cumulative.memory += u.at_min.memory;
        }
        for (what, used, cap, budget, is_mem) in [
            (
                "memory",
                cumulative.memory,
                capacity.memory,
                phase.memory_budget,
                true,
            ),
            ("CPU", cumulative.cpu, capacity.cpu, phase.cpu_budget, false),
        ] {
            let (Some(cap), Some(budget)) = (cap, budget) else {
                continue;
            };
            let share = pct(used, cap);
            if share > budget + 1e-9 {
                let show = |x: u128| amount(x, is_mem);
                out.report(
                    None,
                    format!(
                        "after phase `{}`, {what} requests total {} of {} ({share:.1}%), above the phase budget of {budget}%",
                        phase.name,
                        show(used),
                        show(u128::from(cap))
                    ),
                )
                .place(phase.location.clone(), "phase budget")
                .help("move services to a later phase, lower their requests, or raise the budget if the plan allows");
            }
        }
    }
}
