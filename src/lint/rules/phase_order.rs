//! `phase-order`: the rollout order must let every service start after what it depends on.

use crate::diagnostic::Severity;
use crate::example;
use crate::lint::depgraph::{DepGraph, EdgeProblem};
use crate::lint::fxhash::FxHashSet;
use crate::lint::{Code, LintContext, Rule, Sink};

pub const RULE: Rule = Rule {
    id: "phase-order",
    codes: &[&DEPENDENCY_LATER, &SAME_WAVE, &CYCLE, &MISSING_DEPENDENCY],
    summary: "A dependency deployed later or together with its dependent, a dependency cycle, or a dependency on nothing",
    doc: r#"## What it checks
For every workload, the services named in its `shipshape.dev/depends-on` annotation (rendered from
`dependsOn` in the catalogue) against the ArgoCD sync waves (rendered from phases and batches):

- a dependency deployed in a **later** phase or wave than the service that needs it;
- a dependency in the **same** wave: a parallel phase or batch starts both at once, so neither waits;
- a dependency **cycle** (the cycle is printed), which no order can satisfy;
- a dependency on a service that does not exist.

## Why it matters
ArgoCD applies waves in order and waits for each to be healthy. A service whose dependency comes
later crash-loops until it arrives, and a health gate that waits on it may never pass. The rollout
plan written by hand in a document is exactly where such mistakes hide.

## Bad
```yaml
phases:
  - { name: user-interface, rollout: parallel }
  - { name: utility, rollout: parallel }
services:
  api-gateway: { phase: user-interface, port: 9001, image: gw, dependsOn: [web] }
  web:         { phase: utility, port: 3000, image: web, dependsOn: [api-gateway] }
```

## Good
```yaml
services:
  api-gateway: { phase: user-interface, port: 9001, image: gw, dependsOn: [auth-service] }
  web:         { phase: utility, port: 3000, image: web, dependsOn: [api-gateway] }
```
Move the dependency to an earlier phase or batch, or drop a dependency that is not real. A service
that calls another but need not wait for it lists it in `calls` instead of `dependsOn`: the
policies admit the call and the rollout order does not judge it. The same holds for a service every
other one may call (`callableFromAll: true`, e.g. error reporting): no one depends on it.
"#,
    check,
};

pub static DEPENDENCY_LATER: Code = Code {
    id: "phase-order/dependency-later",
    severity: Severity::Error,
    summary: "A workload depends on a service deployed in a later sync wave",
    bad: example!("phase-order/fires/dependency-later.yaml"),
    good: example!("phase-order/quiet/ordered-waves.yaml"),
};

pub static SAME_WAVE: Code = Code {
    id: "phase-order/same-wave",
    severity: Severity::Error,
    summary: "A workload and a service it depends on start together in one sync wave",
    bad: example!("phase-order/fires/dependency-same-wave.yaml"),
    good: example!("phase-order/quiet/ordered-waves.yaml"),
};

pub static CYCLE: Code = Code {
    id: "phase-order/cycle",
    severity: Severity::Error,
    summary: "Services depend on each other in a cycle, so none can start first",
    bad: example!("phase-order/fires/three-service-cycle.yaml"),
    good: example!("phase-order/quiet/ordered-waves.yaml"),
};

pub static MISSING_DEPENDENCY: Code = Code {
    id: "phase-order/missing-dependency",
    severity: Severity::Error,
    summary: "A workload depends on a service no workload provides",
    bad: example!("phase-order/fires/dependency-missing.yaml"),
    good: example!("phase-order/quiet/ordered-waves.yaml"),
};

const DEPENDS_POINTER: &str = "/metadata/annotations/shipshape.dev~1depends-on";

fn describe(node: &crate::lint::depgraph::Node) -> String {
    match &node.phase {
        Some(p) => format!("phase `{p}`, wave {}", node.wave),
        None => format!("wave {}", node.wave),
    }
}

fn check(ctx: &LintContext, out: &mut Sink) {
    let graph = DepGraph::build(ctx.manifests, &ctx.index.workloads);
    let cycles = graph.cycles();
    let in_cycle_together: FxHashSet<(usize, usize)> = cycles
        .iter()
        .flat_map(|c| c.iter().flat_map(move |&a| c.iter().map(move |&b| (a, b))))
        .collect();
    for (ni, di, problem) in graph.edge_problems() {
        let node = &graph.nodes[ni];
        let dep_name = &node.depends_on[di];
        let here = ctx.locate(node.manifest, DEPENDS_POINTER, &format!("/dependsOn/{di}"));
        // The dependency's node, unless both sit on a reported cycle: a cycle is reported once,
        // as a cycle, not as each of its edges.
        let ordered_dependency = |name: &str| {
            graph
                .node_index(name)
                .filter(|&d| !in_cycle_together.contains(&(ni, d)))
                .map(|d| &graph.nodes[d])
        };
        match problem {
            EdgeProblem::Missing => {
                out.report(
                    &MISSING_DEPENDENCY,
                    Some(node.manifest),
                    format!(
                        "`{}` depends on `{dep_name}`, which no workload provides",
                        node.name
                    ),
                )
                .place(Some(here), "no such service")
                .help("add the service, or remove the dependency");
            }
            EdgeProblem::Later | EdgeProblem::SameWave => {
                let Some(dep) = ordered_dependency(dep_name) else {
                    continue;
                };
                let there = ctx.locate(dep.manifest, "/metadata/annotations", "/phase");
                let (code, message, needed, deployed, help) = if matches!(
                    problem,
                    EdgeProblem::Later
                ) {
                    (
                        &DEPENDENCY_LATER,
                        format!(
                            "`{}` ({}) depends on `{}` ({}), which is deployed later",
                            node.name,
                            describe(node),
                            dep.name,
                            describe(dep)
                        ),
                        format!("`{}` is needed here", dep.name),
                        format!("`{}` is only deployed in {}", dep.name, describe(dep)),
                        format!(
                            "deploy `{}` in an earlier phase than `{}`, or drop the dependency",
                            dep.name, node.name
                        ),
                    )
                } else {
                    (
                        &SAME_WAVE,
                        format!(
                            "`{}` depends on `{}`, but both start together in wave {}",
                            node.name, dep.name, node.wave
                        ),
                        "this dependency starts at the same time".to_owned(),
                        format!("`{}` is in the same wave", dep.name),
                        "put the dependency in an earlier batch or phase, or make the phase sequential"
                            .to_owned(),
                    )
                };
                out.report(code, Some(node.manifest), message)
                    .place(Some(here), needed)
                    .also(Some(there), deployed)
                    .help(help);
            }
        }
    }
    for cycle in cycles {
        let names: Vec<&str> = cycle
            .iter()
            .map(|&i| graph.nodes[i].name.as_str())
            .collect();
        let first = &graph.nodes[cycle[0]];
        let next = names.get(1).copied().unwrap_or(first.name.as_str());
        let di = first.depends_on.iter().position(|d| d == next).unwrap_or(0);
        let here = ctx.locate(first.manifest, DEPENDS_POINTER, &format!("/dependsOn/{di}"));
        let mut path = names.join(" -> ");
        path.push_str(" -> ");
        path.push_str(names[0]);
        let d = out
            .report(
                &CYCLE,
                Some(first.manifest),
                format!("dependency cycle: {path}"),
            )
            .place(Some(here), "the cycle starts here")
            .help("break the cycle: one of these dependencies is not needed at start-up");
        for &i in cycle.iter().skip(1) {
            let n = &graph.nodes[i];
            let succ = cycle
                .get(cycle.iter().position(|&x| x == i).map_or(0, |p| p + 1))
                .copied()
                .unwrap_or(cycle[0]);
            let succ_name = &graph.nodes[succ].name;
            let pos = n
                .depends_on
                .iter()
                .position(|x| x == succ_name)
                .unwrap_or(0);
            let loc = ctx.locate(n.manifest, DEPENDS_POINTER, &format!("/dependsOn/{pos}"));
            d.also(Some(loc), format!("`{}` depends on `{succ_name}`", n.name));
        }
    }
}
