#!/usr/bin/env bash
# Create (or reuse) the Python venv holding the CI engines' own validators,
# used by crates/reagent/tests/export.rs to check `reagent export`'s output:
#   check-jsonschema   its built-in GitHub workflow and GitLab CI schemas
#   argo-workflows     the Argo Workflows SDK, whose Workflow model is checked against
#   pyyaml             a YAML 1.1 parser, to compare with ruamel.yaml's 1.2
#
# Idempotent: when the venv already passes its self-check, it returns at once.
# Usage: bash tests/pipeline/setup.sh   (from anywhere inside the repo)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${REAGENT_PIPELINE_VENV:-$repo/target/pipeline-venv}"
python_bin="${PYTHON:-python3}"
check="$repo/tests/pipeline/check.py"

ready() {
    "$venv/bin/python" "$check" --self-check >/dev/null 2>&1 &&
        "$venv/bin/check-jsonschema" --version >/dev/null 2>&1
}

if [ -x "$venv/bin/python" ] && ready; then
    echo "pipeline validators ready: $venv"
    exit 0
fi

mkdir -p "$(dirname "$venv")"
if [ ! -x "$venv/bin/python" ]; then
    "$python_bin" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    'check-jsonschema>=0.29' 'argo-workflows>=6.5' 'pyyaml>=6'

if ready; then
    echo "pipeline validators ready: $venv"
else
    echo "pipeline validators at $venv fail their self-check:" >&2
    "$venv/bin/python" "$check" --self-check >&2 || true
    exit 1
fi
