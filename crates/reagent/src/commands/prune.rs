//! `reagent prune`: remove this project's local images that no current key needs.

use std::fmt::Write as _;

use reagent_backend::Backend;
use reagent_exec::names::short_key;
use reagent_exec::prune::candidates;
use reagent_state::{History, StateLock};

use crate::cli::{Cli, PruneArgs};
use crate::output;
use crate::report::Failure;

/// `reagent prune [--keep N] [-n]`.
pub fn run(cli: &Cli, args: &PruneArgs) -> Result<(), Failure> {
    let loaded = crate::load(cli)?;
    let project = &loaded.project;
    let state_dir = &loaded.state_dir;
    // A build running meanwhile may be about to use an image: share its lock.
    std::fs::create_dir_all(state_dir)
        .map_err(|e| Failure::Failed(format!("cannot create {}: {e}", state_dir.display())))?;
    let _lock = StateLock::acquire(state_dir, true, |msg| eprintln!("{msg}"))
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let history = History::load(state_dir).map_err(|e| Failure::Failed(e.to_string()))?;
    crate::output::warn_damaged(state_dir, &history);
    let backend = crate::located_backend(&loaded, true)?;
    let images = backend
        .images()
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let doomed = candidates(project, &images, &history.key_recency(), args.keep);
    let mut text = String::new();
    let mut failed = Vec::new();
    for c in &doomed {
        let short = short_key(&c.key);
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
        // Writing to a String cannot fail.
        let _ = writeln!(
            text,
            "{verb} {} {short} ({}): {}",
            c.node,
            c.names.join(", "),
            c.reason
        );
    }
    let _ = writeln!(
        text,
        "{} {} image(s)",
        if args.dry_run {
            "would remove"
        } else {
            "removed"
        },
        doomed.len() - failed.len()
    );
    output::stdout(&text)?;
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::Failed(format!(
            "could not remove: {}",
            failed.join("; ")
        )))
    }
}
