//! `argocd-application`: an Argo CD Application deploys a directory that exists, into the
//! namespace its manifests are in, as its AppProject allows, and cleans up after itself.

use crate::diagnostic::Severity;
use crate::example;
use crate::lint::context::{application_sources, is_application, normalise_dir};
use crate::lint::{Code, LintContext, Rule, Sink};
use crate::manifest::{at, Manifest};
use crate::vocabulary::argocd::{BUILTIN_PROJECT, FINALIZER};
use serde_json::Value;
use std::collections::BTreeSet;

pub const RULE: Rule = Rule {
    id: "argocd-application",
    codes: &[
        &PATH_MISSING,
        &NAMESPACE_MISMATCH,
        &NO_FINALIZER,
        &PROJECT_MISSING,
        &REPOSITORY_NOT_ALLOWED,
        &DESTINATION_NOT_ALLOWED,
    ],
    summary: "An Argo CD Application whose source path is not a rendered directory, whose destination namespace is not its manifests' namespace, whose project does not allow it, or that has no resources finalizer",
    doc: r#"## What it checks
For every Argo CD `Application` (`spec.source` and each of `spec.sources`):
- its `path` is a directory that exists: for `shipshape build` and `check`, one of the rendered
  directories as the repository names them (`<repoPath>/<out>/<env>`, `<repoPath>/<out>/argocd`);
  for `shipshape lint`, a directory of the linted files or of the repository on disk (relative
  to the repository root, the nearest directory with `.git`). A path missing from disk is only a warning there, since the source may
  be another repository. A source whose `repoURL` names another repository than this one is not
  looked for at all: this one is known by `SHIPSHAPE_REPO_URL` (URLs separated by spaces or
  commas) or else by the git remotes of the repository root; when neither is known, every
  source is taken to be this repository;
- its `destination.namespace` is a namespace the manifests of that directory are in (a
  `kustomization.yaml` with `namespace:` decides for the whole directory). Nothing is said when the
  directory's manifests were not linted;
- its `spec.project` allows it: the AppProject of that name (rendered beside it, or among the
  linted files) lists the source's `repoURL` in `sourceRepos` and the destination (cluster and
  namespace) in `destinations`, `*` patterns and `!` exclusions as Argo CD reads them. Argo CD's
  built-in `default` project allows everything. For `shipshape lint`, a project that is not among
  the files is a warning when the files hold other AppProjects (the repository manages its
  projects), and nothing otherwise (it may exist only in the cluster);
- it has the `resources-finalizer.argocd.argoproj.io` finalizer (warning) when it deploys
  workloads, that is into another namespace than its own: an app of apps, deploying into Argo
  CD's namespace, may go without.

## Why it matters
An Application whose path does not exist never syncs: Argo CD reports `ComparisonError` and the
environment silently stays on its previous version. A manifest with its own `metadata.namespace`
goes to that namespace whatever the destination says, so a wrong destination is at best a
misleading label; with `CreateNamespace=true` it also creates an empty namespace, and resources
without a namespace land in the wrong one. An Application its project does not permit is refused
outright (`application repo ... is not permitted in project`). Without the finalizer, deleting the
Application leaves everything it deployed running, unmanaged and forgotten.

## Bad
```yaml
kind: Application
metadata: { name: shop-prod, namespace: argocd }       # no finalizer
spec:
  project: shop                                        # AppProject shop lists only shop-staging
  source: { path: rendered/production }                # the directory is rendered/prod
  destination: { namespace: shop-prod }
```

## Good
```yaml
metadata:
  finalizers: [resources-finalizer.argocd.argoproj.io]
spec:
  project: shop                                        # destinations include shop-prod
  source: { path: rendered/prod }
  destination: { namespace: shop-prod }
```
shipshape's own Applications and AppProjects are right by construction; this rule guards custom
`--templates`, a `repoPath` that does not match the repository, and Applications written by hand.
"#,
    check,
};

pub static PATH_MISSING: Code = Code {
    id: "argocd-application/path-missing",
    severity: Severity::Error,
    summary: "An Application's source path is no rendered directory (an error), or no directory of the linted files or repository (a warning: the source may be another repository)",
    bad: example!("argocd-application/fires/path-missing.yaml"),
    good: example!("argocd-application/quiet/path-on-disk.yaml"),
};

pub static NAMESPACE_MISMATCH: Code = Code {
    id: "argocd-application/namespace-mismatch",
    severity: Severity::Error,
    summary:
        "An Application's destination namespace is not the namespace of the manifests it deploys",
    bad: example!("argocd-application/fires/namespace-mismatch.yaml"),
    good: example!("argocd-application/quiet/namespace-matches.yaml"),
};

pub static NO_FINALIZER: Code = Code {
    id: "argocd-application/no-finalizer",
    severity: Severity::Warning,
    summary: "An Application without the resources finalizer leaves what it deployed running when deleted",
    bad: example!("argocd-application/fires/finalizer-missing.yaml"),
    good: example!("argocd-application/quiet/namespace-matches.yaml"),
};

pub static PROJECT_MISSING: Code = Code {
    id: "argocd-application/project-missing",
    severity: Severity::Warning,
    summary: "An Application names an AppProject that is not among the files' AppProjects",
    bad: example!("argocd-application/fires/project-missing.yaml"),
    good: example!("argocd-application/quiet/project-allows.yaml"),
};

pub static REPOSITORY_NOT_ALLOWED: Code = Code {
    id: "argocd-application/repository-not-allowed",
    severity: Severity::Error,
    summary: "An Application syncs from a repository its AppProject does not list in sourceRepos",
    bad: example!("argocd-application/fires/project-denies-repository.yaml"),
    good: example!("argocd-application/quiet/project-allows.yaml"),
};

pub static DESTINATION_NOT_ALLOWED: Code = Code {
    id: "argocd-application/destination-not-allowed",
    severity: Severity::Error,
    summary: "An Application deploys to a cluster and namespace its AppProject's destinations do not allow",
    bad: example!("argocd-application/fires/project-denies-destination.yaml"),
    good: example!("argocd-application/quiet/project-allows.yaml"),
};

fn check(ctx: &LintContext, out: &mut Sink) {
    let Some(tree) = &ctx.tree else {
        return;
    };
    let known_dirs: Vec<String> = tree.dirs.keys().cloned().collect();
    let projects: Vec<&Value> = tree
        .projects
        .iter()
        .chain(
            ctx.manifests
                .iter()
                .filter(|m| is_project(m))
                .map(|m| &m.value),
        )
        .collect();
    for (i, app) in ctx.manifests.iter().enumerate() {
        if !is_application(app) {
            continue;
        }
        check_finalizer(ctx, i, out);
        check_project(ctx, i, &projects, tree.complete, out);
        let mut namespaces: BTreeSet<&str> = BTreeSet::new();
        let mut dirs: Vec<String> = Vec::new();
        let mut all_known = true;
        for (pointer, path) in application_sources(app) {
            // Another repository's directories are not on this disk, nor among these files.
            if tree.elsewhere.contains(&(i, pointer.clone())) {
                all_known = false;
                continue;
            }
            let dir = normalise_dir(path);
            if let Some(ns) = tree.dirs.get(&dir) {
                namespaces.extend(ns.iter().map(String::as_str));
                dirs.push(dir);
                continue;
            }
            all_known = false;
            if tree.exists(&dir) {
                continue;
            }
            let suggestion = crate::catalogue::schema::closest(&dir, &known_dirs);
            let d = if tree.complete {
                out.report(
                    &PATH_MISSING,
                    Some(i),
                    format!(
                        "Application `{}` deploys `{path}`, which is not a directory of the rendered tree",
                        app.name()
                    ),
                )
            } else {
                // The source may be another repository than the one the files were read from.
                out.report_as(
                    &PATH_MISSING,
                    Severity::Warning,
                    Some(i),
                    format!(
                        "Application `{}` deploys `{path}`, which does not exist in this repository or among the linted files",
                        app.name()
                    ),
                )
            };
            d.place(
                Some(ctx.locate(i, &pointer, "/argocd")),
                "no such directory",
            );
            d.help(match suggestion {
                Some(s) => format!("did you mean `{s}`? Argo CD cannot sync a path that does not exist and keeps the old version running"),
                None if tree.complete => format!(
                    "Argo CD cannot sync a path that does not exist; the rendered directories are {}",
                    known_dirs
                        .iter()
                        .map(|d| format!("`{d}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => "Argo CD cannot sync a path that does not exist; paths are relative to the root of the source repository".to_owned(),
            });
        }
        let Some(destination) =
            at(&app.value, &["spec", "destination", "namespace"]).and_then(Value::as_str)
        else {
            continue;
        };
        if !all_known || namespaces.is_empty() || namespaces.contains(destination) {
            continue;
        }
        let theirs = namespaces
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        out.report(
            &NAMESPACE_MISMATCH,
            Some(i),
            format!(
                "Application `{}` deploys into namespace `{destination}`, but the manifests of {} are in {theirs}",
                app.name(),
                dirs.iter()
                    .map(|d| format!("`{d}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .place(
            Some(ctx.locate(i, "/spec/destination/namespace", "/argocd")),
            "destination namespace",
        )
        .help(format!(
            "a manifest with its own namespace goes there whatever the destination says, so this destination only creates an empty namespace and misplaces manifests without one: set it to {theirs}"
        ));
    }
}

fn is_project(m: &Manifest) -> bool {
    m.kind() == "AppProject" && m.api_version().starts_with("argoproj.io/")
}

/// An Application that deploys into another namespace than its own deploys workloads, and
/// deleting it should delete them.
fn check_finalizer(ctx: &LintContext, i: usize, out: &mut Sink) {
    let app = &ctx.manifests[i];
    let own = at(&app.value, &["metadata", "namespace"]).and_then(Value::as_str);
    let target = at(&app.value, &["spec", "destination", "namespace"]).and_then(Value::as_str);
    if own.is_some() && own == target {
        return;
    }
    let has = at(&app.value, &["metadata", "finalizers"])
        .and_then(Value::as_array)
        .is_some_and(|all| {
            all.iter()
                .filter_map(Value::as_str)
                .any(|f| f == FINALIZER || f.starts_with(&format!("{FINALIZER}/")))
        });
    if has {
        return;
    }
    out.report(
        &NO_FINALIZER,
        Some(i),
        format!(
            "Application `{}` has no `{FINALIZER}` finalizer",
            app.name()
        ),
    )
    .place(Some(ctx.locate(i, "/metadata", "/argocd")), "no finalizer")
    .help(format!(
        "add `finalizers: [{FINALIZER}]` to its metadata: without it, deleting the Application leaves everything it deployed running, unmanaged"
    ));
}

/// The Application's project exists and lets it use its sources and destination.
fn check_project(ctx: &LintContext, i: usize, projects: &[&Value], complete: bool, out: &mut Sink) {
    let app = &ctx.manifests[i];
    let name = at(&app.value, &["spec", "project"])
        .and_then(Value::as_str)
        .unwrap_or(BUILTIN_PROJECT);
    if name == BUILTIN_PROJECT {
        return;
    }
    let Some(project) = projects
        .iter()
        .find(|p| at(p, &["metadata", "name"]).and_then(Value::as_str) == Some(name))
    else {
        // shipshape renders every project its Applications name but the root app's, which may
        // live in the cluster only; a hand-written repository that manages projects should
        // hold this one too.
        if !complete && !projects.is_empty() {
            out.report(
                &PROJECT_MISSING,
                Some(i),
                format!(
                    "Application `{}` belongs to project `{name}`, which is not among the AppProjects of these files",
                    app.name()
                ),
            )
            .place(Some(ctx.locate(i, "/spec/project", "/argocd")), "project")
            .help(format!(
                "Argo CD refuses an Application whose project does not exist: add an AppProject `{name}` or name one of {}",
                projects
                    .iter()
                    .filter_map(|p| at(p, &["metadata", "name"]).and_then(Value::as_str))
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        return;
    };
    let repos = patterns(project, &["spec", "sourceRepos"]);
    for (pointer, _) in application_sources(app) {
        let repo_pointer = format!("{}/repoURL", pointer.trim_end_matches("/path"));
        let Some(repo) = app.value.pointer(&repo_pointer).and_then(Value::as_str) else {
            continue;
        };
        if allowed(&repos, repo) {
            continue;
        }
        out.report(
            &REPOSITORY_NOT_ALLOWED,
            Some(i),
            format!(
                "Application `{}` syncs from `{repo}`, which project `{name}` does not list in `sourceRepos`",
                app.name()
            ),
        )
        .place(Some(ctx.locate(i, &repo_pointer, "/argocd")), "source repository")
        .help(format!(
            "Argo CD refuses to sync it (\"application repo is not permitted in project\"): add `{repo}` to the `sourceRepos` of AppProject `{name}`, or move the Application to a project that has it"
        ));
    }
    check_destination(ctx, i, project, name, out);
}

fn check_destination(ctx: &LintContext, i: usize, project: &Value, name: &str, out: &mut Sink) {
    let app = &ctx.manifests[i];
    let dest = |key: &str| at(&app.value, &["spec", "destination", key]).and_then(Value::as_str);
    let namespace = dest("namespace").unwrap_or("");
    let cluster = match (dest("server"), dest("name")) {
        (Some(server), _) => ("server", server),
        (None, Some(cluster)) => ("name", cluster),
        (None, None) => return,
    };
    let Some(destinations) = at(project, &["spec", "destinations"]).and_then(Value::as_array)
    else {
        return report_destination(ctx, i, name, cluster, namespace, out);
    };
    let permitted = destinations.iter().any(|d| {
        let field = |key: &str| d.get(key).and_then(Value::as_str);
        let cluster_ok = match field(cluster.0) {
            Some(pattern) => glob(pattern, cluster.1),
            // A project entry naming the cluster the other way: Argo CD resolves one into the
            // other, which only the cluster knows.
            None => field("server").or(field("name")).is_some(),
        };
        cluster_ok && field("namespace").is_some_and(|p| glob(p, namespace))
    });
    if !permitted {
        report_destination(ctx, i, name, cluster, namespace, out);
    }
}

fn report_destination(
    ctx: &LintContext,
    i: usize,
    project: &str,
    (key, cluster): (&str, &str),
    namespace: &str,
    out: &mut Sink,
) {
    out.report(
        &DESTINATION_NOT_ALLOWED,
        Some(i),
        format!(
            "Application `{}` deploys to namespace `{namespace}` of `{cluster}`, which project `{project}` does not allow in `destinations`",
            ctx.manifests[i].name()
        ),
    )
    .place(
        Some(ctx.locate(i, "/spec/destination", "/argocd")),
        "destination",
    )
    .help(format!(
        "Argo CD refuses to sync it (\"application destination is not permitted in project\"): add `{{ {key}: {cluster}, namespace: {namespace} }}` to the `destinations` of AppProject `{project}`"
    ));
}

/// A project's patterns at `path`, as (pattern, excluded?).
fn patterns<'v>(project: &'v Value, path: &[&str]) -> Vec<(&'v str, bool)> {
    at(project, path)
        .and_then(Value::as_array)
        .map(|all| {
            all.iter()
                .filter_map(Value::as_str)
                .map(|p| match p.strip_prefix('!') {
                    Some(rest) => (rest, true),
                    None => (p, false),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Argo CD's reading of a pattern list: some pattern matches and no `!` pattern does.
fn allowed(patterns: &[(&str, bool)], value: &str) -> bool {
    patterns.iter().any(|(p, deny)| !deny && glob(p, value))
        && !patterns.iter().any(|(p, deny)| *deny && glob(p, value))
}

/// `*` matches any run of characters, `?` one; everything else itself.
fn glob(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    // Positions of `pattern` that can be reached having consumed a prefix of `value`.
    let mut reach = vec![false; p.len() + 1];
    reach[0] = true;
    let close = |reach: &mut Vec<bool>| {
        for j in 0..p.len() {
            if reach[j] && p[j] == '*' {
                reach[j + 1] = true;
            }
        }
    };
    close(&mut reach);
    for c in v {
        let mut next = vec![false; p.len() + 1];
        for j in 0..p.len() {
            if !reach[j] {
                continue;
            }
            match p[j] {
                '*' => next[j] = true,
                '?' => next[j + 1] = true,
                x if x == c => next[j + 1] = true,
                _ => {}
            }
        }
        close(&mut next);
        reach = next;
    }
    reach[p.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_argo_cd_reads_them() {
        assert!(glob("*", "https://git.example.com/a.git"));
        assert!(glob(
            "https://git.example.com/*",
            "https://git.example.com/a.git"
        ));
        assert!(!glob(
            "https://git.example.com/*",
            "https://other.example.com/a.git"
        ));
        assert!(glob("shop-?", "shop-a"));
        assert!(!glob("shop-?", "shop-ab"));
        assert!(glob("shop-prod", "shop-prod"));
        assert!(!glob("shop", "shop-prod"));
        assert!(glob("", ""));
    }

    #[test]
    fn an_exclusion_wins_over_a_pattern() {
        let list = [("*", false), ("https://forbidden.example.com/*", true)];
        assert!(allowed(&list, "https://git.example.com/a.git"));
        assert!(!allowed(&list, "https://forbidden.example.com/a.git"));
        assert!(!allowed(&[], "x"));
    }
}
