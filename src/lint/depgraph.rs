//! The service dependency graph as the manifests declare it: workloads are nodes, the
//! `shipshape.dev/depends-on` annotation gives edges, the ArgoCD sync wave gives rollout order.
//! Shared by the phase-order rule and `shipshape graph`, so both agree on what is wrong.

use crate::lint::fxhash::{map_with_capacity, FxHashMap};
use crate::manifest::{Field, Manifest};
use crate::vocabulary::annotation::{DEPENDS_ON, PHASE, SYNC_WAVE};
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    /// Index of the workload manifest.
    pub manifest: usize,
    pub wave: i64,
    pub phase: Option<String>,
    /// Dependencies as written, in order.
    pub depends_on: Vec<String>,
}

#[derive(Debug, Default)]
pub struct DepGraph {
    pub nodes: Vec<Node>,
    by_name: FxHashMap<String, usize>,
}

/// An edge that breaks the rollout order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EdgeProblem {
    /// The dependency is deployed in a later wave.
    Later,
    /// Both start in the same wave, so neither waits for the other.
    SameWave,
    /// No workload of that name exists.
    Missing,
}

impl DepGraph {
    pub fn build(manifests: &[Manifest], workloads: &[usize]) -> DepGraph {
        let mut g = DepGraph {
            nodes: Vec::with_capacity(workloads.len()),
            by_name: map_with_capacity(workloads.len()),
        };
        for &i in workloads {
            let m = &manifests[i];
            let name = m.name();
            if g.by_name.contains_key(name) {
                continue;
            }
            // As `Manifest::annotation`, finding the annotations once for the three.
            let annotations = m.annotations();
            let annotation = |key: &str| {
                annotations
                    .and_then(|a| a.field(key))
                    .and_then(Value::as_str)
            };
            let wave = annotation(SYNC_WAVE)
                .and_then(|w| w.trim().parse::<i64>().ok())
                .unwrap_or(0);
            let depends_on = annotation(DEPENDS_ON)
                .map(|d| {
                    d.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            g.by_name.insert(name.to_owned(), g.nodes.len());
            g.nodes.push(Node {
                name: name.to_owned(),
                manifest: i,
                wave,
                phase: annotation(PHASE).map(str::to_owned),
                depends_on,
            });
        }
        g
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.by_name.get(name).map(|&i| &self.nodes[i])
    }

    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// Every problematic edge: (node index, dependency position, problem).
    pub fn edge_problems(&self) -> Vec<(usize, usize, EdgeProblem)> {
        let mut out = Vec::new();
        for (ni, n) in self.nodes.iter().enumerate() {
            for (di, dep) in n.depends_on.iter().enumerate() {
                match self.node(dep) {
                    None => out.push((ni, di, EdgeProblem::Missing)),
                    Some(d) if d.name == n.name => {}
                    Some(d) if d.wave > n.wave => out.push((ni, di, EdgeProblem::Later)),
                    Some(d) if d.wave == n.wave => out.push((ni, di, EdgeProblem::SameWave)),
                    Some(_) => {}
                }
            }
        }
        out
    }

    /// Dependency cycles, each as node indexes in order (the first node repeated at the end is
    /// implied). Found through strongly connected components, so the work is linear.
    pub fn cycles(&self) -> Vec<Vec<usize>> {
        let n = self.nodes.len();
        let adj: Vec<Vec<usize>> = self
            .nodes
            .iter()
            .map(|node| {
                node.depends_on
                    .iter()
                    .filter_map(|d| self.by_name.get(d).copied())
                    .collect()
            })
            .collect();
        let components = strongly_connected(&adj);
        let mut cycles: Vec<Vec<usize>> = Vec::new();
        for comp in components {
            let self_loop = comp.len() == 1 && adj[comp[0]].contains(&comp[0]);
            if comp.len() < 2 && !self_loop {
                continue;
            }
            let mut in_comp = vec![false; n];
            for &c in &comp {
                in_comp[c] = true;
            }
            let mut members = comp.clone();
            members.sort_unstable();
            // One shortest cycle through each edge of the component, so every mutual dependency is
            // named; capped so a pathological component stays cheap.
            let mut found: Vec<Vec<usize>> = Vec::new();
            'edges: for &u in &members {
                for &v in &adj[u] {
                    if !in_comp[v] {
                        continue;
                    }
                    if let Some(mut path) = cycle_through(u, v, &adj, &in_comp) {
                        let min_pos = path
                            .iter()
                            .enumerate()
                            .min_by_key(|(_, x)| **x)
                            .map_or(0, |(i, _)| i);
                        path.rotate_left(min_pos);
                        if !found.contains(&path) {
                            found.push(path);
                        }
                        if found.len() >= MAX_CYCLES_PER_COMPONENT {
                            break 'edges;
                        }
                    }
                }
            }
            cycles.extend(found);
        }
        cycles.sort();
        cycles
    }
}

const MAX_CYCLES_PER_COMPONENT: usize = 32;

/// The shortest cycle that uses edge `u -> v`: `u`, then a shortest path from `v` back to `u`.
fn cycle_through(u: usize, v: usize, adj: &[Vec<usize>], in_comp: &[bool]) -> Option<Vec<usize>> {
    if u == v {
        return Some(vec![u]);
    }
    let mut prev: Vec<Option<usize>> = vec![None; adj.len()];
    let mut seen = vec![false; adj.len()];
    let mut queue = std::collections::VecDeque::new();
    seen[v] = true;
    queue.push_back(v);
    while let Some(x) = queue.pop_front() {
        for &y in &adj[x] {
            if !in_comp[y] || seen[y] {
                continue;
            }
            seen[y] = true;
            prev[y] = Some(x);
            if y == u {
                let mut back = vec![];
                let mut cur = x;
                loop {
                    back.push(cur);
                    if cur == v {
                        break;
                    }
                    cur = prev[cur]?;
                }
                back.reverse();
                let mut path = vec![u];
                path.extend(back);
                return Some(path);
            }
            queue.push_back(y);
        }
    }
    None
}

/// Tarjan's algorithm, iterative so deep graphs cannot overflow the stack.
fn strongly_connected(adj: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = adj.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0usize; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut out = Vec::new();
    let mut counter = 0usize;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = counter;
        low[root] = counter;
        counter += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut next)) = work.last_mut() {
            if *next < adj[v].len() {
                let w = adj[v][*next];
                *next += 1;
                if index[w] == usize::MAX {
                    index[w] = counter;
                    low[w] = counter;
                    counter += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
            } else {
                work.pop();
                if let Some(&(parent, _)) = work.last() {
                    low[parent] = low[parent].min(low[v]);
                }
                if low[v] == index[v] {
                    let mut comp = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        comp.push(w);
                        if w == v {
                            break;
                        }
                    }
                    out.push(comp);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cycles_and_ignores_dags() {
        // 0 -> 1 -> 2 -> 0, 3 -> 0, 4 -> 4
        let adj = vec![vec![1], vec![2], vec![0], vec![0], vec![4]];
        let mut comps: Vec<Vec<usize>> = strongly_connected(&adj)
            .into_iter()
            .map(|mut c| {
                c.sort();
                c
            })
            .collect();
        comps.sort();
        assert_eq!(comps, vec![vec![0, 1, 2], vec![3], vec![4]]);
        let in_comp = vec![true, true, true, false, false];
        assert_eq!(cycle_through(0, 1, &adj, &in_comp), Some(vec![0, 1, 2]));
        assert_eq!(
            cycle_through(4, 4, &adj, &[false, false, false, false, true]),
            Some(vec![4])
        );
    }

    #[test]
    fn long_chain_does_not_overflow() {
        let n = 200_000;
        let adj: Vec<Vec<usize>> = (0..n)
            .map(|i| if i + 1 < n { vec![i + 1] } else { vec![0] })
            .collect();
        let comps = strongly_connected(&adj);
        assert_eq!(comps.len(), 1);
        assert_eq!(comps[0].len(), n);
    }
}
