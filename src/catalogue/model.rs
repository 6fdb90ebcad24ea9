//! Typed views of catalogue and environment values, read after schema validation.

use indexmap::IndexMap;
use serde::Deserialize;

/// A quantity as the user wrote it: YAML may give `2` (a number) or `"500m"` (a string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantityText(pub String);

impl<'de> Deserialize<'de> for QuantityText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Ok(QuantityText(s)),
            serde_json::Value::Number(n) => Ok(QuantityText(n.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "expected a quantity, found {other}"
            ))),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Rollout {
    Sequential,
    #[default]
    Parallel,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    #[default]
    Deployment,
    StatefulSet,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    #[default]
    Http,
    Grpc,
    Tcp,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum ProbeKind {
    #[default]
    Http,
    Tcp,
    None,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Budget {
    pub memory: Option<String>,
    pub cpu: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseSpec {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub rollout: Rollout,
    #[serde(default)]
    pub budget: Budget,
    #[serde(default)]
    pub batches: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LintSpec {
    #[serde(default)]
    pub rules: IndexMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSet {
    pub cpu: Option<QuantityText>,
    pub memory: Option<QuantityText>,
    pub ephemeral_storage: Option<QuantityText>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct Resources {
    #[serde(default)]
    pub requests: ResourceSet,
    #[serde(default)]
    pub limits: ResourceSet,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Replicas {
    pub min: Option<u32>,
    pub max: Option<u32>,
    pub cpu_target: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct Health {
    pub path: Option<String>,
    pub startup: Option<StartupProbe>,
}

/// A startup probe for a slow starter: liveness and readiness wait until it has passed, so
/// they can stay strict without killing a container that is still starting.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StartupProbe {
    pub failure_threshold: u32,
    pub period_seconds: u32,
}

/// Departures from the restricted security defaults. Each layer that sets one must say why in
/// `reason`, checked before the layers merge (see `resolve`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Security {
    pub run_as_user: Option<u32>,
    pub run_as_group: Option<u32>,
    pub fs_group: Option<u32>,
    pub read_only_root_filesystem: Option<bool>,
    pub service_account_token: Option<bool>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Ingress {
    #[serde(default)]
    pub from_namespaces: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct MeshSpec {
    pub timeout: Option<String>,
    pub retries: Option<u32>,
    #[serde(default)]
    pub canary: IndexMap<String, u32>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Storage {
    pub size: Option<QuantityText>,
    pub mount_path: Option<String>,
}

/// An environment variable as written: a literal, or a key of a Secret or a ConfigMap.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum EnvValue {
    Literal(String),
    Reference(EnvReference),
}

/// `{ secret: NAME, key: KEY }` or `{ configMap: NAME, key: KEY }`; the key defaults to the
/// variable's name. Both sources at once can only come from merging layers, and is an error.
#[derive(Debug, Clone, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EnvReference {
    pub secret: Option<String>,
    pub config_map: Option<String>,
    pub key: Option<String>,
    pub optional: Option<bool>,
}

/// Every key of a Secret or ConfigMap as variables (`envFrom`).
#[derive(Debug, Clone, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EnvFromSpec {
    pub secret: Option<String>,
    pub config_map: Option<String>,
    pub prefix: Option<String>,
    pub optional: Option<bool>,
}

/// A volume mounted into the service's container: scratch space, or a Secret or ConfigMap
/// as files. Exactly one source after merging.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct VolumeSpec {
    pub mount_path: Option<String>,
    pub empty_dir: Option<EmptyDirSpec>,
    pub secret: Option<String>,
    pub config_map: Option<String>,
    /// Key -> file name under the mount path; without it every key is a file.
    #[serde(default)]
    pub items: IndexMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct EmptyDirSpec {
    pub size_limit: Option<QuantityText>,
    #[serde(default)]
    pub memory: bool,
}

/// A host outside the platform the service calls.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EgressSpec {
    pub host: String,
    pub port: Option<u16>,
    #[serde(default)]
    pub protocol: EgressProtocol,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum EgressProtocol {
    #[default]
    Tls,
    Http,
    Tcp,
}

/// Configuration files rendered into a ConfigMap and mounted at `mountPath`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ConfigFilesSpec {
    pub mount_path: Option<String>,
    #[serde(default)]
    pub files: IndexMap<String, FileContent>,
}

/// A configuration file's content: inline text, or a file of the project to read.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum FileContent {
    Inline(String),
    From { file: String },
}

/// One service after defaults, catalogue and environment overrides were merged.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSpec {
    pub phase: String,
    pub batch: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub workload: Workload,
    pub image: String,
    pub port: u16,
    #[serde(default)]
    pub protocol: Protocol,
    #[serde(default)]
    pub probe: ProbeKind,
    #[serde(default)]
    pub health: Health,
    #[serde(default)]
    pub replicas: Replicas,
    #[serde(default)]
    pub resources: Resources,
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Every other service of the platform may call it (error reporting, monitoring): callers
    /// without being listed in each `dependsOn`, and without becoming a startup dependency.
    #[serde(default)]
    pub callable_from_all: bool,
    /// Services it calls without waiting for them at startup (a later phase's, or a peer rolled
    /// out beside it): reachability only, no rollout order.
    #[serde(default)]
    pub calls: Vec<String>,
    #[serde(default)]
    pub ingress: Ingress,
    #[serde(default)]
    pub env: IndexMap<String, EnvValue>,
    #[serde(default)]
    pub env_from: Vec<EnvFromSpec>,
    pub command: Option<Vec<String>>,
    pub args: Option<Vec<String>>,
    pub mesh: Option<MeshSpec>,
    pub storage: Option<Storage>,
    #[serde(default)]
    pub volumes: IndexMap<String, VolumeSpec>,
    pub config_files: Option<ConfigFilesSpec>,
    #[serde(default)]
    pub annotations: IndexMap<String, String>,
    #[serde(default)]
    pub labels: IndexMap<String, String>,
    #[serde(default)]
    pub node_selector: IndexMap<String, String>,
    pub tolerations: Option<Vec<serde_json::Value>>,
    pub affinity: Option<serde_json::Value>,
    pub topology_spread_constraints: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    pub egress: Vec<EgressSpec>,
    #[serde(default)]
    pub security: Security,
    #[serde(default)]
    pub suppress: IndexMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Capacity {
    pub cpu: QuantityText,
    pub memory: QuantityText,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSpec {
    pub capacity: Capacity,
    pub max_utilisation: Option<String>,
    /// How far the sum of limits may go, in percent of capacity (above 100% is an over-commit
    /// policy). Unset: memory limits above capacity are a warning, CPU limits are not judged.
    #[serde(default)]
    pub limits: ResourceShares,
    /// What requests should stay under, below the hard `maxUtilisation` ceiling; missing it is
    /// information, not a failure.
    #[serde(default)]
    pub target: ResourceShares,
    /// The Kubernetes release the environment runs (`1.30`): `deprecated-api` judges API
    /// versions by it. Unset: the release of the embedded schemas.
    pub kubernetes_version: Option<String>,
}

/// A share of capacity per resource, each optional.
#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq)]
pub struct ResourceShares {
    pub cpu: Option<Percent>,
    pub memory: Option<Percent>,
}

/// A percentage of capacity, read when the environment is, so a bad one is reported at its line
/// with the other input errors. It may exceed 100%.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percent(pub f64);

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = QuantityText::deserialize(d)?;
        crate::catalogue::quantity::parse_share(&text.0)
            .map(Percent)
            .map_err(|e| serde::de::Error::custom(e.message))
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct IstioSpec {
    #[serde(default)]
    pub enabled: bool,
    pub mtls: Option<String>,
    /// The injected sidecar's requests and limits in every pod. Namespace quotas count it, so
    /// capacity checks add it to each pod when it is given.
    pub proxy: Option<Resources>,
}

/// What the cluster itself should enforce in the environment's namespace, beside the build-time
/// checks: see `crate::enforce`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct EnforceSpec {
    /// A ResourceQuota holding the namespace to the requests ceiling and the limits policy.
    #[serde(default)]
    pub quota: bool,
    /// A LimitRange giving containers the catalogue's default requests and limits.
    #[serde(default)]
    pub limit_range: bool,
    /// ValidatingAdmissionPolicies for the rules one object can be judged by, and what the API
    /// server does with a violation.
    pub admission: Option<AdmissionAction>,
}

/// A ValidatingAdmissionPolicyBinding's validation action.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub enum AdmissionAction {
    Deny,
    Warn,
    Audit,
}

impl AdmissionAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AdmissionAction::Deny => "Deny",
            AdmissionAction::Warn => "Warn",
            AdmissionAction::Audit => "Audit",
        }
    }
}

/// Where Argo CD deploys an environment: a cluster by API server URL or by the name Argo CD
/// knows it under; exactly one of them (neither: the cluster Argo CD runs in).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Destination {
    pub server: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SyncPolicy {
    pub prune: Option<bool>,
    pub self_heal: Option<bool>,
    /// `CreateNamespace=true` (default on).
    pub create_namespace: Option<bool>,
    /// `ServerSideApply=true` (default on).
    pub server_side_apply: Option<bool>,
    /// `PruneLast=true` (default on).
    pub prune_last: Option<bool>,
    #[serde(default)]
    pub retry: RetrySpec,
}

/// How often Argo CD retries a failed sync; a `limit` of 0 renders no retry at all.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RetrySpec {
    pub limit: Option<u32>,
    #[serde(default)]
    pub backoff: BackoffSpec,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct BackoffSpec {
    pub duration: Option<String>,
    pub factor: Option<u32>,
    pub max_duration: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArgoSpec {
    /// The AppProject of the environment's Application (default: the platform's name).
    pub project: Option<String>,
    /// The namespace Argo CD runs in, where Applications and AppProjects live (default `argocd`).
    pub namespace: Option<String>,
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    pub target_revision: Option<String>,
    /// Where the project root sits inside the repository (default: at its root).
    pub repo_path: Option<String>,
    /// The revision the root app reads `<out>/argocd` from (default: the revision most
    /// environments follow).
    pub root_revision: Option<String>,
    /// The AppProject of the root app (default `default`, Argo CD's own).
    pub root_project: Option<String>,
    #[serde(default)]
    pub destination: Destination,
    #[serde(default)]
    pub sync_policy: SyncPolicy,
}
