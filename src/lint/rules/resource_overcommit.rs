//! `resource-overcommit`: what the platform requests must fit the cluster, phase by phase, and
//! what its limits allow must not over-commit it beyond the environment's policy.
//!
//! The requests findings keep the rule's id as their code; the limits and target findings have
//! their own (`resource-overcommit/limits-memory`, `/limits-cpu`, `/target`) because they differ
//! in kind and in default severity, while `lint.rules.resource-overcommit` and the
//! `shipshape.dev/suppress.resource-overcommit` annotation still govern them all. The figures and
//! verdicts come from [`crate::plan::ledger`], the same as `shipshape plan`'s.

use crate::catalogue::quantity::{format_cpu, format_memory, format_memory_human};
use crate::diagnostic::{Location, Severity};
use crate::example;
use crate::lint::{Code, LintContext, Rule, Sink};
use crate::manifest::containers::Container;
use crate::plan::ledger::{self, Check, Footprint, PodResources, Replicas, Usage};
use crate::vocabulary::annotation;

pub const RULE: Rule = Rule {
    id: "resource-overcommit",
    codes: &[
        &BAD_QUANTITY,
        &REQUEST_ABOVE_LIMIT,
        &MISSING_REQUESTS,
        &MISSING_LIMITS,
        &CEILING,
        &HPA_MAXIMUM,
        &LIMITS_MEMORY,
        &LIMITS_CPU,
        &ROLLOUT_SURGE,
        &PHASE_BUDGET,
        &TARGET,
    ],
    summary: "Requests above capacity x utilisation ceiling, HPA worst case above capacity, a phase over its budget, limits over-committing the cluster, a missed target, missing requests/limits, a request above its limit, or a rollout surge that does not fit",
    doc: r#"## What it checks
With the environment's cluster capacity and policy (`cluster:` in the environment file, or
`--capacity-cpu/--capacity-memory/--max-utilisation/--limits-cpu/--limits-memory/--target-cpu/
--target-memory` for `shipshape lint`):
- CPU and memory requests x replicas, summed over the environment, against capacity x ceiling
  (error). Replicas are the HPA minimum where an HPA scales the workload.
- The same at every HPA's maximum replicas against the full capacity (warning: the platform cannot
  scale out as configured).
- After each phase, in rollout order, the cumulative requests against the phase's budget
  (`budget: { memory: 60% }`), the way the rollout plan sets a ceiling per phase (error).
- Limits x replicas, at minimum and at HPA maximum replicas, against what `cluster.limits` allows
  (`limits: { memory: 100%, cpu: 200% }`: how far the sum of limits may go, in percent of
  capacity). Code `resource-overcommit/limits-memory`: by default a warning when memory limits
  exceed the capacity; an error when the environment sets `limits.memory`. Code
  `resource-overcommit/limits-cpu`: nothing by default; an error when the environment sets
  `limits.cpu`.
- Requests x minimum replicas against `cluster.target` (`target: { memory: 45% }`), a goal below
  the ceiling. Code `resource-overcommit/target`, information: a missed target is worth knowing,
  not worth failing a build for.
- A container without CPU or memory requests (code `resource-overcommit/missing-requests`,
  error: the totals above become unknowable) or without limits
  (`resource-overcommit/missing-limits`, warning).
- A container whose request is above its limit (`resource-overcommit/request-above-limit`,
  error): the API server refuses such a pod, so the workload applies and never runs.
- Each sync wave's rolling update beside the running platform (`resource-overcommit/rollout-surge`):
  its Deployments' surge pods (`maxSurge`, 25% of the replicas rounded up by default; none for
  `Recreate` or StatefulSets) must fit under the ceiling where `enforce.quota` renders a quota
  (error: the API server refuses them), else under the capacity (warning: they stay Pending).
  Either way the rollout stalls half-done. Judged only when the platform fits at rest.
- Where an Istio sidecar is injected and the environment says what it asks for
  (`istio.proxy`), every pod counts it, as a namespace quota does.
Capacity figures are decided in whole millicores and bytes, rounded down as a ResourceQuota
rendered from the same share is (`enforce.quota`): one byte over the ceiling fails here and
there alike.
Every finding states the numbers: used, capacity, percentage, and the largest contributors.

`lint.rules.resource-overcommit` sets the severity of the warnings and errors of every code (a
missed target stays information), and `shipshape.dev/suppress.resource-overcommit` suppresses
them all.

A Helm test hook (a pod annotated `helm.sh/hook: test`) runs once under `helm test`, outside
the platform's steady state: it is neither counted nor required to set requests and limits.

## Why it matters
Pods that do not fit stay Pending; a phase that overruns its budget leaves no room for the next
one, and the rollout stops half-way with the platform in neither state.

Limits are what pods may use once they run, and the scheduler does not look at them. Memory and
CPU differ. Memory is incompressible: when pods together use more memory than the node has, the
kernel OOM-kills them, so memory limits above capacity are a promise the cluster cannot keep. CPU
is compressible: pods that together want more CPU than there is are throttled, slower but alive,
so CPU limits above capacity are a common, deliberate over-commit. That is why memory is judged
by default and CPU only when the environment states a policy.

## Bad
```yaml
cluster: { capacity: { cpu: "16", memory: 8Gi }, maxUtilisation: 80% }
# ... and services whose requests x replicas add up to 7Gi (87.5%),
# or whose memory limits add up to 12.5Gi (156.2% of 8Gi)
```

## Good
Lower requests or replicas, raise capacity, or move services to another environment, until the
totals sit under the ceiling. Set memory limits equal to requests (the usual practice for stateful
services), or state the over-commit you accept and why:
```yaml
cluster:
  capacity: { cpu: "16", memory: 8Gi }
  maxUtilisation: 80%
  limits: { memory: 100%, cpu: 200% }   # memory never over-committed; CPU may throttle
  target: { memory: 45% }               # the plan's goal; information when missed
```
`shipshape plan` shows the figures per phase, and whether the platform is over-committed.
"#,
    check,
};

pub static BAD_QUANTITY: Code = Code {
    id: "resource-overcommit/bad-quantity",
    severity: Severity::Error,
    summary: "A container's CPU or memory request or limit is not a Kubernetes quantity",
    bad: example!("resource-overcommit/fires/bad-quantity.yaml"),
    good: example!("resource-overcommit/quiet/request-equal-to-limit.yaml"),
};

pub static REQUEST_ABOVE_LIMIT: Code = Code {
    id: "resource-overcommit/request-above-limit",
    severity: Severity::Error,
    summary: "A container requests more CPU or memory than its limit, which the API server refuses",
    bad: example!("resource-overcommit/fires/request-above-limit.yaml"),
    good: example!("resource-overcommit/quiet/request-equal-to-limit.yaml"),
};

pub static MISSING_REQUESTS: Code = Code {
    id: "resource-overcommit/missing-requests",
    severity: Severity::Error,
    summary: "A container sets neither a request nor a limit for CPU or memory, so the platform's totals are unknown",
    bad: example!("resource-overcommit/fires/missing-requests.yaml"),
    good: example!("resource-overcommit/quiet/memory-request-from-limit.yaml"),
};

pub static MISSING_LIMITS: Code = Code {
    id: "resource-overcommit/missing-limits",
    severity: Severity::Warning,
    summary: "A container sets no CPU or memory limit: one pod can starve the others on its node",
    bad: example!("resource-overcommit/fires/missing-limits.yaml"),
    good: example!("resource-overcommit/quiet/limits-only.yaml"),
};

pub static CEILING: Code = Code {
    id: "resource-overcommit/ceiling",
    severity: Severity::Error,
    summary: "The platform's requests at minimum replicas exceed the environment's ceiling (maxUtilisation of capacity)",
    bad: example!("resource-overcommit/fires/over-ceiling-memory.yaml"),
    good: example!("resource-overcommit/quiet/within-ceiling.yaml"),
};

pub static HPA_MAXIMUM: Code = Code {
    id: "resource-overcommit/hpa-maximum",
    severity: Severity::Warning,
    summary: "At every HPA's maximum replicas the requests exceed the capacity: the platform cannot scale out as configured",
    bad: example!("resource-overcommit/fires/hpa-max-over-capacity.yaml"),
    good: example!("resource-overcommit/quiet/hpa-within-capacity.yaml"),
};

pub static LIMITS_MEMORY: Code = Code {
    id: "resource-overcommit/limits-memory",
    severity: Severity::Error,
    summary: "Memory limits total more than the capacity (or the share `cluster.limits.memory` allows): pods get OOM-killed. A warning where the environment states no share and no quota enforces one",
    bad: example!("resource-overcommit/fires/limits-memory-policy.yaml"),
    good: example!("resource-overcommit/quiet/limits-at-capacity.yaml"),
};

pub static LIMITS_CPU: Code = Code {
    id: "resource-overcommit/limits-cpu",
    severity: Severity::Warning,
    summary: "CPU limits total more than the capacity (or the share `cluster.limits.cpu` allows): pods get throttled. An error where the environment states the share",
    bad: example!("resource-overcommit/fires/limits-cpu-policy.yaml"),
    good: example!("resource-overcommit/quiet/limits-over-capacity-allowed.yaml"),
};

pub static ROLLOUT_SURGE: Code = Code {
    id: "resource-overcommit/rollout-surge",
    severity: Severity::Error,
    summary: "A sync wave's rolling-update surge pods do not fit beside the platform: under a quota (an error) or the capacity (a warning)",
    bad: example!("resource-overcommit/fires/rollout-surge.yaml"),
    good: example!("resource-overcommit/quiet/rollout-without-surge.yaml"),
};

pub static PHASE_BUDGET: Code = Code {
    id: "resource-overcommit/phase-budget",
    severity: Severity::Error,
    summary: "The requests deployed up to a phase exceed the phase's budget (`phases.NAME.budget`)",
    bad: example!("resource-overcommit/fires/phase-budget/catalogue.yaml"),
    good: example!("resource-overcommit/quiet/phase-budget/catalogue.yaml"),
};

pub static TARGET: Code = Code {
    id: "resource-overcommit/target",
    severity: Severity::Info,
    summary: "The requests exceed the environment's target (`cluster.target`): information, the target is a goal below the ceiling",
    bad: example!("resource-overcommit/fires/target-missed.yaml"),
    good: example!("resource-overcommit/quiet/target-met.yaml"),
};

struct WorkloadUsage<'m> {
    manifest: usize,
    name: &'m str,
    phase: Option<&'m str>,
    footprint: Footprint,
    /// Argo CD sync wave (0 without one): the workloads of a wave roll out together.
    wave: i64,
    /// Pods a rolling update adds, and their requests.
    surge_pods: u64,
    surge: Usage,
}

/// Memory in binary units, CPU in cores: the units people size clusters in.
fn amount(x: u64, is_memory: bool) -> String {
    if is_memory {
        format_memory_human(x)
    } else {
        format!("{} cores", cores(x))
    }
}

/// CPU as cores, the unit people size clusters in: `12.8`, `16`, `0.25`.
fn cores(m: u64) -> String {
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

/// One resource of a usage.
fn pick(u: Usage, is_memory: bool) -> u64 {
    if is_memory {
        u.memory
    } else {
        u.cpu
    }
}

/// A share above `limit`, with enough decimals to show that it is above: `100.05`, not `100.0`.
fn over(used: f64, limit: f64) -> String {
    let mut text = format!("{used:.1}");
    for decimals in 2..=4 {
        if text.parse::<f64>().is_ok_and(|shown| shown > limit) {
            break;
        }
        text = format!("{used:.decimals$}");
    }
    text
}

/// Used and capacity, exact where rounding would print them the same (`8196Mi of 8Gi`).
fn pair(used: u64, cap: u64, is_memory: bool) -> (String, String) {
    let (a, b) = (amount(used, is_memory), amount(cap, is_memory));
    if a == b && used != cap && is_memory {
        (format_memory(used), format_memory(cap))
    } else {
        (a, b)
    }
}

/// A percentage limit as written: `80`, `12.5`.
fn percent(p: f64) -> String {
    format!("{p}")
}

/// Reports what is wrong with one container's resources: a quantity that does not parse, a
/// request above its limit, and a request or limit left unwritten. What the container counts for
/// is [`PodResources`]' to say, as it is for `plan`.
fn container_findings(ctx: &LintContext, out: &mut Sink, wi: usize, c: &Container, base: &str) {
    let m = &ctx.manifests[wi];
    // Built only for a finding.
    let cpointer = || format!("{base}/containers/{}", c.index);
    let cname = c.name.unwrap_or("?");
    for key in ["cpu", "memory"] {
        for kind in ["requests", "limits"] {
            let Some(Err(e)) = c.resources.of(kind).get(key) else {
                continue;
            };
            let at = ctx.locate(
                wi,
                &format!("{}/resources/{kind}/{key}", cpointer()),
                &format!("/resources/{kind}/{key}"),
            );
            let d = out
                .report(
                    &BAD_QUANTITY,
                    Some(wi),
                    format!("{key} {kind} of `{}`: {}", m.name(), e.message),
                )
                .place(Some(at), "not a quantity");
            if let Some(s) = &e.suggestion {
                d.help(format!("did you mean `{s}`?"));
            }
        }
        let written = |kind: &str| c.resources.of(kind).get(key).and_then(|q| q.as_ref().ok());
        if let (Some(&r), Some(&l)) = (written("requests"), written("limits")) {
            if r > l {
                let show = |x: u64| {
                    if key == "cpu" {
                        format_cpu(x)
                    } else {
                        format_memory(x)
                    }
                };
                let at = ctx.locate(
                    wi,
                    &format!("{}/resources/requests/{key}", cpointer()),
                    &format!("/resources/requests/{key}"),
                );
                let d = out.report(
                    &REQUEST_ABOVE_LIMIT,
                    Some(wi),
                    format!(
                        "container `{cname}` of `{}` requests {} {key}, above its limit of {}: the API server refuses the pod",
                        m.name(),
                        show(r),
                        show(l)
                    ),
                );
                d.place(Some(at), "above the limit").help(format!(
                    "lower the {key} request to at most the limit, or raise the limit"
                ));
            }
        }
    }
    let PodResources {
        missing_requests,
        missing_limits,
        ..
    } = PodResources::of([&c.resources]);
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
            &MISSING_REQUESTS,
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
        out.report(
            &MISSING_LIMITS,
            Some(wi),
            format!(
                "container `{cname}` of `{}` sets no {} limit: one pod can starve the others on its node",
                m.name(),
                missing_limits.join(" or ")
            ),
        )
        .place(Some(place()), "no limits")
        .help(fix("limits", &missing_limits));
    }
}

fn check(ctx: &LintContext, out: &mut Sink) {
    // What an injected sidecar adds to every pod (zero unless the environment says).
    let (pod_requests, pod_limits) = ctx
        .capacity
        .as_ref()
        .map(|c| (c.policy.pod_requests, c.policy.pod_limits))
        .unwrap_or_default();
    let mut usages = Vec::new();
    for &wi in &ctx.index.workloads {
        let m = &ctx.manifests[wi];
        let facts = ctx.index.facts(wi);
        let Some((_, base)) = facts.pod_spec else {
            continue;
        };
        if facts.helm_test {
            continue;
        }
        let containers = ctx.index.containers(wi);
        for c in containers {
            container_findings(ctx, out, wi, c, base);
        }
        // Counted and scaled as `plan` counts the rendered workloads, so both show one figure.
        let pod = PodResources::of(containers.iter().map(|c| &c.resources));
        let (requests, limits) = (Usage::of(pod.requests, 1), Usage::of(pod.limits, 1));
        let hpa = ctx
            .index
            .hpa_for(facts.namespace, facts.kind, facts.name)
            .map(|h| &ctx.manifests[h].value);
        let Replicas { min, max, .. } = Replicas::of(&m.value, hpa);
        // Read as `plan` reads the rendered workloads, so both show one surge.
        let surge_pods = ledger::Surge::of(&m.value, facts.kind).pods(min);
        usages.push(WorkloadUsage {
            manifest: wi,
            name: facts.name,
            phase: m.annotation(annotation::PHASE),
            footprint: Footprint::of(
                requests.plus(pod_requests),
                limits.plus(pod_limits),
                min,
                max,
            ),
            wave: m
                .annotation(annotation::SYNC_WAVE)
                .and_then(|w| w.trim().parse().ok())
                .unwrap_or(0),
            surge_pods,
            surge: requests.plus(pod_requests).times(surge_pods),
        });
    }
    let Some(capacity) = &ctx.capacity else {
        return;
    };
    let policy = &capacity.policy;
    let total = usages
        .iter()
        .fold(Footprint::default(), |a, u| a.plus(u.footprint));
    let verdicts = ledger::judge(&total, policy);
    let report = Report {
        ctx,
        usages: &usages,
        location: capacity.location.clone(),
    };
    let resources = [
        ("memory", true, policy.capacity.memory),
        ("CPU", false, policy.capacity.cpu),
    ];
    let by_requests = |f: &Footprint| f.requests;
    let by_requests_at_max = |f: &Footprint| f.requests_at_max;
    for (what, is_mem, cap, c) in failing(&resources, verdicts.ceiling) {
        let show = |x: u64| amount(x, is_mem);
        out.report(
            &CEILING,
            None,
            format!(
                "{what} requests total {} of {} capacity ({}%), above the {}% ceiling ({})",
                show(pick(total.requests, is_mem)),
                show(cap),
                over(c.used, c.limit),
                percent(c.limit),
                show(ledger::allowed(cap, c.limit))
            ),
        )
        .place(report.place(is_mem, &by_requests), report.label())
        .help(format!(
            "largest requests: {}; lower requests or replicas, or raise capacity",
            report.top(is_mem, &by_requests)
        ));
    }
    let has_hpa = !ctx.index.of_kind("HorizontalPodAutoscaler").is_empty();
    let hpa_worst_case = if has_hpa {
        verdicts.hpa_worst_case
    } else {
        ledger::Checks::default()
    };
    for (what, is_mem, cap, c) in failing(&resources, hpa_worst_case) {
        let show = |x: u64| amount(x, is_mem);
        out.report(
            &HPA_MAXIMUM,
            None,
            format!(
                "at HPA maximum replicas, {what} requests total {} of {} capacity ({}%): the platform cannot scale out as configured",
                show(pick(total.requests_at_max, is_mem)),
                show(cap),
                over(c.used, c.limit)
            ),
        )
        .place(report.place(is_mem, &by_requests_at_max), report.label())
        .help(format!(
            "largest at maximum: {}; lower HPA maxReplicas or raise capacity",
            report.top(is_mem, &by_requests_at_max)
        ));
    }
    over_commit(out, &report, policy, &total, &verdicts);
    if verdicts.ceiling.ok() {
        rollout_surge(out, &report, policy, total.requests);
    }
    target(out, &report, &total, &verdicts);
    // Phase budgets: cumulative requests after each phase, in rollout order.
    let mut cumulative = Usage::default();
    for phase in &ctx.phases {
        for u in usages
            .iter()
            .filter(|u| u.phase == Some(phase.name.as_str()))
        {
            cumulative = cumulative.plus(u.footprint.requests);
        }
        let budget = ledger::Checks::exact(
            cumulative,
            policy.capacity,
            phase.cpu_budget,
            phase.memory_budget,
        );
        for (what, is_mem, cap, c) in failing(&resources, budget) {
            let show = |x: u64| amount(x, is_mem);
            out.report(
                &PHASE_BUDGET,
                None,
                format!(
                    "after phase `{}`, {what} requests total {} of {} ({}%), above the phase budget of {}%",
                    phase.name,
                    show(pick(cumulative, is_mem)),
                    show(cap),
                    over(c.used, c.limit),
                    percent(c.limit)
                ),
            )
            .place(phase.location.clone(), "phase budget")
            .help("move services to a later phase, lower their requests, or raise the budget if the plan allows");
        }
    }
}

/// The resources (`(name, is memory, capacity)`) whose check in `checks` failed, each with its
/// capacity and the failed check: what every requests finding starts from.
fn failing<'r>(
    resources: &'r [(&'static str, bool, Option<u64>)],
    checks: ledger::Checks,
) -> impl Iterator<Item = (&'static str, bool, u64, Check)> + 'r {
    resources.iter().filter_map(move |&(what, is_mem, cap)| {
        let c = side(checks, is_mem)?;
        Some((what, is_mem, cap?, c)).filter(|_| !c.ok)
    })
}

fn side(checks: ledger::Checks, is_memory: bool) -> Option<Check> {
    if is_memory {
        checks.memory
    } else {
        checks.cpu
    }
}

/// Which figure of a footprint a finding is about: requests or limits, at min or max replicas.
type By<'a> = &'a dyn Fn(&Footprint) -> Usage;

/// Each sync wave's rolling update beside the running platform: its Deployments' surge pods
/// (25% of their replicas, rounded up) must fit under the quota where one enforces the ceiling
/// (error: the API server refuses them and the rollout stalls), else under the capacity
/// (warning: they stay Pending, and so does the rollout).
fn rollout_surge(out: &mut Sink, report: &Report, policy: &ledger::Policy, steady: Usage) {
    // Called only for a platform that fits at rest: one that does not is reported as such,
    // and its rollouts add nothing to say.
    type Wave<'u, 'm> = (u64, Usage, Vec<&'u WorkloadUsage<'m>>);
    let mut waves: std::collections::BTreeMap<i64, Wave> = Default::default();
    for u in report.usages.iter().filter(|u| u.surge_pods > 0) {
        let w = waves.entry(u.wave).or_default();
        w.0 += u.surge_pods;
        w.1 = w.1.plus(u.surge);
        w.2.push(u);
    }
    let severity = if policy.quota {
        Severity::Error
    } else {
        Severity::Warning
    };
    let under = if policy.quota {
        format!("the {}% quota", percent(policy.max_utilisation))
    } else {
        "the capacity".to_owned()
    };
    for (wave, (pods, surge, members)) in waves {
        let names: Vec<&str> = members.iter().map(|u| u.name).collect();
        let checks = ledger::rollout(steady, surge, policy);
        let resources = [
            ("memory", true, policy.capacity.memory),
            ("CPU", false, policy.capacity.cpu),
        ];
        for (what, is_mem, cap, c) in failing(&resources, checks) {
            let show = |x: u64| amount(x, is_mem);
            let d = out.report_as(
                &ROLLOUT_SURGE,
                severity,
                None,
                format!(
                    "a rolling update of sync wave {wave} ({}) adds {pods} surge pod{} and takes {what} requests to {} of {} ({}%), above {under}: the rollout stalls",
                    names.join(", "),
                    if pods == 1 { "" } else { "s" },
                    show(pick(steady.plus(surge), is_mem)),
                    show(cap),
                    over(c.used, c.limit),
                ),
            );
            // Plain manifests have no capacity line: point at the largest surge.
            let place = report.location.clone().or_else(|| {
                members
                    .iter()
                    .max_by_key(|u| (pick(u.surge, is_mem), std::cmp::Reverse(u.manifest)))
                    .map(|u| {
                        report
                            .ctx
                            .locate(u.manifest, "/metadata/name", "/resources")
                    })
            });
            d.place(place, report.label()).help(
                "leave room for the surge (lower requests or replicas, or raise capacity), or give these Deployments `strategy.rollingUpdate.maxSurge: 0` with a patch (an old pod stops before its successor starts)",
            );
        }
    }
}

/// Where findings about the totals point, and who contributes most to them.
struct Report<'r, 'm> {
    ctx: &'r LintContext<'m>,
    usages: &'r [WorkloadUsage<'m>],
    /// The environment's `cluster` section, when there is one.
    location: Option<Location>,
}

impl Report<'_, '_> {
    /// Plain manifests have no capacity line to point at: point at the largest contributor,
    /// which is also the first place to look for savings.
    fn place(&self, is_memory: bool, by: &dyn Fn(&Footprint) -> Usage) -> Option<Location> {
        self.location.clone().or_else(|| {
            self.usages
                .iter()
                .max_by_key(|u| {
                    (
                        pick(by(&u.footprint), is_memory),
                        std::cmp::Reverse(u.manifest),
                    )
                })
                .map(|u| self.ctx.locate(u.manifest, "/metadata/name", "/resources"))
        })
    }

    fn label(&self) -> &'static str {
        if self.location.is_some() {
            "cluster capacity"
        } else {
            "largest contributor"
        }
    }

    /// The three largest contributors, with their amounts.
    fn top(&self, is_memory: bool, by: &dyn Fn(&Footprint) -> Usage) -> String {
        let key = |u: &WorkloadUsage| pick(by(&u.footprint), is_memory);
        let mut v: Vec<&WorkloadUsage> = self.usages.iter().collect();
        v.sort_by(|a, b| key(b).cmp(&key(a)).then(a.name.cmp(b.name)));
        v.iter()
            .take(3)
            .map(|u| format!("{} {}", u.name, amount(key(u), is_memory)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Limits above what the policy allows, at minimum replicas, else at HPA maximum: one finding
/// per resource, as the minimum is the state the platform is always in.
fn over_commit(
    out: &mut Sink,
    report: &Report,
    policy: &ledger::Policy,
    total: &Footprint,
    verdicts: &ledger::Verdicts,
) {
    let by_limits = |f: &Footprint| f.limits;
    let by_limits_at_max = |f: &Footprint| f.limits_at_max;
    for (what, is_mem, cap, code) in [
        ("memory", true, policy.capacity.memory, &LIMITS_MEMORY),
        ("CPU", false, policy.capacity.cpu, &LIMITS_CPU),
    ] {
        let Some(cap) = cap else { continue };
        // Where the requests alone do not fit, pods stay Pending: that is the problem to report
        // (the ceiling or the HPA worst case does), and limits, never below requests, add nothing.
        let fits = |u: Usage| {
            ledger::Check::exact(pick(u, is_mem), Some(cap), Some(100.0)).is_none_or(|c| c.ok)
        };
        let at_min = side(verdicts.limits, is_mem).filter(|_| fits(total.requests));
        let at_max = side(verdicts.limits_at_max, is_mem).filter(|_| fits(total.requests_at_max));
        let (c, used, by, when): (Check, u64, By, &str) = match (at_min, at_max) {
            (Some(c), _) if !c.ok => (c, pick(total.limits, is_mem), &by_limits, ""),
            (_, Some(c)) if !c.ok => (
                c,
                pick(total.limits_at_max, is_mem),
                &by_limits_at_max,
                "at HPA maximum replicas, ",
            ),
            _ => continue,
        };
        let set = if is_mem {
            policy.limits_memory.is_some()
        } else {
            policy.limits_cpu.is_some()
        };
        let (used_text, cap_text) = pair(used, cap, is_mem);
        let allowed = if set {
            format!(", above the {}% the environment allows", percent(c.limit))
        } else {
            String::new()
        };
        let consequence = if is_mem {
            "pods that use the memory they are allowed get OOM-killed"
        } else {
            "pods that use the CPU they are allowed get throttled"
        };
        let key = if is_mem { "memory" } else { "cpu" };
        let remedy = if is_mem {
            "set memory limits equal to requests (the usual practice for stateful services), lower replicas or raise capacity"
        } else {
            "lower CPU limits or replicas, or raise capacity"
        };
        let help = format!(
            "largest limits{}: {}; {remedy}, or state the over-commit you accept and why: `cluster.limits: {{ {key}: {}% }}` (`--limits-{key}` for `shipshape lint`)",
            if when.is_empty() { "" } else { " at maximum" },
            report.top(is_mem, by),
            percent(c.used.ceil()),
        );
        let d = out.report_as(
            code,
            policy.limits_severity(is_mem),
            None,
            format!(
                "{when}{what} limits total {used_text} of {cap_text} capacity ({}%){allowed}: the cluster is over-committed, and {consequence}",
                over(c.used, c.limit)
            ),
        );
        d.place(report.place(is_mem, by), report.label()).help(help);
    }
}

/// Requests above the target: information, since the target is a goal below the ceiling.
fn target(out: &mut Sink, report: &Report, total: &Footprint, verdicts: &ledger::Verdicts) {
    let by_requests = |f: &Footprint| f.requests;
    for (what, is_mem) in [("memory", true), ("CPU", false)] {
        let Some(c) = side(verdicts.target, is_mem) else {
            continue;
        };
        if c.ok {
            continue;
        }
        let help = format!(
            "the target is a goal below the ceiling, not a gate; largest requests: {}",
            report.top(is_mem, &by_requests)
        );
        let d = out.report(
            &TARGET,
            None,
            format!(
                "{what} requests total {} ({}% of capacity), above the {}% target",
                amount(pick(total.requests, is_mem), is_mem),
                over(c.used, c.limit),
                percent(c.limit)
            ),
        );
        d.place(report.place(is_mem, &by_requests), report.label())
            .help(help);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_just_over_its_limit_does_not_print_as_the_limit() {
        assert_eq!(over(156.25, 100.0), "156.2");
        assert_eq!(over(100.048_828_125, 100.0), "100.05");
        assert_eq!(over(80.000_01, 80.0), "80.0000");
    }

    #[test]
    fn amounts_that_round_alike_print_exactly() {
        let mi = 1 << 20;
        assert_eq!(
            pair(8196 * mi, 8192 * mi, true),
            ("8196Mi".into(), "8Gi".into())
        );
        assert_eq!(pair(12 << 30, 8 << 30, true), ("12Gi".into(), "8Gi".into()));
    }
}
