#!/usr/bin/env bash
# Create (or reuse) the Python venv holding Gentoo's portage, used as the
# oracle by crates/reagent-gentoo/tests/oracle.rs.
#
# Idempotent: when the venv already imports portage, it returns at once.
# Usage: bash tests/oracle/setup.sh   (from anywhere inside the repo)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${REAGENT_ORACLE_VENV:-$repo/target/oracle-venv}"
python_bin="${PYTHON:-python3}"
oracle="$repo/tests/oracle/oracle.py"
# One pinned portage for the oracle and the mini-Gentoo rootfs (scripts/mini-gentoo).
portage_version="$(tr -d '[:space:]' <"$repo/tests/oracle/portage-version")"

check() {
    "$venv/bin/python" "$oracle" --self-check 2>/dev/null | grep -x "ok: portage $portage_version" >/dev/null
}

if [ -x "$venv/bin/python" ] && check; then
    echo "oracle venv ready: $venv"
    exit 0
fi

mkdir -p "$(dirname "$venv")"
if [ ! -x "$venv/bin/python" ]; then
    "$python_bin" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "portage==$portage_version"

if check; then
    echo "oracle venv ready: $venv"
else
    echo "oracle venv at $venv cannot run $oracle --self-check:" >&2
    "$venv/bin/python" "$oracle" --self-check >&2 || true
    exit 1
fi
