//! `reagent check`: load the whole project, list every problem, write nothing.

use reagent_graph::NodeKind;

use crate::cli::Cli;
use crate::output;
use crate::report::Failure;

/// `reagent check`.
pub fn run(cli: &Cli) -> Result<(), Failure> {
    let project = crate::load(cli)?.project;
    let graph = &project.graph;
    let count = |kind| graph.nodes().filter(|n| n.kind == kind).count();
    output::stdout(&format!(
        "ok: {} nodes ({} snapshot, {} stages, {} images)\n",
        graph.len(),
        count(NodeKind::Snapshot),
        count(NodeKind::Stage),
        count(NodeKind::Image),
    ));
    Ok(())
}
