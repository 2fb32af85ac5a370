//! Which local images that reagent built no current key needs any more.
//!
//! On a CI machine every change leaves the previous build's image behind;
//! `reagent prune` removes them. An image is a candidate when it carries
//! reagent's labels, the project's name in `org.reagent.project`, and a name,
//! and its key is no node's current key: either its node has left the project,
//! or it is older than the `keep` most recent previous builds of its node (kept
//! so `reagent diff` has something to compare with). Images of other projects
//! sharing the store — and images built before reagent labelled the project —
//! are never touched; nor are untagged images: buildah's layer cache is made of
//! them.

use std::collections::{BTreeMap, HashMap, HashSet};

use reagent_backend::{LocalImage, LABEL_KEY, LABEL_NODE, LABEL_PROJECT};
use reagent_graph::Project;

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

/// The images of `project` to remove, oldest builds first within each node,
/// nodes by name. `recency` is how recently each key was built or pulled (its
/// position in the build record, see [`reagent_state::History::key_recency`]);
/// `keep` previous builds per node stay.
pub fn candidates(
    project: &Project,
    images: &[LocalImage],
    recency: &HashMap<&str, usize>,
    keep: usize,
) -> Vec<Candidate> {
    let graph = &project.graph;
    let name = project.name();
    let current: HashSet<String> = graph.nodes().map(|n| n.key.hex()).collect();
    let mut by_node: BTreeMap<&str, Vec<&LocalImage>> = BTreeMap::new();
    for image in images {
        let (Some(key), Some(node)) = (image.labels.get(LABEL_KEY), image.labels.get(LABEL_NODE))
        else {
            continue;
        };
        let ours = image.labels.get(LABEL_PROJECT) == Some(&name);
        if !ours || image.names.is_empty() || current.contains(key) {
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
                    .map_or(0, |p| p + 1),
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
    use reagent_state::{History, Outcome, Record};

    fn project(name: &str) -> (reagent_testkit::ProjectDir, Project) {
        let d = reagent_testkit::ProjectDir::new(&format!("[project]\nname = \"{name}\"\n"));
        d.image("base", "FROM scratch\n")
            .image("app", "FROM base\nRUN true\n");
        let p = Project::load(d.root()).unwrap();
        (d, p)
    }

    fn image(id: &str, project: Option<&str>, node: &str, key: &str, named: bool) -> LocalImage {
        let mut labels = BTreeMap::from([
            (LABEL_KEY.to_string(), key.to_string()),
            (LABEL_NODE.to_string(), node.to_string()),
        ]);
        if let Some(p) = project {
            labels.insert(LABEL_PROJECT.to_string(), p.to_string());
        }
        LocalImage {
            id: id.into(),
            names: if named {
                vec![format!("localhost/{node}:{}", &key[..4])]
            } else {
                vec![]
            },
            labels,
        }
    }

    fn record(node: &str, key: &str) -> Record {
        Record::new(node, key, "", serde_json::Value::Null, 0, 0, Outcome::Built)
    }

    #[test]
    fn keeps_current_and_recent_builds_and_never_untagged_images() {
        let (_d, p) = project("acme");
        let app = p.graph.by_name("app").unwrap().key.hex();
        let (k1, k2, k3) = ("1".repeat(64), "2".repeat(64), "3".repeat(64));
        let ours = Some("acme");
        let images = vec![
            image("cur", ours, "app", &app, true),
            image("old1", ours, "app", &k1, true),
            image("old2", ours, "app", &k2, true),
            image("old3", ours, "app", &k3, true),
            image("layer", ours, "app", &k1, false),
            image("gone", ours, "retired", &k1, true),
        ];
        // Built in the order k2, k1, k3: k3 is the most recent previous build.
        let history = History::from_records(vec![
            record("app", &k2),
            record("app", &k1),
            record("app", &k3),
        ]);
        let recency = history.key_recency();
        let ids = |keep| -> Vec<String> {
            candidates(&p, &images, &recency, keep)
                .into_iter()
                .map(|c| c.id)
                .collect()
        };
        assert_eq!(ids(1), ["old2", "old1", "gone"]);
        assert_eq!(ids(0), ["old2", "old1", "old3", "gone"]);
        assert_eq!(ids(5), ["gone"]);
    }

    #[test]
    fn another_projects_images_and_unlabelled_ones_are_never_candidates() {
        let (_d, p) = project("acme");
        let k1 = "1".repeat(64);
        let images = vec![
            image("theirs", Some("other"), "app", &k1, true),
            image("their-retired", Some("other"), "retired", &k1, true),
            image("unlabelled", None, "retired", &k1, true),
            image("mine", Some("acme"), "retired", &k1, true),
        ];
        let ids: Vec<String> = candidates(&p, &images, &HashMap::new(), 0)
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(ids, ["mine"]);
    }
}
