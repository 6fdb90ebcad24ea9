//! Per-environment resolution: defaults, then catalogue, then environment overrides, with every
//! semantic check that needs the merged values (quantities, references, image tags).

use crate::catalogue::fields::{resolve_fields, FileSource, ServiceFields};
use crate::catalogue::load::{typed_error, LoadedCatalogue, LoadedEnvironment};
use crate::catalogue::model::{
    ArgoSpec, ProbeKind, Protocol, QuantityText, Resources, Rollout, ServiceSpec, StartupProbe,
    Workload,
};
use crate::catalogue::origin::{Layers, Origin};
use crate::catalogue::quantity::{parse_cpu, parse_memory, parse_percent};
use crate::catalogue::schema::closest;
use crate::catalogue::settings::{self, quantity_diag, EnvironmentSettings};
use crate::diagnostic::{Diagnostic, Failure, Location};
use indexmap::IndexMap;
use serde_json::Value;
use std::collections::HashMap;

/// The user and group every container runs as unless its service says otherwise: above 10000,
/// so no account of the host or of a typical image's /etc/passwd (system users sit below 1000,
/// login users from 1000) is shared by accident.
pub const DEFAULT_RUN_AS_ID: u32 = 10001;
/// Ephemeral storage (the writable layer, the /tmp emptyDir, logs) when the catalogue names none:
/// enough for logs the kubelet rotates and scratch files, bounded so one pod cannot fill a node.
pub const DEFAULT_EPHEMERAL_REQUEST: &str = "128Mi";
pub const DEFAULT_EPHEMERAL_LIMIT: &str = "1Gi";
/// The longest StatefulSet name: its governing Service is `<name>-headless`, a DNS-1035 label.
pub const HEADLESS_SUFFIX: &str = "-headless";
const MAX_STATEFUL_NAME: usize = 63 - HEADLESS_SUFFIX.len();

/// How the service's pods run, after the restricted defaults and the catalogue's departures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedSecurity {
    pub run_as_user: u32,
    pub run_as_group: u32,
    pub fs_group: u32,
    pub read_only_root_filesystem: bool,
    /// Mount the service account token into the pods: only for services that call the API server.
    pub service_account_token: bool,
}

impl Default for ResolvedSecurity {
    fn default() -> Self {
        ResolvedSecurity {
            run_as_user: DEFAULT_RUN_AS_ID,
            run_as_group: DEFAULT_RUN_AS_ID,
            fs_group: DEFAULT_RUN_AS_ID,
            read_only_root_filesystem: true,
            service_account_token: false,
        }
    }
}

/// CPU in millicores and memory in bytes, each optional because a manifest may omit it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Amount {
    pub cpu: Option<u64>,
    pub memory: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct ResolvedPhase {
    pub name: String,
    pub rollout: Rollout,
    pub batches: Vec<String>,
    /// Ceilings on cumulative requests after this phase, in percent of capacity.
    pub memory_budget: Option<f64>,
    pub cpu_budget: Option<f64>,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct ResolvedService {
    pub name: String,
    pub description: Option<String>,
    pub phase: usize,
    pub batch: Option<String>,
    /// ArgoCD sync wave.
    pub wave: i64,
    pub workload: Workload,
    pub image: String,
    pub port: u16,
    pub protocol: Protocol,
    pub probe: ProbeKind,
    pub health_path: String,
    pub replicas_min: u32,
    pub replicas_max: Option<u32>,
    pub cpu_target: u32,
    /// Quantities as written (validated), for rendering.
    pub requests_text: (Option<String>, Option<String>),
    pub limits_text: (Option<String>, Option<String>),
    pub requests: Amount,
    pub limits: Amount,
    /// Ephemeral storage request and limit as written (or the defaults), for rendering.
    pub ephemeral_storage_text: (String, String),
    pub security: ResolvedSecurity,
    pub startup: Option<StartupProbe>,
    pub depends_on: Vec<String>,
    /// `callableFromAll`: every other service is a caller, none waits for it.
    pub callable_from_all: bool,
    /// Services it calls without a startup dependency on them.
    pub calls: Vec<String>,
    pub ingress_namespaces: Vec<String>,
    /// Environment, volumes, configuration files, command, pod metadata and scheduling.
    pub fields: ServiceFields,
    pub mesh_timeout: Option<String>,
    pub mesh_retries: Option<u32>,
    pub canary: IndexMap<String, u32>,
    pub storage_size: Option<String>,
    pub suppress: IndexMap<String, String>,
    pub layers: Layers,
    /// The catalogue's patches of this service, then the environment's: the order they apply in.
    pub patches: Vec<std::sync::Arc<crate::patch::Patch>>,
}

impl ResolvedService {
    /// Where the effective value at `relative` is written, else the service's own name.
    pub fn locate(&self, relative: &str) -> Location {
        self.layers
            .value_at(relative)
            .unwrap_or_else(|| self.declaration())
    }

    /// The service's name in the catalogue.
    pub fn declaration(&self) -> Location {
        let catalogue = self
            .layers
            .layers
            .iter()
            .rev()
            .find(|l| l.pointer.starts_with("/services/"));
        match catalogue {
            Some(o) => o.location(),
            None => self.layers.layers[0].location(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ResolvedEnvironment {
    pub name: String,
    pub platform: String,
    pub namespace: String,
    /// Capacity, mesh, enforcement and lint levels, as `catalogue::settings` read them.
    pub settings: EnvironmentSettings,
    /// Container requests and limits of `defaults` (catalogue, then environment): what a
    /// LimitRange gives a container that sets none.
    pub default_resources: Resources,
    pub argocd: Option<ArgoSpec>,
    pub phases: Vec<ResolvedPhase>,
    pub services: Vec<ResolvedService>,
    pub origin: Origin,
    pub catalogue_origin: Origin,
    /// Service name -> index in `services`; lookups by name happen per finding and per edge.
    by_name: HashMap<String, usize>,
    /// Service name -> indexes of the services that depend on it or call it, in catalogue order.
    callers: HashMap<String, Vec<usize>>,
    /// Indexes of the `callableFromAll` services, in catalogue order: every service's policies
    /// name them, so they are found once, not by a walk of all services per service.
    callable_from_all: Vec<usize>,
}

impl ResolvedEnvironment {
    pub fn service(&self, name: &str) -> Option<&ResolvedService> {
        self.by_name.get(name).and_then(|&i| self.services.get(i))
    }

    /// The services allowed to call `name`, in catalogue order: those that list it in `dependsOn`
    /// or `calls`, or every other service when it is `callableFromAll`.
    pub fn callers(&self, name: &str) -> Vec<&ResolvedService> {
        if self.service(name).is_some_and(|s| s.callable_from_all) {
            return self.services.iter().filter(|s| s.name != name).collect();
        }
        self.callers
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.services.get(i))
            .collect()
    }

    /// The `callableFromAll` services `name` may call without declaring them, in catalogue order;
    /// never `name` itself.
    pub fn platform_callees<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = &'a ResolvedService> + 'a {
        self.callable_from_all
            .iter()
            .map(|&i| &self.services[i])
            .filter(move |s| s.name != name)
    }
}

/// Deep merge: maps merge key by key; anything else replaces.
pub fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// [`merge`] of a service's own values, less its `patches`: they apply to the rendered resources,
/// both lists in order (read once in `load`, per environment below), not to the merged values,
/// and copying them into every environment's merge would cost as much as the rest of a service.
fn merge_service(base: &mut Value, service: &Value) {
    match (base.as_object_mut(), service.as_object()) {
        (Some(b), Some(s)) => {
            for (k, v) in s.iter().filter(|(k, _)| *k != "patches") {
                match b.get_mut(k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        _ => merge(base, service),
    }
}

pub fn resolve(
    cat: &LoadedCatalogue,
    env: &LoadedEnvironment,
) -> Result<ResolvedEnvironment, Failure> {
    let mut problems = Vec::new();
    let env_origin = env.origin();
    let env_value = &env.doc.value;

    let settings = settings::read(
        env,
        Some((&cat.lint, cat.lint_origin.clone())),
        &mut problems,
    )?;
    let argocd: Option<ArgoSpec> = match env_value.get("argocd") {
        Some(v) => Some(
            serde_json::from_value(v.clone())
                .map_err(|e| typed_error(&env_origin.child("argocd"), &e))?,
        ),
        None => None,
    };
    if let Some(argo) = &argocd {
        problems.extend(argocd_problems(argo, &env_origin.child("argocd")));
    }
    let image_tag = env_value
        .get("imageTag")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let namespace = env_value
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or(&cat.namespace)
        .to_owned();

    // Phases.
    let mut phases = Vec::new();
    let mut phase_index: IndexMap<&str, usize> = IndexMap::new();
    for (spec, origin) in &cat.phases {
        if let Some(first) = phase_index.get(spec.name.as_str()) {
            problems.push(
                Diagnostic::error(
                    "input/duplicate-phase",
                    format!("phase `{}` is declared twice", spec.name),
                )
                .at(origin.value_at("/name"), "declared again here")
                .with_related(
                    cat.phases[*first].1.value_at("/name"),
                    "first declared here",
                )
                .with_help("give every phase a unique name"),
            );
            continue;
        }
        if spec.rollout == Rollout::Sequential && !spec.batches.is_empty() {
            problems.push(
                Diagnostic::error(
                    "input/batches-in-sequential-phase",
                    format!("phase `{}` is sequential but declares batches", spec.name),
                )
                .at(
                    origin.key_at("/batches"),
                    "batches only apply to parallel phases",
                )
                .with_help("remove `batches`, or set `rollout: parallel`"),
            );
        }
        let pct = |key: &str, text: &Option<String>, problems: &mut Vec<Diagnostic>| {
            text.as_ref().and_then(|t| {
                parse_percent(t)
                    .map_err(|e| {
                        let at = origin
                            .value_at(&format!("/budget/{key}"))
                            .unwrap_or(origin.location());
                        problems.push(quantity_diag(&e, at, "phase budget"));
                    })
                    .ok()
            })
        };
        let memory_budget = pct("memory", &spec.budget.memory, &mut problems);
        let cpu_budget = pct("cpu", &spec.budget.cpu, &mut problems);
        phase_index.insert(&spec.name, phases.len());
        phases.push(ResolvedPhase {
            name: spec.name.clone(),
            rollout: spec.rollout,
            batches: spec.batches.clone(),
            memory_budget,
            cpu_budget,
            origin: origin.clone(),
        });
    }

    // Overrides must name real services.
    let overrides = env_value.get("services").and_then(Value::as_object);
    if let Some(map) = overrides {
        let known: Vec<String> = cat.services.keys().cloned().collect();
        for name in map.keys().filter(|n| !cat.services.contains_key(*n)) {
            let mut d = Diagnostic::error(
                "input/unknown-service",
                format!("environment `{}` overrides service `{name}`, which the catalogue does not define", env.name),
            )
            .at(env_origin.child("services").child(name).key_at(""), "no such service");
            d.help = Some(match closest(name, &known) {
                Some(s) => format!("did you mean `{s}`?"),
                None => "remove the override, or add the service to the catalogue".into(),
            });
            problems.push(d);
        }
    }

    // Services.
    let mut cat_defaults = cat.defaults.clone();
    let registry = cat_defaults
        .as_object_mut()
        .and_then(|m| m.remove("imageRegistry"))
        .and_then(|v| v.as_str().map(str::to_owned));
    let mut env_defaults = env_value.get("defaults").cloned().unwrap_or(Value::Null);
    if let Some(m) = env_defaults.as_object_mut() {
        m.remove("imageRegistry");
    }
    let default_resources = default_resources(&cat_defaults, &env_defaults);
    let mut services = Vec::new();
    let files = FileSource {
        root: &cat.root,
        limits: &cat.limits,
    };
    check_security_reason(
        &cat_defaults,
        &cat.defaults_origin,
        "defaults",
        &mut problems,
    );
    check_security_reason(
        &env_defaults,
        &env_origin.child("defaults"),
        "defaults",
        &mut problems,
    );
    for (name, declared) in &cat.services {
        let what = format!("service `{name}`");
        check_security_reason(&declared.value, &declared.origin, &what, &mut problems);
        if let Some(o) = overrides.and_then(|m| m.get(name)) {
            check_security_reason(
                o,
                &env_origin.child("services").child(name),
                &what,
                &mut problems,
            );
        }
        let mut layers = Layers::default();
        let override_value = overrides.and_then(|m| m.get(name));
        if override_value.is_some() {
            layers.layers.push(env_origin.child("services").child(name));
        }
        layers.layers.push(declared.origin.clone());
        if env_defaults.is_object() {
            layers.layers.push(env_origin.child("defaults"));
        }
        if cat_defaults.is_object() {
            layers.layers.push(cat.defaults_origin.clone());
        }
        let mut merged = if cat_defaults.is_object() {
            cat_defaults.clone()
        } else {
            Value::Object(Default::default())
        };
        if env_defaults.is_object() {
            merge(&mut merged, &env_defaults);
        }
        merge_service(&mut merged, &declared.value);
        if let Some(o) = override_value {
            merge_service(&mut merged, o);
        }
        let spec: ServiceSpec = match serde_json::from_value(merged) {
            Ok(s) => s,
            Err(e) => {
                problems.push(typed_error(&declared.origin, &e));
                continue;
            }
        };
        let replicas_may_exceed_one =
            spec.replicas.min.unwrap_or(1) > 1 || spec.replicas.max.is_some_and(|m| m > 1);
        let fields = resolve_fields(
            name,
            &spec,
            replicas_may_exceed_one,
            &layers,
            &files,
            &mut problems,
        );
        let mut patches = declared.patches.clone();
        if let Some(o) = override_value {
            let origin = env_origin.child("services").child(name);
            patches.extend(crate::patch::read_patches(name, o, &origin, &mut problems));
        }
        if let Some(mut s) = check_service(
            name,
            spec,
            &layers,
            &phase_index,
            &phases,
            registry.as_deref(),
            image_tag.as_deref(),
            &env.name,
            &mut problems,
        ) {
            s.patches = patches;
            if let Some(fields) = fields {
                s.fields = fields;
                services.push(s);
            }
        }
    }

    // References between services.
    // Against everything declared, so a service that failed its own checks does not also show up
    // as "not defined" in its dependents.
    let names: Vec<String> = cat.services.keys().cloned().collect();
    let declared: std::collections::HashSet<&str> = names.iter().map(String::as_str).collect();
    for s in &services {
        for (i, dep) in s.depends_on.iter().enumerate() {
            if dep == &s.name {
                problems.push(
                    Diagnostic::error(
                        "input/self-dependency",
                        format!("service `{}` depends on itself", s.name),
                    )
                    .at(
                        Some(s.locate(&format!("/dependsOn/{i}"))),
                        "remove this entry",
                    )
                    .with_help("a service cannot wait for itself; remove the entry"),
                );
            } else if !declared.contains(dep.as_str()) {
                let mut d = Diagnostic::error(
                    "input/unknown-dependency",
                    format!(
                        "service `{}` depends on `{dep}`, which the catalogue does not define",
                        s.name
                    ),
                )
                .at(
                    Some(s.locate(&format!("/dependsOn/{i}"))),
                    "no such service",
                );
                d.help = Some(match closest(dep, &names) {
                    Some(c) => format!("did you mean `{c}`?"),
                    None => "add the service to the catalogue, or remove the dependency".into(),
                });
                problems.push(d);
            }
        }
    }

    check_calls(&services, &names, &declared, &mut problems);
    assign_waves(&mut services, &phases);

    if !problems.is_empty() {
        return Err(problems.into());
    }
    let by_name: HashMap<String, usize> = services
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.clone(), i))
        .collect();
    let callable_from_all: Vec<usize> = services
        .iter()
        .enumerate()
        .filter(|(_, s)| s.callable_from_all)
        .map(|(i, _)| i)
        .collect();
    let mut callers: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, s) in services.iter().enumerate() {
        for dep in s.depends_on.iter().chain(&s.calls) {
            let list = callers.entry(dep.clone()).or_default();
            // A service listing a dependency twice is still one caller.
            if list.last() != Some(&i) {
                list.push(i);
            }
        }
    }
    Ok(ResolvedEnvironment {
        by_name,
        callers,
        callable_from_all,
        name: env.name.clone(),
        platform: cat.platform.clone(),
        namespace,
        settings,
        default_resources,
        argocd,
        phases,
        services,
        origin: env_origin,
        catalogue_origin: cat.main.root(),
    })
}

/// `calls` must name other services of the catalogue, like `dependsOn`.
fn check_calls(
    services: &[ResolvedService],
    names: &[String],
    declared: &std::collections::HashSet<&str>,
    problems: &mut Vec<Diagnostic>,
) {
    for s in services {
        for (i, callee) in s.calls.iter().enumerate() {
            let at = Some(s.locate(&format!("/calls/{i}")));
            if callee == &s.name {
                problems.push(
                    Diagnostic::error(
                        "input/self-call",
                        format!("service `{}` lists itself in `calls`", s.name),
                    )
                    .at(at, "remove this entry")
                    .with_help("a service may always reach its own pods; remove the entry"),
                );
            } else if !declared.contains(callee.as_str()) {
                let mut d = Diagnostic::error(
                    "input/unknown-callee",
                    format!(
                        "service `{}` calls `{callee}`, which the catalogue does not define",
                        s.name
                    ),
                )
                .at(at, "no such service");
                d.help = Some(match closest(callee, names) {
                    Some(c) => format!("did you mean `{c}`?"),
                    None => "add the service to the catalogue, or remove the entry".into(),
                });
                problems.push(d);
            }
        }
    }
}

/// The sidecar's requests and limits as the capacity checks add them to each pod. A namespace
/// quota counts every container the API server admits, the injected proxy included, so a quota in
/// an Istio namespace is only honest when what the proxy asks for is known.
/// What the schema cannot say about an `argocd` section: a destination is a server or a name,
/// not both, and `repoPath` stays inside the repository.
fn argocd_problems(argo: &ArgoSpec, at: &Origin) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    if argo.destination.server.is_some() && argo.destination.name.is_some() {
        problems.push(
            Diagnostic::error(
                "input/argocd-destination",
                "`argocd.destination` sets both `server` and `name`; Argo CD accepts only one",
            )
            .at(at.key_at("/destination/name"), "the second way to name the cluster")
            .with_help("keep `server` (the API server URL) or `name` (the cluster's name in Argo CD), not both"),
        );
    }
    if let Some(path) = &argo.repo_path {
        if path
            .split('/')
            .any(|segment| segment.is_empty() || segment == "." || segment == "..")
        {
            problems.push(
                Diagnostic::error(
                    "input/argocd-repo-path",
                    format!("`argocd.repoPath` `{path}` is not a plain path inside the repository"),
                )
                .at(at.value_at("/repoPath"), "here")
                .with_help("write the project's directory relative to the repository root, with `/` between names and no `.` or `..`, e.g. `platform/openpolicy`"),
            );
        }
    }
    problems
}

/// `defaults.resources` of the catalogue with the environment's `defaults.resources` over it.
fn default_resources(cat_defaults: &Value, env_defaults: &Value) -> Resources {
    let mut merged = cat_defaults
        .get("resources")
        .cloned()
        .unwrap_or(Value::Object(Default::default()));
    if let Some(over) = env_defaults.get("resources") {
        merge(&mut merged, over);
    }
    // Already validated with the services that inherit it; a shape error is reported there.
    serde_json::from_value(merged).unwrap_or_default()
}

#[allow(clippy::too_many_arguments)]
fn check_service(
    name: &str,
    spec: ServiceSpec,
    layers: &Layers,
    phase_index: &IndexMap<&str, usize>,
    phases: &[ResolvedPhase],
    registry: Option<&str>,
    image_tag: Option<&str>,
    env_name: &str,
    problems: &mut Vec<Diagnostic>,
) -> Option<ResolvedService> {
    let here = |rel: &str| layers.value_at(rel).or_else(|| layers.key_at(""));
    let before = problems.len();
    let phase = match phase_index.get(spec.phase.as_str()) {
        Some(i) => *i,
        None => {
            let known: Vec<String> = phase_index.keys().map(|k| (*k).to_owned()).collect();
            let mut d = Diagnostic::error(
                "input/unknown-phase",
                format!(
                    "service `{name}` names phase `{}`, which is not declared",
                    spec.phase
                ),
            )
            .at(here("/phase"), "no such phase");
            d.help = Some(match closest(&spec.phase, &known) {
                Some(c) => format!("did you mean `{c}`? declared phases: {}", known.join(", ")),
                None => format!("declared phases: {}", known.join(", ")),
            });
            problems.push(d);
            0
        }
    };
    if let (Some(batch), Some(p)) = (&spec.batch, phases.get(phase)) {
        if problems.len() == before && !p.batches.contains(batch) {
            problems.push(
                Diagnostic::error(
                    "input/unknown-batch",
                    format!(
                        "service `{name}` names batch `{batch}`, which phase `{}` does not declare",
                        p.name
                    ),
                )
                .at(here("/batch"), "no such batch")
                .with_help(if p.batches.is_empty() {
                    format!("phase `{}` has no batches; remove `batch`", p.name)
                } else {
                    format!("batches of `{}`: {}", p.name, p.batches.join(", "))
                }),
            );
        }
    } else if let Some(p) = phases.get(phase) {
        if spec.batch.is_none() && !p.batches.is_empty() && problems.len() == before {
            problems.push(
                Diagnostic::error("input/missing-batch", format!("service `{name}` is in phase `{}`, which rolls out in batches, but names none", p.name))
                    .at(here("/phase"), "in this phase")
                    .with_help(format!("add `batch:` with one of: {}", p.batches.join(", "))),
            );
        }
    }
    let mut parse_q = |rel: &str,
                       text: &Option<crate::catalogue::model::QuantityText>,
                       cpu: bool|
     -> Option<u64> {
        let t = text.as_ref()?;
        let r = if cpu {
            parse_cpu(&t.0)
        } else {
            parse_memory(&t.0)
        };
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                let at = here(rel).unwrap_or_else(|| layers.layers[0].location());
                problems.push(quantity_diag(&e, at, &format!("service `{name}`")));
                None
            }
        }
    };
    let requests = Amount {
        cpu: parse_q(
            "/resources/requests/cpu",
            &spec.resources.requests.cpu,
            true,
        ),
        memory: parse_q(
            "/resources/requests/memory",
            &spec.resources.requests.memory,
            false,
        ),
    };
    let limits = Amount {
        cpu: parse_q("/resources/limits/cpu", &spec.resources.limits.cpu, true),
        memory: parse_q(
            "/resources/limits/memory",
            &spec.resources.limits.memory,
            false,
        ),
    };
    let ephemeral_requested = parse_q(
        "/resources/requests/ephemeralStorage",
        &spec.resources.requests.ephemeral_storage,
        false,
    );
    let ephemeral_limited = parse_q(
        "/resources/limits/ephemeralStorage",
        &spec.resources.limits.ephemeral_storage,
        false,
    );
    let storage_size = spec.storage.as_ref().and_then(|s| s.size.clone());
    if let Some(size) = &storage_size {
        parse_q("/storage/size", &Some(size.clone()), false);
        if spec.workload != Workload::StatefulSet {
            problems.push(
                Diagnostic::error(
                    "input/storage-needs-statefulset",
                    format!("service `{name}` asks for storage but is a deployment"),
                )
                .at(here("/storage"), "storage")
                .with_help("set `workload: statefulset`, or remove `storage`"),
            );
        }
    }
    let cpu_target = match &spec.replicas.cpu_target {
        Some(t) => match parse_percent(t) {
            Ok(p) => p.round() as u32,
            Err(e) => {
                let at = here("/replicas/cpuTarget").unwrap_or_else(|| layers.layers[0].location());
                problems.push(quantity_diag(&e, at, "cpuTarget"));
                80
            }
        },
        None => 80,
    };
    // Kubernetes gives a container with a limit and no request a request equal to the limit; the
    // budgets count what the scheduler will reserve, so they take the same value.
    let text = |q: &Option<QuantityText>| q.as_ref().map(|q| q.0.clone());
    let limits_text = (
        text(&spec.resources.limits.cpu),
        text(&spec.resources.limits.memory),
    );
    let requests_text = (
        text(&spec.resources.requests.cpu).or_else(|| limits_text.0.clone()),
        text(&spec.resources.requests.memory).or_else(|| limits_text.1.clone()),
    );
    let requests = Amount {
        cpu: requests.cpu.or(limits.cpu),
        memory: requests.memory.or(limits.memory),
    };
    let ephemeral_limit_text = text(&spec.resources.limits.ephemeral_storage)
        .unwrap_or_else(|| DEFAULT_EPHEMERAL_LIMIT.to_owned());
    let ephemeral_request_text = text(&spec.resources.requests.ephemeral_storage)
        .or_else(|| text(&spec.resources.limits.ephemeral_storage))
        .unwrap_or_else(|| DEFAULT_EPHEMERAL_REQUEST.to_owned());
    let ephemeral_limit = ephemeral_limited.or_else(|| parse_memory(DEFAULT_EPHEMERAL_LIMIT).ok());
    let ephemeral_request = ephemeral_requested
        .or(ephemeral_limited)
        .or_else(|| parse_memory(DEFAULT_EPHEMERAL_REQUEST).ok());
    let compared = [
        (
            "cpu",
            requests.cpu,
            &requests_text.0,
            limits.cpu,
            &limits_text.0,
        ),
        (
            "memory",
            requests.memory,
            &requests_text.1,
            limits.memory,
            &limits_text.1,
        ),
        (
            "ephemeralStorage",
            ephemeral_request,
            &Some(ephemeral_request_text.clone()),
            ephemeral_limit,
            &Some(ephemeral_limit_text.clone()),
        ),
    ];
    for (key, request, request_text, limit, limit_text) in compared {
        let (Some(request), Some(limit)) = (request, limit) else {
            continue;
        };
        if request <= limit {
            continue;
        }
        let request_at = layers
            .value_at(&format!("/resources/requests/{key}"))
            .or_else(|| layers.value_at(&format!("/resources/limits/{key}")));
        let limit_at = layers.value_at(&format!("/resources/limits/{key}"));
        let request_text = request_text.as_deref().unwrap_or("");
        let limit_text = limit_text.as_deref().unwrap_or("");
        let help = if limit_at.is_some() {
            format!(
                "the API server rejects a pod whose request is above its limit: raise `limits.{key}` to at least {request_text}, or lower the request"
            )
        } else {
            format!(
                "the limit is the built-in default ({limit_text}), and the API server rejects a pod whose request is above its limit: set `limits.{key}` to at least {request_text}, or lower the request"
            )
        };
        problems.push(
            Diagnostic::error(
                "input/request-above-limit",
                format!(
                    "service `{name}` in environment `{env_name}`: requests.{key} ({request_text}) is above limits.{key} ({limit_text})"
                ),
            )
            .at(
                request_at.or_else(|| layers.key_at("")),
                format!("request {request_text}"),
            )
            .with_related(limit_at, format!("limit {limit_text}"))
            .with_help(help),
        );
    }
    if spec.workload == Workload::StatefulSet && name.len() > MAX_STATEFUL_NAME {
        problems.push(
            Diagnostic::error(
                "input/bad-name",
                format!(
                    "statefulset `{name}` is {} characters long; its governing Service `{name}{HEADLESS_SUFFIX}` would be longer than 63",
                    name.len()
                ),
            )
            .at(layers.key_at(""), "this name")
            .with_help(format!(
                "shorten the service name to at most {MAX_STATEFUL_NAME} characters"
            )),
        );
    }
    let replicas_min = spec.replicas.min.unwrap_or(1);
    if let Some(max) = spec.replicas.max {
        if replicas_min == 0 && max > 0 {
            // An HPA renders from a range; the API server refuses `minReplicas: 0` unless the
            // alpha HPAScaleToZero feature gate is on.
            problems.push(
                Diagnostic::error("input/replicas", format!("service `{name}`: replicas.min is 0 while replicas.max makes it autoscaled; a HorizontalPodAutoscaler cannot scale from zero"))
                    .at(here("/replicas/min"), "min")
                    .with_help("set replicas.min to at least 1, or drop replicas.max for a service kept at zero replicas"),
            );
        }
        if max < replicas_min {
            problems.push(
                Diagnostic::error("input/replicas", format!("service `{name}`: replicas.max ({max}) is below replicas.min ({replicas_min})"))
                    .at(here("/replicas/max"), "max")
                    .with_related(here("/replicas/min"), "min")
                    .with_help("raise max to at least min"),
            );
        }
    }
    let canary_total: u32 = spec.mesh.as_ref().map_or(0, |m| m.canary.values().sum());
    if canary_total > 100 {
        problems.push(
            Diagnostic::error(
                "input/canary-weights",
                format!("service `{name}`: canary weights add up to {canary_total}%, above 100%"),
            )
            .at(here("/mesh/canary"), "canary weights")
            .with_help("the stable subset v1 receives 100% minus the canary weights"),
        );
    }
    for (i, ns) in spec.ingress.from_namespaces.iter().enumerate() {
        if !crate::catalogue::names::is_dns_label(ns) {
            problems.push(
                Diagnostic::error(
                    "input/bad-name",
                    format!("`{ns}` is not a valid namespace name"),
                )
                .at(
                    here(&format!("/ingress/fromNamespaces/{i}")),
                    "invalid namespace",
                )
                .with_help("namespaces are DNS-1123 labels: lower-case letters, digits and '-'"),
            );
        }
    }
    let image = match qualify_image(&spec.image, registry, image_tag) {
        Ok(i) => i,
        Err(help) => {
            problems.push(
                Diagnostic::error("input/image-tag", format!("service `{name}`: image `{}` has no tag, and environment `{env_name}` sets no imageTag", spec.image))
                    .at(here("/image"), "untagged image")
                    .with_help(help),
            );
            spec.image.clone()
        }
    };
    if problems.len() != before {
        return None;
    }
    let health_path = spec
        .health
        .path
        .clone()
        .unwrap_or_else(|| "/healthz".into());
    let (mesh_timeout, mesh_retries, canary) = match spec.mesh {
        Some(m) => (m.timeout, m.retries, m.canary),
        None => (None, None, IndexMap::new()),
    };
    Some(ResolvedService {
        name: name.to_owned(),
        description: spec.description,
        phase,
        batch: spec.batch,
        wave: 0,
        workload: spec.workload,
        image,
        port: spec.port,
        protocol: spec.protocol,
        probe: spec.probe,
        health_path,
        replicas_min,
        replicas_max: spec.replicas.max,
        cpu_target,
        requests_text,
        limits_text,
        requests,
        limits,
        ephemeral_storage_text: (ephemeral_request_text, ephemeral_limit_text),
        security: ResolvedSecurity {
            run_as_user: spec.security.run_as_user.unwrap_or(DEFAULT_RUN_AS_ID),
            run_as_group: spec.security.run_as_group.unwrap_or(DEFAULT_RUN_AS_ID),
            fs_group: spec.security.fs_group.unwrap_or(DEFAULT_RUN_AS_ID),
            read_only_root_filesystem: spec.security.read_only_root_filesystem.unwrap_or(true),
            service_account_token: spec.security.service_account_token.unwrap_or(false),
        },
        startup: spec.health.startup,
        depends_on: spec.depends_on,
        callable_from_all: spec.callable_from_all,
        calls: spec.calls,
        ingress_namespaces: spec.ingress.from_namespaces,
        fields: ServiceFields::default(),
        mesh_timeout,
        mesh_retries,
        canary,
        storage_size: storage_size.map(|q| q.0),
        suppress: spec.suppress,
        layers: layers.clone(),
        patches: Vec::new(),
    })
}

/// The settings a `security` block may change; any of them needs a `reason` in the same block.
const SECURITY_SETTINGS: &[&str] = &[
    "runAsUser",
    "runAsGroup",
    "fsGroup",
    "readOnlyRootFilesystem",
    "serviceAccountToken",
];

/// A `security` block that departs from the restricted defaults must say why, in the same
/// block: checked per layer before merging, so a reason in `defaults` cannot cover a service's
/// own departure, and an environment's override needs its own.
fn check_security_reason(
    value: &Value,
    origin: &Origin,
    what: &str,
    problems: &mut Vec<Diagnostic>,
) {
    let Some(block) = value.get("security").and_then(Value::as_object) else {
        return;
    };
    let has_reason = block
        .get("reason")
        .and_then(Value::as_str)
        .is_some_and(|r| !r.trim().is_empty());
    if has_reason {
        return;
    }
    let Some(first) = SECURITY_SETTINGS.iter().find(|k| block.contains_key(**k)) else {
        return;
    };
    let set: Vec<&str> = SECURITY_SETTINGS
        .iter()
        .copied()
        .filter(|k| block.contains_key(*k))
        .collect();
    let at = origin
        .key_at(&format!("/security/{first}"))
        .or_else(|| origin.key_at("/security"));
    problems.push(
        Diagnostic::error(
            "input/security-without-reason",
            format!(
                "{what} changes `security.{}` from the restricted default without a reason",
                set.join("`, `security.")
            ),
        )
        .at(at, "changed without a reason")
        .with_help(
            "add `reason: \"...\"` to this `security` block saying why the service needs it \
             (e.g. `reason: \"the postgres image runs as uid 999\"`), or remove the change",
        ),
    );
}

/// Adds the registry to an image that names none and the environment's tag to an untagged one.
///
/// An image names a registry when its first path segment is a host (has a `.` or a `:`, or is
/// `localhost`), the rule container runtimes use; such an image keeps its registry, so public
/// images can be pulled from where they live. Any other image is a repository path inside the
/// registry and keeps every segment: `bitnami/redis` under `r.example/mirror` is
/// `r.example/mirror/bitnami/redis`, never `r.example/mirror/redis`, which is another image.
fn qualify_image(image: &str, registry: Option<&str>, tag: Option<&str>) -> Result<String, String> {
    let first = image.split('/').next().unwrap_or("");
    let has_registry =
        image.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let mut full = match registry {
        Some(r) if !has_registry => format!("{}/{}", r.trim_end_matches('/'), image),
        _ => image.to_owned(),
    };
    let last = full.rsplit('/').next().unwrap_or("");
    let tagged = last.contains(':') || full.contains('@');
    if !tagged {
        match tag {
            Some(t) => {
                full.push(':');
                full.push_str(t);
            }
            None => return Err("write the tag in the image (`name:1.2.3`), or set `imageTag:` in the environment file".into()),
        }
    }
    Ok(full)
}

/// Phases become ArgoCD sync waves: a sequential phase gives each service a wave of its own,
/// a parallel phase one wave per batch (or one for the whole phase).
fn assign_waves(services: &mut [ResolvedService], phases: &[ResolvedPhase]) {
    let mut wave: i64 = 0;
    for (pi, phase) in phases.iter().enumerate() {
        match phase.rollout {
            Rollout::Sequential => {
                for s in services.iter_mut().filter(|s| s.phase == pi) {
                    s.wave = wave;
                    wave += 1;
                }
            }
            Rollout::Parallel if !phase.batches.is_empty() => {
                for batch in &phase.batches {
                    let mut any = false;
                    for s in services
                        .iter_mut()
                        .filter(|s| s.phase == pi && s.batch.as_deref() == Some(batch.as_str()))
                    {
                        s.wave = wave;
                        any = true;
                    }
                    if any {
                        wave += 1;
                    }
                }
            }
            Rollout::Parallel => {
                let mut any = false;
                for s in services.iter_mut().filter(|s| s.phase == pi) {
                    s.wave = wave;
                    any = true;
                }
                if any {
                    wave += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images() {
        let q = |i, r, t| qualify_image(i, r, t).unwrap();
        // An image that names its registry keeps it; a bare one gets the catalogue's registry.
        assert_eq!(
            q(
                "docker.io/library/postgres:16.4",
                Some("ghcr.io/x"),
                Some("1")
            ),
            "docker.io/library/postgres:16.4"
        );
        assert_eq!(
            q("postgres:16.4", Some("ghcr.io/x"), Some("1")),
            "ghcr.io/x/postgres:16.4"
        );
        assert_eq!(q("postgres:16.4", None, Some("1")), "postgres:16.4");
        // A repository path keeps every segment under the registry.
        assert_eq!(
            q("bitnami/redis:7.4", Some("registry.example.com"), None),
            "registry.example.com/bitnami/redis:7.4"
        );
        assert_eq!(
            q("library/team/redis", Some("ghcr.io/mirror/"), Some("7")),
            "ghcr.io/mirror/library/team/redis:7"
        );
        // A host with a port, or `localhost`, is a registry too, and is kept.
        assert_eq!(
            q(
                "registry.local:5000/bitnami/redis:7.4",
                Some("ghcr.io/x"),
                None
            ),
            "registry.local:5000/bitnami/redis:7.4"
        );
        assert_eq!(
            q("localhost/api", Some("ghcr.io/x"), Some("2")),
            "localhost/api:2"
        );
        assert_eq!(
            q("api", Some("ghcr.io/openpolicy"), Some("1.0")),
            "ghcr.io/openpolicy/api:1.0"
        );
        assert_eq!(
            q("localhost:5000/api", None, Some("2")),
            "localhost:5000/api:2"
        );
        assert_eq!(q("api@sha256:abc", None, None), "api@sha256:abc");
        assert!(qualify_image("api", None, None).is_err());
    }

    #[test]
    fn merge_rules() {
        let mut a = serde_json::json!({"r": {"min": 1, "max": 3}, "l": [1, 2], "s": "x"});
        merge(
            &mut a,
            &serde_json::json!({"r": {"max": 5}, "l": [3], "s": "y"}),
        );
        assert_eq!(
            a,
            serde_json::json!({"r": {"min": 1, "max": 5}, "l": [3], "s": "y"})
        );
    }
}
