//! How reagent names the images it makes, locally and in a registry.

use reagent_graph::Node;

/// The exact local reference of a node's build: `localhost/<name>:<key16>`.
pub fn local_ref(node: &Node) -> String {
    format!("localhost/{}:{}", node.name, node.key.short())
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
