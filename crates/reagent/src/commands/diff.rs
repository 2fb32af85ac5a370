//! `reagent diff IMAGE [OLD] [NEW]`: packages added, removed and changed
//! between two builds of an image, read from the package databases of
//! `localhost/<name>:<key16>` (nothing runs inside the images).
//!
//! Output follows Gentoo Build Publisher's diff:
//!
//! ```text
//! diff app/0123456789abcdef app/fedcba9876543210
//! - app-misc/gone-1.0
//! + app-misc/fresh-1.2
//! ~ www-servers/nginx 1.24.0 -> 1.25.3 [+ssl -debug]
//! ```

use std::collections::BTreeSet;
use std::fmt::Write as _;

use reagent_backend::{Backend, LABEL_KEY, LABEL_NODE};
use reagent_exec::audit::{self, Installed};
use reagent_exec::names::{local_ref_of, short_key};
use reagent_gentoo::Change;
use reagent_state::History;
use serde_json::{json, Value};

use super::node_named;
use crate::cli::{Cli, DiffArgs};
use crate::output;
use crate::report::Failure;

/// `reagent diff`.
pub fn run(cli: &Cli, args: &DiffArgs) -> Result<(), Failure> {
    let loaded = crate::load(cli)?;
    let node = node_named(&loaded.project.graph, &args.image)?;
    let history = History::load(&loaded.state_dir).map_err(|e| Failure::Failed(e.to_string()))?;
    crate::output::warn_damaged(&loaded.state_dir, &history);
    let backend = crate::located_backend(&loaded, false)?;
    let (old, new) = builds(&history, &backend, &node.name, args)?;

    let mut lists = Vec::new();
    for key in [&old, &new] {
        let r = local_ref_of(&node.name, key);
        let present = backend
            .inspect(&r)
            .map_err(|e| Failure::Failed(e.to_string()))?
            .is_some();
        if !present {
            return Err(Failure::Usage(format!(
                "build {} of {} is no longer in local storage ({r} not found)",
                short_key(key),
                node.name
            )));
        }
        lists.push(audit::installed(&backend, &r).map_err(|e| Failure::Failed(e.to_string()))?);
    }
    let d = reagent_gentoo::diff(&lists[0], &lists[1]);

    if args.json {
        let doc = json!({
            "image": node.name,
            "old": old,
            "new": new,
            "added": d.added.iter().map(package_json).collect::<Vec<_>>(),
            "removed": d.removed.iter().map(package_json).collect::<Vec<_>>(),
            "changed": d.changed.iter().map(change_json).collect::<Vec<_>>(),
        });
        output::stdout(&format!("{doc}\n"))?;
        return Ok(());
    }
    let mut lines: Vec<(String, u8, String)> = Vec::new();
    lines.extend(
        d.removed
            .iter()
            .map(|p| (p.cp(), 0, format!("- {}", p.cpv()))),
    );
    lines.extend(
        d.added
            .iter()
            .map(|p| (p.cp(), 1, format!("+ {}", p.cpv()))),
    );
    lines.extend(d.changed.iter().map(|c| (c.new.cp(), 2, change_line(c))));
    lines.sort();
    let mut text = format!(
        "diff {name}/{} {name}/{}\n",
        short_key(&old),
        short_key(&new),
        name = node.name
    );
    for (_, _, line) in &lines {
        text.push_str(line);
        text.push('\n');
    }
    if d.is_empty() {
        eprintln!("no package changes");
    }
    output::stdout(&text)?;
    Ok(())
}

/// The two builds to compare, as full keys: the two newest recorded successful
/// builds by default, or the builds whose keys start with the given prefixes
/// (recorded builds, and images in local storage labelled with the node).
fn builds(
    history: &History,
    backend: &dyn Backend,
    node: &str,
    args: &DiffArgs,
) -> Result<(String, String), Failure> {
    let recorded = history.successful_keys(node);
    let Some(old) = &args.old else {
        return match recorded.as_slice() {
            [newest, previous, ..] => Ok((previous.to_string(), newest.to_string())),
            _ => Err(Failure::Usage(format!(
                "{node} has {} successful build{} recorded; a diff needs two (build it again after a change, or name two keys: reagent diff {node} OLD NEW)",
                recorded.len(),
                output::plural(recorded.len()),
            ))),
        };
    };
    let local: Vec<String> = backend
        .images()
        .map_err(|e| Failure::Failed(e.to_string()))?
        .into_iter()
        .filter(|i| i.labels.get(LABEL_NODE).map(String::as_str) == Some(node))
        .filter_map(|i| i.labels.get(LABEL_KEY).cloned())
        .collect();
    let resolve = |prefix: &str| {
        history
            .resolve_key(node, prefix, &local)
            .map_err(|e| Failure::Usage(e.to_string()))
    };
    let old = resolve(old)?;
    let new = match &args.new {
        Some(new) => resolve(new)?,
        None => recorded.first().map(ToString::to_string).ok_or_else(|| {
            Failure::Usage(format!(
                "{node} has no successful build recorded: name the newer key too"
            ))
        })?,
    };
    Ok((old, new))
}

fn slot(p: &Installed) -> String {
    if p.subslot == p.slot {
        p.slot.clone()
    } else {
        format!("{}/{}", p.slot, p.subslot)
    }
}

/// `~ cat/pkg 1.0 -> 1.1 [+ssl -X] (slot 0 -> 1)`.
fn change_line(c: &Change) -> String {
    // Writing to a String cannot fail.
    let mut line = format!("~ {}", c.new.cp());
    if c.version_changed() {
        let _ = write!(line, " {} -> {}", c.old.version, c.new.version);
    } else {
        let _ = write!(line, " {}", c.new.version);
    }
    let flags: Vec<String> = c
        .use_added
        .iter()
        .map(|f| format!("+{f}"))
        .chain(c.use_removed.iter().map(|f| format!("-{f}")))
        .collect();
    if !flags.is_empty() {
        let _ = write!(line, " [{}]", flags.join(" "));
    }
    if c.slot_changed() {
        let _ = write!(line, " (slot {} -> {})", slot(&c.old), slot(&c.new));
    }
    line
}

fn package_json(p: &Installed) -> Value {
    json!({
        "package": p.cp(),
        "version": p.version.to_string(),
        "slot": slot(p),
        "use": p.use_flags.iter().collect::<Vec<_>>(),
    })
}

fn change_json(c: &Change) -> Value {
    let set = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>();
    json!({
        "package": c.new.cp(),
        "old_version": c.old.version.to_string(),
        "new_version": c.new.version.to_string(),
        "old_slot": slot(&c.old),
        "new_slot": slot(&c.new),
        "use_added": set(&c.use_added),
        "use_removed": set(&c.use_removed),
    })
}
