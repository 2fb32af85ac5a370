# Copyright 2026 reagent tests
# Distributed under the terms of the MIT license

EAPI=8

inherit mini-utils

DESCRIPTION="A build tool: only ever a build dependency"
HOMEPAGE="https://example.org/mini"
LICENSE="MIT"
S="${WORKDIR}"
SLOT="0"
KEYWORDS="amd64"

src_compile() {
	printf '#!/bin/sh\necho "mini-make %s"\n' "${PV}" > mini-make || die
}

src_install() {
	dobin mini-make
	mini_stamp
}
