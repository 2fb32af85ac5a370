# Copyright 2026 reagent tests
# Distributed under the terms of the MIT license

# @ECLASS: mini-utils.eclass
# @MAINTAINER:
# reagent tests
# @SUPPORTED_EAPIS: 8
# @BLURB: helpers every package of the mini tree uses

case ${EAPI} in
	8) ;;
	*) die "${ECLASS}: EAPI ${EAPI} unsupported" ;;
esac

if [[ -z ${_MINI_UTILS_ECLASS} ]]; then
_MINI_UTILS_ECLASS=1

# @FUNCTION: mini_stamp
# @DESCRIPTION:
# Install /usr/share/${PN}/stamp: the package's CATEGORY/PF and the USE
# flags of its IUSE that are enabled, one per line.
mini_stamp() {
	local flag enabled=()
	for flag in ${IUSE}; do
		flag=${flag#[+-]}
		use "${flag}" && enabled+=( "${flag}" )
	done
	dodir "/usr/share/${PN}"
	printf '%s\nUSE=%s\n' "${CATEGORY}/${PF}" "${enabled[*]}" \
		> "${ED}/usr/share/${PN}/stamp" || die "cannot write the stamp"
}

fi
