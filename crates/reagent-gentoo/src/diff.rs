//! Differences between two package lists (two images' VDBs), like Gentoo
//! Build Publisher's build diff.
//!
//! Packages are paired by `category/name` and slot; a package installed once
//! on each side in different slots is paired anyway and reported as a slot
//! change. Everything else unpaired is added or removed (so a multi-slot
//! package that drops slot 3.11 and gains 3.13 shows one removal and one
//! addition).

use std::collections::{BTreeMap, BTreeSet};

use crate::vdb::Installed;

/// What changed for a package present in both lists.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The package as it was.
    pub old: Installed,
    /// The package as it is now.
    pub new: Installed,
    /// USE flags enabled in `new` but not in `old`.
    pub use_added: BTreeSet<String>,
    /// USE flags enabled in `old` but not in `new`.
    pub use_removed: BTreeSet<String>,
}

impl Change {
    /// Whether the version differs (by text: `1.0-r0` to `1.0` counts).
    pub fn version_changed(&self) -> bool {
        self.old.version.as_str() != self.new.version.as_str()
    }

    /// Whether the slot or sub-slot differs.
    pub fn slot_changed(&self) -> bool {
        self.old.slot != self.new.slot || self.old.subslot != self.new.subslot
    }
}

/// The difference between an old and a new package list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diff {
    /// Packages only in the new list.
    pub added: Vec<Installed>,
    /// Packages only in the old list.
    pub removed: Vec<Installed>,
    /// Packages in both whose version, slot or USE flags differ.
    pub changed: Vec<Change>,
}

impl Diff {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

type Groups<'a> = BTreeMap<String, Vec<&'a Installed>>;

fn group(pkgs: &[Installed]) -> Groups<'_> {
    let mut map: Groups = BTreeMap::new();
    for p in pkgs {
        map.entry(p.cp()).or_default().push(p);
    }
    map
}

/// Compares two package lists; results are sorted by `category/name`.
///
/// ```
/// use reagent_gentoo::{diff, Installed};
/// let old = [Installed::new("app-misc/foo-1.0", "0").unwrap()];
/// let new = [
///     Installed::new("app-misc/foo-1.1", "0").unwrap(),
///     Installed::new("app-misc/bar-2", "0").unwrap(),
/// ];
/// let d = diff(&old, &new);
/// assert_eq!(d.added[0].cpv(), "app-misc/bar-2");
/// assert_eq!(d.changed[0].new.version.to_string(), "1.1");
/// assert!(d.removed.is_empty());
/// ```
pub fn diff(old: &[Installed], new: &[Installed]) -> Diff {
    let old_groups = group(old);
    let new_groups = group(new);
    let keys: BTreeSet<&String> = old_groups.keys().chain(new_groups.keys()).collect();
    let mut out = Diff::default();
    for key in keys {
        let mut olds = old_groups.get(key).cloned().unwrap_or_default();
        let mut news = new_groups.get(key).cloned().unwrap_or_default();
        let single_instance = olds.len() == 1 && news.len() == 1;
        let mut pairs = Vec::new();
        olds.retain(|o| match news.iter().position(|n| n.slot == o.slot) {
            Some(i) => {
                pairs.push((*o, news.remove(i)));
                false
            }
            None => true,
        });
        if single_instance && olds.len() == 1 {
            pairs.push((olds[0], news[0]));
            olds.clear();
            news.clear();
        }
        for (o, n) in pairs {
            let change = Change {
                old: o.clone(),
                new: n.clone(),
                use_added: n.use_flags.difference(&o.use_flags).cloned().collect(),
                use_removed: o.use_flags.difference(&n.use_flags).cloned().collect(),
            };
            let differs = change.version_changed()
                || change.slot_changed()
                || !change.use_added.is_empty()
                || !change.use_removed.is_empty();
            if differs {
                out.changed.push(change);
            }
        }
        out.removed.extend(olds.into_iter().cloned());
        out.added.extend(news.into_iter().cloned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(cpv: &str, slot: &str, flags: &[&str]) -> Installed {
        let mut p = Installed::new(cpv, slot).unwrap();
        p.use_flags = flags.iter().map(ToString::to_string).collect();
        p
    }

    #[test]
    fn identical_lists_have_no_diff() {
        let a = [pkg("app-misc/foo-1", "0", &["x"])];
        assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn added_and_removed() {
        let old = [pkg("app-misc/gone-1", "0", &[])];
        let new = [pkg("app-misc/fresh-1", "0", &[])];
        let d = diff(&old, &new);
        assert_eq!(d.removed[0].cpv(), "app-misc/gone-1");
        assert_eq!(d.added[0].cpv(), "app-misc/fresh-1");
        assert!(d.changed.is_empty());
    }

    #[test]
    fn use_flag_changes() {
        let old = [pkg("app-misc/foo-1", "0", &["a", "b"])];
        let new = [pkg("app-misc/foo-1", "0", &["b", "c"])];
        let d = diff(&old, &new);
        let c = &d.changed[0];
        assert!(!c.version_changed());
        assert_eq!(c.use_added.iter().collect::<Vec<_>>(), ["c"]);
        assert_eq!(c.use_removed.iter().collect::<Vec<_>>(), ["a"]);
    }

    #[test]
    fn slots_pair_separately() {
        let old = [
            pkg("dev-lang/python-3.11.8", "3.11", &[]),
            pkg("dev-lang/python-3.12.2", "3.12", &[]),
        ];
        let new = [
            pkg("dev-lang/python-3.12.3", "3.12", &[]),
            pkg("dev-lang/python-3.13.0", "3.13", &[]),
        ];
        let d = diff(&old, &new);
        assert_eq!(d.changed.len(), 1);
        assert_eq!(d.changed[0].new.cpv(), "dev-lang/python-3.12.3");
        assert_eq!(d.removed[0].slot, "3.11");
        assert_eq!(d.added[0].slot, "3.13");
    }

    #[test]
    fn single_instance_slot_change() {
        let old = [pkg("dev-libs/foo-1", "1", &[])];
        let new = [pkg("dev-libs/foo-2", "2/2.0", &[])];
        let d = diff(&old, &new);
        assert!(d.added.is_empty() && d.removed.is_empty());
        assert!(d.changed[0].slot_changed());
        assert!(d.changed[0].version_changed());
    }

    #[test]
    fn subslot_change_alone_counts() {
        let old = [pkg("dev-libs/foo-1", "0/1", &[])];
        let new = [pkg("dev-libs/foo-1", "0/2", &[])];
        assert!(diff(&old, &new).changed[0].slot_changed());
    }
}
