//! The DAG of nodes, held in one petgraph graph: lookups, topological order,
//! ancestors and descendants, selection by regex.
//!
//! Edges point from a parent to the node built from it. The graph is the only
//! place edges are kept: a [`Node`] has no list of its own.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use rustc_hash::{FxBuildHasher, FxHashMap};

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;
use regex::Regex;

use crate::model::{InputClass, Key, Label, Manifest, ManifestBuilder, Node, NodeId, NodeKind};

/// The snapshot key a node built from the snapshot is keyed with, in place of the
/// snapshot node's current key (see [`Graph::rekey`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The snapshot key of the build that is still valid.
    pub key: Key,
    /// Shown next to the input, e.g. `0123456789abcdef (slice of 12 packages unchanged)`.
    pub detail: String,
}

/// A validated, acyclic graph of nodes.
#[derive(Debug, Clone)]
pub struct Graph {
    dag: DiGraph<Node, ()>,
    by_name: FxHashMap<String, NodeId>,
    order: Vec<NodeId>,
}

/// A dependency cycle, as the names along it in build order (first name repeated at the end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle(pub Vec<String>);

impl std::fmt::Display for Cycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(" -> "))
    }
}

fn ix(id: NodeId) -> NodeIndex {
    NodeIndex::new(id.0)
}

fn id(ix: NodeIndex) -> NodeId {
    NodeId(ix.index())
}

impl Graph {
    /// Build from nodes whose `id`s are their positions, and edges `(parent, child)`.
    /// Fails with a cycle if there is one.
    pub fn new(
        nodes: Vec<Node>,
        edges: impl IntoIterator<Item = (NodeId, NodeId)>,
    ) -> Result<Graph, Cycle> {
        let mut edges: Vec<(NodeId, NodeId)> = edges.into_iter().collect();
        // One edge per pair, however often a child names the parent: sorted and
        // deduplicated here rather than searched for on each insert (`update_edge`
        // walks the parent's edges, and a base has thousands).
        edges.sort_unstable();
        edges.dedup();
        let mut dag = DiGraph::with_capacity(nodes.len(), edges.len());
        let mut by_name = FxHashMap::with_capacity_and_hasher(nodes.len(), FxBuildHasher);
        for node in nodes {
            by_name.insert(node.name.clone(), node.id);
            let at = dag.add_node(node);
            debug_assert_eq!(at.index(), dag[at].id.0);
        }
        for (parent, child) in edges {
            dag.add_edge(ix(parent), ix(child), ());
        }
        let order = topological_order(&dag).ok_or_else(|| find_cycle(&dag))?;
        Ok(Graph {
            dag,
            by_name,
            order,
        })
    }

    /// How many nodes there are.
    pub fn len(&self) -> usize {
        self.dag.node_count()
    }

    /// Whether the graph has no node.
    pub fn is_empty(&self) -> bool {
        self.dag.node_count() == 0
    }

    /// All nodes, in [`NodeId`] order (names sorted).
    pub fn nodes(&self) -> impl ExactSizeIterator<Item = &Node> + '_ {
        self.dag.raw_nodes().iter().map(|n| &n.weight)
    }

    /// Mutable access for the loader, which fills keys in topological order.
    pub(crate) fn node_mut(&mut self, id: NodeId) -> &mut Node {
        &mut self.dag[ix(id)]
    }

    /// The node with `id`.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.dag[ix(id)]
    }

    /// The node named `name`.
    pub fn by_name(&self, name: &str) -> Option<&Node> {
        self.by_name.get(name).map(|id| self.node(*id))
    }

    /// Every node, parents before children (ties broken by name).
    pub fn topological(&self) -> &[NodeId] {
        &self.order
    }

    /// The nodes `id` is built from, sorted by id (that is, by name).
    pub fn parents(&self, id: NodeId) -> Vec<NodeId> {
        self.neighbors(id, Direction::Incoming)
    }

    /// The nodes built directly from `id`, sorted by id (that is, by name).
    pub fn children(&self, id: NodeId) -> Vec<NodeId> {
        self.neighbors(id, Direction::Outgoing)
    }

    fn neighbors(&self, id: NodeId, dir: Direction) -> Vec<NodeId> {
        let mut out: Vec<NodeId> = self
            .dag
            .neighbors_directed(ix(id), dir)
            .map(self::id)
            .collect();
        out.sort_unstable();
        out
    }

    /// Whether anything is built from `id`.
    pub fn is_leaf(&self, id: NodeId) -> bool {
        self.dag
            .neighbors_directed(ix(id), Direction::Outgoing)
            .next()
            .is_none()
    }

    /// Nodes nothing is built from, in topological order.
    pub fn leaves(&self) -> Vec<NodeId> {
        self.order
            .iter()
            .copied()
            .filter(|id| self.is_leaf(*id))
            .collect()
    }

    /// `ids` and all their ancestors, in topological order.
    pub fn with_ancestors(&self, ids: impl IntoIterator<Item = NodeId>) -> Vec<NodeId> {
        self.closure(ids, true)
    }

    /// `ids` and everything built from them, directly or not, in topological order.
    pub fn with_descendants(&self, ids: impl IntoIterator<Item = NodeId>) -> Vec<NodeId> {
        self.closure(ids, false)
    }

    fn closure(&self, ids: impl IntoIterator<Item = NodeId>, up: bool) -> Vec<NodeId> {
        let dir = if up {
            Direction::Incoming
        } else {
            Direction::Outgoing
        };
        // One walk for all starts: a node seen from one start is not walked again
        // from the next (with `-R all` every node is a start).
        let mut seen = vec![false; self.len()];
        let mut stack: Vec<NodeIndex> = Vec::new();
        for start in ids {
            if std::mem::replace(&mut seen[start.0], true) {
                continue;
            }
            stack.push(ix(start));
            while let Some(n) = stack.pop() {
                for next in self.dag.neighbors_directed(n, dir) {
                    if !std::mem::replace(&mut seen[next.index()], true) {
                        stack.push(next);
                    }
                }
            }
        }
        self.order.iter().copied().filter(|id| seen[id.0]).collect()
    }

    /// Nodes whose name matches any regex (unanchored), or all nodes when
    /// `patterns` is empty; without ancestors, in topological order.
    pub fn matching(&self, patterns: &[Regex]) -> Vec<NodeId> {
        self.order
            .iter()
            .copied()
            .filter(|id| {
                patterns.is_empty() || patterns.iter().any(|r| r.is_match(&self.node(*id).name))
            })
            .collect()
    }

    /// Nodes matching the regexes plus their ancestors (all nodes if none given).
    pub fn select(&self, patterns: &[Regex]) -> Vec<NodeId> {
        self.with_ancestors(self.matching(patterns))
    }

    /// The portage snapshot node, if the project has one.
    pub fn snapshot(&self) -> Option<NodeId> {
        self.nodes()
            .find(|n| n.kind == NodeKind::Snapshot)
            .map(|n| n.id)
    }

    /// `id`'s key without its snapshot input (its key when the snapshot is left
    /// out): what stays the same across syncs when nothing else changed. For a node
    /// not built from the snapshot, its key.
    pub fn key_without_snapshot(&self, id: NodeId) -> Key {
        let node = self.node(id);
        match self.snapshot() {
            Some(s) => node
                .manifest
                .without(Label::with(InputClass::Parent, &self.node(s).name).as_str())
                .key(),
            None => node.key,
        }
    }

    /// Recompute every key parents-first. For each node built from the snapshot
    /// node, `pin` may name an earlier snapshot key to use in place of the
    /// snapshot's current one: the key of a build that is still valid because
    /// what it read of the tree has not changed (discovered inputs). `pin` sees
    /// the graph re-keyed so far and the node's key without its snapshot input.
    pub fn rekey(&mut self, mut pin: impl FnMut(&Graph, NodeId, Key) -> Option<Pin>) {
        let snapshot = self.snapshot();
        let order = self.order.clone();
        for id in order {
            let parents = self.parents(id);
            let mut inputs = ManifestBuilder::new();
            for input in &self.node(id).manifest.inputs {
                if input.label.class() != Some(InputClass::Parent) {
                    inputs.input(input.clone());
                }
            }
            let mut snapshot_input = None;
            for p in parents {
                let parent = self.node(p);
                let label = Label::with(InputClass::Parent, &parent.name);
                let key = parent.key;
                if Some(p) == snapshot {
                    snapshot_input = Some((label, key));
                } else {
                    inputs.hash(label, blake3::Hash::from(key.0), Some(key.short()));
                }
            }
            if let Some((label, current)) = snapshot_input {
                let without = inputs.clone().finish().key();
                match pin(self, id, without) {
                    Some(Pin { key, detail }) => {
                        inputs.hash(label, blake3::Hash::from(key.0), Some(detail));
                    }
                    None => {
                        inputs.hash(label, blake3::Hash::from(current.0), Some(current.short()));
                    }
                }
            }
            let manifest: Manifest = inputs.finish();
            let node = self.node_mut(id);
            node.key = manifest.key();
            node.manifest = manifest;
        }
    }
}

/// Kahn's algorithm over the petgraph edges, taking the smallest ready id first:
/// ids follow names, so ties are broken by name and the order is the same on every
/// machine. `None` when there is a cycle.
fn topological_order(dag: &DiGraph<Node, ()>) -> Option<Vec<NodeId>> {
    let mut indegree: Vec<usize> = dag
        .node_indices()
        .map(|n| dag.neighbors_directed(n, Direction::Incoming).count())
        .collect();
    let mut ready: BinaryHeap<Reverse<NodeIndex>> = dag
        .node_indices()
        .filter(|n| indegree[n.index()] == 0)
        .map(Reverse)
        .collect();
    let mut order = Vec::with_capacity(dag.node_count());
    while let Some(Reverse(n)) = ready.pop() {
        order.push(id(n));
        for child in dag.neighbors_directed(n, Direction::Outgoing) {
            indegree[child.index()] -= 1;
            if indegree[child.index()] == 0 {
                ready.push(Reverse(child));
            }
        }
    }
    (order.len() == dag.node_count()).then_some(order)
}

/// One cycle of a graph that has one: the strongly connected component holding the
/// alphabetically first node that lies on a cycle, walked from that node back to
/// itself along the shortest path, in build order.
fn find_cycle(dag: &DiGraph<Node, ()>) -> Cycle {
    let on_cycle = |scc: &Vec<NodeIndex>| {
        scc.len() > 1 || scc.first().is_some_and(|n| dag.contains_edge(*n, *n))
    };
    let start = tarjan_scc(dag)
        .into_iter()
        .filter(on_cycle)
        .filter_map(|scc| scc.into_iter().min())
        .min();
    let Some(start) = start else {
        return Cycle(Vec::new());
    };
    // Breadth-first from `start` along edges (build order) until an edge leads back to it.
    let mut came_from: HashMap<NodeIndex, NodeIndex> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    let mut last = None;
    'search: while let Some(n) = queue.pop_front() {
        let mut next: Vec<NodeIndex> = dag.neighbors_directed(n, Direction::Outgoing).collect();
        next.sort_unstable();
        for child in next {
            if child == start {
                last = Some(n);
                break 'search;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = came_from.entry(child) {
                e.insert(n);
                queue.push_back(child);
            }
        }
    }
    // Walk back from the node whose edge closes the cycle, then read it forwards.
    let mut between = Vec::new();
    let mut at = last.unwrap_or(start);
    while at != start {
        between.push(at);
        at = came_from.get(&at).copied().unwrap_or(start);
    }
    let path = std::iter::once(start)
        .chain(between.into_iter().rev())
        .chain(std::iter::once(start));
    Cycle(path.map(|n| dag[n].name.clone()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Key, Manifest, NodeKind, Recipe, SnapshotRecipe};

    fn node(id: usize, name: &str) -> Node {
        Node {
            id: NodeId(id),
            name: name.into(),
            kind: NodeKind::Snapshot,
            path: name.into(),
            key: Key([0; 32]),
            manifest: Manifest::default(),
            recipe: Recipe::Snapshot(SnapshotRecipe {
                tree: "/".into(),
                identity: String::new(),
            }),
        }
    }

    /// Nodes named by `names` (ids in that order) and edges `(parent, child)` by name.
    fn graph(names: &[&str], edges: &[(&str, &str)]) -> Result<Graph, Cycle> {
        let pos = |n: &str| NodeId(names.iter().position(|m| *m == n).unwrap());
        Graph::new(
            names.iter().enumerate().map(|(i, n)| node(i, n)).collect(),
            edges.iter().map(|(p, c)| (pos(p), pos(c))),
        )
    }

    fn names(g: &Graph, ids: &[NodeId]) -> Vec<String> {
        ids.iter().map(|id| g.node(*id).name.clone()).collect()
    }

    #[test]
    fn orders_parents_first_with_ties_by_name() {
        let g = graph(
            &["app", "base", "tool"],
            &[("base", "app"), ("base", "tool")],
        )
        .unwrap();
        assert_eq!(names(&g, g.topological()), ["base", "app", "tool"]);
        assert_eq!(names(&g, &g.leaves()), ["app", "tool"]);
        assert_eq!(names(&g, &g.children(NodeId(1))), ["app", "tool"]);
        assert_eq!(names(&g, &g.parents(NodeId(0))), ["base"]);
    }

    #[test]
    fn reports_cycle_in_build_order() {
        // root -> app -> tools -> base -> root (each builds the next), leaf off base.
        let g = graph(
            &["app", "base", "leaf", "root", "tools"],
            &[
                ("root", "app"),
                ("app", "tools"),
                ("tools", "base"),
                ("base", "root"),
                ("base", "leaf"),
            ],
        );
        assert_eq!(
            g.unwrap_err().to_string(),
            "app -> tools -> base -> root -> app"
        );
    }

    #[test]
    fn self_cycle() {
        let cycle = graph(&["me"], &[("me", "me")]).unwrap_err();
        assert_eq!(cycle.to_string(), "me -> me");
    }

    #[test]
    fn select_brings_ancestors_and_descendants() {
        let g = graph(
            &["base", "nginx", "postgres", "web"],
            &[("base", "nginx"), ("base", "postgres"), ("nginx", "web")],
        )
        .unwrap();
        let sel = g.select(&[Regex::new("ngi").unwrap()]);
        assert_eq!(names(&g, &sel), ["base", "nginx"]);
        assert_eq!(g.select(&[]).len(), 4);
        assert_eq!(
            names(&g, &g.with_descendants([NodeId(1)])),
            ["nginx", "web"]
        );
        assert_eq!(
            names(&g, &g.with_descendants([NodeId(0)])),
            ["base", "nginx", "postgres", "web"]
        );
        assert!(g.with_ancestors([]).is_empty());
    }
}
