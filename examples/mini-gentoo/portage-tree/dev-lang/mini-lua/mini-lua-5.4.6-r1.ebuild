# Copyright 2026 reagent tests
# Distributed under the terms of the MIT license

EAPI=8

inherit mini-c

DESCRIPTION="A tiny language, one slot per major version"
HOMEPAGE="https://example.org/mini"
LICENSE="MIT"
S="${WORKDIR}"
SLOT="5.4"
KEYWORDS="amd64"
IUSE="+readline"

MINI_C_PROG="mini-lua"

src_configure() {
	MINI_C_FLAGS="-DMINI_SLOT=\"${SLOT}\""
	use readline && MINI_C_FLAGS+=" -DMINI_READLINE"
}

src_install() {
	MINI_C_PROG_NAME="mini-lua${SLOT}" mini-c_src_install
}
