#!/usr/bin/env bash
# Benchmark `reagent build`, in one run:
#   1. building examples/busybox from scratch (fresh buildah storage every
#      time) with `reagent build -R -j1 all` and `-j2`, against the same
#      `buildah build` commands run one after another by a plain shell loop
#      on equally fresh storage. Targets: within 5% of the loop at -j1,
#      faster than it at -j2. A second peer runs the loop's commands wave by
#      wave, each wave's builds at once, to show what buildah itself gains
#      from parallel builds on this storage.
#   2. the no-op `reagent build -R all` on a 1,000-image synthetic project
#      (benches/gen_project.py) whose images all exist locally, and how many
#      buildah processes it spawns. Peer: one `buildah images --json` on the
#      same storage. Targets: under 0.5 s, and no buildah process at all
#      (reagent reads the store's image list from disk).
# Each timed variant runs RUNS times (default 3), in rounds that interleave
# the variants; the BEST (minimum) wall time is kept, every sample is printed
# too. Warm page cache throughout (an untimed reagent build runs first). A
# PATH wrapper also counts the buildah processes reagent spawns.
#
# The loop's commands are exactly the ones reagent ran (read back from its
# build logs: same Containerfiles with parents pinned to their exact key
# tags, same flags: --isolation chroot, vfs, --pull=never, --layers,
# --force-rm, --iidfile, build args, labels, --squash, and the moving tags
# (`latest`, configured tags) as `--tag`s on the build, as reagent passes them;
# the loop adds them again, which buildah takes as the same tags).
#
# Usage: benches/build.sh            (RUNS=3 by default)
set -euo pipefail

runs=${RUNS:-3}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
real_buildah=$(command -v buildah)

work=$(mktemp -d "${TMPDIR:-/tmp}/reagent-build-bench.XXXXXX")
# --one-file-system: never follow a mount a killed build might have left.
cleanup() { rm -rf --one-file-system -- "$work"; }
trap cleanup EXIT INT TERM

echo "== building reagent (release)"
cargo build --quiet --release --locked -p reagent --manifest-path "$repo/Cargo.toml"
reagent=$target/release/reagent

if [ ! -x /bin/busybox ]; then
    echo "build.sh: a static /bin/busybox is needed (run scripts/setup)" >&2
    exit 1
fi

# elapsed START: seconds since START (an $EPOCHREALTIME value).
elapsed() { awk -v s="$1" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.3f", e - s }'; }
# ratio A B: A / B to two places.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# min A B...: the smallest.
min() { printf '%s\n' "$@" | sort -g | head -n1; }

# fresh_example DIR: a copy of examples/busybox (without its state) whose
# buildah storage is DIR/storage and DIR/run, both new.
fresh_example() {
    local dir=$1
    mkdir -p "$dir/project"
    tar -C "$repo/examples/busybox" --exclude=./.reagent -cf - . | tar -C "$dir/project" -xf -
    install -m 0755 /bin/busybox "$dir/project/images/01-base/busybox"
    sed -i -e "s|^root = .*|root = \"$dir/storage\"|" \
        -e "s|^runroot = .*|runroot = \"$dir/run\"|" "$dir/project/graph.toml"
    grep -q "^root = \"$dir/storage\"" "$dir/project/graph.toml" || {
        echo "build.sh: could not point $dir/project/graph.toml at fresh storage" >&2
        exit 1
    }
}

# ---------------------------------------------------------------- 1. busybox from scratch

# A PATH wrapper that logs every buildah call to the file $BENCH_CALLS.
mkdir -p "$work/wrap"
printf '#!/bin/sh\nprintf "%%s\\n" "$*" >>"$BENCH_CALLS"\nexec %q "$@"\n' "$real_buildah" >"$work/wrap/buildah"
chmod +x "$work/wrap/buildah"

# reagent_build DIR JOBS [VAR=VALUE...]: build the fresh example copy in DIR.
reagent_build() {
    local dir=$1 jobs=$2
    shift 2
    env "$@" "$reagent" -C "$dir/project" build -R "-j$jobs" all >"$dir/out.log" 2>&1 || {
        cat "$dir/out.log" >&2
        exit 1
    }
    grep -q '^4 built, .* 0 failed' "$dir/out.log" || {
        echo "build.sh: reagent -j$jobs did not build 4 images:" >&2
        cat "$dir/out.log" >&2
        exit 1
    }
}

# An untimed first run warms the page cache; its logs give the loop's
# commands, and the wrapper counts the buildah calls reagent makes.
echo "== untimed reagent -j1 build (warm-up; the loop's commands come from its logs)"
first=$work/first
fresh_example "$first"
reagent_build "$first" 1 "PATH=$work/wrap:$PATH" "BENCH_CALLS=$work/build-calls"
reagent_calls=$(wc -l <"$work/build-calls")
# "N subcommand" counts: the first word after the storage flags.
reagent_calls_by=$(awk '{
        for (i = 1; i <= NF; i++) {
            if ($i ~ /^--(root|runroot|storage-driver)$/) { i++; continue }
            print $i; break
        }
    }' "$work/build-calls" | sort | uniq -c | awk '{ printf "%s%s %s", sep, $1, $2; sep = ", " }')

# The loop's commands: what that run did, in its order (parents first), one
# NUL-separated argv per file, without the storage flags.
cmds=$work/loop-commands
mkdir -p "$cmds"
"$reagent" -C "$first/project" graph --json >"$work/first-graph.json"
python3 - "$first/project" "$cmds" "$work/loop-iid" "$work/first-graph.json" <<'PY'
import json, os, shlex, sys, tomllib

project, out, iid, graph = sys.argv[1:5]
deps = {n["name"]: n["deps"] for n in json.load(open(graph))["nodes"]}
wave = {}
state = os.path.join(project, ".reagent")
with open(os.path.join(project, "graph.toml"), "rb") as f:
    images = tomllib.load(f).get("image", {})
records = [json.loads(l) for l in open(os.path.join(state, "builds.jsonl")) if l.strip()]
built = [r for r in records if r["outcome"] == "built"]
for n, r in enumerate(built):
    node, key16 = r["node"], r["key"][:16]
    # Wave: 0 for roots, else one more than the latest parent's (parents come first).
    wave[node] = 1 + max((wave[d] for d in deps[node] if d in wave), default=-1)
    with open(os.path.join(state, "logs", f"{node}-{key16}.log")) as f:
        line = next(l for l in f if l.startswith("$ "))
    argv = shlex.split(line[2:])
    argv = argv[argv.index("build"):]  # drop the binary and the storage flags
    args = images.get(node, {}).get("args", {})
    for i, a in enumerate(argv):
        name, _, value = a.partition("=")
        if value == "***":  # a masked --build-arg: put the value back
            argv[i] = f"{name}={args[name]}"
    argv[argv.index("--iidfile") + 1] = f"{iid}-{node}"
    context = argv.pop()
    for tag in ["latest", *images.get(node, {}).get("tags", [])]:
        argv += ["--tag", f"localhost/{node}:{tag}"]
    argv.append(context)
    with open(os.path.join(out, f"{wave[node]}-{n:02d}-{node}"), "wb") as f:
        f.write(b"".join(a.encode() + b"\0" for a in argv))
print(f"   loop: {len(built)} buildah build commands, in order: {' '.join(r['node'] for r in built)}")
PY

# shell_loop DIR: run every command in sequence on DIR's fresh storage.
shell_loop() {
    local dir=$1 file
    local storage=(--root "$dir/storage" --runroot "$dir/run" --storage-driver vfs)
    for file in "$cmds"/*; do
        mapfile -d '' -t argv <"$file"
        "$real_buildah" "${storage[@]}" "${argv[@]}" >>"$dir/out.log" 2>&1 || {
            cat "$dir/out.log" >&2
            exit 1
        }
    done
}

# shell_waves DIR: the same commands, all of a wave at once (`&` and `wait`):
# what hand-written parallelism over this DAG gets from buildah.
shell_waves() {
    local dir=$1 file name pid
    local storage=(--root "$dir/storage" --runroot "$dir/run" --storage-driver vfs)
    local -A waves=()
    for file in "$cmds"/*; do
        name=${file##*/}
        waves[${name%%-*}]=1
    done
    for wave in $(printf '%s\n' "${!waves[@]}" | sort -n); do
        local pids=()
        for file in "$cmds/$wave"-*; do
            mapfile -d '' -t argv <"$file"
            "$real_buildah" "${storage[@]}" "${argv[@]}" >>"$dir/out-${file##*/}.log" 2>&1 &
            pids+=("$!")
        done
        for pid in "${pids[@]}"; do
            wait "$pid" || {
                cat "$dir"/out-*.log >&2
                exit 1
            }
        done
    done
}

# Rounds interleave the variants, so drifting machine load hits all alike.
declare -A samples=()
for ((i = 1; i <= runs; i++)); do
    echo "== round $i of $runs"
    dir=$work/loop-$i
    mkdir -p "$dir"
    start=$EPOCHREALTIME
    shell_loop "$dir"
    samples[loop]+="$(elapsed "$start") "
    dir=$work/waves-$i
    mkdir -p "$dir"
    start=$EPOCHREALTIME
    shell_waves "$dir"
    samples[waves]+="$(elapsed "$start") "
    for jobs in 1 2; do
        dir=$work/reagent-j$jobs-$i
        fresh_example "$dir"
        start=$EPOCHREALTIME
        reagent_build "$dir" "$jobs"
        samples[j$jobs]+="$(elapsed "$start") "
    done
done

# shellcheck disable=SC2086 # the samples are space-separated numbers
{
    best_j1=$(min ${samples[j1]})
    best_j2=$(min ${samples[j2]})
    best_loop=$(min ${samples[loop]})
    best_waves=$(min ${samples[waves]})
}
echo
echo "== examples/busybox from scratch (4 images, fresh storage each run; best of $runs)"
printf '%-34s %9s   %s\n' variant "best (s)" "samples (s)"
printf '%-34s %9s   %s\n' "plain shell loop of buildah build" "$best_loop" "${samples[loop]}"
printf '%-34s %9s   %s\n' "same, each wave in parallel (&)" "$best_waves" "${samples[waves]}"
printf '%-34s %9s   %s\n' "reagent build -R -j1 all" "$best_j1" "${samples[j1]}"
printf '%-34s %9s   %s\n' "reagent build -R -j2 all" "$best_j2" "${samples[j2]}"
printf 'ratio reagent -j1 / loop: %s  (target <= 1.05)\n' "$(ratio "$best_j1" "$best_loop")"
printf 'ratio reagent -j2 / loop: %s  (target <  1.00)\n' "$(ratio "$best_j2" "$best_loop")"
printf 'ratio parallel waves / loop: %s  (what buildah itself gains from parallel builds here)\n' \
    "$(ratio "$best_waves" "$best_loop")"
printf 'buildah processes per from-scratch build: loop %s, reagent %s (%s)\n' \
    "$(find "$cmds" -type f | wc -l)" "$reagent_calls" "$reagent_calls_by"

# ---------------------------------------------------------------- 2. no-op on 1,000 images

big=$work/big
python3 "$repo/benches/gen_project.py" "$big" 1000
cat >>"$big/graph.toml" <<EOF
[buildah]
isolation = "chroot"
storage_driver = "vfs"
root = "$work/big-storage"
runroot = "$work/big-run"
EOF
storage=(--root "$work/big-storage" --runroot "$work/big-run" --storage-driver vfs)

# Setup, not measured: one empty image per node carrying that node's key
# label and exact tag (from scratch, `buildah config` + `buildah commit`).
"$reagent" -C "$big" graph --json >"$work/graph.json"
python3 -c '
import json, sys
for n in json.load(open(sys.argv[1]))["nodes"]:
    print(n["name"], n["key"])
' "$work/graph.json" >"$work/keys"
nodes=$(wc -l <"$work/keys")
start=$EPOCHREALTIME
ctr=$("$real_buildah" "${storage[@]}" from scratch)
while read -r name key; do
    "$real_buildah" "${storage[@]}" config --label "org.reagent.key=$key" \
        --label "org.reagent.node=$name" "$ctr"
    "$real_buildah" "${storage[@]}" commit --quiet "$ctr" "localhost/$name:${key:0:16}" >/dev/null
done <"$work/keys"
"$real_buildah" "${storage[@]}" rm "$ctr" >/dev/null
setup=$(elapsed "$start")

noop=("$reagent" -C "$big" build -R all)
"${noop[@]}" 2>"$work/noop.log" # warm-up, and check it really is a no-op
grep -q "^0 built, 0 pulled, 0 pushed, $nodes up to date, 0 skipped, 0 failed" "$work/noop.log" || {
    echo "build.sh: the no-op build was not one:" >&2
    tail -n 5 "$work/noop.log" >&2
    exit 1
}
noop_samples=
for ((i = 1; i <= runs; i++)); do
    start=$EPOCHREALTIME
    "${noop[@]}" 2>/dev/null
    noop_samples+="$(elapsed "$start") "
done
peer_samples=
for ((i = 1; i <= runs; i++)); do
    start=$EPOCHREALTIME
    "$real_buildah" "${storage[@]}" images --json >/dev/null
    peer_samples+="$(elapsed "$start") "
done

# Count buildah processes with the PATH wrapper.
: >"$work/noop-calls"
PATH="$work/wrap:$PATH" BENCH_CALLS="$work/noop-calls" "${noop[@]}" 2>/dev/null
calls=$(wc -l <"$work/noop-calls")

# shellcheck disable=SC2086
{
    best_noop=$(min $noop_samples)
    best_peer=$(min $peer_samples)
}
echo
echo "== no-op reagent build -R all, $nodes images all present locally (best of $runs)"
printf 'setup (not measured): %s images created in %s s\n' "$nodes" "$setup"
printf '%-34s %9s   %s\n' variant "best (s)" "samples (s)"
printf '%-34s %9s   %s\n' "reagent build -R all (no-op)" "$best_noop" "$noop_samples"
printf '%-34s %9s   %s\n' "buildah images --json (peer)" "$best_peer" "$peer_samples"
printf 'ratio no-op / peer: %s   target: no-op under 0.5 s\n' "$(ratio "$best_noop" "$best_peer")"
printf 'buildah processes spawned by the no-op: %s (target 0: the store is read from disk)\n' "$calls"
sed 's/^/   buildah /' "$work/noop-calls"
