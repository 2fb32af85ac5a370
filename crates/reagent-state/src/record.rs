//! One line of the build log.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The build record version this reagent writes, and the newest it reads.
///
/// - 1: the first format, whose lines have no `version` field.
/// - 2: adds `version` and the optional `project`; later also the optional
///   `discovery` and `image` (fields an older reader ignores).
///
/// Reading accepts every version up to this one; a log holding a newer
/// record is refused ([`StateError::NewerRecord`](crate::StateError::NewerRecord))
/// rather than misread or appended to.
pub const RECORD_VERSION: u32 = 2;

/// How a build attempt of a node ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Built successfully.
    Built,
    /// The build command failed.
    Failed,
    /// Stopped before the end (Ctrl-C, a sibling failed, ...).
    Interrupted,
    /// Not built but pulled from a registry, already up to date there.
    Pulled,
    /// Built, but its tests failed, so the result is not used.
    TestFailed,
    /// Not built: an image built before was pushed, every one of its tags.
    Published,
}

impl Outcome {
    /// True for outcomes that leave a usable result: built or pulled.
    pub fn is_success(self) -> bool {
        matches!(self, Outcome::Built | Outcome::Pulled)
    }
}

/// One build attempt of one node, as stored in `builds.jsonl`.
///
/// Make new records with [`Record::new`], which stamps [`RECORD_VERSION`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The record format version (see [`RECORD_VERSION`]); lines written
    /// before versions existed have none and read as 1.
    #[serde(default = "first_version")]
    pub version: u32,
    /// The node's name.
    pub node: String,
    /// The node's 64-hex content key at the time.
    pub key: String,
    /// The digest of the resulting image manifest (empty if none).
    pub manifest_digest: String,
    /// The node's input list, kept to explain later rebuilds; opaque here.
    pub manifest: RawJson,
    /// When the attempt started, in unix milliseconds.
    pub start: u64,
    /// When it ended, in unix milliseconds.
    pub end: u64,
    /// How it ended.
    pub outcome: Outcome,
    /// The name of the project the node belongs to, if known (version 2
    /// on; left out of the line when `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// What the build discovered it read (the packages it merged and the slice of
    /// the snapshot they make up), when it did; opaque here. Version 2 on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<RawJson>,
    /// The id of the local image the build made, when it made one: also an image left
    /// untagged because its tests or audit failed, so `reagent test` can test it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

/// A JSON value kept as the text it was read as. A record's opaque parts (the
/// input list, the discovery) are parsed only where they are used, so reading
/// a long build log builds no tree for every line, and a line rewritten (on
/// compaction) keeps them byte for byte.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// Parse the text as a `T`.
    pub fn parse<T: DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_str(self.0.get())
    }

    /// The text as a JSON tree (`null` if it is not one, which reading never lets in).
    pub fn to_value(&self) -> serde_json::Value {
        self.parse().unwrap_or(serde_json::Value::Null)
    }
}

impl From<serde_json::Value> for RawJson {
    /// `value` as JSON text.
    fn from(value: serde_json::Value) -> RawJson {
        // A `Value` always serializes (its map keys are strings).
        RawJson(
            serde_json::value::to_raw_value(&value).unwrap_or_else(|_| RawValue::NULL.to_owned()),
        )
    }
}

/// Equal when they hold the same JSON value, however it is spaced or ordered.
impl PartialEq for RawJson {
    fn eq(&self, other: &RawJson) -> bool {
        self.get() == other.get() || self.to_value() == other.to_value()
    }
}

/// The version of a line that has no `version` field.
fn first_version() -> u32 {
    1
}

impl Record {
    /// A record of the current [`RECORD_VERSION`] with no project; see
    /// [`Record::with_project`].
    pub fn new(
        node: impl Into<String>,
        key: impl Into<String>,
        manifest_digest: impl Into<String>,
        manifest: serde_json::Value,
        start: u64,
        end: u64,
        outcome: Outcome,
    ) -> Record {
        Record {
            version: RECORD_VERSION,
            node: node.into(),
            key: key.into(),
            manifest_digest: manifest_digest.into(),
            manifest: RawJson::from(manifest),
            start,
            end,
            outcome,
            project: None,
            discovery: None,
            image: None,
        }
    }

    /// The same record, saying which project it was built for.
    #[must_use]
    pub fn with_project(mut self, project: impl Into<String>) -> Record {
        self.project = Some(project.into());
        self
    }

    /// The same record, with what the build discovered it read.
    #[must_use]
    pub fn with_discovery(mut self, discovery: serde_json::Value) -> Record {
        self.discovery = Some(RawJson::from(discovery));
        self
    }

    /// The same record, with the id of the image the build made.
    #[must_use]
    pub fn with_image(mut self, id: impl Into<String>) -> Record {
        self.image = Some(id.into());
        self
    }

    /// How long the attempt took (zero if the clock went backwards).
    pub fn duration(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.end.saturating_sub(self.start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opaque_parts_are_written_back_as_they_were_read() {
        let line = r#"{"version":2,"node":"base","key":"ab","manifest_digest":"","manifest":{"inputs": [ {"label":"kind","hash":"01"} ]},"start":1,"end":2,"outcome":"built","discovery":{"k0" :"x"}}"#;
        let r: Record = serde_json::from_str(line).unwrap();
        assert_eq!(
            r.manifest.get(),
            r#"{"inputs": [ {"label":"kind","hash":"01"} ]}"#
        );
        assert_eq!(serde_json::to_string(&r).unwrap(), line);
        let tree: serde_json::Value =
            serde_json::json!({"inputs": [{"hash": "01", "label": "kind"}]});
        assert_eq!(r.manifest.to_value(), tree);
        assert_eq!(r.manifest, RawJson::from(tree), "equal as JSON values");
        assert_ne!(r.manifest, RawJson::from(serde_json::json!({"inputs": []})));
        assert_eq!(r.discovery.unwrap().get(), r#"{"k0" :"x"}"#);
    }

    #[test]
    fn a_line_without_version_reads_as_version_1() {
        let line = r#"{"node":"base","key":"ab","manifest_digest":"","manifest":null,"start":1,"end":2,"outcome":"built"}"#;
        let r: Record = serde_json::from_str(line).unwrap();
        assert_eq!(r.version, 1);
        assert_eq!(r.project, None);
        assert_eq!(r.node, "base");
    }

    #[test]
    fn new_records_carry_the_current_version_first_and_no_empty_project() {
        let r = Record::new(
            "base",
            "ab",
            "",
            serde_json::Value::Null,
            1,
            2,
            Outcome::Built,
        );
        assert_eq!(r.version, RECORD_VERSION);
        let line = serde_json::to_string(&r).unwrap();
        assert!(line.starts_with(r#"{"version":2,"node":"base""#), "{line}");
        assert!(!line.contains("project"), "{line}");
        let line = serde_json::to_string(&r.with_project("web")).unwrap();
        assert!(line.ends_with(r#","project":"web"}"#), "{line}");
        let back: Record = serde_json::from_str(&line).unwrap();
        assert_eq!(back.project.as_deref(), Some("web"));
    }
}
