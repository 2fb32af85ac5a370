//! The core data model: nodes, their kinds and recipes, keys and manifests.
//!
//! Everything else in reagent consumes these types; they are defined once, here.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
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

/// The image format an image is written in (`buildah build --format`).
///
/// OCI, buildah's default, has no place for `HEALTHCHECK`, `ONBUILD` and `SHELL`:
/// buildah drops them with a warning. Docker's format keeps them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    /// The OCI image format (the default).
    #[default]
    Oci,
    /// Docker's image format (schema 2), which keeps `HEALTHCHECK`, `ONBUILD` and `SHELL`.
    Docker,
}

impl ImageFormat {
    /// The word `graph.toml` and buildah's `--format` use (`oci`, `docker`).
    pub fn as_str(self) -> &'static str {
        match self {
            ImageFormat::Oci => "oci",
            ImageFormat::Docker => "docker",
        }
    }
}

/// A node's content key: blake3 over the canonical encoding of its manifest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(pub [u8; 32]);

impl Key {
    /// All 64 hex digits.
    pub fn hex(&self) -> String {
        blake3::Hash::from(self.0).to_hex().as_str().to_owned()
    }

    /// The first 16 hex digits: the image tag reagent gives a build.
    pub fn short(&self) -> String {
        blake3::Hash::from(self.0).to_hex()[..16].to_owned()
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

/// What kind of input a key input is: the part of its [`Label`] before `:`.
///
/// The words are part of the build record's JSON (`"label": "context:app.conf"`), so
/// they never change; a new kind of input gets a new word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InputClass {
    /// `kind`: what the node is (snapshot, stage, image).
    Kind,
    /// `containerfile`: the Containerfile's text.
    Containerfile,
    /// `context:<path>`: one build-context entry the Containerfile reads.
    Context,
    /// `remote:<url>`: a URL `ADD` fetches, as written.
    Remote,
    /// `arg:<name>`: a build arg's value (hashed, never shown).
    Arg,
    /// `target`: the `--target` stage.
    Target,
    /// `squash`: the image is squashed.
    Squash,
    /// `platform`: `--platform`.
    Platform,
    /// `snapshot`: the portage snapshot's identity.
    Snapshot,
    /// `portage:<path>`: one file of the `[portage] config` folder.
    Portage,
    /// `use`: the effective USE flags.
    Use,
    /// `external:<reference>`: a base image from outside the project.
    External,
    /// `parent:<node>`: the key of a node this one is built from.
    Parent,
    /// `spec:<key>`: one setting of a catalyst spec.
    Spec,
    /// `source_subpath`: an external catalyst seed, by its path.
    SourceSubpath,
    /// `seed`: a seed tarball's declared SHA-256.
    Seed,
    /// `format`: the image format written, when it is not the default OCI.
    Format,
}

impl InputClass {
    /// Every class, for parsing.
    const ALL: [InputClass; 17] = [
        InputClass::Kind,
        InputClass::Containerfile,
        InputClass::Context,
        InputClass::Remote,
        InputClass::Arg,
        InputClass::Target,
        InputClass::Squash,
        InputClass::Platform,
        InputClass::Snapshot,
        InputClass::Portage,
        InputClass::Use,
        InputClass::External,
        InputClass::Parent,
        InputClass::Spec,
        InputClass::SourceSubpath,
        InputClass::Seed,
        InputClass::Format,
    ];

    /// The word in labels (`context`, `parent`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            InputClass::Kind => "kind",
            InputClass::Containerfile => "containerfile",
            InputClass::Context => "context",
            InputClass::Remote => "remote",
            InputClass::Arg => "arg",
            InputClass::Target => "target",
            InputClass::Squash => "squash",
            InputClass::Platform => "platform",
            InputClass::Snapshot => "snapshot",
            InputClass::Portage => "portage",
            InputClass::Use => "use",
            InputClass::External => "external",
            InputClass::Parent => "parent",
            InputClass::Spec => "spec",
            InputClass::SourceSubpath => "source_subpath",
            InputClass::Seed => "seed",
            InputClass::Format => "format",
        }
    }

    /// The class whose word is `word`.
    pub fn from_word(word: &str) -> Option<InputClass> {
        InputClass::ALL.into_iter().find(|c| c.as_str() == word)
    }
}

/// An input's label: its [`InputClass`] and, for classes with one input per item, a
/// subject (`context:app.conf`, `parent:base`). It is kept as its text, which is what the
/// key hashes and what the build record stores; [`Label::class`] reads the class back.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Label(String);

impl Label {
    /// A label with no subject (`containerfile`, `use`).
    pub fn of(class: InputClass) -> Label {
        Label(class.as_str().to_string())
    }

    /// A label with a subject (`context:app.conf`).
    pub fn with(class: InputClass, subject: &str) -> Label {
        let class = class.as_str();
        let mut label = String::with_capacity(class.len() + 1 + subject.len());
        label.push_str(class);
        label.push(':');
        label.push_str(subject);
        Label(label)
    }

    /// Its class; `None` for a label this version of reagent does not know (read from a
    /// record written by a newer one).
    pub fn class(&self) -> Option<InputClass> {
        InputClass::from_word(self.0.split_once(':').map_or(self.0.as_str(), |(c, _)| c))
    }

    /// The subject after `:` (empty when there is none).
    pub fn subject(&self) -> &str {
        self.0.split_once(':').map_or("", |(_, s)| s)
    }

    /// The label's text, as hashed and recorded.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A path relative to a project folder (or a build context) as label text: UTF-8 as it
/// is, any other byte as `\xNN`, and `\` itself doubled, so two different paths never
/// share a label (a non-UTF-8 name is part of the key, byte for byte).
pub fn path_subject(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// One input of a key: what it is, and the hash of its content.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Input {
    /// What the input is, e.g. `containerfile`, `context:app.conf`, `parent:base`, `use`.
    pub label: Label,
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
        // The encoding is laid out in one buffer and hashed at once: the same bytes
        // as updating a hasher piece by piece, without its cost per (small) update.
        let len = self
            .inputs
            .iter()
            .map(|i| 8 + i.label.as_str().len() + i.hash.len())
            .sum::<usize>();
        let mut bytes = Vec::with_capacity(KEY_VERSION.len() + 1 + len);
        bytes.extend_from_slice(KEY_VERSION.as_bytes());
        bytes.push(0);
        for input in &self.inputs {
            let label = input.label.as_str();
            bytes.extend_from_slice(&(label.len() as u64).to_le_bytes());
            bytes.extend_from_slice(label.as_bytes());
            bytes.extend_from_slice(input.hash.as_bytes());
        }
        Key(*blake3::hash(&bytes).as_bytes())
    }

    /// Digest of the manifest itself (what the `org.reagent.manifest` label holds):
    /// blake3 over its JSON encoding.
    pub fn digest(&self) -> String {
        let mut h = blake3::Hasher::new();
        // Writing into a hasher cannot fail, and a manifest is strings only: serde_json
        // has nothing to refuse. Should that ever change, the error is a bug worth a panic
        // in tests, and here it would still leave a digest of what was written.
        let written = serde_json::to_writer(HashWriter(&mut h), self);
        debug_assert!(written.is_ok(), "a manifest always serializes");
        h.finalize().to_hex().to_string()
    }

    /// This manifest without the input labelled `label`.
    #[must_use]
    pub fn without(&self, label: &str) -> Manifest {
        Manifest {
            inputs: self
                .inputs
                .iter()
                .filter(|i| i.label.as_str() != label)
                .cloned()
                .collect(),
        }
    }

    /// The input whose label text is `label` (`context:app.conf`), if any.
    pub fn get(&self, label: &str) -> Option<&Input> {
        self.inputs
            .binary_search_by(|i| i.label.as_str().cmp(label))
            .ok()
            .map(|i| &self.inputs[i])
    }
}

/// `io::Write` into a blake3 hasher (for hashing a serialization without a buffer).
struct HashWriter<'a>(&'a mut blake3::Hasher);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Collects a node's inputs; finishing sorts them into a [`Manifest`]. An input
/// added again under a label it already has replaces the earlier one.
#[derive(Debug, Default, Clone)]
pub struct ManifestBuilder {
    /// In the order added; sorted (and the replaced ones dropped) by
    /// [`ManifestBuilder::finish`], which is cheaper than keeping a sorted map.
    inputs: Vec<Input>,
}

impl ManifestBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add an input whose content is `bytes`.
    pub fn bytes(&mut self, label: Label, bytes: &[u8]) -> &mut Self {
        self.hash(label, blake3::hash(bytes), None)
    }

    /// Add an input with a readable value that is also what gets hashed.
    pub fn shown(&mut self, label: Label, value: &str) -> &mut Self {
        self.hash(
            label,
            blake3::hash(value.as_bytes()),
            Some(value.to_string()),
        )
    }

    /// Add an input by an already computed hash, with an optional readable detail.
    pub fn hash(&mut self, label: Label, hash: blake3::Hash, detail: Option<String>) -> &mut Self {
        self.inputs.push(Input {
            label,
            hash: hash.to_hex().as_str().to_owned(),
            detail,
        });
        self
    }

    /// Add an input as it is (re-keying keeps a node's own inputs).
    pub fn input(&mut self, input: Input) -> &mut Self {
        self.inputs.push(input);
        self
    }

    /// The sorted manifest.
    pub fn finish(mut self) -> Manifest {
        // A stable sort keeps inputs of one label in the order added: the last counts.
        self.inputs.sort_by(|a, b| a.label.cmp(&b.label));
        let mut inputs: Vec<Input> = Vec::with_capacity(self.inputs.len());
        for input in self.inputs {
            match inputs.last_mut() {
                Some(last) if last.label == input.label => *last = input,
                _ => inputs.push(input),
            }
        }
        Manifest { inputs }
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
    /// Its content key.
    pub key: Key,
    /// The inputs its key was made from.
    pub manifest: Manifest,
    /// How to make it.
    pub recipe: Recipe,
}

impl Node {
    /// For a stage whose catalyst target makes no stage tarball (`livecd-stage2`,
    /// `diskimage-stage2`, `netboot`): what it makes. Such a node is an artifact: it has
    /// no image, and no image can be built `FROM` it.
    pub fn artifact(&self) -> Option<reagent_catalyst::OutputKind> {
        match &self.recipe {
            Recipe::Stage(stage) => stage.artifact(),
            _ => None,
        }
    }
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
    /// `<rel_type>/<target>-<subarch>-<version_stamp>` for spec stages (the name
    /// another spec's `source_subpath` gives it, without an extension).
    pub produces: Option<String>,
    /// A `source_subpath` no stage of the project produces: an external seed.
    pub external_source: Option<String>,
    /// What `reagent.lock` pins the external seed to; `None` when it is not locked
    /// (or there is no external seed).
    pub seed_lock: Option<crate::lockfile::Tarball>,
    /// catalyst's storedir.
    pub storedir: PathBuf,
}

impl StageRecipe {
    /// What catalyst leaves for this stage when it is not a stage tarball (see
    /// [`Node::artifact`]); `None` for tarball stages and seeds.
    pub fn artifact(&self) -> Option<reagent_catalyst::OutputKind> {
        let kind = self.spec.as_ref()?.kind().output_kind();
        (!kind.is_stage_tarball()).then_some(kind)
    }
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
    /// The Containerfile as read when the key was computed, parsed (its text is
    /// [`reagent_containerfile::Containerfile::text`]); kept so nothing parses it twice.
    pub parsed: reagent_containerfile::Containerfile,
    /// The build context folder (absolute).
    pub context: PathBuf,
    /// Build args from `graph.toml`.
    pub args: BTreeMap<String, String>,
    /// The build args the Containerfile was read with: the platform args
    /// ([`crate::platform::build_args`]) with [`ImageRecipe::args`] over them.
    /// Images with no args of their own and no other platform share one map.
    pub read_args: std::sync::Arc<BTreeMap<String, String>>,
    /// `--target` stage, if any.
    pub target: Option<String>,
    /// Extra tags from `graph.toml`.
    pub tags: Vec<String>,
    /// Squash into one layer.
    pub squash: bool,
    /// `--platform`.
    pub platform: Option<String>,
    /// The image format to write (`--format`).
    pub format: ImageFormat,
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
    /// Images from outside the project the Containerfile names, each once, in the
    /// order they are first named, with the digest each is pinned to.
    pub external: Vec<ExternalImage>,
    /// How a change of the snapshot dirties this image, when it is built from the
    /// snapshot node (mounts it, copies from it, or starts from it).
    pub snapshot: Option<crate::config::Invalidation>,
}

/// An image from outside the project that a Containerfile names, and the content it
/// is pinned to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalImage {
    /// The reference as written, after substitution (`alpine:3.20`).
    pub reference: String,
    /// The manifest digest it is pinned to: the one in the reference itself
    /// (`name@sha256:…`), else `reagent.lock`'s; `None` when it is not locked.
    pub digest: Option<String>,
    /// The Containerfile line where it is first named.
    pub line: usize,
}

impl ExternalImage {
    /// Whether the reference itself names a digest (`name@sha256:…`): its own lock.
    pub fn pinned_in_reference(&self) -> bool {
        self.reference.contains('@')
    }

    /// What a build uses: `reference@digest` (the reference itself when it names a
    /// digest); `None` when it is not locked.
    pub fn pinned(&self) -> Option<String> {
        if self.pinned_in_reference() {
            return Some(self.reference.clone());
        }
        self.digest
            .as_ref()
            .map(|d| format!("{}@{d}", self.reference))
    }
}

impl ImageRecipe {
    /// USE flags as portage reads them: `a b -c`.
    pub fn use_string(&self) -> String {
        use_string(&self.use_flags)
    }

    /// The Containerfile's text with each image reference that `pin` maps (by the
    /// reference as resolved in the file, e.g. `base` or `localhost/base:latest`)
    /// replaced by what it returns; every other byte is kept. The executor uses it to
    /// build from its parents' exact builds.
    pub fn pinned_containerfile(
        &self,
        pin: &dyn Fn(&str) -> Option<String>,
    ) -> Result<String, reagent_containerfile::ParseError> {
        self.parsed
            .rewrite_references(self.parsed.text(), &self.read_args, &|r| pin(&r.resolved))
    }
}

/// Render a flag map as portage's USE string (`a b -c`).
pub fn use_string(flags: &BTreeMap<String, bool>) -> String {
    let mut out = String::new();
    for (i, (f, on)) in flags.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if !on {
            out.push('-');
        }
        out.push_str(f);
    }
    out
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

    fn ctx(path: &str) -> Label {
        Label::with(InputClass::Context, path)
    }

    #[test]
    fn key_ignores_insertion_order() {
        let mut a = ManifestBuilder::new();
        a.bytes(ctx("x"), b"1").bytes(ctx("y"), b"2");
        let mut b = ManifestBuilder::new();
        b.bytes(ctx("y"), b"2").bytes(ctx("x"), b"1");
        assert_eq!(a.finish().key(), b.finish().key());
    }

    #[test]
    fn an_input_added_again_replaces_the_earlier_one() {
        let mut m = ManifestBuilder::new();
        m.shown(ctx("y"), "first")
            .shown(ctx("x"), "x")
            .shown(ctx("y"), "second")
            .shown(ctx("y"), "third");
        let m = m.finish();
        let labels: Vec<&str> = m.inputs.iter().map(|i| i.label.as_str()).collect();
        assert_eq!(labels, ["context:x", "context:y"]);
        assert_eq!(m.get("context:y").unwrap().detail.as_deref(), Some("third"));
        let mut once = ManifestBuilder::new();
        once.shown(ctx("x"), "x").shown(ctx("y"), "third");
        assert_eq!(m.key(), once.finish().key());
    }

    #[test]
    fn key_moves_with_label_and_content() {
        let key = |label: Label, v: &[u8]| {
            let mut m = ManifestBuilder::new();
            m.bytes(label, v);
            m.finish().key()
        };
        assert_ne!(key(ctx("x"), b"1"), key(ctx("x"), b"2"));
        assert_ne!(key(ctx("x"), b"1"), key(ctx("z"), b"1"));
    }

    #[test]
    fn key_hex_round_trips() {
        let mut m = ManifestBuilder::new();
        m.bytes(ctx("x"), b"1");
        let k = m.finish().key();
        assert_eq!(Key::from_hex(&k.hex()), Some(k));
        assert_eq!(k.short().len(), 16);
    }

    #[test]
    fn use_flags_fold_in_order() {
        let flags: Vec<String> = ["ssl", "X", "-X", "-*", "http2", "-ipv6"]
            .iter()
            .map(ToString::to_string)
            .collect();
        let eff = effective_use(&flags);
        assert_eq!(use_string(&eff), "http2 -ipv6");
    }

    #[test]
    fn manifest_get_finds_by_label() {
        let mut m = ManifestBuilder::new();
        m.shown(Label::of(InputClass::Use), "ssl")
            .bytes(Label::of(InputClass::Containerfile), b"FROM x");
        let m = m.finish();
        assert_eq!(m.get("use").unwrap().detail.as_deref(), Some("ssl"));
        assert!(m.get("nope").is_none());
    }

    #[test]
    fn labels_keep_their_class_and_subject_and_json_text() {
        let l = Label::with(InputClass::Parent, "base");
        assert_eq!(l.as_str(), "parent:base");
        assert_eq!(l.class(), Some(InputClass::Parent));
        assert_eq!(l.subject(), "base");
        assert_eq!(serde_json::to_string(&l).unwrap(), "\"parent:base\"");
        let back: Label = serde_json::from_str("\"source_subpath\"").unwrap();
        assert_eq!(back.class(), Some(InputClass::SourceSubpath));
        let unknown: Label = serde_json::from_str("\"newer:thing\"").unwrap();
        assert_eq!(unknown.class(), None);
        for class in InputClass::ALL {
            assert_eq!(InputClass::from_word(class.as_str()), Some(class));
        }
    }

    #[test]
    fn path_subjects_keep_every_byte_apart() {
        assert_eq!(path_subject(b"a/b.conf"), "a/b.conf");
        assert_eq!(path_subject(b"a/\xff/f"), "a/\\xff/f");
        assert_eq!(path_subject(b"a/\\xff/f"), "a/\\\\xff/f");
        assert_ne!(path_subject(b"a/\xff"), path_subject(b"a/\xfe"));
        assert_eq!(path_subject("caf\u{e9}".as_bytes()), "caf\u{e9}");
    }
}
