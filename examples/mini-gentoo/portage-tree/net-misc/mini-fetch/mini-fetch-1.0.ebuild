# Copyright 2026 reagent tests
# Distributed under the terms of the MIT license

EAPI=8

inherit mini-utils

DESCRIPTION="Fetches nothing, with optional ssl and ipv6"
HOMEPAGE="https://example.org/mini"
LICENSE="MIT"
S="${WORKDIR}"
SLOT="0"
KEYWORDS="amd64"
IUSE="ssl +ipv6"

RDEPEND="virtual/mini-awk
	ssl? ( dev-libs/libmini )"

src_compile() {
	{
		echo '#!/bin/sh'
		echo "echo mini-fetch ${PV}"
		use ipv6 && echo 'echo ipv6'
		use ssl && echo 'echo ssl'
	} > mini-fetch || die
}

src_install() {
	dobin mini-fetch
	mini_stamp
}
