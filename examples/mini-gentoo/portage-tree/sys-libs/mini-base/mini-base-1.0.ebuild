# Copyright 2026 reagent tests
# Distributed under the terms of the MIT license

EAPI=8

inherit mini-data

DESCRIPTION="The base files of the mini tree"
HOMEPAGE="https://example.org/mini"
LICENSE="MIT"
S="${WORKDIR}"
SLOT="0"
KEYWORDS="amd64"
IUSE="+locale"

MINI_DATA_FILES=( os-release )

src_compile() {
	printf 'NAME="mini-base"\nVERSION="%s"\n' "${PV}" > os-release || die
	if use locale; then
		echo "C.UTF-8" >> os-release || die
	fi
}
