//! Which image references name nodes of the project, and which are references
//! at all.
//!
//! `FROM base`, `FROM localhost/base:latest` and `FROM <registry>/base:1.0`
//! all name node `base`; `FROM localhost/nope` names a node that does not
//! exist (an error, since `localhost/` images can only be local); anything
//! else (`alpine:3`, `docker.io/library/debian`) is an external base image.
//! A reference is matched against `[project] registry` as containers/image
//! normalises both: with `registry = "docker.io/kubler"`, `kubler/busybox`
//! is `docker.io/kubler/busybox` and names node `busybox`.
//!
//! [`check`] follows containers/image's grammar (`docker/reference/regexp.go`),
//! which buildah parses every `FROM` with: a reference it rejects fails at
//! `check`, not midway through a build.

use std::fmt;

/// The longest repository name containers/image accepts (`NameTotalLengthMax`).
const NAME_MAX: usize = 255;

/// Docker Hub's domain, which a name without one is on.
const DOCKER_HUB: &str = "docker.io";

/// Why a reference is not one (see [`check`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// Nothing at all.
    Empty,
    /// A path component with an upper-case letter (`Alpine`).
    Uppercase,
    /// A path component that is not lower-case letters and digits joined by
    /// `.`, `_`, `__` or dashes (`binaries-`, `a..b`, `alpine:`).
    Component,
    /// The domain (the part before the first `/`) is not a host name with an
    /// optional port.
    Domain,
    /// `name:` with nothing after it.
    EmptyTag,
    /// A tag that is not `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    Tag,
    /// A digest that is not `algorithm:hex` with at least 32 hex digits.
    Digest,
    /// A repository name longer than 255 bytes.
    TooLong,
    /// A name of 64 hex digits, which buildah reads as an image id.
    HexName,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Invalid::Empty => "it is empty",
            Invalid::Uppercase => "repository names must be lower-case",
            Invalid::Component => {
                "each part of the name must be lower-case letters and digits, joined by `.`, `_`, `__` or `-`, neither first nor last"
            }
            Invalid::Domain => "the registry host is not a host name with an optional `:port`",
            Invalid::EmptyTag => "the tag after `:` is empty",
            Invalid::Tag => {
                "a tag is letters, digits, `_`, `.` and `-`, at most 128, not starting with `.` or `-`"
            }
            Invalid::Digest => "a digest is `algorithm:hex` with at least 32 hex digits",
            Invalid::TooLong => "the repository name is longer than 255 bytes",
            Invalid::HexName => "a name of 64 hex digits is an image id, not a repository",
        })
    }
}

/// Check `reference` (`[domain/]path[:tag][@digest]`) against containers/image's
/// grammar.
pub fn check(reference: &str) -> Result<(), Invalid> {
    if reference.is_empty() {
        return Err(Invalid::Empty);
    }
    let (named, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (reference, None),
    };
    if let Some(d) = digest {
        if !valid_digest(d) {
            return Err(Invalid::Digest);
        }
    }
    let slash = named.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match named[slash..].find(':') {
        Some(i) => (&named[..slash + i], Some(&named[slash + i + 1..])),
        None => (named, None),
    };
    match tag {
        Some("") => return Err(Invalid::EmptyTag),
        Some(t) if !valid_tag(t) => return Err(Invalid::Tag),
        _ => {}
    }
    check_name(name)
}

/// `[domain/]component(/component)*`, at most [`NAME_MAX`] bytes.
fn check_name(name: &str) -> Result<(), Invalid> {
    if name.is_empty() {
        return Err(Invalid::Empty);
    }
    if name.len() > NAME_MAX {
        return Err(Invalid::TooLong);
    }
    if name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(Invalid::HexName);
    }
    let mut parts = name.split('/');
    let first = parts.next().unwrap_or("");
    let rest: Vec<&str> = parts.collect();
    // The first part is a path component, or, when more follow, may be a domain.
    if !valid_component(first) && (rest.is_empty() || !valid_domain(first)) {
        let lower = first.to_ascii_lowercase();
        return Err(if valid_component(&lower) {
            Invalid::Uppercase
        } else if rest.is_empty() || !first.contains(['.', ':']) {
            Invalid::Component
        } else {
            Invalid::Domain
        });
    }
    for part in rest {
        if !valid_component(part) {
            return Err(if valid_component(&part.to_ascii_lowercase()) {
                Invalid::Uppercase
            } else {
                Invalid::Component
            });
        }
    }
    Ok(())
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`.
fn valid_component(part: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let b = part.as_bytes();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &part[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-')) {
            return false;
        }
    }
    true
}

/// A host (DNS labels joined by `.`, or `[ipv6]`) with an optional `:port`.
fn valid_domain(domain: &str) -> bool {
    let (host, port) = match domain.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') => (h, Some(p)),
        _ => (domain, None),
    };
    if port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return !v6.is_empty() && v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
    }
    !host.is_empty()
        && host.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        })
}

/// `[\w][\w.-]{0,127}`.
fn valid_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b.iter().all(|c| word(*c) || *c == b'.' || *c == b'-')
}

/// `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`.
fn valid_digest(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return false;
    };
    let algorithm_ok = algorithm.split(['-', '_', '+', '.']).all(|part| {
        let b = part.as_bytes();
        !b.is_empty() && b[0].is_ascii_alphabetic() && b.iter().all(u8::is_ascii_alphanumeric)
    });
    algorithm_ok && hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `reference` as containers/image normalises a name: a name without a
/// domain is on Docker Hub (`docker.io/`), a Docker Hub name without a `/`
/// is an official image (`docker.io/library/`), and `index.docker.io` is
/// `docker.io`. The tag and digest are kept.
pub fn normalize(reference: &str) -> String {
    let domain_end = reference.find('/');
    let (domain, remainder) = match domain_end {
        Some(i)
            if reference[..i].contains(['.', ':'])
                || &reference[..i] == "localhost"
                || reference[..i].bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (&reference[..i], &reference[i + 1..])
        }
        _ => (DOCKER_HUB, reference),
    };
    let domain = if domain == "index.docker.io" {
        DOCKER_HUB
    } else {
        domain
    };
    if domain == DOCKER_HUB && !remainder.contains('/') {
        format!("{DOCKER_HUB}/library/{remainder}")
    } else {
        format!("{domain}/{remainder}")
    }
}

/// What of `reference` follows the registry prefix `registry`, both as
/// containers/image normalises them (see [`normalize`]): a suffix of
/// `reference` itself.
fn under_registry<'a>(reference: &'a str, registry: &str) -> Option<&'a str> {
    // The prefix a name `x` pushed under `registry` is normalised to.
    let prefix = normalize(&format!("{registry}/x"));
    let prefix = prefix.strip_suffix("/x")?;
    let normalized = normalize(reference);
    let rest = normalized.strip_prefix(prefix)?.strip_prefix('/')?;
    // Normalising only prepends: the rest is the end of `reference`.
    reference
        .len()
        .checked_sub(rest.len())
        .and_then(|at| reference.get(at..))
        .filter(|tail| *tail == rest)
}

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
    } else if let Some(rest) = registry.and_then(|r| under_registry(reference, r)) {
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

    #[test]
    fn docker_hub_names_are_normalised_before_matching() {
        let hub = |r| classify(r, Some("docker.io/kubler"), |n| n == "busybox");
        assert_eq!(hub("kubler/busybox"), Referent::Node("busybox"));
        assert_eq!(hub("kubler/busybox:20240101"), Referent::Node("busybox"));
        assert_eq!(hub("docker.io/kubler/busybox"), Referent::Node("busybox"));
        assert_eq!(
            hub("index.docker.io/kubler/busybox"),
            Referent::Node("busybox")
        );
        assert_eq!(hub("other/busybox"), Referent::External);
        assert_eq!(hub("quay.io/kubler/busybox"), Referent::External);
        let short = |r| classify(r, Some("kubler"), |n| n == "busybox");
        assert_eq!(short("docker.io/kubler/busybox"), Referent::Node("busybox"));
        let library = |r| classify(r, Some("docker.io"), |n| n == "app");
        assert_eq!(library("docker.io/library/app:1"), Referent::Node("app"));
        assert_eq!(normalize("alpine:3"), "docker.io/library/alpine:3");
        assert_eq!(normalize("kubler/bob"), "docker.io/kubler/bob");
        assert_eq!(normalize("localhost/a"), "localhost/a");
        assert_eq!(normalize("Host/a"), "Host/a");
    }

    #[test]
    fn the_grammar_buildah_parses_with() {
        for good in [
            "alpine",
            "alpine:3.20",
            "docker.io/library/alpine:3.20",
            "registry.example.com:5000/acme/base:1.0",
            "localhost/base",
            "a__b/c.d-e--f_g",
            "Registry.Example.com/x",
            "[::1]:5000/x",
            "alpine@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "alpine:3@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("Alpine:3.20", Invalid::Uppercase),
            ("acme/Alpine", Invalid::Uppercase),
            ("alpine::3", Invalid::Tag),
            ("alpine:3.20:extra", Invalid::Tag),
            ("binaries-", Invalid::Component),
            ("base:", Invalid::EmptyTag),
            ("a..b", Invalid::Component),
            ("a___b", Invalid::Component),
            ("alpine:-x", Invalid::Tag),
            ("alpine@sha256:xyz", Invalid::Digest),
            ("alpine@0123456789abcdef0123456789abcdef", Invalid::Digest),
            ("exa_mple.com:5000/x", Invalid::Domain),
            ("", Invalid::Empty),
            ("/x", Invalid::Component),
        ] {
            assert_eq!(check(bad), Err(why), "{bad}");
        }
        assert_eq!(check(&"a".repeat(256)), Err(Invalid::TooLong));
        assert_eq!(check(&"0a".repeat(32)), Err(Invalid::HexName));
    }
}
