//! How reagent names the images it makes, locally and in a registry.

use reagent_graph::Node;

/// The first 16 characters of a key, the tag reagent gives a build (the whole
/// text when shorter).
pub fn short_key(key: &str) -> &str {
    key.char_indices().nth(16).map_or(key, |(i, _)| &key[..i])
}

/// The exact local reference of build `key` of node `name`: `localhost/<name>:<key16>`.
pub fn local_ref_of(name: &str, key: &str) -> String {
    format!("localhost/{name}:{}", short_key(key))
}

/// The exact local reference of a node's build: `localhost/<name>:<key16>`.
pub fn local_ref(node: &Node) -> String {
    // Put together by hand: a plan asks this of every node.
    let short = node.key.short();
    let mut r = String::with_capacity("localhost/".len() + node.name.len() + 1 + short.len());
    r.push_str("localhost/");
    r.push_str(&node.name);
    r.push(':');
    r.push_str(&short);
    r
}

/// A moving local tag: `localhost/<name>:<tag>`.
pub fn local_tag(node: &Node, tag: &str) -> String {
    format!("localhost/{}:{tag}", node.name)
}

/// The registry reference of a node's build: `<registry>/<name>:<key16>`.
pub fn remote_ref(registry: &str, node: &Node) -> String {
    format!("{registry}/{}:{}", node.name, node.key.short())
}

/// A moving registry tag: `<registry>/<name>:<tag>`.
pub fn remote_tag(registry: &str, node: &Node, tag: &str) -> String {
    format!("{registry}/{}:{tag}", node.name)
}

/// The moving tags a node gets after a successful build: `latest` and its configured tags.
pub fn moving_tags(node: &Node) -> Vec<String> {
    let mut tags = vec!["latest".to_string()];
    if let reagent_graph::Recipe::Image(image) = &node.recipe {
        tags.extend(image.tags.iter().cloned());
    }
    tags
}

/// Every local tag a finished build gets: the key tag first, then the moving tags.
pub fn local_tags(node: &Node) -> Vec<String> {
    std::iter::once(local_ref(node))
        .chain(moving_tags(node).iter().map(|t| local_tag(node, t)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_never_cut_a_character() {
        assert_eq!(short_key(&"ab".repeat(32)), "abababababababab");
        assert_eq!(short_key("abc"), "abc");
        assert_eq!(short_key(&"é".repeat(20)).chars().count(), 16);
        assert_eq!(
            local_ref_of("app", &"0".repeat(64)),
            "localhost/app:0000000000000000"
        );
    }

    #[test]
    fn a_nodes_local_ref_is_its_name_and_key_tag() {
        let node = Node {
            id: reagent_graph::NodeId(0),
            name: "app".into(),
            kind: reagent_graph::NodeKind::Snapshot,
            path: "tree".into(),
            key: reagent_graph::Key([0xab; 32]),
            manifest: reagent_graph::Manifest::default(),
            recipe: reagent_graph::Recipe::Snapshot(reagent_graph::SnapshotRecipe {
                tree: "/tree".into(),
                identity: "tree:00".into(),
            }),
        };
        assert_eq!(local_ref(&node), local_ref_of("app", &node.key.hex()));
        assert_eq!(local_ref(&node), "localhost/app:abababababababab");
    }
}
