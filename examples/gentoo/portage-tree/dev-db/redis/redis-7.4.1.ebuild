# Copyright 2025 Gentoo Authors
# Distributed under the terms of the GNU General Public License v2
# A stub for the reagent example: it describes the package and builds nothing.

EAPI=8

DESCRIPTION="A persistent caching system, key value and data structures database"
HOMEPAGE="https://redis.io"
SRC_URI=""

LICENSE="BSD"
SLOT="0"
KEYWORDS="~amd64"
IUSE="+ssl test"
RESTRICT="test"
