//! Linking drafts into the graph: ids by name, references into edges, a cycle
//! located at the reference that closes it, and keys computed parents first.

use std::collections::HashMap;
use std::path::PathBuf;

use rayon::prelude::*;
use reagent_catalyst::compression::strip_extension;
use reagent_catalyst::OutputKind;
use rustc_hash::{FxBuildHasher, FxHashMap};

use super::{Draft, Loader};
use crate::config::CONFIG_FILE;
use crate::error::{relative, ProjectError, ProjectErrors};
use crate::graph::{Cycle, Graph};
use crate::model::{
    InputClass, Key, Label, Manifest, ManifestBuilder, Node, NodeId, NodeKind, Recipe,
};

/// Where an edge `(child, parent)` is written: a file and line.
type Sites = HashMap<(String, String), (PathBuf, usize)>;

impl Loader<'_> {
    /// Assign ids (in name order), turn parent names into edges, check for cycles,
    /// compute keys.
    pub(super) fn link(&self, drafts: Vec<Draft>) -> Result<Graph, ProjectErrors> {
        let mut drafts = by_name(drafts);
        let errors = self.onbuild_inputs(&mut drafts);
        if !errors.is_empty() {
            return Err(ProjectErrors(errors));
        }
        let (edges, errors) = self.edges(&mut drafts);
        if !errors.is_empty() {
            return Err(ProjectErrors(errors));
        }
        // Where each edge is written is wanted only to point at a cycle: looked up
        // only when there is one.
        let sites = has_cycle(drafts.len(), &edges).then(|| {
            let (produced, _) = producers(&drafts);
            self.edge_sites(&drafts, &produced)
        });
        let mut nodes = Vec::with_capacity(drafts.len());
        let mut partial = Vec::with_capacity(drafts.len());
        for (i, d) in drafts.into_iter().enumerate() {
            nodes.push(Node {
                id: NodeId(i),
                name: d.name,
                kind: d.kind,
                path: d.path,
                key: Key([0; 32]),
                manifest: Manifest::default(),
                recipe: d.recipe,
            });
            // The partial manifest waits until the parents are keyed.
            partial.push(d.inputs);
        }
        let mut graph = Graph::new(nodes, edges)
            .map_err(|cycle| cycle_error(&cycle, &sites.unwrap_or_default()))?;
        fill_keys(&mut graph, partial);
        Ok(graph)
    }

    /// The edges `(parent, child)` between `drafts` (ids are positions): each image's
    /// parents, a stage's `source_subpath` producer and the snapshot under every
    /// spec stage. Resolves what they name in the drafts (an image's node references,
    /// a stage's external source and seed), with an error for each parent that
    /// cannot be built from.
    fn edges(&self, drafts: &mut [Draft]) -> (Vec<(NodeId, NodeId)>, Vec<ProjectError>) {
        let mut ids: FxHashMap<String, NodeId> =
            FxHashMap::with_capacity_and_hasher(drafts.len(), FxBuildHasher);
        ids.extend(
            drafts
                .iter()
                .enumerate()
                .map(|(i, d)| (d.name.clone(), NodeId(i))),
        );
        // Stages chain through source_subpath; spec stages all read the snapshot.
        let (produced, mut errors) = producers(drafts);
        let snapshot = drafts
            .iter()
            .find(|d| d.kind == NodeKind::Snapshot)
            .map(|d| ids[&d.name]);
        let artifacts: FxHashMap<String, OutputKind> = drafts
            .iter()
            .filter_map(|d| match &d.recipe {
                Recipe::Stage(s) => s.artifact().map(|a| (d.name.clone(), a)),
                _ => None,
            })
            .collect();
        let mut edges = Vec::with_capacity(drafts.len());
        for (i, d) in drafts.iter_mut().enumerate() {
            let id = NodeId(i);
            match &mut d.recipe {
                Recipe::Stage(stage) => {
                    if let Some(src) = stage.external_source.clone() {
                        if let Some(parent) = produced.get(strip_extension(&src)) {
                            edges.push((ids[parent], id));
                            stage.external_source = None;
                        } else {
                            stage.seed_lock = self.lock.seed(&src).cloned();
                            super::lock::seed_input(&mut d.inputs, &src, stage.seed_lock.as_ref());
                        }
                    }
                    if let (Some(s), true) = (snapshot, stage.spec.is_some()) {
                        edges.push((s, id));
                    }
                }
                Recipe::Image(image) => {
                    for (name, resolved, line) in &d.parents {
                        let parent = ids[name];
                        if let Some(artifact) = artifacts.get(name) {
                            errors.push(ProjectError::at(
                                relative(self.root, &image.containerfile),
                                *line,
                                format!(
                                    "`{name}` makes {} {}, not a stage tarball: no image \
                                     can be built FROM it",
                                    article(artifact.describe()),
                                    artifact.describe()
                                ),
                            ));
                        }
                        image.node_refs.push((resolved.clone(), parent));
                        edges.push((parent, id));
                    }
                    // Built from the snapshot node, or not at all from the snapshot.
                    if snapshot.is_none_or(|s| !image.node_refs.iter().any(|(_, p)| *p == s)) {
                        image.snapshot = None;
                    }
                }
                Recipe::Snapshot(_) => {}
            }
        }
        (edges, errors)
    }

    /// Where each edge `(child, parent)` is written: the Containerfile line naming the
    /// parent, or the spec's `source_subpath` line. Used to locate a cycle.
    fn edge_sites(&self, drafts: &[Draft], produced: &HashMap<String, String>) -> Sites {
        let mut sites = Sites::new();
        for d in drafts {
            match &d.recipe {
                Recipe::Image(image) => {
                    let file = relative(self.root, &image.containerfile);
                    for (parent, _, line) in &d.parents {
                        sites
                            .entry((d.name.clone(), parent.clone()))
                            .or_insert_with(|| (file.clone(), *line));
                    }
                }
                Recipe::Stage(stage) => {
                    let (Some(spec), Some(file), Some(src)) =
                        (&stage.spec, &stage.spec_file, &stage.external_source)
                    else {
                        continue;
                    };
                    if let (Some(parent), Some(entry)) = (
                        produced.get(strip_extension(src)),
                        spec.get("source_subpath"),
                    ) {
                        sites.insert(
                            (d.name.clone(), parent.clone()),
                            (relative(self.root, file), entry.line),
                        );
                    }
                }
                Recipe::Snapshot(_) => {}
            }
        }
        sites
    }
}

/// Which stage produces each build (by [`reagent_catalyst::Spec::produces`]), and an
/// error for each build two specs produce: catalyst would write one over the other,
/// and a child naming it could not say which it means.
fn producers(drafts: &[Draft]) -> (HashMap<String, String>, Vec<ProjectError>) {
    let mut produced: HashMap<String, String> = HashMap::new();
    let mut paths: HashMap<String, PathBuf> = HashMap::new();
    let mut errors = Vec::new();
    for d in drafts {
        let Recipe::Stage(stage) = &d.recipe else {
            continue;
        };
        let Some(build) = &stage.produces else {
            continue;
        };
        if let Some(first) = paths.get(build) {
            errors.push(ProjectError::in_file(
                &d.path,
                format!(
                    "builds `{build}`, which `{}` builds too; catalyst would write one over \
                     the other: change the version_stamp, rel_type or subarch of one",
                    first.display()
                ),
            ));
            continue;
        }
        paths.insert(build.clone(), d.path.clone());
        produced.insert(build.clone(), d.name.clone());
    }
    (produced, errors)
}

/// `a` or `an` before `word`.
fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u', 'I', 'A', 'E', 'O', 'U']) {
        "an"
    } else {
        "a"
    }
}

/// `a -> b` in a cycle means b is built from a: point at where b names a.
fn cycle_error(cycle: &Cycle, sites: &Sites) -> ProjectError {
    let message = format!("dependency cycle: {cycle}");
    let site = cycle
        .0
        .windows(2)
        .find_map(|w| sites.get(&(w[1].clone(), w[0].clone())));
    match site {
        Some((file, line)) => ProjectError::at(file, *line, message),
        None => ProjectError::in_file(CONFIG_FILE, message),
    }
}

/// `drafts` in name order (names are unique by now). A draft is large: the order
/// is found on indices and each draft moved once, not at every step of a sort.
fn by_name(drafts: Vec<Draft>) -> Vec<Draft> {
    let mut order: Vec<usize> = (0..drafts.len()).collect();
    order.sort_unstable_by(|&a, &b| drafts[a].name.cmp(&drafts[b].name));
    let mut slots: Vec<Option<Draft>> = drafts.into_iter().map(Some).collect();
    order.iter().filter_map(|&i| slots[i].take()).collect()
}

/// Whether the edges `(parent, child)` between `n` nodes (ids are positions) close
/// a cycle: Kahn's algorithm, without building the graph.
fn has_cycle(n: usize, edges: &[(NodeId, NodeId)]) -> bool {
    let mut indegree = vec![0usize; n];
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(parent, child) in edges {
        indegree[child.0] += 1;
        children[parent.0].push(child.0);
    }
    let mut ready: Vec<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut done = 0;
    while let Some(i) = ready.pop() {
        done += 1;
        for &c in &children[i] {
            indegree[c] -= 1;
            if indegree[c] == 0 {
                ready.push(c);
            }
        }
    }
    done < n
}

/// Finish every node's manifest with its parents' keys, parents first, and key it.
///
/// Nodes are keyed a wave at a time, each wave on every core: a wave holds the
/// nodes whose parents are all in earlier waves. A project is shallow (snapshot,
/// stages, base, build-deps, leaves), so its widest waves hold nearly all nodes.
fn fill_keys(graph: &mut Graph, partial: Vec<ManifestBuilder>) {
    let mut partial: Vec<Option<ManifestBuilder>> = partial.into_iter().map(Some).collect();
    let mut depth = vec![0usize; graph.len()];
    let mut waves: Vec<Vec<NodeId>> = Vec::new();
    for &id in graph.topological() {
        let d = graph
            .parents(id)
            .iter()
            .map(|p| depth[p.0] + 1)
            .max()
            .unwrap_or(0);
        depth[id.0] = d;
        if waves.len() <= d {
            waves.resize_with(d + 1, Vec::new);
        }
        waves[d].push(id);
    }
    for wave in waves {
        let work: Vec<(NodeId, ManifestBuilder)> = wave
            .iter()
            .map(|&id| (id, partial[id.0].take().unwrap_or_default()))
            .collect();
        let keyed_so_far = &*graph;
        let keyed: Vec<(NodeId, Key, Manifest)> = work
            .into_par_iter()
            .map(|(id, mut inputs)| {
                for parent in keyed_so_far.parents(id) {
                    let parent = keyed_so_far.node(parent);
                    inputs.hash(
                        Label::with(InputClass::Parent, &parent.name),
                        blake3::Hash::from(parent.key.0),
                        Some(parent.key.short()),
                    );
                }
                let manifest = inputs.finish();
                (id, manifest.key(), manifest)
            })
            .collect();
        for (id, key, manifest) in keyed {
            let node = graph.node_mut(id);
            node.key = key;
            node.manifest = manifest;
        }
    }
}
