//! Deciding what to do: for each selected node, up to date, pull, build or push — and why.
//!
//! Planning asks the backend two questions — which keys exist locally (one
//! listing) and, with a registry, which key tags exist there — and otherwise
//! reads only the graph and the build record. It changes nothing.

use std::collections::{BTreeMap, HashMap, HashSet};

use std::time::SystemTime;

use reagent_backend::{Backend, BackendError, LocalImage, LABEL_KEY};
use reagent_graph::diff::{diff, Change};
use reagent_graph::{Graph, Manifest, NodeId};
use reagent_state::{History, Seen};
use serde::Deserialize;

pub use crate::events::{Place, StepKind, Work};
use crate::names;

/// Why a node must be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// No build of this node was ever recorded.
    NeverBuilt,
    /// Its inputs differ from its last recorded build.
    Changed(Vec<Change>),
    /// Built before with this very key, but the image is in no storage any more.
    Missing,
    /// `--force` asked for it.
    Forced,
    /// What its last build read of the snapshot changed (and maybe other inputs).
    Snapshot {
        /// The slice's changes, in words.
        slice: Vec<String>,
        /// The other inputs that changed.
        other: Vec<Change>,
    },
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::NeverBuilt => f.write_str("never built"),
            Reason::Missing => f.write_str("image missing (built before with this key)"),
            Reason::Forced => f.write_str("forced"),
            Reason::Changed(changes) if changes.is_empty() => f.write_str("inputs changed"),
            Reason::Changed(changes) => {
                let words: Vec<String> = changes.iter().map(ToString::to_string).collect();
                f.write_str(&words.join(", "))
            }
            Reason::Snapshot { slice, other } => {
                let mut words: Vec<String> =
                    slice.iter().map(|w| format!("snapshot: {w}")).collect();
                words.extend(other.iter().map(ToString::to_string));
                f.write_str(&words.join(", "))
            }
        }
    }
}

/// What to do with one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing: an image with its key exists.
    UpToDate(Place),
    /// Pull from the registry: a node to be built needs it locally.
    Pull,
    /// Build it.
    Build(Reason),
    /// It exists locally but not in the registry: push it.
    Push,
}

impl Action {
    /// What kind of step it is.
    pub fn kind(&self) -> StepKind {
        match self {
            Action::UpToDate(_) => StepKind::UpToDate,
            Action::Pull => StepKind::Pull,
            Action::Build(_) => StepKind::Build,
            Action::Push => StepKind::Push,
        }
    }

    /// The work it needs a worker for; `None` when up to date.
    pub fn work(&self) -> Option<Work> {
        match self {
            Action::UpToDate(_) => None,
            Action::Pull => Some(Work::Pull),
            Action::Build(_) => Some(Work::Build),
            Action::Push => Some(Work::Push),
        }
    }

    /// Whether the action needs a worker.
    pub fn is_work(&self) -> bool {
        self.work().is_some()
    }

    /// Why, in words (for builds: what changed; otherwise where the image is).
    pub fn reason(&self) -> String {
        match self {
            Action::Build(reason) => reason.to_string(),
            Action::UpToDate(Place::Local) => "image exists locally".into(),
            Action::UpToDate(Place::Registry) => "image is in the registry".into(),
            Action::Pull => "in the registry; a node to build needs it".into(),
            Action::Push => "built locally; the registry lacks it or some of its tags".into(),
        }
    }
}

/// One node's planned action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The node.
    pub node: NodeId,
    /// What to do.
    pub action: Action,
}

/// What a run will do, in topological order.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// One step per selected node.
    pub steps: Vec<Step>,
    /// The nodes asked for (before adding ancestors).
    pub targets: Vec<NodeId>,
    /// Registry references the planner's lookups found present.
    pub found_remote: Vec<String>,
}

impl Plan {
    /// The step for `node`, if it is in the plan.
    pub fn step(&self, node: NodeId) -> Option<&Step> {
        self.steps.iter().find(|s| s.node == node)
    }

    /// How many steps are of this kind.
    pub fn count(&self, kind: StepKind) -> usize {
        self.steps
            .iter()
            .filter(|s| s.action.kind() == kind)
            .count()
    }
}

/// What planning needs to know besides the graph.
pub struct PlanInput<'a> {
    /// The nodes asked for.
    pub targets: &'a [NodeId],
    /// Nodes to rebuild even when up to date.
    pub force: &'a HashSet<NodeId>,
    /// Registry prefix; `None` with `-R` or when none is configured.
    pub registry: Option<&'a str>,
    /// The build record: why a dirty node is dirty (its last successful build's
    /// manifest), and which nodes' newest attempt failed after building (a local
    /// image with that key may be in the registry under its key tag but not its
    /// moving tags, so it is pushed again).
    pub history: &'a History,
    /// Registry references recently seen there; a local node whose key tag
    /// is among them is not asked about again.
    pub seen: Option<&'a Seen>,
    /// The time `seen` is judged at.
    pub now: SystemTime,
    /// For nodes built from the snapshot whose last build's slice changed: what
    /// changed, in words (see [`crate::discover`]).
    pub snapshot_changes: &'a HashMap<NodeId, Vec<String>>,
}

/// Why `node` must be built, from its last successful recorded build, with what
/// changed in its slice of the snapshot when that is known.
fn build_reason(
    history: &History,
    node: &reagent_graph::Node,
    snapshot: Option<&str>,
    snapshot_changes: Option<&Vec<String>>,
) -> Reason {
    let reason = recorded_reason(history, node);
    let Some(words) = snapshot_changes.filter(|w| !w.is_empty()) else {
        return reason;
    };
    match reason {
        Reason::Changed(changes) => {
            // The snapshot parent's key changed because the slice did: say how.
            let is_snapshot = |c: &Change| match c {
                Change::Changed { label, .. } => {
                    label.class() == Some(reagent_graph::InputClass::Parent)
                        && Some(label.subject()) == snapshot
                }
                _ => false,
            };
            let other = changes.into_iter().filter(|c| !is_snapshot(c)).collect();
            Reason::Snapshot {
                slice: words.clone(),
                other,
            }
        }
        other => other,
    }
}

/// Why `node` must be built, from its last successful recorded build.
fn recorded_reason(history: &History, node: &reagent_graph::Node) -> Reason {
    let Some(last) = history.last_success(&node.name) else {
        return Reason::NeverBuilt;
    };
    if last.key == node.key.hex() {
        return Reason::Missing;
    }
    // A record from an older reagent may hold a manifest this one cannot read:
    // then all that is known is that the inputs changed.
    match Manifest::deserialize(&last.manifest) {
        Ok(old) => Reason::Changed(diff(&old, &node.manifest)),
        Err(_) => Reason::Changed(Vec::new()),
    }
}

/// Local images by the key label they carry (a tagged one wins over an untagged one).
pub fn local_keys(images: &[LocalImage]) -> HashMap<String, &LocalImage> {
    let mut out: HashMap<String, &LocalImage> = HashMap::new();
    for image in images {
        if let Some(key) = image.labels.get(LABEL_KEY) {
            let entry = out.entry(key.clone()).or_insert(image);
            if entry.names.is_empty() {
                *entry = image;
            }
        }
    }
    out
}

/// Plan a run. `images` is the one listing of local storage.
pub fn plan(
    graph: &Graph,
    backend: &dyn Backend,
    images: &[LocalImage],
    input: &PlanInput<'_>,
) -> Result<Plan, BackendError> {
    let selection = graph.with_ancestors(input.targets.iter().copied());
    let local = local_keys(images);
    // An image counts only if it carries the key label AND the key tag: an
    // image whose tests failed keeps the label but never gets the tag.
    let is_local = |id: NodeId| {
        let node = graph.node(id);
        local
            .get(&node.key.hex())
            .is_some_and(|image| image.names.contains(&names::local_ref(node)))
    };

    // Ask the registry about every selected node not being forced (and not
    // seen there lately), a few at a time.
    let mut found_remote = Vec::new();
    let remote: HashMap<NodeId, bool> = match input.registry {
        None => HashMap::new(),
        Some(registry) => {
            let seen_fresh = |id: NodeId| {
                input.seen.is_some_and(|s| {
                    s.fresh(&names::remote_ref(registry, graph.node(id)), input.now)
                })
            };
            let mut known = HashMap::new();
            let mut ask = Vec::new();
            for &id in &selection {
                if input.force.contains(&id) {
                    continue;
                }
                if is_local(id) && seen_fresh(id) {
                    known.insert(id, true);
                } else {
                    ask.push(id);
                }
            }
            let asked = remote_lookup(graph, backend, registry, &ask)?;
            found_remote.extend(
                asked
                    .iter()
                    .filter(|(_, present)| **present)
                    .map(|(id, _)| names::remote_ref(registry, graph.node(*id))),
            );
            known.extend(asked);
            known
        }
    };
    let in_registry = |id: NodeId| remote.get(&id).copied().unwrap_or(false);

    let snapshot_name = graph.snapshot().map(|s| graph.node(s).name.as_str());
    let mut actions: BTreeMap<NodeId, Action> = BTreeMap::new();
    for &id in &selection {
        let node = graph.node(id);
        let action = if input.force.contains(&id) {
            Action::Build(Reason::Forced)
        } else if is_local(id) {
            let unfinished = input
                .history
                .unfinished_publish(&node.name)
                .is_some_and(|key| key == node.key.hex());
            if input.registry.is_some() && (!in_registry(id) || unfinished) {
                Action::Push
            } else {
                Action::UpToDate(Place::Local)
            }
        } else if in_registry(id) {
            Action::UpToDate(Place::Registry)
        } else {
            Action::Build(build_reason(
                input.history,
                node,
                snapshot_name,
                input.snapshot_changes.get(&id),
            ))
        };
        actions.insert(id, action);
    }
    // A dirty ancestor that no target needs is left alone: with discovered inputs a
    // child can be up to date while its parent (the snapshot, say) moved on.
    let needed = needed(graph, &selection, &actions, input);
    actions.retain(|id, a| !matches!(a, Action::Build(_)) || needed.contains(id));
    let selection: Vec<NodeId> = selection
        .into_iter()
        .filter(|id| actions.contains_key(id))
        .collect();
    // A node only in the registry is pulled when something to be built needs it.
    let builds: Vec<NodeId> = actions
        .iter()
        .filter(|(_, a)| matches!(a, Action::Build(_)))
        .map(|(id, _)| *id)
        .collect();
    for id in builds {
        for dep in graph.parents(id) {
            if let Some(a @ Action::UpToDate(Place::Registry)) = actions.get_mut(&dep) {
                *a = Action::Pull;
            }
        }
    }
    Ok(Plan {
        steps: selection
            .iter()
            .map(|id| Step {
                node: *id,
                action: actions.remove(id).unwrap_or(Action::UpToDate(Place::Local)),
            })
            .collect(),
        targets: input.targets.to_vec(),
        found_remote,
    })
}

/// The nodes the plan needs: the targets, the forced nodes, and, children first,
/// every parent of a needed node that will be built.
fn needed(
    graph: &Graph,
    selection: &[NodeId],
    actions: &BTreeMap<NodeId, Action>,
    input: &PlanInput<'_>,
) -> HashSet<NodeId> {
    let mut needed: HashSet<NodeId> = input.targets.iter().copied().collect();
    needed.extend(input.force.iter().copied());
    for id in selection.iter().rev() {
        if needed.contains(id) && matches!(actions.get(id), Some(Action::Build(_))) {
            needed.extend(graph.parents(*id));
        }
    }
    needed
}

/// `remote_exists` for each node, up to 8 lookups in flight; the first error wins.
fn remote_lookup(
    graph: &Graph,
    backend: &dyn Backend,
    registry: &str,
    ids: &[NodeId],
) -> Result<HashMap<NodeId, bool>, BackendError> {
    let chunk = ids.len().div_ceil(8).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = ids
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|id| {
                            let r = names::remote_ref(registry, graph.node(*id));
                            backend.remote_exists(&r).map(|e| (*id, e))
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut out = HashMap::new();
        for h in handles {
            let part = h.join().map_err(|_| {
                BackendError::Unreachable("registry lookup thread panicked".into())
            })??;
            out.extend(part);
        }
        Ok(out)
    })
}
