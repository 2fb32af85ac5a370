//! Reading `emerge.log`: which packages a build merged.
//!
//! Portage appends a line for every step of every merge to `/var/log/emerge.log`.
//! These are the lines of portage 3.0.83 building two packages, merging a
//! third from a binary package, and `emerge --depclean --with-bdeps=n`
//! removing the build dependency again:
//!
//! ```text
//! 1796665398:  >>> emerge (1 of 2) dev-util/bdep-1.0 to /
//! 1796665398:  === (1 of 2) Compiling/Packaging (dev-util/bdep-1.0::/var/db/repos/gentoo/dev-util/bdep/bdep-1.0.ebuild)
//! 1796665406:  ::: completed emerge (1 of 2) dev-util/bdep-1.0 to /
//! 1796665428:  >>> emerge (1 of 1) app-misc/hello-1.0 to /
//! 1796665428:  === (1 of 1) Merging Binary (app-misc/hello-1.0::/var/cache/binpkgs/app-misc/hello-1.0.gpkg.tar)
//! 1796665431:  ::: completed emerge (1 of 1) app-misc/hello-1.0 to /
//! 1796665440: === Unmerging... (dev-util/bdep-1.0)
//! 1796665442:  >>> unmerge success: dev-util/bdep-1.0
//! ```
//!
//! The log never names a package's repository: the `===` lines give the
//! ebuild's path (so the repository's location) or the binary package's path,
//! after the `cpv::` separator. reagent mounts an empty log over that path for
//! each build of an image, so the file holds exactly that build's merges —
//! including build dependencies that `emerge --depclean` removes again before
//! the layer is committed, which the image's package database no longer shows.
//! [`merged`] reads the completed merges; a merge that started and never
//! completed is left out (it changed nothing that lasted).

use std::collections::BTreeMap;

use crate::cpv::Cpv;

/// Where emerge took a merged package from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    /// Built from an ebuild of the repository at this location in the build
    /// (e.g. `/var/db/repos/gentoo`).
    Ebuild {
        /// The repository's folder: the ebuild's path without `cat/pkg/pf.ebuild`.
        repo_location: String,
    },
    /// Merged from the binary package at this path (`>>> Emerging binary`).
    Binary {
        /// The package file, e.g. `/var/cache/binpkgs/app-misc/hello-1.0.gpkg.tar`.
        package: String,
    },
}

/// One package a build merged.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Merged {
    /// `category/package-version`, e.g. `app-misc/hello-1.0-r1`.
    pub cpv: String,
    /// Where it came from, when the log says (an interrupted log may not).
    pub origin: Option<Origin>,
}

impl Merged {
    /// `category/package`.
    pub fn cp(&self) -> Option<String> {
        Cpv::parse(&self.cpv).ok().map(|c| c.cp())
    }

    /// Whether it was merged from a binary package rather than compiled.
    pub fn is_binary(&self) -> bool {
        matches!(self.origin, Some(Origin::Binary { .. }))
    }
}

/// The packages whose merge completed, in the order they completed, each once
/// (a package merged twice, say by two RUN steps, is listed at its first merge).
pub fn merged(log: &str) -> Vec<Merged> {
    // The `===` lines of a merge name its origin; `::: completed` closes it.
    let mut origins: BTreeMap<String, Origin> = BTreeMap::new();
    let mut out: Vec<Merged> = Vec::new();
    for line in log.lines() {
        let text = line.split_once(": ").map_or(line, |(_, t)| t).trim();
        if let Some(rest) = text.strip_prefix("=== (") {
            if let Some((cpv, origin)) = step(rest) {
                origins.insert(cpv, origin);
            }
        } else if let Some(rest) = text.strip_prefix("::: completed emerge ") {
            if let Some(cpv) = target(rest) {
                if out.iter().any(|m| m.cpv == cpv) {
                    continue;
                }
                let origin = origins.get(&cpv).cloned();
                out.push(Merged { cpv, origin });
            }
        }
    }
    out
}

/// `(1 of 2) cat/pkg-1.0 to /` → `"cat/pkg-1.0"`.
fn target(rest: &str) -> Option<String> {
    let after_count = rest.strip_prefix('(')?.split_once(") ")?.1;
    let cpv = after_count.split_whitespace().next()?;
    Cpv::parse(cpv).ok()?;
    Some(cpv.to_string())
}

/// After `=== (`: `1 of 2) Compiling/Packaging (cat/pkg-1.0::/repo/cat/pkg/pkg-1.0.ebuild)`
/// or `1 of 1) Merging Binary (cat/pkg-1.0::/pkgdir/cat/pkg-1.0.gpkg.tar)` →
/// the CPV and where it came from.
fn step(rest: &str) -> Option<(String, Origin)> {
    let (_, phase) = rest.split_once(") ")?;
    let inner = phase.split_once(" (")?.1.strip_suffix(')')?;
    let (cpv, path) = inner.split_once("::")?;
    Cpv::parse(cpv).ok()?;
    let origin = if let Some(stem) = path.strip_suffix(".ebuild") {
        // `<location>/<cat>/<pn>/<pf>.ebuild`
        let mut parts = stem.rsplitn(4, '/');
        let (_pf, _pn, _cat) = (parts.next()?, parts.next()?, parts.next()?);
        Origin::Ebuild {
            repo_location: parts.next()?.to_string(),
        }
    } else if [".gpkg.tar", ".tbz2", ".xpak"]
        .iter()
        .any(|ext| path.ends_with(ext))
    {
        Origin::Binary {
            package: path.to_string(),
        }
    } else {
        return None;
    };
    Some((cpv.to_string(), origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured from portage 3.0.83 in a chroot: `emerge --usepkg --buildpkg
    /// app-misc/hello` (which builds its BDEPEND dev-util/bdep first), an
    /// unmerge of hello, `emerge --usepkg app-misc/hello` again (a binary), and
    /// `emerge --depclean --with-bdeps=n`; plus a merge that failed.
    const LOG: &str = "\
1796665398: Started emerge on: Dec 07, 2026 17:43:18
1796665398:  *** emerge --buildpkg --regex-search-auto=y --usepkg app-misc/hello
1796665398:  >>> emerge (1 of 2) dev-util/bdep-1.0 to /
1796665398:  === (1 of 2) Cleaning (dev-util/bdep-1.0::/var/db/repos/gentoo/dev-util/bdep/bdep-1.0.ebuild)
1796665398:  === (1 of 2) Compiling/Packaging (dev-util/bdep-1.0::/var/db/repos/gentoo/dev-util/bdep/bdep-1.0.ebuild)
1796665403:  === (1 of 2) Merging (dev-util/bdep-1.0::/var/db/repos/gentoo/dev-util/bdep/bdep-1.0.ebuild)
1796665404:  >>> AUTOCLEAN: dev-util/bdep:0
1796665406:  === (1 of 2) Post-Build Cleaning (dev-util/bdep-1.0::/var/db/repos/gentoo/dev-util/bdep/bdep-1.0.ebuild)
1796665406:  ::: completed emerge (1 of 2) dev-util/bdep-1.0 to /
1796665406:  >>> emerge (2 of 2) app-misc/hello-1.0 to /
1796665406:  === (2 of 2) Cleaning (app-misc/hello-1.0::/var/db/repos/gentoo/app-misc/hello/hello-1.0.ebuild)
1796665406:  === (2 of 2) Compiling/Packaging (app-misc/hello-1.0::/var/db/repos/gentoo/app-misc/hello/hello-1.0.ebuild)
1796665409:  === (2 of 2) Merging (app-misc/hello-1.0::/var/db/repos/gentoo/app-misc/hello/hello-1.0.ebuild)
1796665411:  >>> AUTOCLEAN: app-misc/hello:0
1796665412:  === (2 of 2) Updating world file (app-misc/hello-1.0)
1796665412:  === (2 of 2) Post-Build Cleaning (app-misc/hello-1.0::/var/db/repos/gentoo/app-misc/hello/hello-1.0.ebuild)
1796665412:  ::: completed emerge (2 of 2) app-misc/hello-1.0 to /
1796665412:  *** Finished. Cleaning up...
1796665412:  *** exiting successfully.
1796665412:  *** terminating.
1796665420: Started emerge on: Dec 07, 2026 17:43:40
1796665420:  *** emerge --regex-search-auto=y --unmerge app-misc/hello
1796665425: === Unmerging... (app-misc/hello-1.0)
1796665426:  >>> unmerge success: app-misc/hello-1.0
1796665426:  *** exiting successfully.
1796665426:  *** terminating.
1796665427: Started emerge on: Dec 07, 2026 17:43:47
1796665427:  *** emerge --buildpkg --with-bdeps=y --regex-search-auto=y --usepkg app-misc/hello
1796665428:  >>> emerge (1 of 1) app-misc/hello-1.0 to /
1796665428:  === (1 of 1) Merging Binary (app-misc/hello-1.0::/var/cache/binpkgs/app-misc/hello-1.0.gpkg.tar)
1796665430:  >>> AUTOCLEAN: app-misc/hello:0
1796665431:  === (1 of 1) Updating world file (app-misc/hello-1.0)
1796665431:  === (1 of 1) Post-Build Cleaning (app-misc/hello-1.0::/var/cache/binpkgs/app-misc/hello-1.0.gpkg.tar)
1796665431:  ::: completed emerge (1 of 1) app-misc/hello-1.0 to /
1796665431:  *** Finished. Cleaning up...
1796665431:  *** exiting successfully.
1796665431:  *** terminating.
1796665435: Started emerge on: Dec 07, 2026 17:43:55
1796665435:  *** emerge --with-bdeps=n --regex-search-auto=y --depclean
1796665435:  >>> depclean
1796665440: === Unmerging... (dev-util/bdep-1.0)
1796665442:  >>> unmerge success: dev-util/bdep-1.0
1796665442:  *** exiting successfully.
1796665442:  *** terminating.
1796665450: Started emerge on: Dec 07, 2026 17:44:10
1796665450:  *** emerge app-misc/broken
1796665450:  >>> emerge (1 of 1) app-misc/broken-2 to /
1796665450:  === (1 of 1) Compiling/Packaging (app-misc/broken-2::/var/db/repos/gentoo/app-misc/broken/broken-2.ebuild)
1796665451:  *** exiting unsuccessfully with status '1'.
";

    #[test]
    fn completed_merges_with_where_they_came_from() {
        let m = merged(LOG);
        let gentoo = Some(Origin::Ebuild {
            repo_location: "/var/db/repos/gentoo".into(),
        });
        assert_eq!(
            m,
            [
                Merged {
                    cpv: "dev-util/bdep-1.0".into(),
                    origin: gentoo.clone(),
                },
                Merged {
                    cpv: "app-misc/hello-1.0".into(),
                    origin: gentoo,
                },
            ],
            "a merge removed by depclean still counts, a repeat is listed at its \
             first merge, one that never completed does not count"
        );
        assert_eq!(m[1].cp().as_deref(), Some("app-misc/hello"));
    }

    #[test]
    fn a_binary_merge_is_told_apart() {
        let binary_only = LOG
            .lines()
            .skip_while(|l| !l.contains("--with-bdeps=y"))
            .collect::<Vec<_>>()
            .join("\n");
        let m = merged(&binary_only);
        assert_eq!(
            m,
            [Merged {
                cpv: "app-misc/hello-1.0".into(),
                origin: Some(Origin::Binary {
                    package: "/var/cache/binpkgs/app-misc/hello-1.0.gpkg.tar".into()
                }),
            }]
        );
        assert!(m[0].is_binary());
        assert!(!merged(LOG)[0].is_binary());
    }

    #[test]
    fn odd_lines_are_skipped() {
        let log = "garbage\n1:  ::: completed emerge (1 of 1) not-a-cpv to /\n\
                   1:  === (1 of 1) Merging (a/b-1::nowhere)\n\
                   1:  === (1 of 1) Merging (a/b-1::/x.ebuild)\n\
                   2:  ::: completed emerge (1 of 1) a/b-1 to /mnt/root\n";
        assert_eq!(
            merged(log),
            [Merged {
                cpv: "a/b-1".into(),
                origin: None,
            }]
        );
        assert!(merged("").is_empty());
    }
}
