//! One module per subcommand; each loads the project, calls the libraries and
//! shows the result through [`crate::output`].

pub mod audit;
pub mod build;
pub mod check;
pub mod diff;
pub mod explain;
pub mod export;
pub mod gc;
pub mod graph;
pub mod import;
pub mod lock;
pub mod prune;
pub mod sbom;
pub mod test;

use regex::Regex;

use crate::report::Failure;
use reagent_graph::{Graph, NodeId, NodeKind};

/// Compile the user's regexes; a bad one is a usage error naming it.
pub fn regexes(patterns: &[String]) -> Result<Vec<Regex>, Failure> {
    patterns
        .iter()
        .map(|p| Regex::new(p).map_err(|e| Failure::Usage(format!("invalid regex `{p}`: {e}"))))
        .collect()
}

/// The image nodes named by `targets`: regexes (unanchored) or `all`.
fn image_targets(graph: &Graph, targets: &[String]) -> Result<Vec<NodeId>, Failure> {
    let mut selected = Vec::new();
    for word in targets {
        let found = if word == "all" {
            graph.topological().to_vec()
        } else {
            graph.matching(&regexes(std::slice::from_ref(word))?)
        };
        let images: Vec<NodeId> = found
            .into_iter()
            .filter(|id| graph.node(*id).kind == NodeKind::Image)
            .collect();
        if images.is_empty() {
            return Err(Failure::Usage(format!(
                "no image matches `{word}` (see `reagent graph`)"
            )));
        }
        selected.extend(images);
    }
    selected.sort();
    selected.dedup();
    Ok(selected)
}

/// The node named `name`, or a usage error saying how to list them.
fn node_named<'g>(graph: &'g Graph, name: &str) -> Result<&'g reagent_graph::Node, Failure> {
    graph.by_name(name).ok_or_else(|| {
        Failure::Usage(format!(
            "no node named `{name}` (try `reagent graph` to list them)"
        ))
    })
}
