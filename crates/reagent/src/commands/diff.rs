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

use reagent_backend::{Backend, LABEL_KEY, LABEL_NODE};
use reagent_exec::audit::{self, Change, Installed};
use reagent_graph::Project;
use reagent_state::BuildLog;
use serde_json::{json, Value};

use super::{build::backend, out};
use crate::cli::{Cli, DiffArgs};
use crate::report::Failure;

/// Shortest key prefix accepted on the command line.
const MIN_PREFIX: usize = 4;

/// `reagent diff`.
pub fn diff(cli: &Cli, args: &DiffArgs) -> Result<(), Failure> {
    let project = crate::load(cli)?;
    let node = project.graph.by_name(&args.image).ok_or_else(|| {
        Failure::Usage(format!(
            "no node named `{}` (try `reagent graph` to list them)",
            args.image
        ))
    })?;
    let recorded = recorded_keys(&project, &node.name);
    let backend = backend(&project);
    let images = backend
        .images()
        .map_err(|e| Failure::Failed(e.to_string()))?;

    let (old, new) = match (&args.old, &args.new) {
        (None, _) => match recorded.as_slice() {
            [newest, previous, ..] => (previous.clone(), newest.clone()),
            _ => {
                return Err(Failure::Usage(format!(
                    "{} has {} successful build{} recorded; a diff needs two (build it again after a change, or name two keys: reagent diff {} OLD NEW)",
                    node.name,
                    recorded.len(),
                    if recorded.len() == 1 { "" } else { "s" },
                    node.name
                )))
            }
        },
        (Some(old), new) => {
            let mut candidates = recorded.clone();
            for image in &images {
                if image.labels.get(LABEL_NODE) == Some(&node.name) {
                    if let Some(key) = image.labels.get(LABEL_KEY) {
                        if !candidates.contains(key) {
                            candidates.push(key.clone());
                        }
                    }
                }
            }
            let old = resolve(&node.name, old, &candidates)?;
            let new = match new {
                Some(new) => resolve(&node.name, new, &candidates)?,
                None => recorded.first().cloned().ok_or_else(|| {
                    Failure::Usage(format!(
                        "{} has no successful build recorded: name the newer key too",
                        node.name
                    ))
                })?,
            };
            (old, new)
        }
    };

    let short = |key: &str| short_key(key).to_string();
    let reference = |key: &str| format!("localhost/{}:{}", node.name, short(key));
    let mut lists = Vec::new();
    for key in [&old, &new] {
        let r = reference(key);
        if !images.iter().any(|i| i.names.contains(&r)) {
            return Err(Failure::Usage(format!(
                "build {} of {} is no longer in local storage ({r} not found)",
                short(key),
                node.name
            )));
        }
        lists.push(audit::installed(&backend, &r).map_err(|e| Failure::Failed(e.to_string()))?);
    }
    let d = audit::diff_packages(&lists[0], &lists[1]);

    if args.json {
        let doc = json!({
            "image": node.name,
            "old": old,
            "new": new,
            "added": d.added.iter().map(package_json).collect::<Vec<_>>(),
            "removed": d.removed.iter().map(package_json).collect::<Vec<_>>(),
            "changed": d.changed.iter().map(change_json).collect::<Vec<_>>(),
        });
        return out(&format!("{doc}\n"));
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
        short(&old),
        short(&new),
        name = node.name
    );
    for (_, _, line) in &lines {
        text.push_str(line);
        text.push('\n');
    }
    if d.is_empty() {
        eprintln!("no package changes");
    }
    out(&text)
}

/// Distinct keys of the node's successful (built or pulled) records, newest first.
fn recorded_keys(project: &Project, node: &str) -> Vec<String> {
    let log_file = project.state_dir.join(reagent_state::BUILD_LOG_FILE);
    if !log_file.is_file() {
        return Vec::new();
    }
    let Ok(log) = BuildLog::open(&project.state_dir) else {
        return Vec::new();
    };
    let mut keys: Vec<String> = Vec::new();
    for r in log.records().into_iter().rev() {
        if r.node == node && r.outcome.is_success() && !keys.contains(&r.key) {
            keys.push(r.key);
        }
    }
    keys
}

/// The one candidate key starting with `prefix` (at least 4 hex digits).
fn resolve(node: &str, prefix: &str, candidates: &[String]) -> Result<String, Failure> {
    let valid = prefix.len() >= MIN_PREFIX && prefix.chars().all(|c| c.is_ascii_hexdigit());
    if !valid {
        return Err(Failure::Usage(format!(
            "`{prefix}` is not a key prefix: give at least {MIN_PREFIX} hex digits of a build's key"
        )));
    }
    let prefix = prefix.to_ascii_lowercase();
    let found: Vec<&String> = candidates
        .iter()
        .filter(|k| k.starts_with(&prefix))
        .collect();
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Failure::Usage(format!(
            "no build of {node} has a key starting with `{prefix}`"
        ))),
        many => Err(Failure::Usage(format!(
            "`{prefix}` matches {} builds of {node}: {}; give more digits",
            many.len(),
            many.iter()
                .map(|k| short_key(k))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The first 16 characters of a key, as image tags show it (the whole text if shorter).
fn short_key(key: &str) -> &str {
    key.char_indices().nth(16).map_or(key, |(i, _)| &key[..i])
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
    let mut line = format!("~ {}", c.new.cp());
    if c.version_changed() {
        line.push_str(&format!(" {} -> {}", c.old.version, c.new.version));
    } else {
        line.push_str(&format!(" {}", c.new.version));
    }
    let flags: Vec<String> = c
        .use_added
        .iter()
        .map(|f| format!("+{f}"))
        .chain(c.use_removed.iter().map(|f| format!("-{f}")))
        .collect();
    if !flags.is_empty() {
        line.push_str(&format!(" [{}]", flags.join(" ")));
    }
    if c.slot_changed() {
        line.push_str(&format!(" (slot {} -> {})", slot(&c.old), slot(&c.new)));
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
