//! `argocd-application`: an Argo CD Application deploys a directory that exists, into the
//! namespace its manifests are in.

use crate::diagnostic::Severity;
use crate::lint::context::{application_sources, is_application, normalise_dir};
use crate::lint::{LintContext, Rule, Sink};
use crate::manifest::at;
use serde_json::Value;
use std::collections::BTreeSet;

pub const RULE: Rule = Rule {
    id: "argocd-application",
    severity: Severity::Error,
    summary: "An Argo CD Application whose source path is not a rendered directory, or whose destination namespace is not its manifests' namespace",
    doc: r#"## What it checks
For every Argo CD `Application` (`spec.source` and each of `spec.sources`):
- its `path` is a directory that exists: for `shipshape build` and `check`, one of the rendered
  environment directories (`rendered/<env>`, `rendered/argocd`); for `shipshape lint`, a directory
  of the linted files or of the repository on disk (relative to the repository root, the nearest
  directory with `.git`). A path missing from disk is only a warning there, since the source may
  be another repository. A source whose `repoURL` names another repository than this one is not
  looked for at all: this one is known by `SHIPSHAPE_REPO_URL` (URLs separated by spaces or
  commas) or else by the git remotes of the repository root; when neither is known, every
  source is taken to be this repository;
- its `destination.namespace` is a namespace the manifests of that directory are in (a
  `kustomization.yaml` with `namespace:` decides for the whole directory). Nothing is said when the
  directory's manifests were not linted.

## Why it matters
An Application whose path does not exist never syncs: Argo CD reports `ComparisonError` and the
environment silently stays on its previous version. A manifest with its own `metadata.namespace`
goes to that namespace whatever the destination says, so a wrong destination is at best a
misleading label; with `CreateNamespace=true` it also creates an empty namespace, and resources
without a namespace land in the wrong one.

## Bad
```yaml
kind: Application
spec:
  source: { path: rendered/production }     # the directory is rendered/prod
  destination: { namespace: openpolicy }    # its manifests are in openpolicy-prod
```

## Good
```yaml
spec:
  source: { path: rendered/prod }
  destination: { namespace: openpolicy-prod }
```
shipshape's own Applications are right by construction; this rule guards custom `--templates` and
Applications written by hand.
"#,
    check,
};

fn check(ctx: &LintContext, out: &mut Sink) {
    let Some(tree) = &ctx.tree else {
        return;
    };
    let known_dirs: Vec<String> = tree.dirs.keys().cloned().collect();
    for (i, app) in ctx.manifests.iter().enumerate() {
        if !is_application(app) {
            continue;
        }
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
                    Some(i),
                    format!(
                        "Application `{}` deploys `{path}`, which is not a directory of the rendered tree",
                        app.name()
                    ),
                )
            } else {
                // The source may be another repository than the one the files were read from.
                out.report_as(
                    Some(i),
                    Severity::Warning,
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
