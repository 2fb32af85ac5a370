# Copyright 2026 reagent tests
# Distributed under the terms of the MIT license

EAPI=8

inherit mini-data

DESCRIPTION="An editor's configuration, with optional lua plugins"
HOMEPAGE="https://example.org/mini"
LICENSE="MIT"
S="${WORKDIR}"
SLOT="0"
KEYWORDS="amd64"
IUSE="+syntax lua"

RDEPEND="sys-libs/mini-base
	lua? ( dev-lang/mini-lua:5.4 )"

MINI_DATA_FILES=( mini-editrc )

src_compile() {
	echo "# mini-edit ${PV}" > mini-editrc || die
	use syntax && echo "syntax on" >> mini-editrc
	use lua && echo "plugin lua" >> mini-editrc
}
