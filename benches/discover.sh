#!/usr/bin/env bash
# Discovered inputs: deciding which of 100 images a sync dirties, on a synthetic
# 10,000-package tree, next to re-identifying the whole tree (the peer: what the
# `tree` rule has to do). Prints `key value` lines; see the example's docs.
#   bash benches/discover.sh [--packages N] [--images N] [--per-image N]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -q -p reagent-exec --example discover_bench
exec target/release/examples/discover_bench "$@"
