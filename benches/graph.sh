#!/usr/bin/env bash
# Benchmark: `reagent graph --json` on synthetic projects of 10, 1,000 and
# 10,000 images. Peer: reading every file of the project once
# (`find -type f -exec cat`), the I/O floor any tool must pay. Also prints
# peak memory (max RSS) for each size. Target: 10,000 images under 1 s.
# Figures are warm-page-cache (a first untimed run warms it).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -q -p reagent
bin=$PWD/target/release/reagent
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

best_of() { # best wall time in seconds of 3 runs of "$@"
  local best=
  for _ in 1 2 3; do
    local s e t
    s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N)
    t=$(echo "$e - $s" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
  done
  printf '%.3f' "$best"
}

printf '%-8s %-8s %12s %14s %10s %14s\n' images nodes "graph --json" "read-all peer" ratio "max RSS (MiB)"
for n in 10 1000 10000; do
  dir=$work/p$n
  python3 benches/gen_project.py "$dir" "$n"
  "$bin" -C "$dir" graph --json >/dev/null   # warm the page cache
  nodes=$("$bin" -C "$dir" graph --json | grep -c '"name"')
  t=$(best_of "$bin" -C "$dir" graph --json)
  peer=$(best_of find "$dir/images" -type f -exec cat {} +)
  rss=$( { /usr/bin/time -f '%M' "$bin" -C "$dir" graph --json >/dev/null; } 2>&1 | tail -1)
  printf '%-8s %-8s %11ss %13ss %9.2fx %14.1f\n' "$n" "$nodes" "$t" "$peer" "$(echo "$t / $peer" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
done
echo "target: 10,000 images under 1 s"
