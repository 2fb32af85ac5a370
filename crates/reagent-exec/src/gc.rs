//! Which key tags of a project no current node needs in the registry any more.
//!
//! `reagent gc --registry` lists, per node, the tags of `<registry>/<name>`
//! and keeps every tag that is not a key tag (`latest`, configured tags, SBOM
//! attachments, discovery notes: anything but 16 hex digits), every key tag
//! that is a current key, and the `keep` most recently made of the others (by
//! the `created` time of the image in the registry, so every machine that runs
//! it sees the same order). A key tag whose image does not carry this
//! project's name, its node's name and a key starting with the tag is never
//! touched: it is another project's, or was overwritten by hand.
//!
//! A registry deletes manifests, not tags: deleting `name@digest` removes every
//! tag naming that manifest. So a candidate whose manifest is also named by a
//! kept tag (a `latest` that still points at it) is spared, and said so. The
//! blobs stay until the registry's own garbage collection runs.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use reagent_backend::{Backend, BackendError, RemoteImage, LABEL_KEY, LABEL_NODE, LABEL_PROJECT};

/// What is known of one node for the clean-up.
#[derive(Debug, Clone, Default)]
pub struct NodeKeys {
    /// Its current key tags (16 hex digits each): more than one when discovered
    /// inputs key it differently from its coarse key.
    pub current: BTreeSet<String>,
    /// Whether the node is in the project now (a node that left keeps no previous build).
    pub in_project: bool,
}

/// A key tag to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doomed {
    /// The node.
    pub node: String,
    /// The tag's full reference (`<registry>/<name>:<key16>`).
    pub reference: String,
    /// The manifest digest it names (`sha256:…`): what is deleted.
    pub digest: String,
    /// When its image was made, as the registry says.
    pub created: Option<String>,
    /// Why it can go.
    pub reason: String,
}

impl Doomed {
    /// The reference the registry deletes: `<registry>/<name>@<digest>`.
    pub fn by_digest(&self) -> String {
        let repository = self
            .reference
            .rsplit_once(':')
            .map_or(self.reference.as_str(), |(r, _)| r);
        format!("{repository}@{}", self.digest)
    }
}

/// A key tag that would go, but is left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spared {
    /// The tag's full reference.
    pub reference: String,
    /// Why it stays.
    pub why: SpareReason,
}

/// Why a key tag no current node needs stays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpareReason {
    /// Its manifest is also named by this kept tag; deleting it would delete that too.
    SharesManifest(String),
    /// Its image is not this node's build of this project.
    NotOurs,
}

impl std::fmt::Display for SpareReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpareReason::SharesManifest(tag) => {
                write!(f, "its manifest is also {tag}, which stays")
            }
            SpareReason::NotOurs => {
                f.write_str("its image is not this node's build of this project (labels differ)")
            }
        }
    }
}

/// What a clean-up of the registry would do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryGc {
    /// Key tags to delete, by node name, oldest first within a node.
    pub doomed: Vec<Doomed>,
    /// Key tags left alone although no current node needs them.
    pub spared: Vec<Spared>,
}

/// Whether `tag` is a key tag: exactly 16 lowercase hex digits.
pub fn is_key_tag(tag: &str) -> bool {
    tag.len() == 16 && tag.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// An RFC 3339 UTC time (`2026-12-07T17:45:12.5Z`) as a key that sorts in time
/// order whatever the length of its fraction. Times reagent cannot read sort first.
fn time_order(created: Option<&str>) -> (String, String) {
    let Some(t) = created else {
        return (String::new(), String::new());
    };
    let t = t.trim_end_matches('Z');
    match t.split_once('.') {
        Some((seconds, fraction)) => (seconds.to_string(), format!("{fraction:0<9}")),
        None => (t.to_string(), "0".repeat(9)),
    }
}

/// The clean-up of `registry` for `project` (its `[project] name`): one tag
/// listing per node, then one inspection per key tag that is no current key and
/// one digest lookup per tag that stays. Reads only; deletes nothing.
pub fn plan(
    backend: &dyn Backend,
    registry: &str,
    project: &str,
    nodes: &BTreeMap<String, NodeKeys>,
    keep: usize,
) -> Result<RegistryGc, BackendError> {
    let mut out = RegistryGc::default();
    for (name, keys) in nodes {
        plan_node(backend, registry, project, name, keys, keep, &mut out)?;
    }
    Ok(out)
}

fn plan_node(
    backend: &dyn Backend,
    registry: &str,
    project: &str,
    name: &str,
    keys: &NodeKeys,
    keep: usize,
    out: &mut RegistryGc,
) -> Result<(), BackendError> {
    let repository = format!("{registry}/{name}");
    let tags = backend.remote_tags(&repository)?;
    let (old, mut kept): (Vec<String>, Vec<String>) = tags
        .into_iter()
        .partition(|t| is_key_tag(t) && !keys.current.contains(t));
    let mut ours: Vec<(String, RemoteImage)> = Vec::new();
    for tag in old {
        let reference = format!("{repository}:{tag}");
        // Gone meanwhile (another gc, a push racing): nothing to do.
        let Some(image) = backend.remote_image(&reference)? else {
            continue;
        };
        let label = |l: &str| image.labels.get(l).map(String::as_str);
        let is_ours = label(LABEL_PROJECT) == Some(project)
            && label(LABEL_NODE) == Some(name)
            && label(LABEL_KEY).is_some_and(|k| k.starts_with(&tag));
        if is_ours {
            ours.push((tag, image));
        } else {
            out.spared.push(Spared {
                reference,
                why: SpareReason::NotOurs,
            });
        }
    }
    // Newest first: the first `keep` stay.
    ours.sort_by(|a, b| {
        time_order(b.1.created.as_deref())
            .cmp(&time_order(a.1.created.as_deref()))
            .then_with(|| a.0.cmp(&b.0))
    });
    let keep = if keys.in_project { keep } else { 0 };
    let doomed: Vec<(String, RemoteImage)> = ours.split_off(keep.min(ours.len()));
    kept.extend(ours.into_iter().map(|(tag, _)| tag));
    let mut kept_digests: HashMap<String, String> = HashMap::new();
    if !doomed.is_empty() {
        for tag in &kept {
            let reference = format!("{repository}:{tag}");
            if let Some(digest) = backend.remote_digest(&reference, None)? {
                kept_digests.entry(digest).or_insert(reference);
            }
        }
    }
    let reason = if keys.in_project {
        format!("no current key (keeping the {keep} most recent previous builds)")
    } else {
        "its node is no longer in the project".to_string()
    };
    for (tag, image) in doomed.into_iter().rev() {
        let reference = format!("{repository}:{tag}");
        if let Some(other) = kept_digests.get(&image.digest) {
            out.spared.push(Spared {
                reference,
                why: SpareReason::SharesManifest(other.clone()),
            });
            continue;
        }
        out.doomed.push(Doomed {
            node: name.to_string(),
            reference,
            digest: image.digest,
            created: image.created,
            reason: reason.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_tags_are_sixteen_lowercase_hex_digits() {
        assert!(is_key_tag("0123456789abcdef"));
        assert!(!is_key_tag("latest"));
        assert!(!is_key_tag("0123456789ABCDEF"));
        assert!(!is_key_tag("k0-0123456789abcdef"));
        assert!(!is_key_tag("0123456789abcde"));
        assert!(!is_key_tag("sha256-0123456789abcdef.sbom"));
    }

    #[test]
    fn times_sort_whatever_their_fraction() {
        let mut times = vec![
            Some("2026-12-07T10:00:01Z"),
            Some("2026-12-07T10:00:00.5Z"),
            None,
            Some("2026-12-07T10:00:00.123456789Z"),
            Some("2026-12-07T10:00:00Z"),
        ];
        times.sort_by_key(|t| time_order(*t));
        assert_eq!(
            times,
            [
                None,
                Some("2026-12-07T10:00:00Z"),
                Some("2026-12-07T10:00:00.123456789Z"),
                Some("2026-12-07T10:00:00.5Z"),
                Some("2026-12-07T10:00:01Z"),
            ]
        );
    }

    #[test]
    fn deleting_goes_by_digest() {
        let d = Doomed {
            node: "app".into(),
            reference: "127.0.0.1:5000/acme/app:0123456789abcdef".into(),
            digest: "sha256:ab".into(),
            created: None,
            reason: String::new(),
        };
        assert_eq!(d.by_digest(), "127.0.0.1:5000/acme/app@sha256:ab");
    }
}
