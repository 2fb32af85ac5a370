#!/usr/bin/env bash
# Benchmark reagent-snapshot on a synthetic portage-like tree, in one run:
#   1. cold hashing (no cache) vs b3sum over the same files;
#   2. warm re-identification (stat cache present, nothing changed) vs a bare `find` stat walk.
# All figures are warm-page-cache: dropping the page cache is not reliably possible here, so
# every tool reads files the kernel already holds in memory (one untimed warm-up run first).
#
# Usage: benches/snapshot.sh            (FILES=150000 RUNS=3 by default; best of RUNS is kept)
set -euo pipefail

files=${FILES:-150000}
runs=${RUNS:-3}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}

work=$(mktemp -d "${TMPDIR:-/tmp}/reagent-snapshot-bench.XXXXXX")
cleanup() { rm -rf -- "$work"; }
trap cleanup EXIT INT TERM

tree=$work/tree
cache=$work/snapshot-cache

echo "== building examples (release)"
build=(cargo build --quiet --release -p reagent-snapshot --examples --manifest-path "$repo/Cargo.toml")
"${build[@]}"
identify=$target/release/examples/identify
gen_tree=$target/release/examples/gen_tree

echo "== generating $files files under $tree"
gen_out=$("$gen_tree" "$tree" "$files")
bytes=$(awk '$1 == "bytes" { print $2 }' <<<"$gen_out")
echo "$gen_out" | sed 's/^/   /'
sync # let writeback of the new tree finish before anything is timed

# best_of CMD...: runs CMD $runs times (stdout discarded), prints the best wall time in seconds.
best_of() {
    local best="" start end t i
    for ((i = 0; i < runs; i++)); do
        start=$EPOCHREALTIME
        "$@" >/dev/null
        end=$EPOCHREALTIME
        t=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
        if [[ -z $best ]] || awk -v t="$t" -v b="$best" 'BEGIN { exit !(t < b) }'; then
            best=$t
        fi
    done
    echo "$best"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%", 100 * a / b }'; }
mbps() { awk -v n="$bytes" -v t="$1" 'BEGIN { printf "%.0f", n / t / 1e6 }'; }

b3sum_seq() { find "$tree" -type f -print0 | xargs -0 b3sum --num-threads 2 >/dev/null; }
b3sum_par() { find "$tree" -type f -print0 | xargs -0 -P 2 -n 2000 b3sum --num-threads 2 >/dev/null; }
stat_walk() { find "$tree" -printf '%s %T@\n' >/dev/null; }

cold_cmd=("$identify" "$tree")
warm_cmd=("$identify" "$tree" --cache "$cache")

echo "== warming the page cache (untimed)"
"${cold_cmd[@]}" | sed 's/^/   /'
b3sum_seq

echo "== cold hashing, no cache (best of $runs; warm page cache)"
t_cold=$(best_of "${cold_cmd[@]}")
t_b3seq=$(best_of b3sum_seq)
t_b3par=$(best_of b3sum_par)
printf '   reagent-snapshot identify        %6.3f s  %5s MB/s\n' "$t_cold" "$(mbps "$t_cold")"
printf '   b3sum, 1 xargs stream            %6.3f s  %5s MB/s  (find -type f -print0 | xargs -0 b3sum --num-threads 2)\n' \
    "$t_b3seq" "$(mbps "$t_b3seq")"
printf '   b3sum, 2 xargs streams           %6.3f s  %5s MB/s  (same, xargs -P 2 -n 2000)\n' \
    "$t_b3par" "$(mbps "$t_b3par")"
echo "   throughput vs b3sum (1 stream):  $(ratio "$t_b3seq" "$t_cold")   target >= 80%"
echo "   throughput vs b3sum (2 streams): $(ratio "$t_b3par" "$t_cold")"

echo "== warm re-identification, cache present, nothing changed (best of $runs)"
"${warm_cmd[@]}" >/dev/null # writes the cache
sleep 0.2                   # the cache stamp is already past every file; this only calms the disk
"${warm_cmd[@]}" | sed 's/^/   /'
t_warm=$(best_of "${warm_cmd[@]}")
t_find=$(best_of stat_walk)
printf '   reagent-snapshot identify --cache %6.3f s\n' "$t_warm"
printf "   find TREE -printf '%%s %%T@\\\\n'     %6.3f s\n" "$t_find"
echo "   time vs find: $(ratio "$t_warm" "$t_find")   target <= 200%"
