//! The dependency graph of one environment as Mermaid or Graphviz DOT: services grouped by phase,
//! an arrow from each dependency to the service that needs it (so arrows follow the rollout), and
//! in red every edge the `phase-order` rule objects to; a dashed arrow from each service to those
//! it `calls` at run time, which set no start-up order. The problems come from
//! [`DepGraph`] over the rendered manifests, so the picture and the linter always agree.

use crate::catalogue::model::Rollout;
use crate::catalogue::ResolvedEnvironment;
use crate::lint::depgraph::{DepGraph, EdgeProblem};
use crate::lint::index::Index;
use crate::manifest::Manifest;
use clap::ValueEnum;
use std::collections::{BTreeSet, HashMap};

/// Output formats of `shipshape graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// A Mermaid flowchart (GitHub renders it in Markdown).
    Mermaid,
    /// Graphviz DOT, e.g. for `dot -Tsvg`.
    Dot,
}

/// Why an edge is drawn in red.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Violation {
    /// Part of a dependency cycle.
    Cycle,
    /// The dependency rolls out in a later wave than the service that needs it.
    Later,
    /// Both start in the same wave, so neither waits for the other.
    SameWave,
    /// No workload provides the dependency.
    Missing,
}

impl Violation {
    pub fn label(self) -> &'static str {
        match self {
            Violation::Cycle => "cycle",
            Violation::Later => "later wave",
            Violation::SameWave => "same wave",
            Violation::Missing => "missing",
        }
    }
}

#[derive(Debug, Clone)]
pub struct GraphNode {
    pub name: String,
    pub wave: i64,
    pub batch: Option<String>,
    /// In a dependency cycle, or a dependency no workload provides.
    pub flagged: bool,
    pub missing: bool,
}

#[derive(Debug, Clone)]
pub struct Group {
    /// 1-based phase number; `None` for workloads whose phase the catalogue does not know.
    pub number: Option<usize>,
    pub name: String,
    pub rollout: Option<Rollout>,
    pub nodes: Vec<GraphNode>,
}

#[derive(Debug, Clone)]
pub struct Edge {
    /// The dependency: it must be up first.
    pub from: String,
    /// The service that depends on it.
    pub to: String,
    pub violations: Vec<Violation>,
}

#[derive(Debug, Clone)]
pub struct Graph {
    pub environment: String,
    pub namespace: String,
    pub groups: Vec<Group>,
    pub edges: Vec<Edge>,
    /// (caller, callee): run-time calls between services of the graph (`calls`).
    pub calls: Vec<(String, String)>,
}

impl Graph {
    pub fn violations(&self) -> usize {
        self.edges
            .iter()
            .filter(|e| !e.violations.is_empty())
            .count()
    }
}

/// Builds the graph of an environment from its rendered manifests.
pub fn build(env: &ResolvedEnvironment, manifests: &[Manifest]) -> Graph {
    let index = Index::build(manifests);
    let dg = DepGraph::build(manifests, &index.workloads);

    let mut problems: HashMap<(usize, usize), BTreeSet<Violation>> = HashMap::new();
    for (ni, di, problem) in dg.edge_problems() {
        let v = match problem {
            EdgeProblem::Later => Violation::Later,
            EdgeProblem::SameWave => Violation::SameWave,
            EdgeProblem::Missing => Violation::Missing,
        };
        problems.entry((ni, di)).or_default().insert(v);
    }
    let mut in_cycle = vec![false; dg.nodes.len()];
    for cycle in dg.cycles() {
        for (i, &ni) in cycle.iter().enumerate() {
            in_cycle[ni] = true;
            let next = cycle[(i + 1) % cycle.len()];
            let next_name = &dg.nodes[next].name;
            for (di, dep) in dg.nodes[ni].depends_on.iter().enumerate() {
                if dep == next_name {
                    problems
                        .entry((ni, di))
                        .or_default()
                        .insert(Violation::Cycle);
                }
            }
        }
    }

    let mut groups: Vec<Group> = env
        .phases
        .iter()
        .enumerate()
        .map(|(i, p)| Group {
            number: Some(i + 1),
            name: p.name.clone(),
            rollout: Some(p.rollout),
            nodes: Vec::new(),
        })
        .collect();
    let mut unknown = Group {
        number: None,
        name: "no known phase".to_owned(),
        rollout: None,
        nodes: Vec::new(),
    };
    // Display position of each DepGraph node, so edges can follow the drawing order.
    let mut placed: Vec<(usize, usize)> = Vec::new();
    for (ni, node) in dg.nodes.iter().enumerate() {
        let gnode = GraphNode {
            name: node.name.clone(),
            wave: node.wave,
            batch: env.service(&node.name).and_then(|s| s.batch.clone()),
            flagged: in_cycle[ni],
            missing: false,
        };
        let gi = node
            .phase
            .as_deref()
            .and_then(|ph| groups.iter().position(|g| g.name == ph));
        match gi {
            Some(gi) => groups[gi].nodes.push(gnode),
            None => unknown.nodes.push(gnode),
        }
        placed.push((gi.unwrap_or(usize::MAX), ni));
    }

    // Dependencies no workload provides get a node of their own, so the red edge has an end.
    let mut missing_names: BTreeSet<String> = BTreeSet::new();
    for (&(ni, di), v) in &problems {
        if v.contains(&Violation::Missing) {
            missing_names.insert(dg.nodes[ni].depends_on[di].clone());
        }
    }
    for name in &missing_names {
        unknown.nodes.push(GraphNode {
            name: name.clone(),
            wave: i64::MAX,
            batch: None,
            flagged: true,
            missing: true,
        });
    }
    if !unknown.nodes.is_empty() {
        groups.push(unknown);
    }
    // Within a wave, the catalogue's order, as `shipshape plan` lists them; the name breaks ties
    // between workloads the catalogue does not know.
    let position = |name: &str| {
        env.services
            .iter()
            .position(|s| s.name == name)
            .unwrap_or(usize::MAX)
    };
    for g in &mut groups {
        g.nodes
            .sort_by_cached_key(|n| (n.wave, position(&n.name), n.name.clone()));
    }

    // Edges in drawing order: by the dependent's group and place in it, then as written.
    placed.sort_by_cached_key(|&(gi, ni)| {
        let n = &dg.nodes[ni];
        (gi, n.wave, position(&n.name), n.name.clone())
    });
    let mut edges = Vec::new();
    for &(_, ni) in &placed {
        let node = &dg.nodes[ni];
        for (di, dep) in node.depends_on.iter().enumerate() {
            edges.push(Edge {
                from: dep.clone(),
                to: node.name.clone(),
                violations: problems
                    .get(&(ni, di))
                    .map(|v| v.iter().copied().collect())
                    .unwrap_or_default(),
            });
        }
    }
    // Calls between drawn services, callers in drawing order; a call that is also a dependency
    // is drawn once, as the dependency.
    let drawn: BTreeSet<&str> = dg.nodes.iter().map(|n| n.name.as_str()).collect();
    let mut calls = Vec::new();
    for &(_, ni) in &placed {
        let node = &dg.nodes[ni];
        let Some(svc) = env.service(&node.name) else {
            continue;
        };
        for callee in &svc.calls {
            let depends = dg
                .node_index(callee)
                .is_some_and(|ci| dg.nodes[ci].depends_on.contains(&node.name))
                || node.depends_on.contains(callee);
            if drawn.contains(callee.as_str()) && !depends {
                calls.push((node.name.clone(), callee.clone()));
            }
        }
    }
    Graph {
        environment: env.name.clone(),
        namespace: env.namespace.clone(),
        groups,
        edges,
        calls,
    }
}

const RED: &str = "#d00000";

/// Distinct waves of a group's nodes, ascending (the nodes are sorted by wave).
fn waves(nodes: &[GraphNode]) -> Vec<i64> {
    let mut w: Vec<i64> = nodes
        .iter()
        .filter(|n| !n.missing)
        .map(|n| n.wave)
        .collect();
    w.dedup();
    w
}

fn group_title(g: &Group) -> String {
    let waves = waves(&g.nodes);
    let range = match (waves.first(), waves.last()) {
        (Some(a), Some(b)) if a == b => format!("wave {a}"),
        (Some(a), Some(b)) => format!("waves {a}-{b}"),
        _ => String::new(),
    };
    match (g.number, g.rollout) {
        (Some(n), Some(r)) => format!(
            "{n}. {} · {} · {range}",
            g.name,
            crate::plan::rollout_name(r)
        ),
        _ => g.name.clone(),
    }
}

fn node_detail(n: &GraphNode) -> String {
    if n.missing {
        return "missing".to_owned();
    }
    match &n.batch {
        Some(b) => format!("wave {} · {b}", n.wave),
        None => format!("wave {}", n.wave),
    }
}

fn edge_label(e: &Edge) -> String {
    e.violations
        .iter()
        .map(|v| v.label())
        .collect::<Vec<_>>()
        .join(", ")
}

const LEGEND: [&str; 4] = [
    "An arrow A -> B means B depends on A, so A must roll out first.",
    "Red: the edge is part of a dependency cycle, or the dependency rolls out in a later wave",
    "than the service that needs it, in the same wave, or not at all (missing).",
    "A dashed arrow A -> B means A calls B at run time (`calls`): allowed traffic, no start-up order.",
];

// ---- Mermaid ------------------------------------------------------------------------------------

/// Mermaid ids must avoid keywords such as `end`, and hyphens read as arrows in some positions.
fn mermaid_id(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("s_{clean}")
}

fn mermaid_text(s: &str) -> String {
    s.replace('"', "#quot;")
}

pub fn mermaid(g: &Graph) -> String {
    let mut out = Vec::new();
    out.push(format!(
        "%% shipshape graph: environment {} (namespace {})",
        g.environment, g.namespace
    ));
    out.extend(LEGEND.iter().map(|l| format!("%% {l}")));
    out.push("flowchart TB".to_owned());
    for (gi, group) in g.groups.iter().enumerate() {
        let id = match group.number {
            Some(n) => format!("phase_{n}"),
            None => format!("phase_other_{gi}"),
        };
        out.push(format!(
            "  subgraph {id}[\"{}\"]",
            mermaid_text(&group_title(group))
        ));
        for n in &group.nodes {
            out.push(format!(
                "    {}[\"{}<br/>{}\"]",
                mermaid_id(&n.name),
                mermaid_text(&n.name),
                mermaid_text(&node_detail(n))
            ));
        }
        out.push("  end".to_owned());
    }
    let mut red = Vec::new();
    for (i, e) in g.edges.iter().enumerate() {
        let (from, to) = (mermaid_id(&e.from), mermaid_id(&e.to));
        if e.violations.is_empty() {
            out.push(format!("  {from} --> {to}"));
        } else {
            out.push(format!("  {from} -->|{}| {to}", edge_label(e)));
            red.push(i.to_string());
        }
    }
    for (caller, callee) in &g.calls {
        out.push(format!(
            "  {} -.->|calls| {}",
            mermaid_id(caller),
            mermaid_id(callee)
        ));
    }
    if !red.is_empty() {
        out.push(format!(
            "  linkStyle {} stroke:{RED},stroke-width:2px,color:{RED}",
            red.join(",")
        ));
    }
    let flagged: Vec<String> = g
        .groups
        .iter()
        .flat_map(|gr| gr.nodes.iter())
        .filter(|n| n.flagged)
        .map(|n| mermaid_id(&n.name))
        .collect();
    if !flagged.is_empty() {
        out.push(format!(
            "  classDef violation stroke:{RED},stroke-width:2px,color:{RED}"
        ));
        out.push(format!("  class {} violation", flagged.join(",")));
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

// ---- DOT ------------------------------------------------------------------------------------------

fn dot_string(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("\"{escaped}\"")
}

pub fn dot(g: &Graph) -> String {
    let mut out = Vec::new();
    out.push(format!(
        "// shipshape graph: environment {} (namespace {})",
        g.environment, g.namespace
    ));
    out.extend(LEGEND.iter().map(|l| format!("// {l}")));
    out.push(format!("digraph {} {{", dot_string(&g.environment)));
    let violations = g.violations();
    let title = format!(
        "{}: service dependencies by rollout phase ({} violation{})",
        g.environment,
        violations,
        if violations == 1 { "" } else { "s" }
    );
    out.push(format!(
        "  graph [rankdir=TB, newrank=true, fontname=\"Helvetica\", labelloc=t, fontsize=18, label={}];",
        dot_string(&title)
    ));
    out.push(
        "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\", fontsize=11];"
            .to_owned(),
    );
    out.push("  edge [color=\"#555555\", fontname=\"Helvetica\", fontsize=9];".to_owned());
    for (gi, group) in g.groups.iter().enumerate() {
        let id = match group.number {
            Some(n) => format!("cluster_{n}"),
            None => format!("cluster_other_{gi}"),
        };
        out.push(format!("  subgraph {id} {{"));
        out.push(format!(
            "    graph [label={}, style=\"rounded,filled\", fillcolor=\"#f4f6fa\", color=\"#9aa5b8\", fontsize=13];",
            dot_string(&group_title(group))
        ));
        for n in &group.nodes {
            let label = format!("{}\n{}", n.name, node_detail(n));
            let mut attrs = vec![format!("label={}", dot_string(&label))];
            if n.flagged {
                attrs.push(format!("color=\"{RED}\", fontcolor=\"{RED}\", penwidth=2"));
            }
            if n.missing {
                attrs.push("style=\"rounded,dashed\"".to_owned());
            }
            out.push(format!(
                "    {} [{}];",
                dot_string(&n.name),
                attrs.join(", ")
            ));
        }
        for wave in waves(&group.nodes) {
            let same: Vec<String> = group
                .nodes
                .iter()
                .filter(|n| !n.missing && n.wave == wave)
                .map(|n| dot_string(&n.name))
                .collect();
            out.push(format!("    {{ rank=same; {}; }}", same.join("; ")));
        }
        out.push("  }".to_owned());
    }
    // One row per sync wave, top to bottom: an invisible chain through the waves fixes the rows,
    // whatever the dependencies say.
    let mut firsts: Vec<(i64, &str)> = g
        .groups
        .iter()
        .flat_map(|gr| gr.nodes.iter())
        .filter(|n| !n.missing)
        .map(|n| (n.wave, n.name.as_str()))
        .collect();
    firsts.sort();
    firsts.dedup_by_key(|(w, _)| *w);
    for pair in firsts.windows(2) {
        out.push(format!(
            "  {} -> {} [style=invis];",
            dot_string(pair[0].1),
            dot_string(pair[1].1)
        ));
    }
    for e in &g.edges {
        let (from, to) = (dot_string(&e.from), dot_string(&e.to));
        if e.violations.is_empty() {
            out.push(format!("  {from} -> {to};"));
        } else {
            // constraint=false: a backward edge must not move the rows the waves define.
            out.push(format!(
                "  {from} -> {to} [color=\"{RED}\", fontcolor=\"{RED}\", penwidth=2, constraint=false, label={}];",
                dot_string(&edge_label(e))
            ));
        }
    }
    for (caller, callee) in &g.calls {
        // constraint=false: a call sets no order, so it must not move the rows either.
        out.push(format!(
            "  {} -> {} [style=dashed, color=\"#8a8a8a\", fontcolor=\"#8a8a8a\", constraint=false, label=\"calls\"];",
            dot_string(caller),
            dot_string(callee)
        ));
    }
    out.push("}".to_owned());
    let mut text = out.join("\n");
    text.push('\n');
    text
}
