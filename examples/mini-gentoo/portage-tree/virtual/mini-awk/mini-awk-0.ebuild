# Copyright 2026 reagent tests
# Distributed under the terms of the MIT license

EAPI=8

DESCRIPTION="Virtual for an awk of the mini tree"
SLOT="0"
KEYWORDS="amd64"

RDEPEND="|| ( sys-apps/mini-gawk sys-apps/mini-mawk )"
