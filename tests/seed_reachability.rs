//! Every call the platform documents give is admitted by the rendered prod policies, unless
//! `catalogue.yaml` says why not.
//!
//! The calls come from two sources, both checked in:
//! - the dependency tables of document 002 ("Planned deployment strategy",
//!   /work/shared/seeds/002_08b890caca7d35fc.md), which `tests/fixtures/seed-plan/catalogue.yaml`
//!   holds exactly as written (`dependsOn`, api-gateway's "All services" spelled out): each
//!   `dependsOn` entry is a call from the service to the dependency;
//! - [`PLATFORM_WIDE`]: services the documents have every service call.
//!
//! A call is admitted when, in prod, the callee's NetworkPolicy lets the caller's pods in on the
//! callee's port, the caller's NetworkPolicy lets them out to it, and the callee's Istio
//! AuthorizationPolicy allows the caller's identity on that port. The exceptions are the
//! `# not-admitted <caller> -> <callee>: <reason>` lines of `catalogue.yaml`; each must name a
//! call of the documents that is really not admitted, so a stale one fails too.

mod common;

use common::{crate_root, fixture, read_yaml};
use serde_json::Value;
use shipshape::catalogue::ProjectPaths;
use shipshape::diagnostic::Diagnostic;
use shipshape::manifest::Manifest;
use shipshape::pipeline::{compile, CompileOptions, KeepEverything};
use shipshape::yaml::Limits;
use std::collections::{BTreeMap, BTreeSet};

/// Callees every service of the platform calls, with the document that says so.
const PLATFORM_WIDE: &[(&str, &str)] = &[(
    "error-reporting-service",
    "001 (orchestration engine), Configuration Management: ERROR_REPORTING_URL is a service-discovery setting of every service; 000 and 003: error reporting fully integrated",
)];

const ENV: &str = "prod";

type Call = (String, String);

/// The calls of the documents, each with where it comes from.
fn document_calls() -> BTreeMap<Call, String> {
    let plan = read_yaml(&fixture("seed-plan").join("catalogue.yaml"));
    let services = plan["services"]
        .as_object()
        .expect("services of the fixture");
    let mut calls = BTreeMap::new();
    for (caller, spec) in services {
        for callee in spec["dependsOn"].as_array().into_iter().flatten() {
            let callee = callee.as_str().expect("a dependency name").to_owned();
            calls.insert(
                (caller.clone(), callee),
                "document 002, dependency tables".to_owned(),
            );
        }
    }
    for (callee, source) in PLATFORM_WIDE {
        assert!(services.contains_key(*callee), "{callee} is no service");
        for caller in services.keys().filter(|c| c != callee) {
            calls
                .entry((caller.clone(), (*callee).to_owned()))
                .or_insert_with(|| format!("platform-wide: document {source}"));
        }
    }
    calls
}

/// The `not-admitted` lines of catalogue.yaml: call -> reason.
fn documented_exceptions() -> BTreeMap<Call, String> {
    let text = std::fs::read_to_string(crate_root().join("catalogue.yaml")).expect("catalogue");
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line
            .trim_start_matches('#')
            .trim_start()
            .strip_prefix("not-admitted ")
        else {
            continue;
        };
        let (pair, reason) = rest
            .split_once(": ")
            .unwrap_or_else(|| panic!("`{line}`: write `not-admitted a -> b: reason`"));
        let (caller, callee) = pair
            .split_once(" -> ")
            .unwrap_or_else(|| panic!("`{line}`: write `not-admitted a -> b: reason`"));
        assert!(
            reason.trim().len() >= 20,
            "`{line}`: give the reason, not a word"
        );
        let call = (caller.trim().to_owned(), callee.trim().to_owned());
        assert!(
            out.insert(call, reason.trim().to_owned()).is_none(),
            "`{line}` is listed twice"
        );
    }
    out
}

fn prod_manifests() -> Vec<Manifest> {
    compile_prod().0
}

/// The prod manifests and the findings of linting them.
fn compile_prod() -> (Vec<Manifest>, Vec<Diagnostic>) {
    let opts = CompileOptions {
        paths: ProjectPaths::in_root(crate_root()),
        envs: vec![ENV.to_owned()],
        templates: None,
        limits: Limits::default(),
        layout: Default::default(),
    };
    let compiled = match compile(&opts, &mut KeepEverything) {
        Ok(c) => c,
        Err(f) => panic!("the catalogue does not compile: {:#?}", f.diagnostics),
    };
    let env = compiled
        .environments
        .into_iter()
        .find(|e| e.resolved.name == ENV)
        .expect("the prod environment");
    (env.rendered.manifests, compiled.findings)
}

fn items<'a>(v: &'a Value, pointer: &str) -> &'a [Value] {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn app_name(selector: &Value) -> Option<&str> {
    selector
        .pointer("/matchLabels/app.kubernetes.io~1name")
        .and_then(Value::as_str)
}

/// Whether a rule's `ports` include TCP `port` (a rule without ports admits every port).
fn rule_admits_port(rule: &Value, port: u64) -> bool {
    let ports = items(rule, "/ports");
    ports.is_empty()
        || ports.iter().any(|p| {
            p["port"].as_u64() == Some(port)
                && p.get("protocol").and_then(Value::as_str).unwrap_or("TCP") == "TCP"
        })
}

/// The policies of one environment, read by the pods they select.
struct Policies<'a> {
    manifests: &'a [Manifest],
    namespace: String,
}

impl Policies<'_> {
    fn of_kind<'m>(&'m self, kind: &'m str) -> impl Iterator<Item = &'m Value> + 'm {
        self.manifests
            .iter()
            .filter(move |m| m.kind() == kind)
            .map(|m| &m.value)
    }

    /// The port the callee's pods serve on, as its Service sends to it.
    fn port(&self, service: &str) -> u64 {
        let svc = self
            .manifests
            .iter()
            .find(|m| m.kind() == "Service" && m.name() == service)
            .unwrap_or_else(|| panic!("no Service {service}"));
        let port = &items(&svc.value, "/spec/ports")[0];
        port.get("targetPort")
            .and_then(Value::as_u64)
            .or_else(|| port["port"].as_u64())
            .expect("a numeric port")
    }

    /// The NetworkPolicies selecting `service`'s pods by name.
    fn network_policies<'m>(&'m self, service: &'m str) -> impl Iterator<Item = &'m Value> + 'm {
        self.of_kind("NetworkPolicy")
            .filter(move |p| app_name(&p["spec"]["podSelector"]) == Some(service))
    }

    fn ingress_admits(&self, caller: &str, callee: &str, port: u64) -> bool {
        self.network_policies(callee).any(|p| {
            items(p, "/spec/ingress").iter().any(|rule| {
                rule_admits_port(rule, port)
                    && items(rule, "/from").iter().any(|peer| {
                        peer.get("namespaceSelector").is_none()
                            && app_name(&peer["podSelector"]) == Some(caller)
                    })
            })
        })
    }

    fn egress_admits(&self, caller: &str, callee: &str, port: u64) -> bool {
        self.network_policies(caller).any(|p| {
            items(p, "/spec/egress").iter().any(|rule| {
                rule_admits_port(rule, port)
                    && items(rule, "/to").iter().any(|peer| {
                        peer.get("namespaceSelector").is_none()
                            && app_name(&peer["podSelector"]) == Some(callee)
                    })
            })
        })
    }

    fn istio_admits(&self, caller: &str, callee: &str, port: u64) -> bool {
        let principal = format!("cluster.local/ns/{}/sa/{caller}", self.namespace);
        let port = port.to_string();
        self.of_kind("AuthorizationPolicy")
            .filter(|p| app_name(&p["spec"]["selector"]) == Some(callee))
            .filter(|p| p["spec"]["action"] == "ALLOW")
            .any(|p| {
                items(p, "/spec/rules").iter().any(|rule| {
                    let from = items(rule, "/from").iter().any(|f| {
                        items(f, "/source/principals")
                            .iter()
                            .any(|v| v.as_str() == Some(principal.as_str()))
                    });
                    let to = items(rule, "/to").iter().any(|t| {
                        items(t, "/operation/ports")
                            .iter()
                            .any(|v| v.as_str() == Some(port.as_str()))
                    });
                    from && to
                })
            })
    }

    /// What stops the call, empty when it is admitted.
    fn refusals(&self, caller: &str, callee: &str) -> Vec<&'static str> {
        let port = self.port(callee);
        let mut out = Vec::new();
        if !self.ingress_admits(caller, callee, port) {
            out.push("the callee's NetworkPolicy ingress");
        }
        if !self.egress_admits(caller, callee, port) {
            out.push("the caller's NetworkPolicy egress");
        }
        if !self.istio_admits(caller, callee, port) {
            out.push("the callee's AuthorizationPolicy");
        }
        out
    }
}

#[test]
fn prod_policies_admit_every_call_of_the_documents() {
    let calls = document_calls();
    assert!(calls.len() > 60, "only {} calls read", calls.len());
    let exceptions = documented_exceptions();
    let manifests = prod_manifests();
    let namespace = manifests
        .iter()
        .find(|m| m.kind() == "Namespace")
        .map(|m| m.name().to_owned())
        .expect("the prod namespace");
    assert!(
        manifests.iter().any(|m| m.kind() == "AuthorizationPolicy"),
        "prod renders no AuthorizationPolicy: Istio is off and the test proves half"
    );
    let policies = Policies {
        manifests: &manifests,
        namespace,
    };

    let mut failures = Vec::new();
    for ((caller, callee), source) in &calls {
        let refusals = policies.refusals(caller, callee);
        match (refusals.is_empty(), exceptions.get(&(caller.clone(), callee.clone()))) {
            (true, None) | (false, Some(_)) => {}
            (false, None) => failures.push(format!(
                "{caller} -> {callee} ({source}) is refused by {}; admit it, or add `# not-admitted {caller} -> {callee}: <reason>` to catalogue.yaml",
                refusals.join(", ")
            )),
            (true, Some(_)) => failures.push(format!(
                "{caller} -> {callee} is listed as not admitted in catalogue.yaml, but the policies admit it; remove the line"
            )),
        }
    }
    for call in exceptions.keys().filter(|c| !calls.contains_key(*c)) {
        failures.push(format!(
            "`not-admitted {} -> {}` names a call no document gives; remove the line",
            call.0, call.1
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The exception lines are read at all (a typo in the prefix would silently drop them).
#[test]
fn the_catalogue_documents_its_exceptions() {
    let exceptions = documented_exceptions();
    let callees: BTreeSet<&str> = exceptions.keys().map(|(_, b)| b.as_str()).collect();
    assert_eq!(callees, BTreeSet::from(["admin", "mobile-api", "web"]));
}

/// A platform-wide callee is no startup dependency: services of earlier waves may call
/// error-reporting-service, none of them waits for it, and `phase-order` finds nothing.
#[test]
fn platform_wide_callees_are_not_dependencies() {
    let (manifests, findings) = compile_prod();
    let phase_order: Vec<_> = findings
        .iter()
        .filter(|d| d.code.starts_with("phase-order"))
        .collect();
    assert!(phase_order.is_empty(), "{phase_order:#?}");
    let wave = |m: &Manifest| {
        m.annotation("argocd.argoproj.io/sync-wave")
            .and_then(|w| w.parse::<i64>().ok())
            .expect("a sync wave")
    };
    let workloads: Vec<&Manifest> = manifests
        .iter()
        .filter(|m| matches!(m.kind(), "Deployment" | "StatefulSet"))
        .collect();
    let callee = "error-reporting-service";
    let own_wave = workloads
        .iter()
        .find(|m| m.name() == callee)
        .map(|m| wave(m))
        .expect("its workload");
    let policies = Policies {
        manifests: &manifests,
        namespace: String::new(),
    };
    let port = policies.port(callee);
    let earlier: Vec<&&Manifest> = workloads.iter().filter(|m| wave(m) < own_wave).collect();
    assert!(
        earlier.len() >= 10,
        "only {} earlier workloads",
        earlier.len()
    );
    for m in earlier {
        assert!(
            policies.egress_admits(m.name(), callee, port)
                && policies.ingress_admits(m.name(), callee, port),
            "{} may not call {callee}",
            m.name()
        );
        let deps = m.annotation("shipshape.dev/depends-on").unwrap_or("");
        assert!(
            !deps.split(',').any(|d| d == callee),
            "{} waits for {callee}",
            m.name()
        );
    }
}
