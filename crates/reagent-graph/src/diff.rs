//! Why a node is dirty: the differences between two manifests, in words.

use std::collections::BTreeSet;
use std::fmt;

use crate::model::{Input, Manifest};

/// One difference between a node's last recorded manifest and its current one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// An input present in both with different content.
    Changed {
        /// The input's label.
        label: String,
        /// Its old readable value, if it has one.
        old: Option<String>,
        /// Its new readable value, if it has one.
        new: Option<String>,
    },
    /// An input only the current manifest has.
    Added(String),
    /// An input only the old manifest had.
    Removed(String),
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

/// `label` split into its class and subject: `context:app.conf` → (`context`, `app.conf`).
fn split(label: &str) -> (&str, &str) {
    label.split_once(':').unwrap_or((label, ""))
}

fn noun(class: &str, subject: &str) -> String {
    match class {
        "containerfile" => "Containerfile".into(),
        "context" => format!("context file {subject}"),
        "arg" => format!("build arg {subject}"),
        "parent" => format!("parent {subject}"),
        "external" => format!("base image {subject}"),
        "remote" => format!("remote source {subject}"),
        "portage" => format!("portage config {subject}"),
        "spec" => format!("spec key {subject}"),
        "use" => "USE flags".into(),
        other if subject.is_empty() => other.to_string(),
        other => format!("{other} {subject}"),
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Added(l) => {
                let (c, s) = split(l);
                write!(f, "{} added", noun(c, s))
            }
            Change::Removed(l) => {
                let (c, s) = split(l);
                write!(f, "{} removed", noun(c, s))
            }
            Change::Changed { label, old, new } => {
                let (c, s) = split(label);
                match (c, old, new) {
                    ("parent", _, _) => write!(f, "parent {s} rebuilt"),
                    ("use", Some(o), Some(n)) => write!(f, "USE {}", use_delta(o, n)),
                    ("snapshot", Some(o), Some(n)) => write!(f, "snapshot {o} -> {n}"),
                    (_, Some(o), Some(n)) => write!(f, "{} {o} -> {n}", noun(c, s)),
                    _ => write!(f, "{} changed", noun(c, s)),
                }
            }
        }
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

    fn m(f: impl FnOnce(&mut ManifestBuilder)) -> Manifest {
        let mut b = ManifestBuilder::new();
        f(&mut b);
        b.finish()
    }

    #[test]
    fn says_what_changed_in_words() {
        let old = m(|b| {
            b.bytes("containerfile", b"FROM base")
                .bytes("context:app.conf", b"1")
                .bytes("context:gone.txt", b"1")
                .shown("parent:base", "aaaa")
                .shown("use", "ssl -X")
                .shown("snapshot", "commit:aaa");
        });
        let new = m(|b| {
            b.bytes("containerfile", b"FROM base")
                .bytes("context:app.conf", b"2")
                .bytes("context:new.txt", b"1")
                .shown("parent:base", "bbbb")
                .shown("use", "http2 ssl -X")
                .shown("snapshot", "commit:bbb");
        });
        let words: Vec<String> = diff(&old, &new).iter().map(|c| c.to_string()).collect();
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
    fn use_delta_reads_like_portage() {
        assert_eq!(use_delta("ssl -X", "-ssl -X"), "-ssl");
        assert_eq!(use_delta("ssl", "ssl ipv6"), "+ipv6");
        assert_eq!(use_delta("ssl ipv6", "ssl"), "~ipv6");
    }

    #[test]
    fn same_manifest_has_no_changes() {
        let a = m(|b| {
            b.bytes("x", b"1");
        });
        assert!(diff(&a, &a.clone()).is_empty());
    }
}
