//! Which image references name nodes of the project.
//!
//! `FROM base`, `FROM localhost/base:latest` and `FROM <registry>/base:1.0`
//! all name node `base`; `FROM localhost/nope` names a node that does not
//! exist (an error, since `localhost/` images can only be local); anything
//! else (`alpine:3`, `docker.io/library/debian`) is an external base image.

/// What an image reference points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Referent<'a> {
    /// A node of the project, by name.
    Node(&'a str),
    /// `localhost/<name>` where no node has that name.
    UnknownLocal(&'a str),
    /// An image from outside the project.
    External,
    /// `scratch`: no base at all.
    Scratch,
}

/// Classify `reference` (already variable-substituted) against the project's
/// node names and registry prefix.
pub fn classify<'a>(
    reference: &'a str,
    registry: Option<&str>,
    is_node: impl Fn(&str) -> bool,
) -> Referent<'a> {
    if reference == "scratch" {
        return Referent::Scratch;
    }
    if reference.contains('@') {
        // Pinned by digest: an exact external image, never a node's moving tag.
        return Referent::External;
    }
    let (repo, local_only) = if let Some(rest) = reference.strip_prefix("localhost/") {
        (rest, true)
    } else if let Some(rest) = registry
        .and_then(|r| reference.strip_prefix(r))
        .and_then(|r| r.strip_prefix('/'))
    {
        (rest, false)
    } else {
        (reference, false)
    };
    let name = strip_tag(repo);
    if is_node(name) {
        Referent::Node(name)
    } else if local_only {
        Referent::UnknownLocal(name)
    } else {
        Referent::External
    }
}

/// `name:tag` → `name` (a `:` after the last `/` is a tag; one before is a port).
fn strip_tag(repo: &str) -> &str {
    let slash = repo.rfind('/').map_or(0, |i| i + 1);
    match repo[slash..].rfind(':') {
        Some(i) => &repo[..slash + i],
        None => repo,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(r: &str) -> Referent<'_> {
        classify(r, Some("registry.example.com:5000/acme"), |n| {
            n == "base" || n == "stage3-amd64"
        })
    }

    #[test]
    fn names_nodes_in_every_spelling() {
        assert_eq!(c("base"), Referent::Node("base"));
        assert_eq!(c("base:latest"), Referent::Node("base"));
        assert_eq!(c("localhost/base"), Referent::Node("base"));
        assert_eq!(c("localhost/base:1.0"), Referent::Node("base"));
        assert_eq!(
            c("registry.example.com:5000/acme/base"),
            Referent::Node("base")
        );
        assert_eq!(
            c("registry.example.com:5000/acme/base:abc"),
            Referent::Node("base")
        );
        assert_eq!(c("stage3-amd64"), Referent::Node("stage3-amd64"));
    }

    #[test]
    fn everything_else_is_external_or_an_error() {
        assert_eq!(c("scratch"), Referent::Scratch);
        assert_eq!(c("alpine:3.20"), Referent::External);
        assert_eq!(c("docker.io/library/base"), Referent::External);
        assert_eq!(c("base@sha256:0123"), Referent::External);
        assert_eq!(c("other.example.com/acme/base"), Referent::External);
        assert_eq!(c("localhost/nope:1"), Referent::UnknownLocal("nope"));
        assert_eq!(c("registry.example.com:5000/acme/nope"), Referent::External);
    }
}
