//! The core data model: nodes, their kinds and recipes, keys and manifests.
//!
//! Everything else in reagent consumes these types; they are defined once, here.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A node's position in [`crate::Graph::nodes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NodeId(pub usize);

/// What a node produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// A portage ebuild tree packed into an image.
    Snapshot,
    /// A stage tarball (from a catalyst spec or a seed) imported as an image.
    Stage,
    /// An image built from a Containerfile.
    Image,
}

impl NodeKind {
    /// The lowercase word used in output (`snapshot`, `stage`, `image`).
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Snapshot => "snapshot",
            NodeKind::Stage => "stage",
            NodeKind::Image => "image",
        }
    }
}

impl fmt::Display for NodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A node's content key: blake3 over the canonical encoding of its manifest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(pub [u8; 32]);

impl Key {
    /// All 64 hex digits.
    pub fn hex(&self) -> String {
        blake3::Hash::from(self.0).to_hex().to_string()
    }

    /// The first 16 hex digits: the image tag reagent gives a build.
    pub fn short(&self) -> String {
        self.hex()[..16].to_string()
    }

    /// Parse 64 hex digits.
    pub fn from_hex(s: &str) -> Option<Key> {
        blake3::Hash::from_hex(s).ok().map(|h| Key(*h.as_bytes()))
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.short())
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

/// One input of a key: what it is, and the hash of its content.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Input {
    /// What the input is, e.g. `containerfile`, `context:app.conf`, `parent:base`, `use`.
    pub label: String,
    /// 64 hex digits of blake3 over the input's canonical bytes.
    pub hash: String,
    /// A short human-readable value when it is safe and useful to show
    /// (USE flags, a parent's key, an external image reference). Never a build arg.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The list of inputs a key was made from, sorted by label.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Inputs sorted by label; labels are unique.
    pub inputs: Vec<Input>,
}

/// Bumped whenever the key encoding changes, so old keys never collide with new ones.
pub const KEY_VERSION: &str = "reagent-key-v1";

impl Manifest {
    /// The key this manifest yields: blake3 over a versioned, length-prefixed
    /// encoding of every (label, hash) pair in label order.
    pub fn key(&self) -> Key {
        let mut h = blake3::Hasher::new();
        h.update(KEY_VERSION.as_bytes());
        h.update(&[0]);
        for input in &self.inputs {
            h.update(&(input.label.len() as u64).to_le_bytes());
            h.update(input.label.as_bytes());
            h.update(input.hash.as_bytes());
        }
        Key(*h.finalize().as_bytes())
    }

    /// Digest of the manifest itself (what the `org.reagent.manifest` label holds).
    pub fn digest(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        blake3::hash(&json).to_hex().to_string()
    }

    /// The input with `label`, if any.
    pub fn get(&self, label: &str) -> Option<&Input> {
        self.inputs
            .binary_search_by(|i| i.label.as_str().cmp(label))
            .ok()
            .map(|i| &self.inputs[i])
    }
}

/// Collects a node's inputs; finishing sorts them into a [`Manifest`].
#[derive(Debug, Default)]
pub struct ManifestBuilder {
    inputs: BTreeMap<String, Input>,
}

impl ManifestBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add an input whose content is `bytes`.
    pub fn bytes(&mut self, label: impl Into<String>, bytes: &[u8]) -> &mut Self {
        self.hash(label, blake3::hash(bytes), None)
    }

    /// Add an input with a readable value that is also what gets hashed.
    pub fn shown(&mut self, label: impl Into<String>, value: &str) -> &mut Self {
        self.hash(
            label,
            blake3::hash(value.as_bytes()),
            Some(value.to_string()),
        )
    }

    /// Add an input by an already computed hash, with an optional readable detail.
    pub fn hash(
        &mut self,
        label: impl Into<String>,
        hash: blake3::Hash,
        detail: Option<String>,
    ) -> &mut Self {
        let label = label.into();
        self.inputs.insert(
            label.clone(),
            Input {
                label,
                hash: hash.to_hex().to_string(),
                detail,
            },
        );
        self
    }

    /// The sorted manifest.
    pub fn finish(self) -> Manifest {
        Manifest {
            inputs: self.inputs.into_values().collect(),
        }
    }
}

/// A node of the build graph.
#[derive(Debug, Clone)]
pub struct Node {
    /// Its index in the graph.
    pub id: NodeId,
    /// Its name: the image repository name (`base`, `nginx`) or stage/snapshot name.
    pub name: String,
    /// What it produces.
    pub kind: NodeKind,
    /// Where it is defined, relative to the project root (an image folder, a spec
    /// file, or the snapshot tree's path as written in `graph.toml`).
    pub path: PathBuf,
    /// The nodes it is built from, sorted by id.
    pub deps: Vec<NodeId>,
    /// Its content key.
    pub key: Key,
    /// The inputs its key was made from.
    pub manifest: Manifest,
    /// How to make it.
    pub recipe: Recipe,
}

/// How a node is made: everything the executor needs, with absolute paths.
#[derive(Debug, Clone)]
pub enum Recipe {
    /// Pack a portage tree into an image.
    Snapshot(SnapshotRecipe),
    /// Import a stage tarball (from catalyst or a seed).
    Stage(StageRecipe),
    /// Build a Containerfile.
    Image(ImageRecipe),
}

/// Recipe of a [`NodeKind::Snapshot`] node.
#[derive(Debug, Clone)]
pub struct SnapshotRecipe {
    /// The tree on disk (absolute).
    pub tree: PathBuf,
    /// Its identity label (`commit:<id>` or `tree:<hex>`).
    pub identity: String,
}

/// Recipe of a [`NodeKind::Stage`] node.
#[derive(Debug, Clone)]
pub struct StageRecipe {
    /// The parsed catalyst spec, with placeholders filled (None for a seed stage).
    pub spec: Option<reagent_catalyst::Spec>,
    /// The spec file (absolute), if any.
    pub spec_file: Option<PathBuf>,
    /// A seed tarball to import instead of running catalyst.
    pub seed: Option<Seed>,
    /// `<rel_type>/<target>-<subarch>-<version_stamp>` for spec stages.
    pub produces: Option<String>,
    /// A `source_subpath` no stage of the project produces: an external seed.
    pub external_source: Option<String>,
    /// catalyst's storedir.
    pub storedir: PathBuf,
}

/// A stage tarball given in `graph.toml`.
#[derive(Debug, Clone)]
pub struct Seed {
    /// The tarball (absolute).
    pub tarball: PathBuf,
    /// Its expected SHA-256, lowercase hex.
    pub sha256: String,
}

/// Recipe of a [`NodeKind::Image`] node.
#[derive(Debug, Clone)]
pub struct ImageRecipe {
    /// The Containerfile (absolute).
    pub containerfile: PathBuf,
    /// Its text, as read when the key was computed.
    pub containerfile_text: String,
    /// The build context folder (absolute).
    pub context: PathBuf,
    /// Build args from `graph.toml`.
    pub args: BTreeMap<String, String>,
    /// `--target` stage, if any.
    pub target: Option<String>,
    /// Extra tags from `graph.toml`.
    pub tags: Vec<String>,
    /// Squash into one layer.
    pub squash: bool,
    /// `--platform`.
    pub platform: Option<String>,
    /// Test commands from `graph.toml`.
    pub tests: Vec<String>,
    /// Secret files by id (absolute), for `RUN --mount=type=secret,id=ID`;
    /// not inputs of the key: a secret must not change what is built.
    pub secrets: BTreeMap<String, PathBuf>,
    /// Effective USE flags: flag → enabled, in flag order.
    pub use_flags: BTreeMap<String, bool>,
    /// The `NN-` prefix of the image folder: the seed's "initial" images.
    pub order: Option<u32>,
    /// References in the Containerfile that name other nodes: (reference as
    /// resolved in the file, the node it names).
    pub node_refs: Vec<(String, NodeId)>,
}

impl ImageRecipe {
    /// USE flags as portage reads them: `a b -c`.
    pub fn use_string(&self) -> String {
        use_string(&self.use_flags)
    }
}

/// Render a flag map as portage's USE string (`a b -c`).
pub fn use_string(flags: &BTreeMap<String, bool>) -> String {
    flags
        .iter()
        .map(|(f, on)| if *on { f.clone() } else { format!("-{f}") })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Fold USE flag lists in order: `flag` enables, `-flag` disables, `-*` clears.
pub fn effective_use<'a>(lists: impl IntoIterator<Item = &'a String>) -> BTreeMap<String, bool> {
    let mut flags = BTreeMap::new();
    for flag in lists {
        if flag == "-*" {
            flags.clear();
        } else if let Some(off) = flag.strip_prefix('-') {
            flags.insert(off.to_string(), false);
        } else {
            flags.insert(flag.clone(), true);
        }
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ignores_insertion_order() {
        let mut a = ManifestBuilder::new();
        a.bytes("x", b"1").bytes("y", b"2");
        let mut b = ManifestBuilder::new();
        b.bytes("y", b"2").bytes("x", b"1");
        assert_eq!(a.finish().key(), b.finish().key());
    }

    #[test]
    fn key_moves_with_label_and_content() {
        let key = |label: &str, v: &[u8]| {
            let mut m = ManifestBuilder::new();
            m.bytes(label, v);
            m.finish().key()
        };
        assert_ne!(key("x", b"1"), key("x", b"2"));
        assert_ne!(key("x", b"1"), key("z", b"1"));
    }

    #[test]
    fn key_hex_round_trips() {
        let mut m = ManifestBuilder::new();
        m.bytes("x", b"1");
        let k = m.finish().key();
        assert_eq!(Key::from_hex(&k.hex()), Some(k));
        assert_eq!(k.short().len(), 16);
    }

    #[test]
    fn use_flags_fold_in_order() {
        let flags: Vec<String> = ["ssl", "X", "-X", "-*", "http2", "-ipv6"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let eff = effective_use(&flags);
        assert_eq!(use_string(&eff), "http2 -ipv6");
    }

    #[test]
    fn manifest_get_finds_by_label() {
        let mut m = ManifestBuilder::new();
        m.shown("use", "ssl").bytes("containerfile", b"FROM x");
        let m = m.finish();
        assert_eq!(m.get("use").unwrap().detail.as_deref(), Some("ssl"));
        assert!(m.get("nope").is_none());
    }
}
