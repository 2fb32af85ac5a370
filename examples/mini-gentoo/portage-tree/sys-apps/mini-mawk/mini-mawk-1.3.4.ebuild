# Copyright 2026 reagent tests
# Distributed under the terms of the MIT license

EAPI=8

inherit mini-utils

DESCRIPTION="One provider of virtual/mini-awk"
HOMEPAGE="https://example.org/mini"
LICENSE="MIT"
S="${WORKDIR}"
SLOT="0"
KEYWORDS="amd64"

src_compile() {
	printf '#!/bin/sh\necho "%s %s"\n' "${PN}" "${PV}" > mini-awk || die
}

src_install() {
	newbin mini-awk ${PN}
	dosym ${PN} /usr/bin/mini-awk
	mini_stamp
}
