//! One function per subcommand; each loads the project and prints.

use std::io::Write;

use regex::Regex;

use crate::cli::{Cli, ExplainArgs, GraphArgs};
use crate::report::Failure;

/// Compile the user's regexes; a bad one is a usage error naming it.
pub fn regexes(patterns: &[String]) -> Result<Vec<Regex>, Failure> {
    patterns
        .iter()
        .map(|p| Regex::new(p).map_err(|e| Failure::Usage(format!("invalid regex `{p}`: {e}"))))
        .collect()
}

/// The image nodes named by `targets`: regexes (unanchored) or `all`.
fn image_targets(
    project: &reagent_graph::Project,
    targets: &[String],
) -> Result<Vec<reagent_graph::NodeId>, Failure> {
    let graph = &project.graph;
    let mut selected = Vec::new();
    for word in targets {
        let found = if word == "all" {
            graph.nodes().iter().map(|n| n.id).collect()
        } else {
            graph.matching(&regexes(std::slice::from_ref(word))?)
        };
        let images: Vec<reagent_graph::NodeId> = found
            .into_iter()
            .filter(|id| graph.node(*id).kind == reagent_graph::NodeKind::Image)
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

fn out(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`reagent graph | head`) is not an error worth reporting.
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
    Ok(())
}

/// `reagent graph`.
pub fn graph(cli: &Cli, args: &GraphArgs) -> Result<(), Failure> {
    let patterns = regexes(&args.patterns)?;
    let project = crate::load(cli)?;
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
    out(&text)
}

/// `reagent explain NODE`.
pub fn explain(cli: &Cli, args: &ExplainArgs) -> Result<(), Failure> {
    let project = crate::load(cli)?;
    let graph = &project.graph;
    let node = graph.by_name(&args.node).ok_or_else(|| {
        Failure::Usage(format!(
            "no node named `{}` (try `reagent graph` to list them)",
            args.node
        ))
    })?;
    let mut text = format!(
        "{} ({}, {})\nkey      {}\nmanifest {}\ninputs:\n",
        node.name,
        node.kind,
        node.path.display(),
        node.key.hex(),
        node.manifest.digest()
    );
    let width = node
        .manifest
        .inputs
        .iter()
        .map(|i| i.label.len())
        .max()
        .unwrap_or(0);
    for input in &node.manifest.inputs {
        let short = &input.hash[..16];
        let shown = match &input.detail {
            Some(d) if d != short => format!("{short}  {d}"),
            _ => short.to_string(),
        };
        text.push_str(&format!("  {:width$}  {shown}\n", input.label));
    }
    text.push_str(&since_last_build(&project, node));
    out(&text)
}

/// What changed since the node's last successful build, from the build record.
fn since_last_build(project: &reagent_graph::Project, node: &reagent_graph::Node) -> String {
    let log_file = project.state_dir.join(reagent_state::BUILD_LOG_FILE);
    if !log_file.is_file() {
        return "last build: never built\n".into();
    }
    let Ok(log) = reagent_state::BuildLog::open(&project.state_dir) else {
        return String::new();
    };
    let Some(record) = log.last_success(&node.name) else {
        return "last build: never built\n".into();
    };
    let old: reagent_graph::Manifest =
        serde_json::from_value(record.manifest.clone()).unwrap_or_default();
    let changes = reagent_graph::diff::diff(&old, &node.manifest);
    let mut text = format!(
        "last build: key {}\n",
        record.key.get(..16).unwrap_or(&record.key)
    );
    if changes.is_empty() {
        text.push_str("  nothing changed since\n");
    }
    for c in changes {
        text.push_str(&format!("  {c}\n"));
    }
    text
}

/// `reagent check`.
pub fn check(cli: &Cli) -> Result<(), Failure> {
    let project = crate::load(cli)?;
    out(&format!(
        "ok: {} nodes ({} snapshot, {} stages, {} images)\n",
        project.graph.nodes().len(),
        count(&project, reagent_graph::NodeKind::Snapshot),
        count(&project, reagent_graph::NodeKind::Stage),
        count(&project, reagent_graph::NodeKind::Image),
    ))
}

fn count(project: &reagent_graph::Project, kind: reagent_graph::NodeKind) -> usize {
    project
        .graph
        .nodes()
        .iter()
        .filter(|n| n.kind == kind)
        .count()
}

mod audit;
pub(crate) mod build;
mod diff;
mod prune;
mod test;
pub use audit::audit;
pub use build::build;
pub use diff::diff;
pub use prune::prune;
pub use test::test;
