//! Showing a graph: a readable tree, Graphviz, or JSON.

use std::collections::HashSet;
use std::fmt::Write;

use serde::Serialize;

use crate::graph::Graph;
use crate::model::{NodeId, NodeKind};

/// An indented tree, parents above children, like `cargo tree`. A node shown
/// before (it has several parents) is marked `(*)` and not expanded again.
pub fn tree(graph: &Graph, selection: &[NodeId]) -> String {
    let selected: HashSet<NodeId> = selection.iter().copied().collect();
    let mut out = String::new();
    let mut shown = HashSet::new();
    for &id in selection {
        let has_selected_parent = graph.parents(id).iter().any(|d| selected.contains(d));
        if !has_selected_parent {
            tree_node(graph, &selected, id, "", "", &mut shown, &mut out);
        }
    }
    out
}

fn tree_node(
    graph: &Graph,
    selected: &HashSet<NodeId>,
    id: NodeId,
    lead: &str,
    child_lead: &str,
    shown: &mut HashSet<NodeId>,
    out: &mut String,
) {
    let n = graph.node(id);
    let again = !shown.insert(id);
    let kind = match n.artifact() {
        Some(artifact) => format!("{}, {}", n.kind, artifact.describe()),
        None => n.kind.to_string(),
    };
    let _ = writeln!(
        out,
        "{lead}{} ({kind}, {}){}",
        n.name,
        n.key.short(),
        if again { " (*)" } else { "" }
    );
    if again {
        return;
    }
    // Ids follow names, so children come sorted by name.
    let children: Vec<NodeId> = graph
        .children(id)
        .into_iter()
        .filter(|c| selected.contains(c))
        .collect();
    for (i, c) in children.iter().enumerate() {
        let last = i + 1 == children.len();
        let (l, cl) = if last {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        tree_node(
            graph,
            selected,
            *c,
            &format!("{child_lead}{l}"),
            &format!("{child_lead}{cl}"),
            shown,
            out,
        );
    }
}

/// Graphviz `digraph` text; kinds differ by shape and colour. `dot -Tsvg` accepts it.
pub fn dot(graph: &Graph, selection: &[NodeId]) -> String {
    let selected: HashSet<NodeId> = selection.iter().copied().collect();
    let mut out = String::from(
        "digraph reagent {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", style=filled];\n  edge [color=\"#555555\"];\n",
    );
    for &id in selection {
        let n = graph.node(id);
        let (shape, colour) = match (n.kind, n.artifact()) {
            (NodeKind::Stage, Some(_)) => ("note", "#e1d5e7"),
            (NodeKind::Snapshot, _) => ("cylinder", "#f6d7a7"),
            (NodeKind::Stage, None) => ("box3d", "#b7d7e8"),
            (NodeKind::Image, _) => ("box", "#c8e6c9"),
        };
        let kind = match n.artifact() {
            Some(artifact) => format!("{}: {}", n.kind, artifact.describe()),
            None => n.kind.to_string(),
        };
        let _ = writeln!(
            out,
            "  {} [shape={shape}, fillcolor=\"{colour}\", label=\"{}\\n{kind} {}\"];",
            quote(&n.name),
            escape(&n.name),
            n.key.short()
        );
    }
    for &id in selection {
        for d in graph.parents(id) {
            if selected.contains(&d) {
                let _ = writeln!(
                    out,
                    "  {} -> {};",
                    quote(&graph.node(d).name),
                    quote(&graph.node(id).name)
                );
            }
        }
    }
    out.push_str("}\n");
    out
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn quote(s: &str) -> String {
    format!("\"{}\"", escape(s))
}

/// The JSON document `reagent graph --json` prints.
#[derive(Debug, Serialize)]
pub struct JsonGraph<'a> {
    /// Format version (1).
    pub version: u32,
    /// Selected nodes in topological order.
    pub nodes: Vec<JsonNode<'a>>,
}

/// One node in [`JsonGraph`].
#[derive(Debug, Serialize)]
pub struct JsonNode<'a> {
    /// Node name.
    pub name: &'a str,
    /// `snapshot`, `stage` or `image`.
    pub kind: NodeKind,
    /// 64 hex digits.
    pub key: String,
    /// Names of the nodes it is built from.
    pub deps: Vec<&'a str>,
    /// Where it is defined, relative to the project.
    pub path: String,
    /// For a stage that makes no stage tarball, what it makes instead (`iso`, `disk`,
    /// `netboot`); absent otherwise. Such a node has no image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact: Option<&'static str>,
}

/// `{"version":1,"nodes":[...]}` for the selection.
pub fn json(graph: &Graph, selection: &[NodeId]) -> String {
    let doc = JsonGraph {
        version: 1,
        nodes: selection
            .iter()
            .map(|&id| {
                let n = graph.node(id);
                JsonNode {
                    name: &n.name,
                    kind: n.kind,
                    key: n.key.hex(),
                    deps: graph
                        .parents(id)
                        .into_iter()
                        .map(|d| graph.node(d).name.as_str())
                        .collect(),
                    path: n.path.to_string_lossy().into_owned(),
                    artifact: n.artifact().map(reagent_catalyst::OutputKind::word),
                }
            })
            .collect(),
    };
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}
