# Copyright 2026 reagent tests
# Distributed under the terms of the MIT license

# @ECLASS: mini-data.eclass
# @MAINTAINER:
# reagent tests
# @SUPPORTED_EAPIS: 8
# @BLURB: install data files a package generates

case ${EAPI} in
	8) ;;
	*) die "${ECLASS}: EAPI ${EAPI} unsupported" ;;
esac

if [[ -z ${_MINI_DATA_ECLASS} ]]; then
_MINI_DATA_ECLASS=1

inherit mini-utils

# @ECLASS_VARIABLE: MINI_DATA_FILES
# @DESCRIPTION:
# Files made in ${S} by src_compile, installed to /usr/share/${PN}.

# @FUNCTION: mini-data_src_install
# @DESCRIPTION:
# Install MINI_DATA_FILES and the stamp.
mini-data_src_install() {
	if [[ ${#MINI_DATA_FILES[@]} -gt 0 ]]; then
		insinto "/usr/share/${PN}"
		doins "${MINI_DATA_FILES[@]}"
	fi
	mini_stamp
}

fi

EXPORT_FUNCTIONS src_install
