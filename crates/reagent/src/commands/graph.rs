//! `reagent graph`: the graph as a tree, Graphviz or JSON.

use super::regexes;
use crate::cli::{Cli, GraphArgs};
use crate::output;
use crate::report::Failure;

/// `reagent graph [--dot|--json] [REGEX...]`.
pub fn run(cli: &Cli, args: &GraphArgs) -> Result<(), Failure> {
    let patterns = regexes(&args.patterns)?;
    let project = crate::load(cli)?.project;
    let graph = &project.graph;
    let selection = graph.select(&patterns);
    if selection.is_empty() && !patterns.is_empty() {
        return Err(Failure::Usage(format!(
            "no node matches {}",
            args.patterns.join(" or ")
        )));
    }
    let text = if args.dot {
        reagent_graph::render::dot(graph, &selection)
    } else if args.json {
        let mut j = reagent_graph::render::json(graph, &selection);
        j.push('\n');
        j
    } else {
        reagent_graph::render::tree(graph, &selection)
    };
    output::stdout(&text)?;
    Ok(())
}
