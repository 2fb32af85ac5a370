//! `reagent prune`: remove local images no current key needs.

use reagent_backend::Backend;
use reagent_exec::prune::candidates;
use reagent_state::{BuildLog, StateLock};

use super::build::backend;
use super::out;
use crate::cli::{Cli, PruneArgs};
use crate::report::Failure;

/// `reagent prune [--keep N] [-n]`.
pub fn prune(cli: &Cli, args: &PruneArgs) -> Result<(), Failure> {
    let project = crate::load(cli)?;
    // A build running meanwhile may be about to use an image: share its lock.
    std::fs::create_dir_all(&project.state_dir).map_err(|e| {
        Failure::Failed(format!(
            "cannot create {}: {e}",
            project.state_dir.display()
        ))
    })?;
    let _lock = StateLock::acquire(&project.state_dir, true, |msg| eprintln!("{msg}"))
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let records = BuildLog::open(&project.state_dir)
        .map(|log| log.records())
        .unwrap_or_default();
    let backend = backend(&project);
    let images = backend
        .images()
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let doomed = candidates(&project.graph, &images, &records, args.keep);
    let mut text = String::new();
    let mut failed = Vec::new();
    for c in &doomed {
        let short = c.key.get(..16).unwrap_or(&c.key);
        let verb = if args.dry_run {
            "would remove"
        } else {
            match backend.remove_image(&c.names) {
                Ok(()) => "removed",
                Err(e) => {
                    failed.push(format!("{} ({}): {e}", c.node, short));
                    continue;
                }
            }
        };
        text.push_str(&format!(
            "{verb} {} {short} ({}): {}\n",
            c.node,
            c.names.join(", "),
            c.reason
        ));
    }
    text.push_str(&format!(
        "{} {} image(s)\n",
        if args.dry_run {
            "would remove"
        } else {
            "removed"
        },
        doomed.len() - failed.len()
    ));
    out(&text)?;
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::Failed(format!(
            "could not remove: {}",
            failed.join("; ")
        )))
    }
}
