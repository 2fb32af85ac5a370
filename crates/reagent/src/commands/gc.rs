//! `reagent gc --registry`: delete this project's key tags from the registry
//! that no node of the current graph needs, beyond the last N builds of each.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use reagent_backend::Backend;
use reagent_exec::discover::Remote;
use reagent_exec::gc::{plan, NodeKeys};
use reagent_state::History;

use crate::cli::{Cli, GcArgs};
use crate::output;
use crate::report::Failure;

/// What a registry clean-up leaves to the registry itself.
const BLOBS_NOTE: &str = "the registry still holds the deleted images' blobs until its own garbage collection runs (docker-registry: `registry garbage-collect CONFIG`)";

/// `reagent gc --registry [--keep N] [-n]`.
pub fn run(cli: &Cli, args: &GcArgs) -> Result<(), Failure> {
    if !args.registry {
        return Err(Failure::Usage(
            "gc cleans the registry: say --registry (local images: reagent prune)".into(),
        ));
    }
    let loaded = crate::load(cli)?;
    let project = &loaded.project;
    let Some(registry) = project.registry() else {
        return Err(Failure::Usage(format!(
            "gc --registry needs `[project] registry` in {}",
            project.root.join("graph.toml").display()
        )));
    };
    let backend = crate::located_backend(&loaded, false)?;
    let history = History::load(&loaded.state_dir).map_err(|e| Failure::Failed(e.to_string()))?;
    let nodes = node_keys(project, &history, &backend, registry)?;
    let gc = plan(&backend, registry, &project.name(), &nodes, args.keep)
        .map_err(|e| Failure::Failed(e.to_string()))?;

    // List everything first, then delete.
    let mut text = String::new();
    let verb = if args.dry_run {
        "would delete"
    } else {
        "delete"
    };
    for d in &gc.doomed {
        let _ = writeln!(
            text,
            "{verb} {} ({}, made {}): {}",
            d.reference,
            d.digest,
            d.created.as_deref().unwrap_or("at an unknown time"),
            d.reason
        );
    }
    for s in &gc.spared {
        let _ = writeln!(text, "keep {}: {}", s.reference, s.why);
    }
    output::stdout(&text)?;
    let mut failed = Vec::new();
    if !args.dry_run {
        for d in &gc.doomed {
            if let Err(e) = backend.remote_delete(&d.by_digest()) {
                failed.push(format!("{}: {e}", d.reference));
            }
        }
    }
    let mut summary = format!(
        "{} {} tag(s) from {registry}",
        if args.dry_run {
            "would delete"
        } else {
            "deleted"
        },
        gc.doomed.len() - failed.len()
    );
    if !gc.doomed.is_empty() {
        let _ = write!(summary, "; {BLOBS_NOTE}");
    }
    output::stdout(&format!("{summary}\n"))?;
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::Failed(format!(
            "could not delete: {}",
            failed.join("; ")
        )))
    }
}

/// Every node the graph has now, with its current key tags (coarse, and as
/// discovered inputs key it), and every node the build record names that the
/// graph no longer has.
fn node_keys(
    project: &reagent_graph::Project,
    history: &History,
    backend: &dyn Backend,
    registry: &str,
) -> Result<BTreeMap<String, NodeKeys>, Failure> {
    let mut discovered = project.graph.clone();
    reagent_exec::discover::resolve(&mut discovered, history, Some(Remote { backend, registry }))
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let mut nodes: BTreeMap<String, NodeKeys> = BTreeMap::new();
    for graph in [&project.graph, &discovered] {
        for node in graph.nodes() {
            let keys = nodes.entry(node.name.clone()).or_default();
            keys.in_project = true;
            keys.current.insert(node.key.short());
        }
    }
    for name in history.nodes() {
        nodes.entry(name.to_string()).or_default();
    }
    Ok(nodes)
}
