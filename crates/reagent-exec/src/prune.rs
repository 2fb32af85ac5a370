//! Which local images that reagent built no current key needs any more.
//!
//! On a CI machine every change leaves the previous build's image behind;
//! `reagent prune` removes them. An image is a candidate when it carries
//! reagent's labels and a name, and its key is no node's current key: either
//! its node has left the project, or it is older than the `keep` most recent
//! previous builds of its node (kept so `reagent diff` has something to
//! compare with). Untagged images are never touched: buildah's layer cache
//! is made of them.

use std::collections::{BTreeMap, HashMap, HashSet};

use reagent_backend::{LocalImage, LABEL_KEY, LABEL_NODE};
use reagent_graph::Graph;
use reagent_state::Record;

/// An image to remove, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Image id.
    pub id: String,
    /// The node it was built for.
    pub node: String,
    /// Its key (64 hex).
    pub key: String,
    /// Its names.
    pub names: Vec<String>,
    /// Why it can go.
    pub reason: String,
}

/// The images to remove, oldest builds first within each node, nodes by name.
/// `records` is the build record in order; `keep` previous builds per node stay.
pub fn candidates(
    graph: &Graph,
    images: &[LocalImage],
    records: &[Record],
    keep: usize,
) -> Vec<Candidate> {
    let current: HashSet<String> = graph.nodes().iter().map(|n| n.key.hex()).collect();
    // How recently each key was built or pulled: its last position in the record.
    let recency: HashMap<&str, usize> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.outcome.is_success())
        .map(|(i, r)| (r.key.as_str(), i))
        .collect();
    let mut by_node: BTreeMap<&str, Vec<&LocalImage>> = BTreeMap::new();
    for image in images {
        let (Some(key), Some(node)) = (image.labels.get(LABEL_KEY), image.labels.get(LABEL_NODE))
        else {
            continue;
        };
        if image.names.is_empty() || current.contains(key) {
            continue;
        }
        by_node.entry(node.as_str()).or_default().push(image);
    }
    let mut out = Vec::new();
    for (node, mut old) in by_node {
        let in_project = graph.by_name(node).is_some();
        // Newest first; images the record does not know count as oldest.
        old.sort_by_key(|i| {
            std::cmp::Reverse(
                recency
                    .get(i.labels[LABEL_KEY].as_str())
                    .map(|p| p + 1)
                    .unwrap_or(0),
            )
        });
        let kept = if in_project { keep } else { 0 };
        for image in old.into_iter().skip(kept).rev() {
            out.push(Candidate {
                id: image.id.clone(),
                node: node.to_string(),
                key: image.labels[LABEL_KEY].clone(),
                names: image.names.clone(),
                reason: if in_project {
                    format!("superseded (keeping the {keep} most recent previous builds)")
                } else {
                    "its node is no longer in the project".to_string()
                },
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use reagent_graph::Project;
    use reagent_state::Outcome;

    fn project() -> (tempfile::TempDir, Project) {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("graph.toml"), "").unwrap();
        for (n, cf) in [("base", "FROM scratch\n"), ("app", "FROM base\nRUN true\n")] {
            std::fs::create_dir_all(d.path().join("images").join(n)).unwrap();
            std::fs::write(d.path().join("images").join(n).join("Containerfile"), cf).unwrap();
        }
        let p = Project::load(d.path()).unwrap();
        (d, p)
    }

    fn image(id: &str, node: &str, key: &str, named: bool) -> LocalImage {
        LocalImage {
            id: id.into(),
            names: if named {
                vec![format!("localhost/{node}:{}", &key[..4])]
            } else {
                vec![]
            },
            labels: BTreeMap::from([
                (LABEL_KEY.to_string(), key.to_string()),
                (LABEL_NODE.to_string(), node.to_string()),
            ]),
        }
    }

    fn record(node: &str, key: &str) -> Record {
        Record {
            node: node.into(),
            key: key.into(),
            manifest_digest: String::new(),
            manifest: serde_json::Value::Null,
            start: 0,
            end: 0,
            outcome: Outcome::Built,
        }
    }

    #[test]
    fn keeps_current_and_recent_builds_and_never_untagged_images() {
        let (_d, p) = project();
        let app = p.graph.by_name("app").unwrap().key.hex();
        let (k1, k2, k3) = ("1".repeat(64), "2".repeat(64), "3".repeat(64));
        let images = vec![
            image("cur", "app", &app, true),
            image("old1", "app", &k1, true),
            image("old2", "app", &k2, true),
            image("old3", "app", &k3, true),
            image("layer", "app", &k1, false),
            image("gone", "retired", &k1, true),
        ];
        // Built in the order k2, k1, k3: k3 is the most recent previous build.
        let records = vec![record("app", &k2), record("app", &k1), record("app", &k3)];
        let ids = |keep| -> Vec<String> {
            candidates(&p.graph, &images, &records, keep)
                .into_iter()
                .map(|c| c.id)
                .collect()
        };
        assert_eq!(ids(1), ["old2", "old1", "gone"]);
        assert_eq!(ids(0), ["old2", "old1", "old3", "gone"]);
        assert_eq!(ids(5), ["gone"]);
    }
}
