//! Deciding what to do: for each selected node, up to date, pull, build or push — and why.
//!
//! Planning asks the backend two questions — which key tags exist locally (one
//! listing of names, no labels) and, with a registry, which key tags exist
//! there — and otherwise reads only the graph and the build record. It changes
//! nothing. The key label of a local image is read only when the plan uses the
//! image (the parent of a build, a push): a key tag holds 16 characters of the
//! key, the label all of it, and an image whose label does not match is not
//! that node's build (the plan is made again without it). What
//! neither local storage nor the registry has is looked for in the read-only
//! cache registries of `[registry] cache_from`, in order; a node found there
//! counts as in the registry and is pulled from there ([`Plan::pull_from`]).
//!
//! It has two modes. Normally ([`PlanInput::only`] false) the targets come
//! with all their ancestors, and whatever of them is not up to date is built.
//! With `only` (`reagent build --only`, one CI job per node) the plan holds
//! exactly the targets and, when a target is to be built, its parents: each
//! parent must already exist, locally or in the registry (then it is pulled),
//! and one that does not fails the plan with [`PlanError::MissingParents`],
//! before anything is built.

use std::collections::{BTreeMap, HashMap, HashSet};

use rustc_hash::{FxHashMap, FxHashSet};

use std::time::SystemTime;

use reagent_backend::{Backend, BackendError, NamedImage, LABEL_KEY};
use reagent_graph::diff::{diff, Change};
use reagent_graph::{Graph, Manifest, NodeId};
use reagent_state::{History, Seen};

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
    /// An artifact stage (an ISO, a disk image) built before with this very key, whose
    /// result is no longer where catalyst wrote it.
    OutputMissing {
        /// What it is (`ISO image`, `disk image`, `netboot folder`).
        what: &'static str,
        /// Where it should be.
        path: std::path::PathBuf,
    },
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
            Reason::OutputMissing { what, path } => write!(
                f,
                "{what} {} missing (built before with this key)",
                path.display()
            ),
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

/// A parent that `--only` needs and that exists nowhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingParent {
    /// The node to build.
    pub node: String,
    /// Its parent, built neither locally nor in the registry.
    pub parent: String,
    /// The parent's key (64 hex).
    pub key: String,
}

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The backend failed (listing local images, asking the registry).
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// With `only`: parents of nodes to build that are built nowhere.
    #[error("{}", missing_message(.missing, .registry.as_deref()))]
    MissingParents {
        /// Each node and the parent it lacks, parents first.
        missing: Vec<MissingParent>,
        /// The registry that was asked, if any.
        registry: Option<String>,
    },
}

fn missing_message(missing: &[MissingParent], registry: Option<&str>) -> String {
    let nowhere = match registry {
        Some(r) => format!("neither locally nor in {r}"),
        None => "locally (no registry was asked)".to_string(),
    };
    let lines: Vec<String> = missing
        .iter()
        .map(|m| {
            format!(
                "cannot build `{}` alone: its parent `{}` (key {}) is built {nowhere}; build it first (reagent build --only {})",
                m.node,
                m.parent,
                names::short_key(&m.key),
                m.parent
            )
        })
        .collect();
    lines.join("\n")
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
    /// Nodes found only in a read-only cache registry (`[registry] cache_from`):
    /// the reference a pull takes them from.
    pub pull_from: BTreeMap<NodeId, String>,
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
    /// Read-only cache registries, asked in order about what neither local
    /// storage nor `registry` has; never pushed to. Empty with `-R`.
    pub cache_from: &'a [String],
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
    /// Plan exactly the targets (and the parents a build among them needs),
    /// not their ancestors: see the module's documentation.
    pub only: bool,
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
    match last.manifest.parse::<Manifest>() {
        Ok(old) => Reason::Changed(diff(&old, &node.manifest)),
        Err(_) => Reason::Changed(Vec::new()),
    }
}

/// Local images by name: each of its names points at the image. (`FxHash`: the
/// names are the local store's own tags, 20,000 of them for 10,000 images.)
pub fn local_names(images: &[NamedImage]) -> FxHashMap<&str, &NamedImage> {
    let mut by_name = FxHashMap::with_capacity_and_hasher(
        images.iter().map(|i| i.names.len()).sum(),
        rustc_hash::FxBuildHasher,
    );
    for image in images {
        for name in &image.names {
            by_name.insert(name.as_str(), image);
        }
    }
    by_name
}

/// Each node's local image (by node index): the one tagged with its key tag.
fn local_by_node<'a>(graph: &Graph, images: &'a [NamedImage]) -> Vec<Option<&'a NamedImage>> {
    if images.is_empty() {
        return vec![None; graph.len()];
    }
    let local = local_names(images);
    graph
        .nodes()
        .map(|node| local.get(names::local_ref(node).as_str()).copied())
        .collect()
}

/// Plan a run. `images` is the one listing of local storage (names only).
pub fn plan(
    graph: &Graph,
    backend: &dyn Backend,
    images: &[NamedImage],
    input: &PlanInput<'_>,
) -> Result<Plan, PlanError> {
    let mut facts = Facts {
        graph,
        backend,
        input,
        local: local_by_node(graph, images),
        snapshot: graph.snapshot().map(|s| graph.node(s).name.as_str()),
        verified: FxHashSet::default(),
        rejected: FxHashSet::default(),
        remote: FxHashMap::default(),
        moving_stale: FxHashSet::default(),
        found_remote: Vec::new(),
        cached: BTreeMap::new(),
        cache_asked: FxHashSet::default(),
    };
    // Each round that finds a wrong key label rejects at least one more node's
    // image, so this ends; almost always after the first round.
    let (selection, mut actions) = loop {
        let (selection, actions) = if input.only {
            plan_only(&mut facts)?
        } else {
            plan_closure(&mut facts)?
        };
        if facts.verify_used(&actions)? {
            break (selection, actions);
        }
    };
    let mut pull_from = facts.cached;
    pull_from.retain(|id, _| selection.contains(id));
    Ok(Plan {
        steps: selection
            .iter()
            .map(|id| Step {
                node: *id,
                action: actions.remove(id).unwrap_or(Action::UpToDate(Place::Local)),
            })
            .collect(),
        targets: input.targets.to_vec(),
        found_remote: facts.found_remote,
        pull_from,
    })
}

/// The selection in topological order, and each selected node's action.
type Planned = (Vec<NodeId>, BTreeMap<NodeId, Action>);

/// The targets and all their ancestors; whatever is not up to date is built.
fn plan_closure(facts: &mut Facts<'_>) -> Result<Planned, PlanError> {
    let graph = facts.graph;
    let selection = graph.with_ancestors(facts.input.targets.iter().copied());
    facts.ask_registry(&selection)?;
    let mut actions: BTreeMap<NodeId, Action> =
        selection.iter().map(|&id| (id, facts.action(id))).collect();
    // A dirty ancestor that no target needs is left alone: with discovered inputs a
    // child can be up to date while its parent (the snapshot, say) moved on.
    let needed = needed(graph, &selection, &actions, facts.input);
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
    Ok((selection, actions))
}

/// Exactly the targets; the parents of those to build must exist somewhere.
fn plan_only(facts: &mut Facts<'_>) -> Result<Planned, PlanError> {
    let graph = facts.graph;
    let targets: FxHashSet<NodeId> = facts.input.targets.iter().copied().collect();
    let ordered: Vec<NodeId> = graph
        .topological()
        .iter()
        .copied()
        .filter(|id| targets.contains(id))
        .collect();
    facts.ask_registry(&ordered)?;
    let mut actions: BTreeMap<NodeId, Action> =
        ordered.iter().map(|&id| (id, facts.action(id))).collect();

    // The parents a build needs, that are not targets themselves (those are
    // built first by the same run).
    let mut needed: Vec<(NodeId, NodeId)> = Vec::new();
    for (&id, action) in &actions {
        if matches!(action, Action::Build(_)) {
            for parent in graph.parents(id) {
                if !targets.contains(&parent) {
                    needed.push((id, parent));
                }
            }
        }
    }
    let mut parents: Vec<NodeId> = needed.iter().map(|(_, p)| *p).collect();
    parents.sort_unstable();
    parents.dedup();
    let not_local: Vec<NodeId> = parents
        .iter()
        .copied()
        .filter(|p| !facts.is_local(*p))
        .collect();
    facts.ask_registry(&not_local)?;

    let mut missing: Vec<MissingParent> = Vec::new();
    for &(child, parent) in &needed {
        let action = if facts.is_local(parent) {
            Action::UpToDate(Place::Local)
        } else if facts.in_registry(parent) {
            Action::Pull
        } else {
            let node = graph.node(parent);
            missing.push(MissingParent {
                node: graph.node(child).name.clone(),
                parent: node.name.clone(),
                key: node.key.hex(),
            });
            continue;
        };
        actions.insert(parent, action);
    }
    if !missing.is_empty() {
        let position: FxHashMap<NodeId, usize> = graph
            .topological()
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i))
            .collect();
        let at = |name: &str| {
            graph
                .by_name(name)
                .and_then(|n| position.get(&n.id).copied())
        };
        missing.sort_by_key(|m| (at(&m.parent), at(&m.node)));
        missing.dedup();
        return Err(PlanError::MissingParents {
            missing,
            registry: facts.input.registry.map(str::to_string),
        });
    }
    let selection: Vec<NodeId> = graph
        .topological()
        .iter()
        .copied()
        .filter(|id| actions.contains_key(id))
        .collect();
    Ok((selection, actions))
}

/// What planning learns about images: the local listing, and registry answers.
struct Facts<'a> {
    graph: &'a Graph,
    backend: &'a dyn Backend,
    input: &'a PlanInput<'a>,
    /// Each node's key-tagged local image, by node index, looked up once (a
    /// lookup formats the node's reference).
    local: Vec<Option<&'a NamedImage>>,
    /// The snapshot node's name, looked up once (finding it scans every node).
    snapshot: Option<&'a str>,
    /// Nodes whose local image's key label was read and matches.
    verified: FxHashSet<NodeId>,
    /// Nodes whose key-tagged local image carries another key (or none): not theirs.
    rejected: FxHashSet<NodeId>,
    remote: FxHashMap<NodeId, bool>,
    /// Local nodes whose key tag is in the registry but a moving tag is not
    /// on that image (a publish cut short, by `kill -9` say, left no record).
    moving_stale: FxHashSet<NodeId>,
    found_remote: Vec<String>,
    /// Nodes found in a cache registry (and not in `registry`), with the reference found.
    cached: BTreeMap<NodeId, String>,
    /// Nodes the cache registries were asked about.
    cache_asked: FxHashSet<NodeId>,
}

impl Facts<'_> {
    /// The local image tagged with the node's key tag, unless its key label
    /// was found not to match. Only the tag counts: an image whose tests failed
    /// keeps the label but never gets the tag.
    fn local_image(&self, id: NodeId) -> Option<&NamedImage> {
        if self.rejected.contains(&id) {
            return None;
        }
        self.local[id.0]
    }

    /// Whether the node's build exists locally (see [`Facts::local_image`]).
    ///
    /// An artifact (an ISO, a disk image: [`reagent_graph::Node::artifact`]) has no
    /// image: it is "local" when the build record holds a successful build of its key
    /// and catalyst's output is still where the spec puts it.
    fn is_local(&self, id: NodeId) -> bool {
        let node = self.graph.node(id);
        if node.artifact().is_some() {
            return artifact_present(self.input.history, node);
        }
        self.local_image(id).is_some()
    }

    /// Read the key label of every local image `actions` use (the local parents
    /// of builds, the images to push) and not read yet; reject each whose label
    /// is not its node's key. `true` when all match, `false` when the plan must
    /// be made again.
    fn verify_used(&mut self, actions: &BTreeMap<NodeId, Action>) -> Result<bool, PlanError> {
        let mut used: Vec<NodeId> = Vec::new();
        for (&id, action) in actions {
            match action {
                Action::Build(_) => used.extend(self.graph.parents(id)),
                Action::Push => used.push(id),
                _ => {}
            }
        }
        used.sort_unstable();
        used.dedup();
        let mut all_match = true;
        for id in used {
            if self.verified.contains(&id) {
                continue;
            }
            let Some(image) = self.local_image(id) else {
                continue;
            };
            let key = self.graph.node(id).key.hex();
            let labels = self.backend.local_labels(&image.id)?;
            if labels.as_ref().and_then(|l| l.get(LABEL_KEY)) == Some(&key) {
                self.verified.insert(id);
            } else {
                self.rejected.insert(id);
                // What the registry was told about it assumed a local image.
                self.remote.remove(&id);
                all_match = false;
            }
        }
        Ok(all_match)
    }

    /// Whether the registry, or a cache registry, has the node's key tag (as far
    /// as they were asked).
    fn in_registry(&self, id: NodeId) -> bool {
        self.remote.get(&id).copied().unwrap_or(false) || self.cached.contains_key(&id)
    }

    /// Ask the registry, then the cache registries, about the nodes of `ids`.
    fn ask_registry(&mut self, ids: &[NodeId]) -> Result<(), PlanError> {
        self.ask_own_registry(ids)?;
        self.ask_caches(ids)
    }

    /// Ask each cache registry in turn about every node of `ids` that is not
    /// forced, not local, not in the registry, not found in an earlier cache and
    /// not asked about already.
    fn ask_caches(&mut self, ids: &[NodeId]) -> Result<(), PlanError> {
        let graph = self.graph;
        let mut ask: Vec<NodeId> = ids
            .iter()
            .copied()
            .filter(|id| {
                !self.input.force.contains(id)
                    && !self.cache_asked.contains(id)
                    && !self.is_local(*id)
                    && !self.in_registry(*id)
            })
            .collect();
        self.cache_asked.extend(ask.iter().copied());
        for cache in self.input.cache_from {
            if ask.is_empty() {
                break;
            }
            let found = remote_lookup(graph, self.backend, cache, &ask)?;
            for (id, present) in found {
                if present {
                    self.cached
                        .insert(id, names::remote_ref(cache, graph.node(id)));
                }
            }
            ask.retain(|id| !self.cached.contains_key(id));
        }
        Ok(())
    }

    /// Ask the registry about every node of `ids` not being forced, not asked
    /// already and not seen there lately, a few at a time.
    fn ask_own_registry(&mut self, ids: &[NodeId]) -> Result<(), PlanError> {
        let Some(registry) = self.input.registry else {
            return Ok(());
        };
        let graph = self.graph;
        let mut ask = Vec::new();
        for &id in ids {
            if graph.node(id).artifact().is_some() {
                // Never in a registry.
                self.remote.insert(id, false);
                continue;
            }
            if self.input.force.contains(&id) || self.remote.contains_key(&id) {
                continue;
            }
            let seen_fresh = self.input.seen.is_some_and(|s| {
                s.fresh(&names::remote_ref(registry, graph.node(id)), self.input.now)
            });
            if self.is_local(id) && seen_fresh {
                self.remote.insert(id, true);
            } else {
                ask.push(id);
            }
        }
        let asked = remote_lookup(graph, self.backend, registry, &ask)?;
        let mut found: Vec<(NodeId, bool)> = asked.into_iter().collect();
        found.sort_unstable();
        // A local build whose key tag is there: are its moving tags on it too?
        let published: Vec<NodeId> = found
            .iter()
            .filter(|(id, present)| *present && self.is_local(*id))
            .map(|(id, _)| *id)
            .collect();
        self.moving_stale.extend(stale_moving_tags(
            graph,
            self.backend,
            registry,
            &published,
        )?);
        self.found_remote.extend(
            found
                .iter()
                .filter(|(id, present)| *present && !self.moving_stale.contains(id))
                .map(|(id, _)| names::remote_ref(registry, graph.node(*id))),
        );
        self.remote.extend(found);
        Ok(())
    }

    /// The node's action on its own: forced, up to date (or to push), or to build.
    fn action(&self, id: NodeId) -> Action {
        let input = self.input;
        let node = self.graph.node(id);
        if input.force.contains(&id) {
            Action::Build(Reason::Forced)
        } else if self.is_local(id) {
            // Asked only when there is a registry to push to.
            let unfinished = || {
                input
                    .history
                    .unfinished_publish(&node.name)
                    .is_some_and(|key| key == node.key.hex())
            };
            let pushable = node.artifact().is_none();
            let stale = self.moving_stale.contains(&id);
            if pushable
                && input.registry.is_some()
                && (!self.in_registry(id) || stale || unfinished())
            {
                Action::Push
            } else {
                Action::UpToDate(Place::Local)
            }
        } else if self.in_registry(id) {
            Action::UpToDate(Place::Registry)
        } else if let Some(output) = artifact_output(node)
            .filter(|_| node.artifact().is_some() && artifact_built(input.history, node))
        {
            Action::Build(Reason::OutputMissing {
                what: output.kind().describe(),
                path: output.path().to_path_buf(),
            })
        } else {
            Action::Build(build_reason(
                input.history,
                node,
                self.snapshot,
                input.snapshot_changes.get(&id),
            ))
        }
    }
}

/// Whether the artifact stage `node` was built with its current key and its output is
/// still on disk.
fn artifact_present(history: &History, node: &reagent_graph::Node) -> bool {
    artifact_built(history, node) && artifact_output(node).is_some_and(|o| o.exists())
}

/// Whether the build record holds a build of `node` with its current key.
fn artifact_built(history: &History, node: &reagent_graph::Node) -> bool {
    let key = node.key.hex();
    history
        .of_node(&node.name)
        .any(|r| r.key == key && r.outcome == reagent_state::Outcome::Built)
}

/// What catalyst leaves for the spec stage `node`.
fn artifact_output(node: &reagent_graph::Node) -> Option<reagent_graph::Output> {
    let reagent_graph::Recipe::Stage(stage) = &node.recipe else {
        return None;
    };
    Some(stage.spec.as_ref()?.output(&stage.storedir))
}

/// The nodes the plan needs: the targets, the forced nodes, and, children first,
/// every parent of a needed node that will be built.
fn needed(
    graph: &Graph,
    selection: &[NodeId],
    actions: &BTreeMap<NodeId, Action>,
    input: &PlanInput<'_>,
) -> FxHashSet<NodeId> {
    let mut needed: FxHashSet<NodeId> = input.targets.iter().copied().collect();
    needed.extend(input.force.iter().copied());
    for id in selection.iter().rev() {
        if needed.contains(id) && matches!(actions.get(id), Some(Action::Build(_))) {
            needed.extend(graph.parents(*id));
        }
    }
    needed
}

/// Of `ids` (nodes whose key tag is in the registry), those with a moving tag
/// that does not carry the node's key label: missing, or still on an older
/// build. Up to 8 nodes are looked at at once; the first error wins.
fn stale_moving_tags(
    graph: &Graph,
    backend: &dyn Backend,
    registry: &str,
    ids: &[NodeId],
) -> Result<Vec<NodeId>, BackendError> {
    each_in_parallel(ids, |id| {
        let node = graph.node(id);
        let key = node.key.hex();
        for tag in names::moving_tags(node) {
            let labels = backend.remote_labels(&names::remote_tag(registry, node, &tag))?;
            if labels.as_ref().and_then(|l| l.get(LABEL_KEY)) != Some(&key) {
                return Ok(Some(id));
            }
        }
        Ok(None)
    })
}

/// `remote_exists` for each node, up to 8 lookups in flight; the first error wins.
fn remote_lookup(
    graph: &Graph,
    backend: &dyn Backend,
    registry: &str,
    ids: &[NodeId],
) -> Result<FxHashMap<NodeId, bool>, BackendError> {
    let found = each_in_parallel(ids, |id| {
        let r = names::remote_ref(registry, graph.node(id));
        backend.remote_exists(&r).map(|e| Some((id, e)))
    })?;
    Ok(found.into_iter().collect())
}

/// `ask` for each of `ids` on up to 8 threads (registry lookups wait on the
/// network, not the CPU): the answers that are `Some`, in no fixed order;
/// the first error wins.
fn each_in_parallel<T: Send>(
    ids: &[NodeId],
    ask: impl Fn(NodeId) -> Result<Option<T>, BackendError> + Sync,
) -> Result<Vec<T>, BackendError> {
    let chunk = ids.len().div_ceil(8).max(1);
    let ask = &ask;
    std::thread::scope(|s| {
        let handles: Vec<_> = ids
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    let mut answers = Vec::new();
                    for &id in part {
                        answers.extend(ask(id)?);
                    }
                    Ok::<_, BackendError>(answers)
                })
            })
            .collect();
        let mut out = Vec::new();
        for h in handles {
            out.extend(h.join().map_err(|_| {
                BackendError::Unreachable("registry lookup thread panicked".into())
            })??);
        }
        Ok(out)
    })
}
