//! The Argo CD Applications under `rendered/argocd/`: one per environment with an `argocd`
//! section (source `rendered/<env>`), and the root app-of-apps over that directory.

use crate::catalogue::ResolvedEnvironment;
use crate::render::context::{
    object, ARGOCD_DIR, ARGOCD_NAMESPACE, IN_CLUSTER_SERVER, MANAGED_BY, RENDERED_PATH,
};
use serde_json::{Map, Value};

/// What one Application says, before it is laid out as a document.
pub struct Application<'a> {
    pub name: String,
    pub platform: &'a str,
    /// `None` for the root app, which belongs to no environment.
    pub environment: Option<&'a str>,
    pub project: &'a str,
    pub repo_url: &'a str,
    pub target_revision: &'a str,
    pub path: String,
    /// `server` or `name`, then `namespace`.
    pub destination: Map<String, Value>,
    pub prune: bool,
    pub self_heal: bool,
    pub sync_options: &'static [&'static str],
}

/// The Application of one environment, or `None` without an `argocd` section.
pub fn environment_application(env: &ResolvedEnvironment) -> Option<Application<'_>> {
    let argo = env.argocd.as_ref()?;
    let mut destination = Map::with_capacity(2);
    match (&argo.destination.server, &argo.destination.name) {
        (None, Some(name)) => destination.insert("name".into(), Value::from(name.as_str())),
        (server, _) => destination.insert(
            "server".into(),
            Value::from(server.as_deref().unwrap_or(IN_CLUSTER_SERVER)),
        ),
    };
    destination.insert("namespace".into(), Value::from(env.namespace.as_str()));
    Some(Application {
        name: format!("{}-{}", env.platform, env.name),
        platform: &env.platform,
        environment: Some(&env.name),
        project: argo.project.as_deref().unwrap_or("default"),
        repo_url: &argo.repo_url,
        target_revision: argo.target_revision.as_deref().unwrap_or("HEAD"),
        path: format!("{RENDERED_PATH}/{}", env.name),
        destination,
        prune: argo.sync_policy.prune.unwrap_or(false),
        self_heal: argo.sync_policy.self_heal.unwrap_or(false),
        // The environment's namespace is created by the Application that fills it.
        sync_options: &["CreateNamespace=true"],
    })
}

/// The app-of-apps over `rendered/argocd`, or `None` when no environment uses Argo CD.
///
/// It reads the Application files from the repository and revision most environments use (ties:
/// the first environment in name order), and creates them in Argo CD's own cluster and namespace.
pub fn root_application(envs: &[ResolvedEnvironment]) -> Option<Application<'_>> {
    let sources: Vec<(&str, &str)> = envs
        .iter()
        .filter_map(|e| e.argocd.as_ref())
        .map(|a| {
            (
                a.repo_url.as_str(),
                a.target_revision.as_deref().unwrap_or("HEAD"),
            )
        })
        .collect();
    let mut best: Option<((&str, &str), usize)> = None;
    for candidate in &sources {
        let count = sources.iter().filter(|s| *s == candidate).count();
        if best.is_none_or(|(_, c)| count > c) {
            best = Some((*candidate, count));
        }
    }
    let ((repo_url, target_revision), _) = best?;
    let platform = envs.first().map_or("", |e| e.platform.as_str());
    let mut destination = Map::with_capacity(2);
    destination.insert("server".into(), Value::from(IN_CLUSTER_SERVER));
    destination.insert("namespace".into(), Value::from(ARGOCD_NAMESPACE));
    Some(Application {
        name: platform.to_owned(),
        platform,
        environment: None,
        project: "default",
        repo_url,
        target_revision,
        path: format!("{RENDERED_PATH}/{ARGOCD_DIR}"),
        destination,
        prune: true,
        self_heal: true,
        sync_options: &[],
    })
}

/// The Application as a document.
pub fn application(app: &Application<'_>) -> Value {
    let mut labels = Map::with_capacity(3);
    labels.insert(
        "app.kubernetes.io/part-of".into(),
        Value::from(app.platform),
    );
    labels.insert(
        "app.kubernetes.io/managed-by".into(),
        Value::from(MANAGED_BY),
    );
    if let Some(env) = app.environment {
        labels.insert("shipshape.dev/environment".into(), Value::from(env));
    }
    let mut sync = Map::with_capacity(2);
    sync.insert(
        "automated".into(),
        object([
            ("prune", Value::Bool(app.prune)),
            ("selfHeal", Value::Bool(app.self_heal)),
        ]),
    );
    if !app.sync_options.is_empty() {
        sync.insert(
            "syncOptions".into(),
            app.sync_options.iter().map(|o| Value::from(*o)).collect(),
        );
    }
    object([
        ("apiVersion", Value::from("argoproj.io/v1alpha1")),
        ("kind", Value::from("Application")),
        (
            "metadata",
            object([
                ("name", Value::from(app.name.as_str())),
                ("namespace", Value::from(ARGOCD_NAMESPACE)),
                ("labels", Value::Object(labels)),
            ]),
        ),
        (
            "spec",
            object([
                ("project", Value::from(app.project)),
                (
                    "source",
                    object([
                        ("repoURL", Value::from(app.repo_url)),
                        ("targetRevision", Value::from(app.target_revision)),
                        ("path", Value::from(app.path.as_str())),
                    ]),
                ),
                ("destination", Value::Object(app.destination.clone())),
                ("syncPolicy", Value::Object(sync)),
            ]),
        ),
    ])
}
