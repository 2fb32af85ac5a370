# Copyright 2025 Gentoo Authors
# Distributed under the terms of the GNU General Public License v2
# A stub for the reagent example: it describes the package and builds nothing.

EAPI=8

DESCRIPTION="Robust, small and high performance http and reverse proxy server"
HOMEPAGE="https://nginx.org/"
SRC_URI=""

LICENSE="BSD-2"
SLOT="0"
KEYWORDS="~amd64"
IUSE="+ssl test"
RESTRICT="test"
