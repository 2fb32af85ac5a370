# Copyright 2025 Gentoo Authors
# Distributed under the terms of the GNU General Public License v2
# A stub for the reagent example: it describes the package and builds nothing.

EAPI=8

DESCRIPTION="PostgreSQL RDBMS"
HOMEPAGE="https://www.postgresql.org/"
SRC_URI=""

LICENSE="POSTGRESQL"
SLOT="16"
KEYWORDS="amd64"
IUSE="+ssl test"
RESTRICT="test"
