//! Why a node is dirty: the differences between two manifests, in words.

use std::collections::BTreeSet;
use std::fmt;

use crate::model::{Input, InputClass, Label, Manifest};

/// One difference between a node's last recorded manifest and its current one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// An input present in both with different content.
    Changed {
        /// The input's label.
        label: Label,
        /// Its old readable value, if it has one.
        old: Option<String>,
        /// Its new readable value, if it has one.
        new: Option<String>,
    },
    /// An input only the current manifest has.
    Added(Label),
    /// An input only the old manifest had.
    Removed(Label),
}

/// The changes from `old` to `new`, in label order.
pub fn diff(old: &Manifest, new: &Manifest) -> Vec<Change> {
    let mut out = Vec::new();
    let (mut a, mut b) = (old.inputs.iter().peekable(), new.inputs.iter().peekable());
    loop {
        match (a.peek(), b.peek()) {
            (None, None) => break,
            (Some(x), None) => {
                out.push(Change::Removed(x.label.clone()));
                a.next();
            }
            (None, Some(y)) => {
                out.push(Change::Added(y.label.clone()));
                b.next();
            }
            (Some(x), Some(y)) => match x.label.cmp(&y.label) {
                std::cmp::Ordering::Less => {
                    out.push(Change::Removed(x.label.clone()));
                    a.next();
                }
                std::cmp::Ordering::Greater => {
                    out.push(Change::Added(y.label.clone()));
                    b.next();
                }
                std::cmp::Ordering::Equal => {
                    if x.hash != y.hash {
                        out.push(changed(x, y));
                    }
                    a.next();
                    b.next();
                }
            },
        }
    }
    out
}

fn changed(x: &Input, y: &Input) -> Change {
    Change::Changed {
        label: y.label.clone(),
        old: x.detail.clone(),
        new: y.detail.clone(),
    }
}

/// The input a label names, in words: `context file app.conf`, `USE flags`.
fn noun(label: &Label) -> String {
    let subject = label.subject();
    match label.class() {
        Some(InputClass::Containerfile) => "Containerfile".into(),
        Some(InputClass::Context) => format!("context file {subject}"),
        Some(InputClass::Arg) => format!("build arg {subject}"),
        Some(InputClass::Parent) => format!("parent {subject}"),
        Some(InputClass::External) => format!("external image {subject}"),
        Some(InputClass::Remote) => format!("remote source {subject}"),
        Some(InputClass::Portage) => format!("portage config {subject}"),
        Some(InputClass::Spec) => format!("spec key {subject}"),
        Some(InputClass::Use) => "USE flags".into(),
        Some(InputClass::SourceSubpath) => "external seed".into(),
        Some(other) if subject.is_empty() => other.as_str().to_string(),
        Some(other) => format!("{} {subject}", other.as_str()),
        None => label.as_str().to_string(),
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Added(l) => write!(f, "{} added", noun(l)),
            Change::Removed(l) => write!(f, "{} removed", noun(l)),
            Change::Changed { label, old, new } => match (label.class(), old, new) {
                (Some(InputClass::Parent), _, _) => write!(f, "parent {} rebuilt", label.subject()),
                (Some(InputClass::Use), Some(o), Some(n)) => write!(f, "USE {}", use_delta(o, n)),
                (Some(InputClass::Snapshot), Some(o), Some(n)) => write!(f, "snapshot {o} -> {n}"),
                (Some(InputClass::External | InputClass::SourceSubpath), o, n) => {
                    external_change(f, label, o.as_deref(), n.as_deref())
                }
                (_, Some(o), Some(n)) => write!(f, "{} {o} -> {n}", noun(label)),
                _ => write!(f, "{} changed", noun(label)),
            },
        }
    }
}

/// An external image or seed that changed: `external image alpine:3.20 changed:
/// sha256:ab12… -> sha256:cd34…` when both sides were locked (their details end in
/// the digest), `… locked at sha256:cd34…` when it was keyed by its name before.
fn external_change(
    f: &mut fmt::Formatter<'_>,
    label: &Label,
    old: Option<&str>,
    new: Option<&str>,
) -> fmt::Result {
    // `reference@digest` for images, `path sha256:<hex>` for seeds.
    let digest = |detail: Option<&str>| {
        let d = detail?;
        let (_, digest) = d.rsplit_once('@').or_else(|| d.rsplit_once(' '))?;
        digest
            .contains(':')
            .then(|| crate::lockfile::short_digest(digest))
    };
    let what = match label.class() {
        Some(InputClass::SourceSubpath) => {
            let path = new.or(old).unwrap_or_default();
            format!("external seed {}", path.split(' ').next().unwrap_or(path))
        }
        _ => noun(label),
    };
    match (digest(old), digest(new)) {
        (Some(o), Some(n)) => write!(f, "{what} changed: {o} -> {n}"),
        (None, Some(n)) => write!(f, "{what} locked at {n}"),
        _ => write!(f, "{what} changed"),
    }
}

/// `+ssl -X` style difference between two USE strings (`a b -c`).
fn use_delta(old: &str, new: &str) -> String {
    let o: BTreeSet<&str> = old.split_whitespace().collect();
    let n: BTreeSet<&str> = new.split_whitespace().collect();
    let mut parts = Vec::new();
    for flag in n.difference(&o) {
        match flag.strip_prefix('-') {
            Some(off) => parts.push(format!("-{off}")),
            None => parts.push(format!("+{flag}")),
        }
    }
    for flag in o.difference(&n) {
        let name = flag.trim_start_matches('-');
        if !n.contains(name) && !n.contains(format!("-{name}").as_str()) {
            parts.push(format!("~{name}"));
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ManifestBuilder;
    use InputClass::*;

    fn l(class: InputClass, subject: &str) -> Label {
        if subject.is_empty() {
            Label::of(class)
        } else {
            Label::with(class, subject)
        }
    }

    fn m(f: impl FnOnce(&mut ManifestBuilder)) -> Manifest {
        let mut b = ManifestBuilder::new();
        f(&mut b);
        b.finish()
    }

    #[test]
    fn says_what_changed_in_words() {
        let old = m(|b| {
            b.bytes(l(Containerfile, ""), b"FROM base")
                .bytes(l(Context, "app.conf"), b"1")
                .bytes(l(Context, "gone.txt"), b"1")
                .shown(l(Parent, "base"), "aaaa")
                .shown(l(Use, ""), "ssl -X")
                .shown(l(Snapshot, ""), "commit:aaa");
        });
        let new = m(|b| {
            b.bytes(l(Containerfile, ""), b"FROM base")
                .bytes(l(Context, "app.conf"), b"2")
                .bytes(l(Context, "new.txt"), b"1")
                .shown(l(Parent, "base"), "bbbb")
                .shown(l(Use, ""), "http2 ssl -X")
                .shown(l(Snapshot, ""), "commit:bbb");
        });
        let words: Vec<String> = diff(&old, &new).iter().map(ToString::to_string).collect();
        assert_eq!(
            words,
            [
                "context file app.conf changed",
                "context file gone.txt removed",
                "context file new.txt added",
                "parent base rebuilt",
                "snapshot commit:aaa -> commit:bbb",
                "USE +http2",
            ]
        );
    }

    #[test]
    fn external_changes_name_the_digests() {
        let a = format!("sha256:{}", "a".repeat(64));
        let b = format!("sha256:{}", "b".repeat(64));
        let image = |detail: &str| {
            m(|m| {
                m.shown(l(External, "alpine:3.20"), detail);
            })
        };
        let words = |old: &Manifest, new: &Manifest| -> Vec<String> {
            diff(old, new).iter().map(ToString::to_string).collect()
        };
        assert_eq!(
            words(
                &image(&format!("alpine:3.20@{a}")),
                &image(&format!("alpine:3.20@{b}"))
            ),
            ["external image alpine:3.20 changed: sha256:aaaaaaaaaaaa… -> sha256:bbbbbbbbbbbb…"]
        );
        assert_eq!(
            words(&image("alpine:3.20"), &image(&format!("alpine:3.20@{b}"))),
            ["external image alpine:3.20 locked at sha256:bbbbbbbbbbbb…"]
        );
        let seed = |detail: &str| {
            m(|m| {
                m.shown(l(SourceSubpath, ""), detail);
            })
        };
        assert_eq!(
            words(&seed(&format!("x/stage3-latest {a}")), &seed(&format!("x/stage3-latest {b}"))),
            ["external seed x/stage3-latest changed: sha256:aaaaaaaaaaaa… -> sha256:bbbbbbbbbbbb…"]
        );
        assert_eq!(
            words(&seed("x/a"), &seed("x/b")),
            ["external seed x/b changed"]
        );
    }

    #[test]
    fn use_delta_reads_like_portage() {
        assert_eq!(use_delta("ssl -X", "-ssl -X"), "-ssl");
        assert_eq!(use_delta("ssl", "ssl ipv6"), "+ipv6");
        assert_eq!(use_delta("ssl ipv6", "ssl"), "~ipv6");
    }

    #[test]
    fn same_manifest_has_no_changes() {
        let a = m(|b| {
            b.bytes(l(Kind, ""), b"1");
        });
        assert!(diff(&a, &a.clone()).is_empty());
    }
}
