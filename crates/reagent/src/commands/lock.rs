//! `reagent lock`: pin each external image and seed the project uses in
//! `reagent.lock`, and (`--update`) move pins on purpose; and the locking
//! `reagent build` does first. Resolving is `reagent_exec::lock`'s.

use std::fmt::Write as _;

use reagent_backend::Backend;
use reagent_exec::lock::{relock, write, LockError, Options};
use reagent_graph::lockfile::Entry;
use reagent_graph::{Project, ProjectErrors, LOCK_FILE};

use super::regexes;
use crate::cli::{BuildArgs, Cli, LockArgs};
use crate::output;
use crate::report::Failure;

impl From<LockError> for Failure {
    fn from(e: LockError) -> Self {
        match e {
            // What cannot be resolved from what there is is bad input, at its place.
            LockError::Unresolved(errors) => Failure::Project(ProjectErrors(errors)),
            other => Failure::Failed(other.to_string()),
        }
    }
}

/// `reagent lock [--update [REGEX]]`.
pub fn run(cli: &Cli, args: &LockArgs) -> Result<(), Failure> {
    let project = crate::load(cli)?.project;
    let backend = crate::backend(&project);
    let pattern = match args.update.as_deref() {
        None | Some("") => None,
        Some(p) => regexes(&[p.to_string()])?.pop(),
    };
    let matches = |e: &Entry| pattern.as_ref().is_none_or(|r| r.is_match(e.subject()));
    if let (Some(p), Some(r)) = (&args.update, &pattern) {
        let used = project
            .lock
            .entries()
            .any(|(e, _)| !project.unused.contains(e) && r.is_match(e.subject()));
        let new = project
            .unlocked
            .iter()
            .any(|u| r.is_match(u.entry.subject()));
        if !used && !new {
            return Err(Failure::Usage(format!(
                "no external image or seed of the project matches `{p}` (see {LOCK_FILE})"
            )));
        }
    }
    let opts = Options {
        offline: args.no_registry,
        update: args
            .update
            .is_some()
            .then_some(&matches as &dyn Fn(&Entry) -> bool),
    };
    let relocked = relock(&project, &backend, &opts)?;
    let mut text = String::new();
    for change in &relocked.changes {
        // Writing to a String cannot fail.
        let _ = writeln!(text, "{change}");
    }
    output::stdout(&text)?;
    let written = write(&project.root, &relocked.lock)?;
    if relocked.changes.is_empty() {
        let n = relocked.lock.len();
        let entries = format!("{n} entr{}", if n == 1 { "y" } else { "ies" });
        if written {
            eprintln!("{LOCK_FILE} written: {entries}");
        } else {
            eprintln!("{LOCK_FILE} is up to date: {entries}");
        }
    }
    Ok(())
}

/// Before `reagent build`: with `--locked`, refuse a lock that does not pin exactly
/// what the project uses; otherwise lock what it lacks (as `reagent lock` would; with
/// `-R` from local storage only), drop what nothing uses, write it (not with `-n`),
/// and key the project with it.
pub fn before_build(
    project: &mut Project,
    backend: &dyn Backend,
    args: &BuildArgs,
) -> Result<(), Failure> {
    if project.lock_is_exact() {
        return Ok(());
    }
    if args.locked {
        return Err(Failure::Project(ProjectErrors(project.lock_errors())));
    }
    let opts = Options {
        offline: args.no_registry,
        update: None,
    };
    let relocked = relock(project, backend, &opts)?;
    for change in &relocked.changes {
        eprintln!("{change}");
    }
    if args.dry_run {
        eprintln!("{LOCK_FILE} not written (dry run)");
    } else {
        write(&project.root, &relocked.lock)?;
    }
    project.apply_lock(relocked.lock);
    Ok(())
}
