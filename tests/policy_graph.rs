//! The rendered traffic policies say exactly what the catalogue says about who may call whom.
//!
//! The expected call graph is computed here from the raw YAML of `catalogue.yaml` and the
//! environment files (for each service S, its callers are the services whose `dependsOn` or
//! `calls` holds S, or every other service when S is `callableFromAll`),
//! independently of shipshape's resolver and template context, and compared with the NetworkPolicies
//! and AuthorizationPolicies shipshape renders for the repository's own catalogue. The Argo CD
//! Applications must point at rendered directories and at the namespace of their manifests.

mod common;

use common::{crate_root, read_yaml};
use serde_json::Value;
use shipshape::catalogue::ProjectPaths;
use shipshape::manifest::Manifest;
use shipshape::pipeline::{compile, CompileOptions, Compiled, KeepEverything, OUTPUT_SCHEMA_CODE};
use shipshape::yaml::Limits;
use std::collections::{BTreeMap, BTreeSet};

fn compile_repo() -> Compiled {
    let opts = CompileOptions {
        paths: ProjectPaths::in_root(crate_root()),
        envs: Vec::new(),
        templates: None,
        limits: Limits::default(),
        layout: Default::default(),
    };
    match compile(&opts, &mut KeepEverything) {
        Ok(c) => c,
        Err(f) => panic!(
            "the repository's catalogue does not compile: {:#?}",
            f.diagnostics
        ),
    }
}

/// The raw inputs of one environment, and the effective value of a service setting by the
/// documented precedence: environment override, catalogue service, environment defaults,
/// catalogue defaults (maps merge key by key, so the deepest layer that sets the leaf wins).
struct Raw {
    catalogue: Value,
    env: Value,
}

impl Raw {
    /// The repository's environment file `name` beside the already read catalogue.
    fn read(catalogue: &Value, name: &str) -> Raw {
        Raw {
            catalogue: catalogue.clone(),
            env: read_yaml(
                &crate_root()
                    .join("environments")
                    .join(format!("{name}.yaml")),
            ),
        }
    }

    fn services(&self) -> Vec<String> {
        self.catalogue["services"]
            .as_object()
            .expect("services map")
            .keys()
            .cloned()
            .collect()
    }

    fn setting(&self, service: &str, pointer: &str) -> Option<&Value> {
        [
            self.env.pointer(&format!("/services/{service}{pointer}")),
            self.catalogue
                .pointer(&format!("/services/{service}{pointer}")),
            self.env.pointer(&format!("/defaults{pointer}")),
            self.catalogue.pointer(&format!("/defaults{pointer}")),
        ]
        .into_iter()
        .flatten()
        .next()
    }

    fn strings(&self, service: &str, pointer: &str) -> BTreeSet<String> {
        self.setting(service, pointer)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|v| v.as_str().expect("string").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn depends_on(&self, service: &str) -> BTreeSet<String> {
        self.strings(service, "/dependsOn")
    }

    fn ingress_namespaces(&self, service: &str) -> BTreeSet<String> {
        self.strings(service, "/ingress/fromNamespaces")
    }

    fn port(&self, service: &str) -> u64 {
        self.setting(service, "/port")
            .and_then(Value::as_u64)
            .expect("port")
    }

    fn callable_from_all(&self, service: &str) -> bool {
        self.setting(service, "/callableFromAll")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// Everything `service` may call: its dependencies, its `calls`, the platform-wide services.
    fn callees(&self, service: &str) -> BTreeSet<String> {
        let mut out = self.depends_on(service);
        out.extend(self.strings(service, "/calls"));
        out.extend(
            self.services()
                .into_iter()
                .filter(|s| s != service && self.callable_from_all(s)),
        );
        out
    }

    fn callers(&self, service: &str) -> BTreeSet<String> {
        self.services()
            .into_iter()
            .filter(|s| s != service && self.callees(s).contains(service))
            .collect()
    }

    fn namespace(&self) -> String {
        self.env
            .get("namespace")
            .or_else(|| self.catalogue.get("namespace"))
            .and_then(Value::as_str)
            .expect("namespace")
            .to_owned()
    }

    fn istio(&self) -> bool {
        self.env
            .pointer("/istio/enabled")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
}

fn find<'a>(manifests: &'a [Manifest], kind: &str, name: &str) -> Vec<&'a Manifest> {
    manifests
        .iter()
        .filter(|m| m.kind() == kind && m.name() == name)
        .collect()
}

fn only<'a>(manifests: &'a [Manifest], kind: &str, name: &str, env: &str) -> &'a Manifest {
    let found = find(manifests, kind, name);
    assert_eq!(found.len(), 1, "{env}: expected exactly one {kind}/{name}");
    found[0]
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn items<'a>(v: &'a Value, pointer: &str) -> &'a [Value] {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Peers of a NetworkPolicy's ingress (`from`) or egress (`to`) rules, with the rule's ports.
#[derive(Default, Debug)]
struct Peers {
    pods: BTreeMap<String, BTreeSet<String>>,
    namespaces: BTreeMap<String, BTreeSet<String>>,
}

fn peers(policy: &Value, direction: &str, field: &str) -> Peers {
    let mut out = Peers::default();
    for rule in items(policy, &format!("/spec/{direction}")) {
        let ports: BTreeSet<String> = items(rule, "/ports")
            .iter()
            .map(|p| format!("{}/{}", str_at(p, "/protocol").unwrap_or("TCP"), p["port"]))
            .collect();
        for peer in items(rule, &format!("/{field}")) {
            let pod = str_at(peer, "/podSelector/matchLabels/app.kubernetes.io~1name");
            let ns = str_at(
                peer,
                "/namespaceSelector/matchLabels/kubernetes.io~1metadata.name",
            );
            match (peer.get("podSelector"), peer.get("namespaceSelector")) {
                (Some(_), None) => out
                    .pods
                    .entry(
                        pod.expect("peer selects pods by app.kubernetes.io/name")
                            .to_owned(),
                    )
                    .or_default()
                    .extend(ports.clone()),
                (None, Some(_)) => out
                    .namespaces
                    .entry(ns.expect("peer selects a namespace by name").to_owned())
                    .or_default()
                    .extend(ports.clone()),
                // The only peer selecting pods in another namespace: cluster DNS.
                (Some(_), Some(_)) => {
                    assert_eq!(ns, Some("kube-system"), "{peer}");
                    assert_eq!(
                        str_at(peer, "/podSelector/matchLabels/k8s-app"),
                        Some("kube-dns")
                    );
                }
                (None, None) => panic!("peer without a selector admits everything: {peer}"),
            }
        }
    }
    out
}

fn tcp(port: u64) -> BTreeSet<String> {
    BTreeSet::from([format!("TCP/{port}")])
}

#[test]
fn rendered_policies_admit_exactly_the_declared_callers() {
    let compiled = compile_repo();
    let schema_errors: Vec<_> = compiled
        .findings
        .iter()
        .filter(|d| d.code == OUTPUT_SCHEMA_CODE)
        .collect();
    assert!(schema_errors.is_empty(), "{schema_errors:#?}");
    let catalogue = read_yaml(&crate_root().join("catalogue.yaml"));
    assert!(!compiled.environments.is_empty());
    let mut istio_envs = 0;

    for env in &compiled.environments {
        let name = &env.resolved.name;
        let raw = Raw::read(&catalogue, name);
        let ns = raw.namespace();
        let manifests = &env.rendered.manifests;

        let deny = only(manifests, "NetworkPolicy", "default-deny", name);
        assert_eq!(deny.value["spec"]["podSelector"], serde_json::json!({}));
        let types: BTreeSet<&str> = items(&deny.value, "/spec/policyTypes")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(types, BTreeSet::from(["Ingress", "Egress"]), "{name}");
        assert!(items(&deny.value, "/spec/ingress").is_empty());
        assert!(items(&deny.value, "/spec/egress").is_empty());

        for svc in raw.services() {
            let callers = raw.callers(&svc);
            let ingress_ns = raw.ingress_namespaces(&svc);
            let port = raw.port(&svc);

            // NetworkPolicy: in from the callers and declared namespaces on the service's port,
            // out to the dependencies, `calls` and platform-wide services on their ports, plus DNS.
            let np = only(manifests, "NetworkPolicy", &svc, name);
            assert_eq!(np.namespace(), Some(ns.as_str()));
            let from = peers(&np.value, "ingress", "from");
            assert_eq!(
                from.pods.keys().cloned().collect::<BTreeSet<_>>(),
                callers,
                "{name}: NetworkPolicy ingress of {svc}"
            );
            assert!(from.pods.values().all(|p| *p == tcp(port)), "{name}/{svc}");
            assert_eq!(
                from.namespaces.keys().cloned().collect::<BTreeSet<_>>(),
                ingress_ns,
                "{name}: NetworkPolicy ingress namespaces of {svc}"
            );
            assert!(from.namespaces.values().all(|p| *p == tcp(port)));
            let to = peers(&np.value, "egress", "to");
            let expected_egress: BTreeMap<String, BTreeSet<String>> = raw
                .callees(&svc)
                .into_iter()
                .map(|d| {
                    let p = tcp(raw.port(&d));
                    (d, p)
                })
                .collect();
            assert_eq!(
                to.pods, expected_egress,
                "{name}: NetworkPolicy egress of {svc}"
            );
            assert!(
                to.namespaces.is_empty(),
                "{name}/{svc}: egress to whole namespaces"
            );
            let dns = items(&np.value, "/spec/egress").iter().any(|rule| {
                items(rule, "/to").iter().any(|peer| {
                    str_at(
                        peer,
                        "/namespaceSelector/matchLabels/kubernetes.io~1metadata.name",
                    ) == Some("kube-system")
                        && str_at(peer, "/podSelector/matchLabels/k8s-app") == Some("kube-dns")
                }) && items(rule, "/ports")
                    .iter()
                    .map(|p| format!("{}/{}", p["protocol"].as_str().unwrap_or(""), p["port"]))
                    .collect::<BTreeSet<_>>()
                    == BTreeSet::from(["UDP/53".to_owned(), "TCP/53".to_owned()])
            });
            assert!(dns, "{name}/{svc}: no egress to cluster DNS");

            // AuthorizationPolicy: the callers' service-account identities and the declared
            // namespaces, nothing else; only with Istio.
            let authz = find(manifests, "AuthorizationPolicy", &svc);
            if !raw.istio() {
                assert!(
                    authz.is_empty(),
                    "{name}: AuthorizationPolicy without Istio"
                );
                continue;
            }
            assert_eq!(authz.len(), 1, "{name}: AuthorizationPolicy/{svc}");
            let spec = &authz[0].value["spec"];
            assert_eq!(spec["action"], "ALLOW");
            assert_eq!(
                str_at(spec, "/selector/matchLabels/app.kubernetes.io~1name"),
                Some(svc.as_str())
            );
            let mut principals = BTreeSet::new();
            let mut namespaces = BTreeSet::new();
            for rule in items(spec, "/rules") {
                for f in items(rule, "/from") {
                    for p in items(f, "/source/principals") {
                        principals.insert(p.as_str().expect("principal").to_owned());
                    }
                    for n in items(f, "/source/namespaces") {
                        namespaces.insert(n.as_str().expect("namespace").to_owned());
                    }
                }
                let ports: Vec<&str> = items(rule, "/to")
                    .iter()
                    .flat_map(|t| items(t, "/operation/ports"))
                    .filter_map(Value::as_str)
                    .collect();
                assert_eq!(ports, vec![port.to_string()], "{name}/{svc}: rule ports");
            }
            let expected: BTreeSet<String> = callers
                .iter()
                .map(|c| format!("cluster.local/ns/{ns}/sa/{c}"))
                .collect();
            assert_eq!(principals, expected, "{name}: AuthorizationPolicy of {svc}");
            assert_eq!(
                namespaces, ingress_ns,
                "{name}: AuthorizationPolicy of {svc}"
            );
            // Each principal is a service account the caller's pods really run as.
            for c in &callers {
                only(manifests, "ServiceAccount", c, name);
                let workload = manifests
                    .iter()
                    .find(|m| matches!(m.kind(), "Deployment" | "StatefulSet") && m.name() == c)
                    .unwrap_or_else(|| panic!("{name}: no workload for {c}"));
                assert_eq!(
                    str_at(&workload.value, "/spec/template/spec/serviceAccountName"),
                    Some(c.as_str())
                );
            }
        }
        if raw.istio() {
            istio_envs += 1;
            let pa = only(manifests, "PeerAuthentication", "default", name);
            let mode = raw
                .env
                .pointer("/istio/mtls")
                .and_then(Value::as_str)
                .unwrap_or("STRICT");
            assert_eq!(str_at(&pa.value, "/spec/mtls/mode"), Some(mode));
        } else {
            for kind in [
                "VirtualService",
                "DestinationRule",
                "PeerAuthentication",
                "AuthorizationPolicy",
            ] {
                assert!(
                    manifests.iter().all(|m| m.kind() != kind),
                    "{name}: {kind} without Istio"
                );
            }
        }
    }
    assert!(
        istio_envs > 0,
        "no environment enables Istio; the test proves little"
    );
}

#[test]
fn canary_weights_split_between_stable_and_canary_subsets() {
    let compiled = compile_repo();
    let catalogue = read_yaml(&crate_root().join("catalogue.yaml"));
    let mut checked = 0;
    for env in &compiled.environments {
        let name = &env.resolved.name;
        let raw = Raw::read(&catalogue, name);
        if !raw.istio() {
            continue;
        }
        for svc in raw.services() {
            let Some(canary) = raw.setting(&svc, "/mesh/canary").and_then(Value::as_object) else {
                continue;
            };
            let vs = only(&env.rendered.manifests, "VirtualService", &svc, name);
            let weights: BTreeMap<String, u64> = items(&vs.value, "/spec/http/0/route")
                .iter()
                .map(|r| {
                    (
                        str_at(r, "/destination/subset").expect("subset").to_owned(),
                        r["weight"].as_u64().expect("weight"),
                    )
                })
                .collect();
            let mut expected: BTreeMap<String, u64> = canary
                .iter()
                .map(|(k, v)| (k.clone(), v.as_u64().expect("weight")))
                .collect();
            expected.insert("v1".into(), 100 - expected.values().sum::<u64>());
            assert_eq!(weights, expected, "{name}: VirtualService/{svc}");
            let dr = only(&env.rendered.manifests, "DestinationRule", &svc, name);
            let subsets: BTreeSet<(String, String)> = items(&dr.value, "/spec/subsets")
                .iter()
                .map(|s| {
                    (
                        str_at(s, "/name").expect("name").to_owned(),
                        str_at(s, "/labels/version").expect("version").to_owned(),
                    )
                })
                .collect();
            let expected: BTreeSet<(String, String)> =
                expected.keys().map(|k| (k.clone(), k.clone())).collect();
            assert_eq!(subsets, expected, "{name}: DestinationRule/{svc}");
            checked += 1;
        }
    }
    assert!(
        checked > 0,
        "no canary in an Istio environment; the test proves little"
    );
}

#[test]
fn applications_point_at_rendered_directories_and_their_namespaces() {
    let compiled = compile_repo();
    let rendered = compiled.rendered();
    // Directory name -> the namespaces of the manifests in it.
    let dirs: BTreeMap<String, BTreeSet<String>> = rendered
        .iter()
        .map(|e| {
            let namespaces = e
                .manifests
                .iter()
                .filter_map(|m| m.namespace().map(str::to_owned))
                .collect();
            (e.name.clone(), namespaces)
        })
        .collect();
    let apps: Vec<&Manifest> = compiled
        .argocd
        .manifests
        .iter()
        .filter(|m| m.kind() == "Application")
        .collect();
    // Beside the Applications, only the AppProject they belong to.
    let projects = compiled
        .argocd
        .manifests
        .iter()
        .filter(|m| m.kind() == "AppProject")
        .count();
    assert_eq!(projects, 1);
    assert_eq!(apps.len() + projects, compiled.argocd.manifests.len());

    let with_argocd: BTreeSet<String> = compiled
        .environments
        .iter()
        .filter(|e| e.resolved.argocd.is_some())
        .map(|e| e.resolved.name.clone())
        .collect();
    assert!(!with_argocd.is_empty());
    let mut targets = BTreeSet::new();
    for app in &apps {
        let path = str_at(&app.value, "/spec/source/path").expect("source path");
        let dir = path
            .strip_prefix("rendered/")
            .unwrap_or_else(|| panic!("{}: path {path} is not under rendered/", app.name()));
        let namespaces = dirs
            .get(dir)
            .unwrap_or_else(|| panic!("{}: {path} is not a rendered directory", app.name()));
        assert!(
            crate_root().join(path).is_dir(),
            "{}: {path} is not committed",
            app.name()
        );
        let dest = str_at(&app.value, "/spec/destination/namespace").expect("namespace");
        assert_eq!(
            namespaces,
            &BTreeSet::from([dest.to_owned()]),
            "{}: destination namespace vs the namespace of the manifests in {path}",
            app.name()
        );
        targets.insert(dir.to_owned());
    }
    // One Application per environment with an `argocd` section, plus the root over argocd/.
    let mut expected = with_argocd.clone();
    expected.insert("argocd".into());
    assert_eq!(targets, expected);
    assert_eq!(apps.len(), expected.len());
    for env in &compiled.environments {
        if let Some(argo) = &env.resolved.argocd {
            let app = apps
                .iter()
                .find(|a| {
                    str_at(&a.value, "/spec/source/path")
                        == Some(&format!("rendered/{}", env.resolved.name))
                })
                .expect("application");
            let sync = &app.value["spec"]["syncPolicy"];
            assert_eq!(
                sync["automated"]["selfHeal"],
                argo.sync_policy.self_heal.unwrap_or(false)
            );
            assert_eq!(
                sync["automated"]["prune"],
                argo.sync_policy.prune.unwrap_or(false)
            );
            assert_eq!(
                sync["syncOptions"],
                serde_json::json!([
                    "CreateNamespace=true",
                    "ServerSideApply=true",
                    "PruneLast=true"
                ])
            );
            assert_eq!(
                app.value["spec"]["source"]["repoURL"],
                argo.repo_url.as_str()
            );
        }
    }
}
