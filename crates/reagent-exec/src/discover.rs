//! Discovered inputs: an image is rebuilt after a sync only when the sync touched
//! what its last build read of the portage tree — like a ninja depfile.
//!
//! **Recording.** Each build of an image built from the snapshot node (with
//! `invalidation = "packages"`, the default) mounts an empty file over
//! `/var/log/emerge.log` in every `RUN` step, so the file ends up holding exactly
//! the merges of that build, build dependencies removed again by `--depclean`
//! included ([`reagent_gentoo::emerge_log`]). The image's profile is read from its
//! `/etc/portage/make.profile`. Together they make the image's *slice* of the tree
//! ([`reagent_gentoo::slice::Slice`]). A [`Discovery`] — the node's key without
//! its snapshot input (`k0`), the snapshot key it was built with, the packages,
//! the profile and the slice's hash — is kept in the build record, and with a
//! registry, pushed as the labels of an empty image `<registry>/<name>:k0-<k0 16>`
//! next to the image, so another machine reaches the same decision.
//!
//! **Deciding.** Before planning, [`resolve`] walks the graph parents-first. For
//! each such image it looks for a discovery with the image's current `k0` (the
//! build record first, then the registry) whose slice hashes the same in the
//! current tree. When one does, the image is keyed with the snapshot key that
//! build was made with: the same key as then, so it is up to date and its
//! children's keys do not move. Otherwise it is keyed with the current snapshot
//! (the `tree` rule) and rebuilt, and its new build records a new discovery. A
//! build whose log shows no merge records nothing: it stays on the `tree` rule.
//!
//! Keys stay content addresses: a key still names one set of inputs — `k0` and
//! the snapshot it was built from — and the note's labels say why a newer tree
//! may use it (its slice is unchanged), which anyone can check.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use reagent_backend::{Backend, BackendError};
use reagent_gentoo::emerge_log::Origin;
use reagent_gentoo::slice::{Slice, SliceError, TreeReader};
use reagent_graph::config::Invalidation;
use reagent_graph::graph::Pin;
use reagent_graph::{Graph, Key, Node, NodeId, Recipe};
use reagent_state::History;
use serde::{Deserialize, Serialize};

/// Label of a discovery note: the [`Discovery`] as JSON, without its parts.
pub const LABEL_DISCOVERY: &str = "org.reagent.discovery";

/// Where a build's packages are logged inside its `RUN` steps.
pub const EMERGE_LOG: &str = "/var/log/emerge.log";

/// What one build of an image read of the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovery {
    /// The node's key without its snapshot input, 64 hex.
    pub k0: String,
    /// The key of the snapshot the build was made with, 64 hex.
    pub snapshot: String,
    /// The packages it merged, `category/package-version`, followed by
    /// `::<repository location>` (as `emerge.log` writes it, e.g.
    /// `::/var/db/repos/gentoo`) for one built from an ebuild; a package merged
    /// from a binary package has no suffix.
    pub packages: Vec<String>,
    /// Its profile, relative to the tree's `profiles/`, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The hash of its slice of the tree.
    pub slice: String,
    /// The slice's parts (kept in the build record to say what changed; not in notes).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parts: BTreeMap<String, String>,
}

impl Discovery {
    /// The packages as `category/package`, each once.
    pub fn package_names(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .packages
            .iter()
            .filter_map(|p| {
                let cpv = p.split_once("::").map_or(p.as_str(), |(c, _)| c);
                reagent_gentoo::Cpv::parse(cpv).ok().map(|c| c.cp())
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The discovery without its parts, as a note's label carries it.
    #[must_use]
    pub fn note(&self) -> Discovery {
        Discovery {
            parts: BTreeMap::new(),
            ..self.clone()
        }
    }

    /// The slice these packages and profile make of the tree `reader` reads.
    pub fn slice_in(&self, reader: &TreeReader) -> Result<Slice, SliceError> {
        Slice::compute(reader, self.profile.as_deref(), &self.package_names())
    }
}

/// The registry reference of a node's discovery note for `k0`.
pub fn note_ref(registry: &str, node: &Node, k0: &Key) -> String {
    format!("{registry}/{}:k0-{}", node.name, k0.short())
}

/// What [`resolve`] decided for a node built from the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A build whose slice is unchanged still holds: keyed with its snapshot key.
    Unchanged {
        /// The snapshot key it was built with.
        snapshot: Key,
        /// How many packages its slice is made of.
        packages: usize,
        /// The discovery that decided, when it came from the registry (a pull records it).
        from_registry: Option<Discovery>,
    },
    /// The last build's slice changed: these parts (in words).
    Changed(Vec<String>),
    /// No build with these inputs recorded what it read: the `tree` rule.
    Unknown,
    /// The image is on the `tree` rule (`invalidation = "tree"`, or not an image).
    Tree,
}

/// Why keys could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The snapshot tree could not be read.
    #[error("reading the snapshot for discovered inputs: {0}")]
    Tree(#[from] SliceError),
    /// The registry could not be asked.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// Where to look for discoveries made on other machines.
#[derive(Clone, Copy)]
pub struct Remote<'a> {
    /// The backend that reads the registry.
    pub backend: &'a dyn Backend,
    /// The registry prefix.
    pub registry: &'a str,
}

/// Re-key `graph` with discovered inputs (see the module docs); the verdict for
/// every node built from the snapshot.
pub fn resolve(
    graph: &mut Graph,
    history: &History,
    remote: Option<Remote<'_>>,
) -> Result<HashMap<NodeId, Verdict>, ResolveError> {
    let Some(tree) = snapshot_tree(graph) else {
        return Ok(HashMap::new());
    };
    let reader = TreeReader::new(&tree);
    let mut verdicts = HashMap::new();
    let mut failure: Option<ResolveError> = None;
    graph.rekey(|g, id, k0| {
        if failure.is_some() {
            return None;
        }
        let node = g.node(id);
        let verdict = match decide(node, &k0, history, remote, &reader) {
            Ok(v) => v,
            Err(e) => {
                failure = Some(e);
                return None;
            }
        };
        let pin = match &verdict {
            Verdict::Unchanged {
                snapshot, packages, ..
            } => Some(Pin {
                key: *snapshot,
                detail: format!(
                    "{} (slice of {packages} packages unchanged)",
                    snapshot.short()
                ),
            }),
            _ => None,
        };
        verdicts.insert(id, verdict);
        pin
    });
    match failure {
        Some(e) => Err(e),
        None => Ok(verdicts),
    }
}

/// The snapshot node's tree on disk, if the project has one.
pub fn snapshot_tree(graph: &Graph) -> Option<PathBuf> {
    let id = graph.snapshot()?;
    match &graph.node(id).recipe {
        Recipe::Snapshot(s) => Some(s.tree.clone()),
        _ => None,
    }
}

/// How many recorded builds of one `k0` are tried, newest first.
const CANDIDATES: usize = 4;

fn decide(
    node: &Node,
    k0: &Key,
    history: &History,
    remote: Option<Remote<'_>>,
    reader: &TreeReader,
) -> Result<Verdict, ResolveError> {
    let Recipe::Image(image) = &node.recipe else {
        return Ok(Verdict::Tree);
    };
    if image.snapshot != Some(Invalidation::Packages) {
        return Ok(Verdict::Tree);
    }
    let k0_hex = k0.hex();
    let recorded: Vec<Discovery> = history
        .of_node(&node.name)
        .rev()
        .filter(|r| r.outcome.is_success())
        .filter_map(|r| r.discovery.as_ref())
        .filter_map(|d| d.parse::<Discovery>().ok())
        .filter(|d| d.k0 == k0_hex)
        .take(CANDIDATES)
        .collect();
    let mut first_slice = None;
    for d in &recorded {
        let slice = d.slice_in(reader)?;
        if slice.hash() == d.slice {
            if let Some(snapshot) = Key::from_hex(&d.snapshot) {
                return Ok(Verdict::Unchanged {
                    snapshot,
                    packages: d.package_names().len(),
                    from_registry: None,
                });
            }
        }
        first_slice.get_or_insert(slice);
    }
    if let (Some(newest), Some(now)) = (recorded.first(), first_slice) {
        let before = Slice {
            parts: newest.parts.clone(),
        };
        let words = Slice::changes(&before, &now)
            .iter()
            .map(ToString::to_string)
            .collect();
        return Ok(Verdict::Changed(words));
    }
    if let Some(remote) = remote {
        let reference = note_ref(remote.registry, node, k0);
        if let Some(labels) = remote.backend.remote_labels(&reference)? {
            let found = labels
                .get(LABEL_DISCOVERY)
                .and_then(|json| serde_json::from_str::<Discovery>(json).ok())
                .filter(|d| d.k0 == k0_hex);
            if let Some(d) = found {
                if d.slice_in(reader)?.hash() == d.slice {
                    if let Some(snapshot) = Key::from_hex(&d.snapshot) {
                        return Ok(Verdict::Unchanged {
                            snapshot,
                            packages: d.package_names().len(),
                            from_registry: Some(d),
                        });
                    }
                }
                return Ok(Verdict::Changed(vec![
                    "the slice recorded in the registry changed".into(),
                ]));
            }
        }
    }
    Ok(Verdict::Unknown)
}

/// The discovery of a build of `node` just made: the packages its `emerge.log`
/// (`log`) shows, the profile its root filesystem `root` links to, and the slice
/// they make of `tree`. `None` when the build merged nothing.
pub fn discovered(
    k0: &Key,
    snapshot: &Key,
    log: &str,
    profile: Option<String>,
    tree: &Path,
) -> Result<Option<Discovery>, SliceError> {
    let merged = reagent_gentoo::emerge_log::merged(log);
    if merged.is_empty() {
        return Ok(None);
    }
    let mut d = Discovery {
        k0: k0.hex(),
        snapshot: snapshot.hex(),
        packages: merged
            .iter()
            .map(|m| match &m.origin {
                Some(Origin::Ebuild { repo_location }) => format!("{}::{repo_location}", m.cpv),
                _ => m.cpv.clone(),
            })
            .collect(),
        profile,
        slice: String::new(),
        parts: BTreeMap::new(),
    };
    let slice = d.slice_in(&TreeReader::new(tree))?;
    d.slice = slice.hash();
    d.parts = slice.parts;
    Ok(Some(d))
}

/// The profile an image's root filesystem `root` selects: the target of
/// `etc/portage/make.profile` after its `profiles/` (e.g. `default/linux/amd64`).
pub fn profile_of(root: &Path) -> Option<String> {
    let target = std::fs::read_link(root.join("etc/portage/make.profile")).ok()?;
    let text = target.to_string_lossy().into_owned();
    let after = text.rsplit_once("profiles/")?.1;
    let profile = after.trim_end_matches('/');
    (!profile.is_empty()).then(|| profile.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_drop_versions_and_repositories() {
        let d = Discovery {
            k0: String::new(),
            snapshot: String::new(),
            packages: vec![
                "app-misc/hello-1.0-r1::mini".into(),
                "dev-util/bdep-2".into(),
                "app-misc/hello-1.1::mini".into(),
                "garbage".into(),
            ],
            profile: None,
            slice: String::new(),
            parts: BTreeMap::new(),
        };
        assert_eq!(d.package_names(), ["app-misc/hello", "dev-util/bdep"]);
    }

    #[test]
    fn the_profile_is_read_from_the_make_profile_link() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("etc/portage")).unwrap();
        std::os::unix::fs::symlink(
            "../../var/db/repos/gentoo/profiles/default/linux/amd64/23.0",
            root.path().join("etc/portage/make.profile"),
        )
        .unwrap();
        assert_eq!(
            profile_of(root.path()).as_deref(),
            Some("default/linux/amd64/23.0")
        );
        assert_eq!(profile_of(&root.path().join("nowhere")), None);
    }
}
