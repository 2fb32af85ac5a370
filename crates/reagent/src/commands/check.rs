//! `reagent check`: load the whole project, list every problem, write nothing.

use reagent_graph::{NodeKind, ProjectErrors, LOCK_FILE};

use crate::cli::{CheckArgs, Cli};
use crate::output;
use crate::report::Failure;

/// `reagent check [--locked]`.
pub fn run(cli: &Cli, args: &CheckArgs) -> Result<(), Failure> {
    let project = crate::load(cli)?.project;
    if !project.lock_is_exact() {
        if args.locked {
            return Err(Failure::Project(ProjectErrors(project.lock_errors())));
        }
        eprintln!(
            "note: {LOCK_FILE} lacks {} external input(s) and has {} unused entr{} (`reagent lock` fixes both; `--locked` refuses them)",
            project.unlocked.len(),
            project.unused.len(),
            if project.unused.len() == 1 { "y" } else { "ies" }
        );
    }
    let graph = &project.graph;
    let count = |kind| graph.nodes().filter(|n| n.kind == kind).count();
    output::stdout(&format!(
        "ok: {} nodes ({} snapshot, {} stages, {} images)\n",
        graph.len(),
        count(NodeKind::Snapshot),
        count(NodeKind::Stage),
        count(NodeKind::Image),
    ))?;
    Ok(())
}
