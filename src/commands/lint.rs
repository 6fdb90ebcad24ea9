//! `shipshape lint PATH...`: the same checks over manifests from anywhere (Helm output, kubectl
//! dumps, hand-written YAML).

use crate::app::{self, Io, EXIT_FINDINGS, EXIT_OK};
use crate::catalogue::load::{read_yaml_file, Loader};
use crate::catalogue::quantity::{
    parse_cpu, parse_memory, parse_percent, parse_share, QuantityError,
};
use crate::catalogue::settings;
use crate::cli::{Format, OutputArgs};
use crate::diagnostic::{Diagnostic, Failure, Severity};
use crate::lint::index::{Placement, DEFAULT_NAMESPACE};
use crate::lint::kubernetes_version::KubernetesVersion;
use crate::lint::{self, Capacity, LintContext};
use crate::manifest::read::{read_paths, GroupBy, ReadResult};
use crate::manifest::{schema, Manifest};
use crate::plan::ledger::Policy;
use crate::yaml::Limits;
use indexmap::IndexMap;
use std::path::PathBuf;
use std::sync::Arc;

pub struct LintArgs {
    pub paths: Vec<PathBuf>,
    pub environment_file: Option<PathBuf>,
    pub capacity_cpu: Option<String>,
    pub capacity_memory: Option<String>,
    pub max_utilisation: Option<String>,
    pub policy: PolicyArgs,
    pub placement: PlacementArgs,
}

/// Where the manifests are applied: kubectl's namespace, which files share a cluster, and the
/// Kubernetes release that cluster runs.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PlacementArgs {
    /// Namespace of the manifests that set none, as `kubectl apply --namespace` [default: default].
    #[arg(long, short = 'n', value_name = "NS")]
    pub namespace: Option<String>,
    /// Which files form one cluster, linted together: all of them, each PATH, or each
    /// top-level directory under a PATH.
    #[arg(long, value_enum, default_value_t = GroupBy::All, value_name = "HOW")]
    pub group_by: GroupBy,
    /// Kubernetes release the manifests are applied to, e.g. 1.29: APIs it no longer serves are
    /// errors, APIs it deprecates warnings [default: the environment file's
    /// cluster.kubernetesVersion, else 1.30, the release of the embedded schemas].
    #[arg(long, value_name = "X.Y")]
    pub kubernetes_version: Option<String>,
}

/// The environment file's `cluster.limits` and `cluster.target`, as flags.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PolicyArgs {
    /// How far CPU limits may add up, as a share of capacity, e.g. 200% (an error above it).
    #[arg(long, value_name = "PERCENT")]
    pub limits_cpu: Option<String>,
    /// How far memory limits may add up, e.g. 100% (an error above it; without it, memory
    /// limits above capacity are a warning).
    #[arg(long, value_name = "PERCENT")]
    pub limits_memory: Option<String>,
    /// Share of capacity CPU requests should stay under, e.g. 50% (information when missed).
    #[arg(long, value_name = "PERCENT")]
    pub target_cpu: Option<String>,
    /// Share of capacity memory requests should stay under, e.g. 45% (information when missed).
    #[arg(long, value_name = "PERCENT")]
    pub target_memory: Option<String>,
}

/// Code of findings about manifests that break their kind's schema.
pub const SCHEMA_CODE: &str = "schema";

pub fn run(args: &LintArgs, output: &OutputArgs, io: &mut Io<'_>) -> i32 {
    let limits = Limits::from_env();
    let (capacity, levels, kubernetes) = match settings(args, &limits) {
        Ok(s) => s,
        Err(f) => return app::fail(f, output, io),
    };
    let read = read_paths(&args.paths, &limits, args.placement.group_by);
    if !read.errors.is_empty() {
        return app::fail(read.errors.into(), output, io);
    }
    if matches!(output.format, Format::Human | Format::Short) {
        for note in &read.skipped {
            let _ = writeln!(io.stderr, "note: skipped {note}");
        }
    }
    let namespace = args
        .placement
        .namespace
        .as_deref()
        .filter(|ns| !ns.is_empty())
        .unwrap_or(DEFAULT_NAMESPACE);
    let total = read.manifests.len();
    let mut findings = Vec::new();
    let mut unvalidated = Unvalidated::default();
    let clusters = clusters(read);
    let count = clusters.len();
    for cluster in clusters {
        for m in &cluster.manifests {
            findings.extend(schema_findings(m, &mut unvalidated));
        }
        let forced: Vec<Option<&str>> = cluster.forced.iter().map(|f| f.as_deref()).collect();
        let placement = Placement {
            default: namespace,
            forced: &forced,
        };
        let mut ctx = LintContext::for_files(
            "lint",
            &cluster.manifests,
            placement,
            capacity.clone(),
            Vec::new(),
        );
        ctx.kubernetes = kubernetes;
        findings.extend(lint::run(&ctx, &levels).into_iter().map(|mut d| {
            d.environment = None;
            d
        }));
    }
    findings.extend(unvalidated.findings());
    crate::diagnostic::normalise(&mut findings);
    app::emit(&findings, output, io);
    let _ = writeln!(
        io.stderr,
        "shipshape: linted {total} manifest{}{}{}; {}",
        if total == 1 { "" } else { "s" },
        if count > 1 {
            format!(" in {count} clusters")
        } else {
            String::new()
        },
        unvalidated.summary(),
        app::tally(&findings)
    );
    if findings.iter().any(|d| d.severity == Severity::Error) {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

/// The manifests of one cluster, with the namespace a kustomization forces on each.
struct Cluster {
    manifests: Vec<Manifest>,
    forced: Vec<Option<Arc<str>>>,
}

/// The manifests read, by cluster, in the order clusters first appear.
fn clusters(read: ReadResult) -> Vec<Cluster> {
    let mut by_name: IndexMap<Arc<str>, Cluster> = IndexMap::new();
    for (m, place) in read.manifests.into_iter().zip(read.places) {
        let c = by_name.entry(place.cluster).or_insert_with(|| Cluster {
            manifests: Vec::new(),
            forced: Vec::new(),
        });
        c.manifests.push(m);
        c.forced.push(place.kustomize_namespace);
    }
    by_name.into_values().collect()
}

/// Schema findings of one manifest; a kind without schema is counted instead.
fn schema_findings(m: &Manifest, unvalidated: &mut Unvalidated) -> Vec<Diagnostic> {
    let Some(violations) = schema::validate(&m.value) else {
        unvalidated.add(m);
        return Vec::new();
    };
    violations
        .into_iter()
        .map(|v| {
            Diagnostic::error(
                SCHEMA_CODE,
                format!(
                    "{} breaks its schema at `{}`: {}",
                    m.resource_id(),
                    v.pointer,
                    v.message
                ),
            )
            .at(m.file_location(&v.pointer), "here")
            .with_help("compare with the Kubernetes API reference for this kind")
            .on_resource(m.resource_id())
        })
        .collect()
}

/// Code of the information that a kind was not validated, for want of a schema.
pub const NOT_VALIDATED_CODE: &str = "schema/not-validated";

/// Kinds read without a schema to validate them against: (kind, apiVersion) -> how many, and
/// the first of them.
#[derive(Default)]
struct Unvalidated {
    kinds:
        std::collections::BTreeMap<(String, String), (usize, Option<crate::diagnostic::Location>)>,
}

impl Unvalidated {
    fn add(&mut self, m: &Manifest) {
        if !schema::needs_schema(m.api_version(), m.kind()) {
            return;
        }
        let entry = self
            .kinds
            .entry((m.kind().to_owned(), m.api_version().to_owned()))
            .or_insert_with(|| (0, m.file_location("/kind")));
        entry.0 += 1;
    }

    fn findings(&self) -> Vec<Diagnostic> {
        self.kinds
            .iter()
            .map(|((kind, api_version), (count, at))| {
                Diagnostic::new(
                    NOT_VALIDATED_CODE,
                    Severity::Info,
                    format!(
                        "not validated: no schema for {kind} {api_version} ({count} manifest{})",
                        if *count == 1 { "" } else { "s" }
                    ),
                )
                .at(at.clone(), "first of this kind")
                .with_help(
                    "shipshape has no schema for this kind at this apiVersion; validate it with a tool that has (kubeconform with a CRD schema catalogue, or `kubectl apply --dry-run=server`)",
                )
            })
            .collect()
    }

    /// `, not validated: 3 ConfigMap, 1 Gateway` for the summary line.
    fn summary(&self) -> String {
        if self.kinds.is_empty() {
            return String::new();
        }
        let list: Vec<String> = self
            .kinds
            .iter()
            .map(|((kind, _), (count, _))| format!("{count} {kind}"))
            .collect();
        format!(" (not validated, no schema: {})", list.join(", "))
    }
}

type Settings = (
    Option<Capacity>,
    IndexMap<String, Option<Severity>>,
    KubernetesVersion,
);

/// Capacity and rule levels from the environment file, read as `build` reads it, then from
/// flags (flags win).
fn settings(args: &LintArgs, limits: &Limits) -> Result<Settings, Failure> {
    let mut kubernetes = args.placement.kubernetes_version.clone();
    let (mut policy, location, levels) = match &args.environment_file {
        Some(path) => {
            let doc = read_yaml_file(path, limits)?;
            let env = Loader::new(limits.clone())?.environment_from_doc(doc)?;
            let mut problems = Vec::new();
            let read = settings::read(&env, None, &mut problems)?;
            if !problems.is_empty() {
                return Err(problems.into());
            }
            if kubernetes.is_none() {
                kubernetes = read.cluster.kubernetes_version.clone();
            }
            (
                Some(read.policy()),
                Some(env.origin().child("cluster").location()),
                read.rule_levels,
            )
        }
        None => (None, None, IndexMap::new()),
    };
    let flag = |name: &str, text: &str, parse: fn(&str) -> Result<u64, QuantityError>| {
        parse(text).map_err(|e| usage(&format!("{name}: {}", e.message)))
    };
    if let Some(c) = &args.capacity_cpu {
        policy.get_or_insert_with(flags_only).capacity.cpu =
            Some(flag("--capacity-cpu", c, parse_cpu)?);
    }
    if let Some(m) = &args.capacity_memory {
        policy.get_or_insert_with(flags_only).capacity.memory =
            Some(flag("--capacity-memory", m, parse_memory)?);
    }
    if let Some(u) = &args.max_utilisation {
        let share =
            parse_percent(u).map_err(|e| usage(&format!("--max-utilisation: {}", e.message)))?;
        policy.get_or_insert_with(flags_only).max_utilisation = share;
    }
    type Slot = fn(&mut Policy) -> &mut Option<f64>;
    let shares: [(&str, &Option<String>, Slot); 4] = [
        ("--limits-cpu", &args.policy.limits_cpu, |p| {
            &mut p.limits_cpu
        }),
        ("--limits-memory", &args.policy.limits_memory, |p| {
            &mut p.limits_memory
        }),
        ("--target-cpu", &args.policy.target_cpu, |p| {
            &mut p.target_cpu
        }),
        ("--target-memory", &args.policy.target_memory, |p| {
            &mut p.target_memory
        }),
    ];
    for (name, text, slot) in shares {
        let Some(text) = text else { continue };
        let share = parse_share(text).map_err(|e| usage(&format!("{name}: {}", e.message)))?;
        *slot(policy.get_or_insert_with(flags_only)) = Some(share);
    }
    // Without a capacity there is nothing to hold the totals to.
    let capacity = policy
        .filter(|p| p.capacity.cpu.is_some() || p.capacity.memory.is_some())
        .map(|policy| Capacity { policy, location });
    let kubernetes = match kubernetes {
        None => KubernetesVersion::default(),
        Some(text) => KubernetesVersion::parse(&text).ok_or_else(|| {
            Diagnostic::error(
                "usage/lint",
                format!("--kubernetes-version: `{text}` is not a Kubernetes release"),
            )
            .with_help("a release like `1.29` (or `v1.29.3`: the patch number changes no API)")
        })?,
    };
    Ok((capacity, levels, kubernetes))
}

/// The policy of flags given without an environment file: no ceiling below the capacity.
fn flags_only() -> Policy {
    Policy {
        max_utilisation: 100.0,
        ..Policy::default()
    }
}

fn usage(message: &str) -> Diagnostic {
    Diagnostic::error("usage/lint", message.to_owned())
        .with_help("CPU like `16` or `500m`, memory like `8Gi`, percentages like `80%`")
}
