# Copyright 2026 reagent tests
# Distributed under the terms of the MIT license

EAPI=8

inherit mini-data

DESCRIPTION="A header-only library the C packages build against"
HOMEPAGE="https://example.org/mini"
LICENSE="MIT"
S="${WORKDIR}"
SLOT="0/1.0"
KEYWORDS="amd64"
IUSE="+static-libs"

src_compile() {
	printf '#define LIBMINI_VERSION "%s"\n' "${PV}" > mini.h || die
}

src_install() {
	insinto /usr/include
	doins mini.h
	mini-data_src_install
}
