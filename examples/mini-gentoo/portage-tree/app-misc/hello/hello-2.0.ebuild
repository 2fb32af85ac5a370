# Copyright 2026 reagent tests
# Distributed under the terms of the MIT license

EAPI=8

inherit mini-c

DESCRIPTION="Prints a greeting: compiled C against dev-libs/libmini"
HOMEPAGE="https://example.org/mini"
LICENSE="MIT"
S="${WORKDIR}"
SLOT="0"
KEYWORDS="~amd64"
IUSE="+nls greeting"

RDEPEND="sys-libs/mini-base
	virtual/mini-awk"
DEPEND="${RDEPEND}
	dev-libs/libmini:0="
BDEPEND="dev-util/mini-make"

MINI_C_PROG="hello"

src_configure() {
	mini-make || die "the build tool is missing"
	MINI_C_FLAGS="-DMINI_WITH_LIB"
	use nls && MINI_C_FLAGS+=" -DMINI_NLS"
	use greeting && MINI_C_FLAGS+=" -DMINI_GREETING"
}
