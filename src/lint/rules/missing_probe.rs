//! `missing-probe`: every container says when it is ready and when it is alive.

use crate::catalogue::model::ProbeKind;
use crate::diagnostic::Severity;
use crate::example;
use crate::lint::{Code, LintContext, Rule, Sink};
use crate::manifest::Field;
use serde_json::Value;

pub const RULE: Rule = Rule {
    id: "missing-probe",
    codes: &[
        &NO_READINESS,
        &NO_LIVENESS,
        &NO_HANDLER,
        &HTTP_PATH,
        &UNDECLARED_HEALTH_PATH,
        &LIVENESS_EQUALS_READINESS,
    ],
    summary: "A container without a readiness or liveness probe, or a probe aimed at nothing",
    doc: r#"## What it checks
Every container of every workload (Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod):
- has a `readinessProbe` and a `livenessProbe`;
- each probe has a handler (`httpGet`, `tcpSocket`, `grpc` or `exec`);
- an HTTP probe has an absolute path, and for services of the catalogue, the path is the service's
  declared health endpoint;
- the livenessProbe is not the readinessProbe again: the same handler with the same timing and
  thresholds (fields left out count at Kubernetes' defaults) is a warning.

Probe *ports* are checked by `port-conflict`, which knows the container's ports. A Helm test
hook (a pod annotated `helm.sh/hook: test`) runs once to completion under `helm test` and is not
held to this.

## Why it matters
Without a readiness probe, traffic reaches a pod before it can answer, and ArgoCD reports the
service healthy while it is not, so the next phase starts too early. Without a liveness probe, a
hung process is never restarted. A liveness probe identical to the readiness probe turns a slow
dependency into restarts: the moment the pod should merely leave the load balancer, the kubelet
kills it too, and every replica restarts together under the same load. Give liveness a cheaper
check, or the same one with more patience (a higher `failureThreshold` or `periodSeconds`).

## Bad
```yaml
services:
  mcp-service: { phase: user-interface, port: 9011, image: mcp, probe: none }
```

## Good
```yaml
services:
  mcp-service: { phase: user-interface, port: 9011, image: mcp, health: { path: /healthz } }
  redis:       { phase: infrastructure, port: 6379, image: redis:7.4, probe: tcp }
```
A service that truly cannot be probed can say why:
`suppress: { missing-probe: "batch worker, no listener" }`.
"#,
    check,
};

pub static NO_READINESS: Code = Code {
    id: "missing-probe/no-readiness",
    severity: Severity::Error,
    summary: "A container has no readinessProbe: traffic may reach it before it can answer",
    bad: example!("missing-probe/fires/no-readiness-probe.yaml"),
    good: example!("missing-probe/quiet/every-handler-kind.yaml"),
};

pub static NO_LIVENESS: Code = Code {
    id: "missing-probe/no-liveness",
    severity: Severity::Error,
    summary: "A container has no livenessProbe: a hung process is never restarted",
    bad: example!("missing-probe/fires/no-liveness-probe.yaml"),
    good: example!("missing-probe/quiet/every-handler-kind.yaml"),
};

pub static NO_HANDLER: Code = Code {
    id: "missing-probe/no-handler",
    severity: Severity::Error,
    summary: "A probe has no httpGet, tcpSocket, grpc or exec handler, so it checks nothing",
    bad: example!("missing-probe/fires/probe-without-handler.yaml"),
    good: example!("missing-probe/quiet/every-handler-kind.yaml"),
};

pub static HTTP_PATH: Code = Code {
    id: "missing-probe/http-path",
    severity: Severity::Error,
    summary: "An HTTP probe has no path, or a path that is not absolute",
    bad: example!("missing-probe/fires/relative-http-path.yaml"),
    good: example!("missing-probe/quiet/every-handler-kind.yaml"),
};

pub static UNDECLARED_HEALTH_PATH: Code = Code {
    id: "missing-probe/undeclared-health-path",
    severity: Severity::Warning,
    summary: "A catalogue service's HTTP probe (changed by a patch or template) asks another path than its declared health endpoint",
    bad: example!("missing-probe/fires/undeclared-health-path/catalogue.yaml"),
    good: example!("missing-probe/quiet/declared-health-path/catalogue.yaml"),
};

pub static LIVENESS_EQUALS_READINESS: Code = Code {
    id: "missing-probe/liveness-equals-readiness",
    severity: Severity::Warning,
    summary: "A container's livenessProbe is identical to its readinessProbe: a slow dependency restarts it instead of only taking it out of the load balancer",
    bad: example!("missing-probe/fires/liveness-equals-readiness.yaml"),
    good: example!("missing-probe/quiet/liveness-more-patient-than-readiness.yaml"),
};

const HANDLERS: &[&str] = &["httpGet", "tcpSocket", "grpc", "exec"];

/// A probe's timing fields and the values Kubernetes gives them when left out.
const TIMING_DEFAULTS: &[(&str, i64)] = &[
    ("initialDelaySeconds", 0),
    ("periodSeconds", 10),
    ("timeoutSeconds", 1),
    ("successThreshold", 1),
    ("failureThreshold", 3),
];

/// Whether two probes act the same: the same handler, and the same timing once Kubernetes'
/// defaults fill what is left out. An HTTP handler's scheme defaults to HTTP. A probe shipshape
/// cannot read (a timing that is not a number) is never called identical.
fn same_probe(a: &Value, b: &Value) -> bool {
    let handler = |p: &Value| {
        HANDLERS
            .iter()
            .find_map(|h| p.field(h).map(|v| (*h, v)))
            .map(|(h, v)| {
                let mut v = v.clone();
                if let Value::Object(m) = &mut v {
                    if h == "httpGet" && !m.contains_key("scheme") {
                        m.insert("scheme".into(), Value::from("HTTP"));
                    }
                }
                (h, v)
            })
    };
    let timing = |p: &Value| {
        TIMING_DEFAULTS
            .iter()
            .map(|(k, default)| match p.field(k) {
                None | Some(Value::Null) => Some(*default),
                Some(v) => v.as_i64(),
            })
            .collect::<Option<Vec<i64>>>()
    };
    let (Some(ha), Some(hb)) = (handler(a), handler(b)) else {
        return false;
    };
    let (Some(ta), Some(tb)) = (timing(a), timing(b)) else {
        return false;
    };
    ha == hb && ta == tb
}

fn check(ctx: &LintContext, out: &mut Sink) {
    for &wi in &ctx.index.workloads {
        let m = &ctx.manifests[wi];
        let Some((_, base)) = ctx.index.pod_spec(wi) else {
            continue;
        };
        // `helm test` runs its pod once to completion: nothing sends it traffic or restarts it.
        if ctx.index.facts(wi).helm_test {
            continue;
        }
        let declared = ctx.service_of(wi);
        for c in ctx.index.containers(wi) {
            let ci = c.index;
            let cname = c.name.unwrap_or("?");
            // Pointers are built only for a finding.
            let cpointer = || format!("{base}/containers/{ci}");
            if let (Some(live), Some(ready)) = (c.liveness, c.readiness) {
                if same_probe(live, ready) {
                    out.report(
                        &LIVENESS_EQUALS_READINESS,
                        Some(wi),
                        format!(
                            "the livenessProbe of container `{cname}` in `{}` is its readinessProbe again: when a dependency is slow, the kubelet restarts the container instead of only taking it out of the load balancer",
                            m.name()
                        ),
                    )
                    .place(
                        Some(ctx.locate(wi, &format!("{}/livenessProbe", cpointer()), "/probe")),
                        "same as the readinessProbe",
                    )
                    .also(
                        Some(ctx.locate(wi, &format!("{}/readinessProbe", cpointer()), "/probe")),
                        "the readinessProbe",
                    )
                    .help("give liveness a check of the process alone (e.g. a `/livez` that does not call dependencies), or the same check with more patience: a higher failureThreshold or periodSeconds than readiness");
                }
            }
            for (probe, purpose) in [
                (
                    "readinessProbe",
                    "traffic may reach it before it can answer",
                ),
                ("livenessProbe", "a hung process is never restarted"),
            ] {
                let Some(p) = c.probe(probe) else {
                    let help = match declared {
                        Some(s) if s.probe == ProbeKind::None => "remove `probe: none`, or use `probe: tcp` for services without an HTTP health endpoint",
                        _ => "add the probe (in the catalogue: `health: { path: ... }` or `probe: tcp`)",
                    };
                    let code = if probe == "readinessProbe" {
                        &NO_READINESS
                    } else {
                        &NO_LIVENESS
                    };
                    out.report(
                        code,
                        Some(wi),
                        format!(
                            "container `{cname}` of `{}` has no {probe}: {purpose}",
                            m.name()
                        ),
                    )
                    .place(
                        Some(ctx.locate(wi, &format!("{}/name", cpointer()), "/probe")),
                        format!("no {probe}"),
                    )
                    .help(help);
                    continue;
                };
                let ppointer = || format!("{}/{probe}", cpointer());
                if !HANDLERS.iter().any(|h| p.field(h).is_some()) {
                    out.report(&NO_HANDLER, Some(wi), format!("{probe} of container `{cname}` in `{}` has no handler, so it checks nothing", m.name()))
                        .place(Some(ctx.locate(wi, &ppointer(), "/probe")), "probe without handler")
                        .help("give the probe httpGet, tcpSocket, grpc or exec");
                    continue;
                }
                let Some(http) = p.field("httpGet") else {
                    continue;
                };
                let path = http.field("path").and_then(Value::as_str).unwrap_or("");
                if !path.starts_with('/') {
                    out.report(
                        &HTTP_PATH,
                        Some(wi),
                        if path.is_empty() {
                            format!("{probe} of `{}` has no path", m.name())
                        } else {
                            format!(
                                "{probe} of `{}` has path `{path}`, which is not an absolute path",
                                m.name()
                            )
                        },
                    )
                    .place(
                        Some(ctx.locate(
                            wi,
                            &format!("{}/httpGet/path", ppointer()),
                            "/health/path",
                        )),
                        "not a path",
                    )
                    .help("health paths start with `/`, e.g. `/healthz`");
                } else if let Some(s) = declared {
                    if s.probe == ProbeKind::Http && path != s.health_path {
                        out.report(
                            &UNDECLARED_HEALTH_PATH,
                            Some(wi),
                            format!("{probe} of `{}` asks {path}, but the service declares its health endpoint as {}", m.name(), s.health_path),
                        )
                        .place(Some(ctx.locate(wi, &format!("{}/httpGet/path", ppointer()), "/health/path")), "declared here")
                        .help("declare the path the probe asks as the service's `health.path`, or leave the probe's path as rendered");
                    }
                }
            }
        }
    }
}
