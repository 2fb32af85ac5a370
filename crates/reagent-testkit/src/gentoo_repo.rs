//! [`GentooRepo`]: a synthetic `::gentoo` tree for the real `emerge`.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// Where the mini-Gentoo image expects the tree (its `repos.conf`).
pub const TREE_PATH: &str = "/var/db/repos/gentoo";
/// The profile `/etc/portage/make.profile` points at, relative to `profiles/`.
pub const PROFILE: &str = "default/linux/amd64";
/// The advisory in the tree's `metadata/glsa/`: `app-misc/hello` before 1.2
/// is vulnerable (so the stable 1.1 is found by `reagent audit`).
pub const GLSA_HELLO: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE glsa SYSTEM "http://www.gentoo.org/dtd/glsa-2.dtd">
<glsa id="202612-01">
  <title>hello: greeting overflow</title>
  <synopsis>A long greeting overflows a buffer in hello.</synopsis>
  <product type="ebuild">hello</product>
  <bug>990001</bug>
  <affected>
    <package name="app-misc/hello" auto="yes" arch="*">
      <unaffected range="ge">1.2</unaffected>
      <vulnerable range="lt">1.2</vulnerable>
    </package>
  </affected>
  <impact type="normal"><p>A crash.</p></impact>
</glsa>
"#;

/// The eclasses of the tree.
pub const ECLASSES: &[&str] = &["mini-utils", "mini-c", "mini-data"];

/// A small synthetic ebuild repository shaped like `::gentoo`,
/// which the real `emerge` of the mini-Gentoo rootfs ([`crate::mini_gentoo`])
/// resolves, builds and merges.
///
/// What is in it (every ebuild is EAPI 8, keyworded for `amd64`):
///
/// | package | versions (SLOT) | what it shows |
/// | --- | --- | --- |
/// | `sys-libs/mini-base` | 1.0 | the `@system` package (profile `packages`) |
/// | `dev-libs/libmini` | 1.0 (0/1.0), 1.1 (0/1.1), 2.0 (2, `~amd64`) | sub-slots, a second slot, a header other packages compile against |
/// | `dev-util/mini-make` | 1.0 | a build tool, only ever a `BDEPEND` |
/// | `sys-apps/mini-gawk`, `sys-apps/mini-mawk` | 5.2, 1.3.4 | the two providers of the virtual |
/// | `virtual/mini-awk` | 0 | a virtual: `\|\| ( sys-apps/mini-gawk sys-apps/mini-mawk )` |
/// | `dev-lang/mini-lua` | 5.1.5 (5.1), 5.4.6 and 5.4.6-r1 (5.4) | slots and a revision; compiled C |
/// | `app-misc/hello` | 1.0, 1.1, 2.0 (`~amd64`) | compiled C with `DEPEND`/`RDEPEND`/`BDEPEND` chains, `IUSE="+nls greeting"` |
/// | `app-editors/mini-edit` | 1.0 | `IUSE="+syntax lua"`, `lua? ( dev-lang/mini-lua:5.4 )` |
/// | `net-misc/mini-fetch` | 0.9, 1.0 | `IUSE="ssl +ipv6"`, `ssl? ( dev-libs/libmini )` |
///
/// Three eclasses: `mini-utils` (the `mini_stamp` helper every package
/// uses), `mini-c` (compiles `files/<prog>.c` with `gcc` when there is one,
/// else installs a shell stand-in) and `mini-data` (installs data files); both
/// inherit `mini-utils`. Every package installs real files, among them
/// `/usr/share/<PN>/stamp` holding its `CATEGORY/PF` and enabled USE flags.
///
/// The profile is `profiles/default/linux/amd64` (`eapi` 8, `make.defaults`
/// with `ARCH`, `ACCEPT_KEYWORDS`, `ELIBC`, `KERNEL`, `USERLAND`, `package.use`,
/// `packages`) over `profiles/base`; plus `profiles/repo_name` (`gentoo`),
/// `categories`, `license_groups`, `package.mask`, `metadata/layout.conf`,
/// `metadata/timestamp.commit` (the snapshot's identity in reagent) and one
/// advisory, [`GLSA_HELLO`], in `metadata/glsa/`.
///
/// The mutations do what an `emerge --sync` does to files, and each moves
/// `metadata/timestamp.commit` to a new commit id, as a sync does:
/// [`GentooRepo::add_version`], [`GentooRepo::bump`],
/// [`GentooRepo::edit_eclass`], [`GentooRepo::edit_profile`].
#[derive(Debug, Clone)]
pub struct GentooRepo {
    root: PathBuf,
}

/// One ebuild of the tree: category, package, version, and the text after `EAPI=8`.
struct Ebuild {
    cat: &'static str,
    pn: &'static str,
    pvr: &'static str,
    body: String,
}

impl GentooRepo {
    /// Write the whole tree into `root` (created if missing; files already
    /// there with the same names are overwritten) and return it.
    pub fn create(root: &Path) -> GentooRepo {
        let repo = GentooRepo {
            root: root.to_path_buf(),
        };
        for (rel, text) in static_files() {
            repo.write(rel, text);
        }
        for (name, text) in eclasses() {
            repo.write(&format!("eclass/{name}.eclass"), &text);
        }
        for (rel, text) in c_sources() {
            repo.write(rel, text);
        }
        for e in ebuilds() {
            repo.write(
                &format!("{}/{}/{}-{}.ebuild", e.cat, e.pn, e.pn, e.pvr),
                &ebuild_text(&e.body),
            );
        }
        repo.write("metadata/timestamp.commit", &commit_line(1));
        repo
    }

    /// A tree [`GentooRepo::create`] wrote earlier, at `root`.
    pub fn open(root: &Path) -> GentooRepo {
        GentooRepo {
            root: root.to_path_buf(),
        }
    }

    /// The tree's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `rel` inside the tree.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// The commit id in `metadata/timestamp.commit` (40 hex digits).
    pub fn commit(&self) -> String {
        let text = fs::read_to_string(self.path("metadata/timestamp.commit"))
            .expect("read metadata/timestamp.commit");
        text.split_whitespace()
            .next()
            .expect("a commit id in metadata/timestamp.commit")
            .to_string()
    }

    /// Add the ebuild `cpv` (`category/package-version[-rN]`, e.g.
    /// `app-misc/hello-1.2`), a copy of the package's newest existing ebuild
    /// (same SLOT, KEYWORDS, dependencies), as a sync that adds a version
    /// does. Returns the new ebuild's path.
    pub fn add_version(&self, cpv: &str) -> PathBuf {
        let (cat, rest) = cpv
            .split_once('/')
            .expect("cpv is category/package-version");
        let (pn, _) = split_pv(rest).expect("cpv has a version");
        let template = self.newest_ebuild(cat, &pn);
        let text = fs::read_to_string(&template).expect("read the template ebuild");
        let path = self.path(&format!("{cat}/{pn}/{rest}.ebuild"));
        assert!(!path.exists(), "{cpv} is already in the tree");
        fs::write(&path, text).expect("write the new ebuild");
        self.next_commit();
        path
    }

    /// Bump `package` (`category/package`): its newest stable ebuild (the
    /// one a stable system installs, `KEYWORDS="amd64"`) gets the next
    /// revision (`hello-1.1` becomes `hello-1.1-r1`, `-r1` becomes `-r2`)
    /// with a changed body, and the old file is removed, as a sync that
    /// revision-bumps a package does. Returns the new CPV
    /// (`app-misc/hello-1.1-r1`).
    pub fn bump(&self, package: &str) -> String {
        let (cat, pn) = package
            .split_once('/')
            .expect("package is category/package");
        let old = self.newest_stable_ebuild(cat, pn);
        let stem = old
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("ebuild file name")
            .to_string();
        let (_, pvr) = split_pv(&stem).expect("ebuild name has a version");
        let (pv, rev) = match pvr.rsplit_once("-r") {
            Some((pv, r)) if r.parse::<u32>().is_ok() => {
                (pv.to_string(), r.parse::<u32>().unwrap_or(0))
            }
            _ => (pvr.clone(), 0),
        };
        let pf = format!("{pn}-{pv}-r{}", rev + 1);
        let mut text = fs::read_to_string(&old).expect("read the ebuild");
        let _ = writeln!(text, "\n# Revision bump: r{}.", rev + 1);
        fs::write(self.path(&format!("{cat}/{pn}/{pf}.ebuild")), text).expect("write the bump");
        fs::remove_file(&old).expect("remove the old revision");
        self.next_commit();
        format!("{cat}/{pf}")
    }

    /// Change `eclass/<name>.eclass` (`name` without `.eclass`, e.g.
    /// `mini-utils`): a new comment line, so every package inheriting it
    /// reads a different eclass.
    pub fn edit_eclass(&self, name: &str) {
        let path = self.path(&format!("eclass/{name}.eclass"));
        let mut text = fs::read_to_string(&path).expect("read the eclass");
        let _ = writeln!(text, "# Edited by a sync to {}.", self.commit_number() + 1);
        fs::write(&path, text).expect("write the eclass");
        self.next_commit();
    }

    /// Change the profile's `make.defaults` (a new variable no package reads),
    /// which every image built with this profile reads.
    pub fn edit_profile(&self) {
        let path = self.path(&format!("profiles/{PROFILE}/make.defaults"));
        let mut text = fs::read_to_string(&path).expect("read make.defaults");
        let _ = writeln!(text, "MINI_PROFILE_SYNC=\"{}\"", self.commit_number() + 1);
        fs::write(&path, text).expect("write make.defaults");
        self.next_commit();
    }

    /// The newest ebuild of `cat/pn` keyworded stable (`amd64`, not `~amd64`).
    fn newest_stable_ebuild(&self, cat: &str, pn: &str) -> PathBuf {
        self.newest(cat, pn, |text| {
            text.lines()
                .any(|l| l.starts_with("KEYWORDS=") && l.split(['"', ' ']).any(|k| k == "amd64"))
        })
    }

    /// The newest ebuild of `cat/pn`.
    fn newest_ebuild(&self, cat: &str, pn: &str) -> PathBuf {
        self.newest(cat, pn, |_| true)
    }

    /// The newest ebuild of `cat/pn` whose text passes `keep`, by portage's
    /// version order restricted to what this tree uses (dotted numbers and `-rN`).
    fn newest(&self, cat: &str, pn: &str, keep: impl Fn(&str) -> bool) -> PathBuf {
        let dir = self.path(&format!("{cat}/{pn}"));
        let mut best: Option<(Vec<u64>, PathBuf)> = None;
        for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("read the package folder").path();
            let Some(stem) = path
                .extension()
                .filter(|x| *x == "ebuild")
                .and_then(|_| path.file_stem())
                .and_then(|s| s.to_str())
            else {
                continue;
            };
            let Some((_, pvr)) = split_pv(stem) else {
                continue;
            };
            if !keep(&fs::read_to_string(&path).unwrap_or_default()) {
                continue;
            }
            let order = version_order(&pvr);
            if best.as_ref().is_none_or(|(b, _)| order > *b) {
                best = Some((order, path.clone()));
            }
        }
        best.map_or_else(|| panic!("no such ebuild in {}", dir.display()), |(_, p)| p)
    }

    fn commit_number(&self) -> u64 {
        u64::from_str_radix(self.commit().trim_start_matches('0'), 16).unwrap_or(0)
    }

    fn next_commit(&self) {
        self.write(
            "metadata/timestamp.commit",
            &commit_line(self.commit_number() + 1),
        );
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().expect("a file inside the tree"))
            .unwrap_or_else(|e| panic!("create the folder of {}: {e}", path.display()));
        fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
}

/// `metadata/timestamp.commit` for sync number `n`: a 40-digit commit id and a date.
fn commit_line(n: u64) -> String {
    format!("{n:040x} 1733529600\n")
}

/// Split `pkg-1.2-r1` into (`pkg`, `1.2-r1`): the version starts after the
/// last `-` followed by a digit that is not a revision.
fn split_pv(s: &str) -> Option<(String, String)> {
    let mut cut = None;
    for (i, _) in s.match_indices('-') {
        let after = &s[i + 1..];
        if after.starts_with(|c: char| c.is_ascii_digit()) {
            cut = Some(i);
            break;
        }
    }
    let i = cut?;
    Some((s[..i].to_string(), s[i + 1..].to_string()))
}

/// A sort key for the versions this tree uses: the dotted numbers, then the revision.
fn version_order(pvr: &str) -> Vec<u64> {
    let (pv, rev) = match pvr.rsplit_once("-r") {
        Some((pv, r)) if r.parse::<u64>().is_ok() => (pv, r.parse::<u64>().unwrap_or(0)),
        _ => (pvr, 0),
    };
    let mut key: Vec<u64> = pv.split('.').map(|p| p.parse().unwrap_or(0)).collect();
    key.resize(6, 0);
    key.push(rev);
    key
}

fn ebuild_text(body: &str) -> String {
    format!(
        "# Copyright 2026 reagent tests\n# Distributed under the terms of the MIT license\n\nEAPI=8\n\n{}",
        body.trim_start()
    )
}

/// The ebuilds of the tree.
#[allow(clippy::too_many_lines)]
fn ebuilds() -> Vec<Ebuild> {
    let mut all = Vec::new();
    let common = |desc: &str| {
        format!(
            "DESCRIPTION=\"{desc}\"\nHOMEPAGE=\"https://example.org/mini\"\nLICENSE=\"MIT\"\nS=\"${{WORKDIR}}\"\n"
        )
    };

    all.push(Ebuild {
        cat: "sys-libs",
        pn: "mini-base",
        pvr: "1.0",
        body: format!(
            r#"inherit mini-data

{}SLOT="0"
KEYWORDS="amd64"
IUSE="+locale"

MINI_DATA_FILES=( os-release )

src_compile() {{
	printf 'NAME="mini-base"\nVERSION="%s"\n' "${{PV}}" > os-release || die
	if use locale; then
		echo "C.UTF-8" >> os-release || die
	fi
}}
"#,
            common("The base files of the mini tree")
        ),
    });

    for (pvr, slot, kw) in [
        ("1.0", "0/1.0", "amd64"),
        ("1.1", "0/1.1", "amd64"),
        ("2.0", "2", "~amd64"),
    ] {
        all.push(Ebuild {
            cat: "dev-libs",
            pn: "libmini",
            pvr,
            body: format!(
                r#"inherit mini-data

{}SLOT="{slot}"
KEYWORDS="{kw}"
IUSE="+static-libs"

src_compile() {{
	printf '#define LIBMINI_VERSION "%s"\n' "${{PV}}" > mini.h || die
}}

src_install() {{
	insinto /usr/include
	doins mini.h
	mini-data_src_install
}}
"#,
                common("A header-only library the C packages build against")
            ),
        });
    }

    all.push(Ebuild {
        cat: "dev-util",
        pn: "mini-make",
        pvr: "1.0",
        body: format!(
            r#"inherit mini-utils

{}SLOT="0"
KEYWORDS="amd64"

src_compile() {{
	printf '#!/bin/sh\necho "mini-make %s"\n' "${{PV}}" > mini-make || die
}}

src_install() {{
	dobin mini-make
	mini_stamp
}}
"#,
            common("A build tool: only ever a build dependency")
        ),
    });

    for (pn, pvr) in [("mini-gawk", "5.2"), ("mini-mawk", "1.3.4")] {
        all.push(Ebuild {
            cat: "sys-apps",
            pn,
            pvr,
            body: format!(
                r#"inherit mini-utils

{}SLOT="0"
KEYWORDS="amd64"

src_compile() {{
	printf '#!/bin/sh\necho "%s %s"\n' "${{PN}}" "${{PV}}" > mini-awk || die
}}

src_install() {{
	newbin mini-awk ${{PN}}
	dosym ${{PN}} /usr/bin/mini-awk
	mini_stamp
}}
"#,
                common("One provider of virtual/mini-awk")
            ),
        });
    }

    all.push(Ebuild {
        cat: "virtual",
        pn: "mini-awk",
        pvr: "0",
        body: r#"DESCRIPTION="Virtual for an awk of the mini tree"
SLOT="0"
KEYWORDS="amd64"

RDEPEND="|| ( sys-apps/mini-gawk sys-apps/mini-mawk )"
"#
        .to_string(),
    });

    for (pvr, slot) in [("5.1.5", "5.1"), ("5.4.6", "5.4"), ("5.4.6-r1", "5.4")] {
        all.push(Ebuild {
            cat: "dev-lang",
            pn: "mini-lua",
            pvr,
            body: format!(
                r#"inherit mini-c

{}SLOT="{slot}"
KEYWORDS="amd64"
IUSE="+readline"

MINI_C_PROG="mini-lua"

src_configure() {{
	MINI_C_FLAGS="-DMINI_SLOT=\"${{SLOT}}\""
	use readline && MINI_C_FLAGS+=" -DMINI_READLINE"
}}

src_install() {{
	MINI_C_PROG_NAME="mini-lua${{SLOT}}" mini-c_src_install
}}
"#,
                common("A tiny language, one slot per major version")
            ),
        });
    }

    for (pvr, kw) in [("1.0", "amd64"), ("1.1", "amd64"), ("2.0", "~amd64")] {
        all.push(Ebuild {
            cat: "app-misc",
            pn: "hello",
            pvr,
            body: format!(
                r#"inherit mini-c

{}SLOT="0"
KEYWORDS="{kw}"
IUSE="+nls greeting"

RDEPEND="sys-libs/mini-base
	virtual/mini-awk"
DEPEND="${{RDEPEND}}
	dev-libs/libmini:0="
BDEPEND="dev-util/mini-make"

MINI_C_PROG="hello"

src_configure() {{
	mini-make || die "the build tool is missing"
	MINI_C_FLAGS="-DMINI_WITH_LIB"
	use nls && MINI_C_FLAGS+=" -DMINI_NLS"
	use greeting && MINI_C_FLAGS+=" -DMINI_GREETING"
}}
"#,
                common("Prints a greeting: compiled C against dev-libs/libmini")
            ),
        });
    }

    all.push(Ebuild {
        cat: "app-editors",
        pn: "mini-edit",
        pvr: "1.0",
        body: format!(
            r##"inherit mini-data

{}SLOT="0"
KEYWORDS="amd64"
IUSE="+syntax lua"

RDEPEND="sys-libs/mini-base
	lua? ( dev-lang/mini-lua:5.4 )"

MINI_DATA_FILES=( mini-editrc )

src_compile() {{
	echo "# mini-edit ${{PV}}" > mini-editrc || die
	use syntax && echo "syntax on" >> mini-editrc
	use lua && echo "plugin lua" >> mini-editrc
}}
"##,
            common("An editor's configuration, with optional lua plugins")
        ),
    });

    for pvr in ["0.9", "1.0"] {
        all.push(Ebuild {
            cat: "net-misc",
            pn: "mini-fetch",
            pvr,
            body: format!(
                r#"inherit mini-utils

{}SLOT="0"
KEYWORDS="amd64"
IUSE="ssl +ipv6"

RDEPEND="virtual/mini-awk
	ssl? ( dev-libs/libmini )"

src_compile() {{
	{{
		echo '#!/bin/sh'
		echo "echo mini-fetch ${{PV}}"
		use ipv6 && echo 'echo ipv6'
		use ssl && echo 'echo ssl'
	}} > mini-fetch || die
}}

src_install() {{
	dobin mini-fetch
	mini_stamp
}}
"#,
                common("Fetches nothing, with optional ssl and ipv6")
            ),
        });
    }
    all
}

/// The eclasses: name (without `.eclass`) and text.
fn eclasses() -> Vec<(&'static str, String)> {
    let header = |name: &str, blurb: &str| {
        format!(
            "# Copyright 2026 reagent tests\n# Distributed under the terms of the MIT license\n\n\
             # @ECLASS: {name}.eclass\n# @MAINTAINER:\n# reagent tests\n# @SUPPORTED_EAPIS: 8\n\
             # @BLURB: {blurb}\n\ncase ${{EAPI}} in\n\t8) ;;\n\t*) die \"${{ECLASS}}: EAPI ${{EAPI}} unsupported\" ;;\nesac\n\n"
        )
    };
    vec![
        (
            "mini-utils",
            header("mini-utils", "helpers every package of the mini tree uses")
                + r#"if [[ -z ${_MINI_UTILS_ECLASS} ]]; then
_MINI_UTILS_ECLASS=1

# @FUNCTION: mini_stamp
# @DESCRIPTION:
# Install /usr/share/${PN}/stamp: the package's CATEGORY/PF and the USE
# flags of its IUSE that are enabled, one per line.
mini_stamp() {
	local flag enabled=()
	for flag in ${IUSE}; do
		flag=${flag#[+-]}
		use "${flag}" && enabled+=( "${flag}" )
	done
	dodir "/usr/share/${PN}"
	printf '%s\nUSE=%s\n' "${CATEGORY}/${PF}" "${enabled[*]}" \
		> "${ED}/usr/share/${PN}/stamp" || die "cannot write the stamp"
}

fi
"#,
        ),
        (
            "mini-c",
            header("mini-c", "compile one C program from FILESDIR")
                + r#"if [[ -z ${_MINI_C_ECLASS} ]]; then
_MINI_C_ECLASS=1

inherit mini-utils

# @ECLASS_VARIABLE: MINI_C_PROG
# @REQUIRED
# @DESCRIPTION:
# The program: ${FILESDIR}/${MINI_C_PROG}.c is compiled into it.

# @ECLASS_VARIABLE: MINI_C_FLAGS
# @DESCRIPTION:
# Extra compiler flags (defines), set in src_configure.

# @FUNCTION: mini-c_src_compile
# @DESCRIPTION:
# Compile the program with gcc when the system has one; otherwise write a
# shell script that prints the same first line.
mini-c_src_compile() {
	local cc=${CC:-gcc}
	if type -P "${cc}" >/dev/null; then
		# shellcheck disable=SC2086
		"${cc}" ${CFLAGS} ${MINI_C_FLAGS} -DMINI_VERSION="\"${PV}\"" \
			-o "${MINI_C_PROG}" "${FILESDIR}/${MINI_C_PROG}.c" || die "compile failed"
	else
		printf '#!/bin/sh\necho "%s %s (no compiler)"\n' "${MINI_C_PROG}" "${PV}" \
			> "${MINI_C_PROG}" || die
	fi
}

# @FUNCTION: mini-c_src_install
# @DESCRIPTION:
# Install the program (as ${MINI_C_PROG_NAME:-${MINI_C_PROG}}) and the stamp.
mini-c_src_install() {
	newbin "${MINI_C_PROG}" "${MINI_C_PROG_NAME:-${MINI_C_PROG}}"
	mini_stamp
}

fi

EXPORT_FUNCTIONS src_compile src_install
"#,
        ),
        (
            "mini-data",
            header("mini-data", "install data files a package generates")
                + r#"if [[ -z ${_MINI_DATA_ECLASS} ]]; then
_MINI_DATA_ECLASS=1

inherit mini-utils

# @ECLASS_VARIABLE: MINI_DATA_FILES
# @DESCRIPTION:
# Files made in ${S} by src_compile, installed to /usr/share/${PN}.

# @FUNCTION: mini-data_src_install
# @DESCRIPTION:
# Install MINI_DATA_FILES and the stamp.
mini-data_src_install() {
	if [[ ${#MINI_DATA_FILES[@]} -gt 0 ]]; then
		insinto "/usr/share/${PN}"
		doins "${MINI_DATA_FILES[@]}"
	fi
	mini_stamp
}

fi

EXPORT_FUNCTIONS src_install
"#,
        ),
    ]
}

/// The C sources in the packages' `files/`.
fn c_sources() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "app-misc/hello/files/hello.c",
            r#"#include <stdio.h>
#ifdef MINI_WITH_LIB
#include <mini.h>
#endif

int main(void) {
#ifdef MINI_GREETING
    puts("Greetings from hello " MINI_VERSION);
#else
    puts("Hello, world! (hello " MINI_VERSION ")");
#endif
#ifdef MINI_NLS
    puts("nls: on");
#endif
#ifdef LIBMINI_VERSION
    puts("built against libmini " LIBMINI_VERSION);
#endif
    return 0;
}
"#,
        ),
        (
            "dev-lang/mini-lua/files/mini-lua.c",
            r#"#include <stdio.h>

int main(void) {
    puts("mini-lua " MINI_VERSION " (slot " MINI_SLOT ")");
#ifdef MINI_READLINE
    puts("readline: on");
#endif
    return 0;
}
"#,
        ),
    ]
}

/// Files whose text is fixed: profiles, metadata, licenses.
fn static_files() -> Vec<(&'static str, &'static str)> {
    vec![
        ("profiles/repo_name", "gentoo\n"),
        ("profiles/eapi", "8\n"),
        (
            "profiles/categories",
            "app-editors\napp-misc\ndev-lang\ndev-libs\ndev-util\nnet-misc\nsys-apps\nsys-libs\nvirtual\n",
        ),
        ("profiles/arch.list", "amd64\n"),
        (
            "profiles/profiles.desc",
            "amd64\tdefault/linux/amd64\tstable\n",
        ),
        ("profiles/license_groups", "FREE MIT\n"),
        (
            "profiles/package.mask",
            "# Not released yet.\n>=app-misc/hello-3\n",
        ),
        ("profiles/base/eapi", "8\n"),
        (
            "profiles/base/make.defaults",
            r#"# The settings every profile of the mini tree shares.
USE_EXPAND="ELIBC KERNEL USERLAND"
USE_EXPAND_HIDDEN="ELIBC KERNEL USERLAND"
USE_EXPAND_IMPLICIT="ARCH ELIBC KERNEL USERLAND"
USE_EXPAND_UNPREFIXED="ARCH"
USE_EXPAND_VALUES_ARCH="amd64"
USE_EXPAND_VALUES_ELIBC="glibc"
USE_EXPAND_VALUES_KERNEL="linux"
USE_EXPAND_VALUES_USERLAND="GNU"
IUSE_IMPLICIT="prefix prefix-guest prefix-stack"
USE="nls"
CONFIG_PROTECT="/etc"
CONFIG_PROTECT_MASK="/etc/env.d"
"#,
        ),
        ("profiles/base/packages", "*sys-libs/mini-base\n"),
        ("profiles/default/linux/amd64/eapi", "8\n"),
        ("profiles/default/linux/amd64/parent", "../../../base\n"),
        (
            "profiles/default/linux/amd64/make.defaults",
            r#"# The amd64 profile of the mini tree.
ARCH="amd64"
ACCEPT_KEYWORDS="amd64"
CHOST="x86_64-pc-linux-gnu"
CFLAGS="-O2 -pipe"
CXXFLAGS="${CFLAGS}"
ELIBC="glibc"
KERNEL="linux"
USERLAND="GNU"
"#,
        ),
        (
            "profiles/default/linux/amd64/package.use",
            "# The profile's per-package defaults.\nnet-misc/mini-fetch ssl\n",
        ),
        (
            "metadata/layout.conf",
            "masters =\nthin-manifests = true\nsign-manifests = false\nprofile-formats = portage-2\ncache-formats =\n",
        ),
        ("licenses/MIT", "MIT License (the mini tree's only license).\n"),
        ("metadata/glsa/glsa-202612-01.xml", GLSA_HELLO),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_split_and_order_like_portage_for_this_tree() {
        assert_eq!(
            split_pv("mini-lua-5.4.6-r1"),
            Some(("mini-lua".to_string(), "5.4.6-r1".to_string()))
        );
        assert_eq!(split_pv("mini-awk"), None);
        assert!(version_order("5.4.6-r1") > version_order("5.4.6"));
        assert!(version_order("1.10") > version_order("1.9"));
    }

    #[test]
    fn mutations_change_the_files_and_the_commit() {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = GentooRepo::create(dir.path());
        let first = repo.commit();
        assert_eq!(first.len(), 40);

        let added = repo.add_version("app-misc/hello-1.2");
        assert!(added.ends_with("app-misc/hello/hello-1.2.ebuild"));
        assert!(fs::read_to_string(&added)
            .expect("read")
            .contains("KEYWORDS=\"~amd64\""));
        let second = repo.commit();
        assert_ne!(first, second);

        assert_eq!(repo.bump("dev-lang/mini-lua"), "dev-lang/mini-lua-5.4.6-r2");
        assert!(!repo
            .path("dev-lang/mini-lua/mini-lua-5.4.6-r1.ebuild")
            .exists());
        assert_eq!(
            repo.bump("net-misc/mini-fetch"),
            "net-misc/mini-fetch-1.0-r1"
        );
        // The stable version, not the newer ~amd64 one.
        assert_eq!(repo.bump("app-misc/hello"), "app-misc/hello-1.1-r1");
        assert!(repo.path("app-misc/hello/hello-2.0.ebuild").exists());

        let eclass = repo.path("eclass/mini-utils.eclass");
        let before = fs::read_to_string(&eclass).expect("read");
        repo.edit_eclass("mini-utils");
        assert_ne!(before, fs::read_to_string(&eclass).expect("read"));

        repo.edit_profile();
        assert!(
            fs::read_to_string(repo.path("profiles/default/linux/amd64/make.defaults"))
                .expect("read")
                .contains("MINI_PROFILE_SYNC=")
        );
        let commits: Vec<String> = vec![first, second, GentooRepo::open(dir.path()).commit()];
        assert_eq!(commits[2], format!("{:040x}", 7));
    }
}
