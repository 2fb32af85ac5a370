# Copyright 2026 reagent tests
# Distributed under the terms of the MIT license

# @ECLASS: mini-c.eclass
# @MAINTAINER:
# reagent tests
# @SUPPORTED_EAPIS: 8
# @BLURB: compile one C program from FILESDIR

case ${EAPI} in
	8) ;;
	*) die "${ECLASS}: EAPI ${EAPI} unsupported" ;;
esac

if [[ -z ${_MINI_C_ECLASS} ]]; then
_MINI_C_ECLASS=1

inherit mini-utils

# @ECLASS_VARIABLE: MINI_C_PROG
# @REQUIRED
# @DESCRIPTION:
# The program: ${FILESDIR}/${MINI_C_PROG}.c is compiled into it.

# @ECLASS_VARIABLE: MINI_C_FLAGS
# @DESCRIPTION:
# Extra compiler flags (defines), set in src_configure.

# @FUNCTION: mini-c_src_compile
# @DESCRIPTION:
# Compile the program with gcc when the system has one; otherwise write a
# shell script that prints the same first line.
mini-c_src_compile() {
	local cc=${CC:-gcc}
	if type -P "${cc}" >/dev/null; then
		# shellcheck disable=SC2086
		"${cc}" ${CFLAGS} ${MINI_C_FLAGS} -DMINI_VERSION="\"${PV}\"" \
			-o "${MINI_C_PROG}" "${FILESDIR}/${MINI_C_PROG}.c" || die "compile failed"
	else
		printf '#!/bin/sh\necho "%s %s (no compiler)"\n' "${MINI_C_PROG}" "${PV}" \
			> "${MINI_C_PROG}" || die
	fi
}

# @FUNCTION: mini-c_src_install
# @DESCRIPTION:
# Install the program (as ${MINI_C_PROG_NAME:-${MINI_C_PROG}}) and the stamp.
mini-c_src_install() {
	newbin "${MINI_C_PROG}" "${MINI_C_PROG_NAME:-${MINI_C_PROG}}"
	mini_stamp
}

fi

EXPORT_FUNCTIONS src_compile src_install
