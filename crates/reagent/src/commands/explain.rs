//! `reagent explain NODE`: every input of a node's key, and what changed since
//! its last recorded build. Reads the build record; writes nothing.

use std::fmt::Write;

use reagent_exec::discover::Verdict;
use reagent_graph::{Manifest, Node, Recipe};
use reagent_state::History;

use super::node_named;
use crate::cli::{Cli, ExplainArgs};
use crate::output;
use crate::report::Failure;

/// `reagent explain NODE`.
pub fn run(cli: &Cli, args: &ExplainArgs) -> Result<(), Failure> {
    let loaded = crate::load_selected(cli, &|name| name == args.node)?;
    node_named(&loaded.project.graph, &args.node)?;
    let history = History::load(&loaded.state_dir).map_err(|e| Failure::Failed(e.to_string()))?;
    crate::output::warn_damaged(&loaded.state_dir, &history);
    // Keyed as a build would key it, with what earlier builds read of the snapshot
    // (from the build record; explain asks no registry).
    let mut graph = loaded.project.graph.clone();
    let verdicts = reagent_exec::discover::resolve(&mut graph, &history, None)
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let node = node_named(&graph, &args.node)?;
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
        .map(|i| i.label.as_str().len())
        .max()
        .unwrap_or(0);
    for input in &node.manifest.inputs {
        let short = input.hash.get(..16).unwrap_or(&input.hash);
        let shown = match &input.detail {
            Some(d) if d != short => format!("{short}  {d}"),
            _ => short.to_string(),
        };
        let _ = writeln!(text, "  {:width$}  {shown}", input.label.as_str());
    }
    text.push_str(&unlocked_lines(node));
    if let Some(verdict) = verdicts.get(&node.id) {
        text.push_str(&snapshot_line(verdict));
    }
    text.push_str(&since_last_build(&history, node));
    output::stdout(&text)?;
    Ok(())
}

/// The node's external inputs that `reagent.lock` does not pin: keyed by their name.
fn unlocked_lines(node: &Node) -> String {
    let names: Vec<String> = match &node.recipe {
        Recipe::Image(image) => image
            .external
            .iter()
            .filter(|e| e.digest.is_none())
            .map(|e| e.reference.clone())
            .collect(),
        Recipe::Stage(stage) if stage.seed_lock.is_none() => stage
            .external_source
            .iter()
            .map(|s| format!("seed {s}"))
            .collect(),
        _ => Vec::new(),
    };
    let mut text = String::new();
    for n in names {
        let _ = writeln!(
            text,
            "not locked: {n} is keyed by its name until `reagent lock` (or a build) pins it"
        );
    }
    text
}

/// What discovered inputs say about the node's snapshot input.
fn snapshot_line(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Unchanged { packages, .. } => format!(
            "snapshot: what its build read ({packages} packages, their eclasses, the profile) is unchanged\n"
        ),
        Verdict::Changed(words) => {
            let mut text = String::from("snapshot: what its last build read changed:\n");
            for w in words {
                let _ = writeln!(text, "  {w}");
            }
            text
        }
        Verdict::Unknown => {
            "snapshot: no build with these inputs recorded what it read; any change of the tree rebuilds it\n".into()
        }
        Verdict::Tree => "snapshot: any change of the tree rebuilds it (invalidation = \"tree\")\n".into(),
    }
}

/// What changed since the node's last successful build, from the build record.
fn since_last_build(history: &History, node: &Node) -> String {
    let Some(record) = history.last_success(&node.name) else {
        return "last build: never built\n".into();
    };
    let mut text = format!(
        "last build: key {}\n",
        reagent_exec::names::short_key(&record.key)
    );
    let Ok(old) = record.manifest.parse::<Manifest>() else {
        text.push_str("  (its inputs were recorded in a form this reagent cannot read)\n");
        return text;
    };
    let changes = reagent_graph::diff::diff(&old, &node.manifest);
    if changes.is_empty() {
        text.push_str("  nothing changed since\n");
    }
    for c in changes {
        let _ = writeln!(text, "  {c}");
    }
    text
}
