#!/usr/bin/env bash
# Create (or reuse) the Python venv holding the SBOM validators the tests
# run reagent's documents through: spdx-tools (`pyspdxtools`) for SPDX and
# cyclonedx-python-lib (its JSON schema validator) for CycloneDX, with
# packageurl-python (a dependency of the latter) for package URLs.
#
# Idempotent: when the venv already passes `validate.py --self-check`, it
# returns at once.
# Usage: bash tests/sbom/setup.sh   (from anywhere inside the repo)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${REAGENT_SBOM_VENV:-$repo/target/sbom-venv}"
python_bin="${PYTHON:-python3}"
validate="$repo/tests/sbom/validate.py"

check() {
    "$venv/bin/python" "$validate" --self-check >/dev/null 2>&1
}

if [ -x "$venv/bin/python" ] && check; then
    echo "sbom validators ready: $venv"
    exit 0
fi

mkdir -p "$(dirname "$venv")"
if [ ! -x "$venv/bin/python" ]; then
    "$python_bin" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    'spdx-tools>=0.8' 'cyclonedx-python-lib[json-validation]>=8'

if check; then
    echo "sbom validators ready: $venv"
else
    echo "sbom venv at $venv cannot run $validate --self-check:" >&2
    "$venv/bin/python" "$validate" --self-check >&2 || true
    exit 1
fi
