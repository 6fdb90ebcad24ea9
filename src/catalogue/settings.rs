//! What an environment file says about its cluster and the linter, read one way for every
//! command: `build`, `check` and `plan` through the catalogue, `lint --environment-file` on its
//! own. Two readers of one file would let `lint` accept what `build` refuses, or judge capacity
//! differently.

use crate::catalogue::load::{typed_error, LoadedEnvironment};
use crate::catalogue::model::{ClusterSpec, EnforceSpec, IstioSpec, LintSpec};
use crate::catalogue::origin::Origin;
use crate::catalogue::quantity::{parse_cpu, parse_memory, parse_percent, QuantityError};
use crate::catalogue::resolve::Amount;
use crate::catalogue::schema::closest;
use crate::diagnostic::{Diagnostic, Failure, Location, Severity};
use crate::plan::ledger::Policy;
use indexmap::IndexMap;
use serde_json::Value;

/// The cluster, mesh, enforcement and lint settings of one environment.
#[derive(Debug, Clone)]
pub struct EnvironmentSettings {
    pub capacity: Amount,
    pub max_utilisation: f64,
    /// Limits and target policy of `cluster`.
    pub cluster: ClusterSpec,
    pub istio: IstioSpec,
    /// The Istio sidecar's requests and limits, added to every pod by the capacity checks.
    pub pod_overhead: (Amount, Amount),
    pub enforce: EnforceSpec,
    /// Rule id or code -> configured severity (`None` = off): the catalogue's, then the
    /// environment's.
    pub rule_levels: IndexMap<String, Option<Severity>>,
}

impl EnvironmentSettings {
    /// What the capacity checks hold the environment to.
    pub fn policy(&self) -> Policy {
        Policy::new(
            self.capacity,
            self.max_utilisation,
            &self.cluster,
            self.pod_overhead,
            self.enforce.quota,
        )
    }
}

/// Reads the settings of `env`, with the catalogue's lint levels (if any) under the
/// environment's. Problems that leave a usable value go to `problems`; a value of the wrong shape
/// fails at once.
pub fn read(
    env: &LoadedEnvironment,
    catalogue_lint: Option<(&LintSpec, Origin)>,
    problems: &mut Vec<Diagnostic>,
) -> Result<EnvironmentSettings, Failure> {
    let env_origin = env.origin();
    let env_value = &env.doc.value;
    let cluster: ClusterSpec =
        serde_json::from_value(env_value.get("cluster").cloned().unwrap_or(Value::Null))
            .map_err(|e| typed_error(&env_origin.child("cluster"), &e))?;
    let cpu_at = env_origin.child("cluster").child("capacity").child("cpu");
    let mem_at = env_origin
        .child("cluster")
        .child("capacity")
        .child("memory");
    let capacity = Amount {
        cpu: parse_cpu(&cluster.capacity.cpu.0)
            .map_err(|e| {
                problems.push(quantity_diag(
                    &e,
                    cpu_at.value_at("").unwrap_or(cpu_at.location()),
                    "cluster CPU capacity",
                ))
            })
            .ok(),
        memory: parse_memory(&cluster.capacity.memory.0)
            .map_err(|e| {
                problems.push(quantity_diag(
                    &e,
                    mem_at.value_at("").unwrap_or(mem_at.location()),
                    "cluster memory capacity",
                ))
            })
            .ok(),
    };
    let max_utilisation = match &cluster.max_utilisation {
        Some(text) => {
            let at = env_origin.child("cluster").child("maxUtilisation");
            parse_percent(text)
                .map_err(|e| {
                    problems.push(quantity_diag(
                        &e,
                        at.value_at("").unwrap_or(at.location()),
                        "maxUtilisation",
                    ))
                })
                .unwrap_or(100.0)
        }
        None => 100.0,
    };
    let istio: IstioSpec = match env_value.get("istio") {
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| typed_error(&env_origin.child("istio"), &e))?,
        None => IstioSpec::default(),
    };
    let enforce: EnforceSpec = match env_value.get("enforce") {
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| typed_error(&env_origin.child("enforce"), &e))?,
        None => EnforceSpec::default(),
    };
    let pod_overhead = proxy_overhead(&istio, &cluster, &enforce, &env_origin, problems);
    let rule_levels = rule_levels(catalogue_lint, env, problems);
    Ok(EnvironmentSettings {
        capacity,
        max_utilisation,
        cluster,
        istio,
        pod_overhead,
        enforce,
        rule_levels,
    })
}

pub fn quantity_diag(e: &QuantityError, at: Location, what: &str) -> Diagnostic {
    let mut d = Diagnostic::error("input/bad-quantity", format!("{what}: {}", e.message))
        .at(Some(at), "this quantity");
    d.help = Some(match &e.suggestion {
        Some(s) => format!("did you mean `{s}`?"),
        None => "CPU is written like `500m` or `2`; memory like `128Mi` or `1Gi`".into(),
    });
    d
}

fn rule_levels(
    catalogue: Option<(&LintSpec, Origin)>,
    env: &LoadedEnvironment,
    problems: &mut Vec<Diagnostic>,
) -> IndexMap<String, Option<Severity>> {
    let mut levels = IndexMap::new();
    let env_lint: LintSpec = env
        .doc
        .value
        .get("lint")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    let known: Vec<String> = crate::lint::rules::all()
        .iter()
        .map(|r| r.id.to_owned())
        .chain(crate::lint::all_codes().map(|c| c.id.to_owned()))
        .collect();
    let sources = catalogue
        .into_iter()
        .chain([(&env_lint, env.origin().child("lint"))]);
    for (spec, origin) in sources {
        for (rule, level) in &spec.rules {
            let at = origin.child("rules").child(rule);
            if !known.contains(rule) {
                let mut d = Diagnostic::error(
                    "input/unknown-rule",
                    format!("unknown lint rule or code `{rule}`"),
                )
                .at(at.key_at(""), "no such rule or code");
                d.help = Some(match closest(rule, &known) {
                    Some(c) => format!("did you mean `{c}`? `shipshape rules` lists them all"),
                    None => "`shipshape rules` lists the rules and their codes".into(),
                });
                problems.push(d);
                continue;
            }
            let parsed = match level.as_str() {
                "off" => None,
                other => match Severity::parse(other) {
                    Some(s) => Some(s),
                    None => {
                        problems.push(
                            Diagnostic::error(
                                "input/bad-severity",
                                format!("`{other}` is not a severity"),
                            )
                            .at(at.value_at(""), "here")
                            .with_help("use one of: error, warning, info, off"),
                        );
                        continue;
                    }
                },
            };
            levels.insert(rule.clone(), parsed);
        }
    }
    levels
}

fn proxy_overhead(
    istio: &IstioSpec,
    cluster: &ClusterSpec,
    enforce: &EnforceSpec,
    env_origin: &Origin,
    problems: &mut Vec<Diagnostic>,
) -> (Amount, Amount) {
    let at = env_origin.child("istio").child("proxy");
    let proxy = istio.proxy.as_ref().filter(|_| istio.enabled);
    let quota_at = || env_origin.child("enforce").key_at("/quota");
    if istio.enabled && enforce.quota {
        let limits_quota = cluster.limits.cpu.is_some() || cluster.limits.memory.is_some();
        let limits_known =
            proxy.is_some_and(|p| p.limits.cpu.is_some() || p.limits.memory.is_some());
        if proxy.is_none() {
            problems.push(
                Diagnostic::error(
                    "input/quota-without-proxy",
                    "`enforce.quota` is on in an Istio namespace, but `istio.proxy` does not say what the injected sidecar requests",
                )
                .at(quota_at(), "the quota counts every container, the sidecar too")
                .with_help("add `istio: { proxy: { requests: { cpu: 100m, memory: 128Mi } } }` with your mesh's proxy requests (Istio's defaults), so the capacity checks count what the quota will"),
            );
        } else if limits_quota && !limits_known {
            problems.push(
                Diagnostic::error(
                    "input/quota-without-proxy",
                    "`enforce.quota` holds limits to `cluster.limits`, but `istio.proxy` does not say what the injected sidecar's limits are",
                )
                .at(quota_at(), "the quota counts every container's limits, the sidecar's too")
                .with_help("add `limits` to `istio.proxy` (Istio's defaults are cpu 2 and memory 1Gi)"),
            );
        }
    }
    let Some(proxy) = proxy else {
        return (Amount::default(), Amount::default());
    };
    let mut amounts = [Amount::default(), Amount::default()];
    for (amount, (key, set)) in amounts
        .iter_mut()
        .zip([("requests", &proxy.requests), ("limits", &proxy.limits)])
    {
        let at = at.child(key);
        if let Some(cpu) = &set.cpu {
            let at = at.child("cpu");
            amount.cpu = parse_cpu(&cpu.0)
                .map_err(|e| {
                    let place = at.value_at("").unwrap_or(at.location());
                    problems.push(quantity_diag(&e, place, "istio.proxy CPU"))
                })
                .ok();
        }
        if let Some(memory) = &set.memory {
            let at = at.child("memory");
            amount.memory = parse_memory(&memory.0)
                .map_err(|e| {
                    let place = at.value_at("").unwrap_or(at.location());
                    problems.push(quantity_diag(&e, place, "istio.proxy memory"))
                })
                .ok();
        }
    }
    let [requests, limits] = amounts;
    (requests, limits)
}
