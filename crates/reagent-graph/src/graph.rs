//! The DAG of nodes: lookups, topological order, selection by regex.

use std::collections::{BTreeSet, HashMap};

use petgraph::graph::{DiGraph, NodeIndex};
use regex::Regex;

use crate::model::{Node, NodeId};

/// A validated, acyclic graph of nodes. Edges point from a parent to the node built from it.
#[derive(Debug, Clone)]
pub struct Graph {
    nodes: Vec<Node>,
    by_name: HashMap<String, NodeId>,
    order: Vec<NodeId>,
    children: Vec<Vec<NodeId>>,
}

/// A dependency cycle, as the names along it (first name repeated at the end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle(pub Vec<String>);

impl std::fmt::Display for Cycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(" -> "))
    }
}

impl Graph {
    /// Build from nodes whose `id`s are their positions and whose `deps` are set.
    /// Fails with the cycle if there is one.
    pub fn new(nodes: Vec<Node>) -> Result<Graph, Cycle> {
        let order = topological_order(&nodes)?;
        let by_name = nodes.iter().map(|n| (n.name.clone(), n.id)).collect();
        let mut children = vec![Vec::new(); nodes.len()];
        for n in &nodes {
            for d in &n.deps {
                children[d.0].push(n.id);
            }
        }
        Ok(Graph {
            nodes,
            by_name,
            order,
            children,
        })
    }

    /// All nodes, indexed by [`NodeId`].
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Mutable access for the loader, which fills keys in topological order.
    pub(crate) fn nodes_mut(&mut self) -> &mut [Node] {
        &mut self.nodes
    }

    /// The node with `id`.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0]
    }

    /// The node named `name`.
    pub fn by_name(&self, name: &str) -> Option<&Node> {
        self.by_name.get(name).map(|id| &self.nodes[id.0])
    }

    /// Every node, parents before children (ties broken by name).
    pub fn topological(&self) -> &[NodeId] {
        &self.order
    }

    /// Nodes built directly from `id`.
    pub fn children(&self, id: NodeId) -> &[NodeId] {
        &self.children[id.0]
    }

    /// Nodes nothing is built from.
    pub fn leaves(&self) -> Vec<NodeId> {
        self.order
            .iter()
            .copied()
            .filter(|id| self.children[id.0].is_empty())
            .collect()
    }

    /// `ids` and all their ancestors, in topological order.
    pub fn with_ancestors(&self, ids: impl IntoIterator<Item = NodeId>) -> Vec<NodeId> {
        let mut seen = vec![false; self.nodes.len()];
        let mut stack: Vec<NodeId> = ids.into_iter().collect();
        while let Some(id) = stack.pop() {
            if !std::mem::replace(&mut seen[id.0], true) {
                stack.extend(self.nodes[id.0].deps.iter().copied());
            }
        }
        self.order.iter().copied().filter(|id| seen[id.0]).collect()
    }

    /// Nodes whose name matches any regex (unanchored), or all nodes when
    /// `patterns` is empty; without ancestors.
    pub fn matching(&self, patterns: &[Regex]) -> Vec<NodeId> {
        self.order
            .iter()
            .copied()
            .filter(|id| {
                patterns.is_empty() || patterns.iter().any(|r| r.is_match(&self.nodes[id.0].name))
            })
            .collect()
    }

    /// Nodes matching the regexes plus their ancestors (all nodes if none given).
    pub fn select(&self, patterns: &[Regex]) -> Vec<NodeId> {
        self.with_ancestors(self.matching(patterns))
    }

    /// A petgraph view (node weights are ids) for algorithms and rendering.
    pub fn petgraph(&self) -> DiGraph<NodeId, ()> {
        let mut g = DiGraph::with_capacity(self.nodes.len(), self.nodes.len());
        for n in &self.nodes {
            g.add_node(n.id);
        }
        for n in &self.nodes {
            for d in &n.deps {
                g.add_edge(NodeIndex::new(d.0), NodeIndex::new(n.id.0), ());
            }
        }
        g
    }
}

/// Kahn's algorithm with a name-ordered ready set (deterministic), reporting a cycle on failure.
fn topological_order(nodes: &[Node]) -> Result<Vec<NodeId>, Cycle> {
    let mut indegree: Vec<usize> = nodes.iter().map(|n| n.deps.len()).collect();
    let mut children = vec![Vec::new(); nodes.len()];
    for n in nodes {
        for d in &n.deps {
            children[d.0].push(n.id);
        }
    }
    let mut ready: BTreeSet<(&str, NodeId)> = nodes
        .iter()
        .filter(|n| n.deps.is_empty())
        .map(|n| (n.name.as_str(), n.id))
        .collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(first) = ready.pop_first() {
        let id = first.1;
        order.push(id);
        for c in &children[id.0] {
            indegree[c.0] -= 1;
            if indegree[c.0] == 0 {
                ready.insert((nodes[c.0].name.as_str(), *c));
            }
        }
    }
    if order.len() == nodes.len() {
        return Ok(order);
    }
    Err(find_cycle(nodes, &indegree))
}

/// Walk parent links among the nodes left with unmet dependencies until one repeats.
fn find_cycle(nodes: &[Node], indegree: &[usize]) -> Cycle {
    let stuck = |id: NodeId| indegree[id.0] > 0;
    let start = nodes
        .iter()
        .filter(|n| stuck(n.id))
        .min_by(|a, b| a.name.cmp(&b.name))
        .map(|n| n.id)
        .unwrap_or(NodeId(0));
    let mut path = vec![start];
    let mut pos: HashMap<NodeId, usize> = HashMap::from([(start, 0)]);
    let mut cur = start;
    loop {
        let next = nodes[cur.0]
            .deps
            .iter()
            .copied()
            .filter(|d| stuck(*d))
            .min_by(|a, b| nodes[a.0].name.cmp(&nodes[b.0].name));
        let Some(next) = next else { break };
        if let Some(&i) = pos.get(&next) {
            // `path` follows deps (child -> parent); show the cycle in build
            // order, starting from its alphabetically first node.
            let mut cycle: Vec<String> = path[i..]
                .iter()
                .rev()
                .map(|id| nodes[id.0].name.clone())
                .collect();
            let first = (0..cycle.len())
                .min_by(|a, b| cycle[*a].cmp(&cycle[*b]))
                .unwrap_or(0);
            cycle.rotate_left(first);
            cycle.push(cycle[0].clone());
            return Cycle(cycle);
        }
        pos.insert(next, path.len());
        path.push(next);
        cur = next;
    }
    Cycle(vec![nodes[start.0].name.clone()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Key, Manifest, NodeKind, Recipe, SnapshotRecipe};

    fn node(id: usize, name: &str, deps: &[usize]) -> Node {
        Node {
            id: NodeId(id),
            name: name.into(),
            kind: NodeKind::Snapshot,
            path: name.into(),
            deps: deps.iter().map(|d| NodeId(*d)).collect(),
            key: Key([0; 32]),
            manifest: Manifest::default(),
            recipe: Recipe::Snapshot(SnapshotRecipe {
                tree: "/".into(),
                identity: String::new(),
            }),
        }
    }

    #[test]
    fn orders_parents_first() {
        let g = Graph::new(vec![
            node(0, "app", &[1]),
            node(1, "base", &[]),
            node(2, "tool", &[1]),
        ])
        .unwrap();
        let names: Vec<&str> = g
            .topological()
            .iter()
            .map(|id| g.node(*id).name.as_str())
            .collect();
        assert_eq!(names, ["base", "app", "tool"]);
        assert_eq!(g.leaves(), vec![NodeId(0), NodeId(2)]);
    }

    #[test]
    fn reports_cycle_in_build_order() {
        // root <- app <- tools <- base <- root  (deps point at parents)
        let nodes = vec![
            node(0, "root", &[3]),
            node(1, "app", &[0]),
            node(2, "tools", &[1]),
            node(3, "base", &[2]),
            node(4, "leaf", &[3]),
        ];
        let cycle = Graph::new(nodes).unwrap_err();
        assert_eq!(cycle.to_string(), "app -> tools -> base -> root -> app");
    }

    #[test]
    fn self_cycle() {
        let cycle = Graph::new(vec![node(0, "me", &[0])]).unwrap_err();
        assert_eq!(cycle.to_string(), "me -> me");
    }

    #[test]
    fn select_brings_ancestors() {
        let g = Graph::new(vec![
            node(0, "base", &[]),
            node(1, "nginx", &[0]),
            node(2, "postgres", &[0]),
        ])
        .unwrap();
        let sel = g.select(&[Regex::new("ngi").unwrap()]);
        assert_eq!(sel, vec![NodeId(0), NodeId(1)]);
        assert_eq!(g.select(&[]).len(), 3);
    }
}
