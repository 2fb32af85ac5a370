//! Reading `emerge.log`: which packages a build merged.
//!
//! Portage appends a line for every step of every merge to `/var/log/emerge.log`:
//!
//! ```text
//! 1732900000:  >>> emerge (1 of 2) app-misc/hello-1.0::mini to /
//! 1732900004:  ::: completed emerge (1 of 2) app-misc/hello-1.0 to /
//! 1732900009:  >>> unmerge success: dev-util/bdep-1.0
//! ```
//!
//! reagent mounts an empty log over that path for each build of an image, so the
//! file holds exactly that build's merges — including build dependencies that
//! `emerge --depclean` removes again before the layer is committed, which the
//! image's package database no longer shows. [`merged`] reads the completed
//! merges; a merge that started and never completed is left out (it changed
//! nothing that lasted).

use std::collections::BTreeMap;

use crate::cpv::Cpv;

/// One package a build merged.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Merged {
    /// `category/package-version`, e.g. `app-misc/hello-1.0-r1`.
    pub cpv: String,
    /// The repository it came from, when the log says (`::gentoo`).
    pub repo: Option<String>,
}

impl Merged {
    /// `category/package`.
    pub fn cp(&self) -> Option<String> {
        Cpv::parse(&self.cpv).ok().map(|c| c.cp())
    }
}

/// The packages whose merge completed, in the order they completed, each once
/// (a package merged twice, say by two RUN steps, is listed at its first merge).
pub fn merged(log: &str) -> Vec<Merged> {
    // `>>> emerge (n of m) cpv::repo to /` names the repository; `::: completed`
    // may not, so the repository is remembered from the start line.
    let mut repos: BTreeMap<String, String> = BTreeMap::new();
    let mut out: Vec<Merged> = Vec::new();
    for line in log.lines() {
        let text = line.split_once(":  ").map_or(line, |(_, t)| t).trim();
        if let Some(rest) = text.strip_prefix(">>> emerge ") {
            if let Some((cpv, Some(repo))) = target(rest) {
                repos.insert(cpv, repo);
            }
        } else if let Some(rest) = text.strip_prefix("::: completed emerge ") {
            if let Some((cpv, repo)) = target(rest) {
                if out.iter().any(|m| m.cpv == cpv) {
                    continue;
                }
                let repo = repo.or_else(|| repos.get(&cpv).cloned());
                out.push(Merged { cpv, repo });
            }
        }
    }
    out
}

/// `(1 of 2) cat/pkg-1.0::repo to /` → `("cat/pkg-1.0", Some("repo"))`.
fn target(rest: &str) -> Option<(String, Option<String>)> {
    let after_count = rest.strip_prefix('(')?.split_once(") ")?.1;
    let atom = after_count.split_whitespace().next()?;
    let (cpv, repo) = match atom.split_once("::") {
        Some((cpv, repo)) => (cpv, Some(repo.to_string())),
        None => (atom, None),
    };
    Cpv::parse(cpv).ok()?;
    Some((cpv.to_string(), repo))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
1732900000: Started emerge on: Nov 29, 2026 10:00:00
1732900000:  *** emerge --with-bdeps=y app-misc/hello
1732900001:  >>> emerge (1 of 2) dev-util/bdep-1.0::mini to /
1732900001:  === (1 of 2) Cleaning (dev-util/bdep-1.0::/var/db/repos/mini/dev-util/bdep/bdep-1.0.ebuild)
1732900002:  === (1 of 2) Merging (dev-util/bdep-1.0::/var/db/repos/mini/dev-util/bdep/bdep-1.0.ebuild)
1732900003:  ::: completed emerge (1 of 2) dev-util/bdep-1.0 to /
1732900004:  >>> emerge (2 of 2) app-misc/hello-1.0-r1::mini to /
1732900005:  ::: completed emerge (2 of 2) app-misc/hello-1.0-r1 to /
1732900006:  *** exiting successfully.
1732900007:  *** emerge --depclean
1732900008:  >>> unmerge success: dev-util/bdep-1.0
1732900009:  >>> emerge (1 of 1) app-misc/broken-2::mini to /
1732900010:  *** exiting unsuccessfully with status '1'.
";

    #[test]
    fn completed_merges_with_their_repository() {
        let m = merged(LOG);
        assert_eq!(
            m,
            [
                Merged {
                    cpv: "dev-util/bdep-1.0".into(),
                    repo: Some("mini".into())
                },
                Merged {
                    cpv: "app-misc/hello-1.0-r1".into(),
                    repo: Some("mini".into())
                },
            ],
            "a merge removed by depclean still counts; one that never completed does not"
        );
        assert_eq!(m[1].cp().as_deref(), Some("app-misc/hello"));
    }

    #[test]
    fn odd_lines_are_skipped_and_repeats_listed_once() {
        let log = "garbage\n1:  ::: completed emerge (1 of 1) not-a-cpv to /\n\
                   2:  ::: completed emerge (1 of 1) a/b-1 to /\n\
                   3:  ::: completed emerge (1 of 1) a/b-1::x to /\n";
        assert_eq!(
            merged(log),
            [Merged {
                cpv: "a/b-1".into(),
                repo: None
            }]
        );
        assert!(merged("").is_empty());
    }
}
