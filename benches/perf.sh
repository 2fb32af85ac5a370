#!/usr/bin/env bash
# Issue 11's table in one command: every row is reagent against a named peer,
# measured in the same run, as the MEDIAN of RUNS interleaved repetitions
# (reagent, peer, reagent, peer, ...), warm page cache throughout. Each figure
# is given as wall time and as CPU time (user + sys of the process and all it
# ran): on a shared, loaded machine the CPU figure is the steadier one.
#
#   1. `build -n -R all` on a BIG-image synthetic project (benches/gen_project.py),
#      empty store.                      Peer: ninja's no-op on the same DAG.
#   2. no-op `build -R all` with every image present and a build record of one
#      line per image, for each size in PRESENT.
#                                        Peers: `buildah images --json` on the same
#                                        store, and ninja's no-op on the same DAG.
#   3. warm snapshot re-identification (stat cache), FILES-file generated tree.
#                                        Peer: `git status` with its index on it.
#   4. cold snapshot hash (no stat cache) of the same tree.
#                                        Peer: `b3sum --num-threads 2` over the same
#                                        files in 2 xargs streams.
#   5. examples/busybox from scratch, `-j1`, fresh storage each time.
#                                        Peer: the same `buildah build` commands (read
#                                        back from reagent's logs) in a shell loop.
#                                        The median of the pairwise ratios.
#   6. buildah processes of that build, counted by a PATH wrapper, and of the no-op.
#
# The ninja DAG: one edge per node, `build stamp/<node>: stamp
# <its Containerfile> | stamp/<parent>...`, built once (untimed), so `ninja` then
# has nothing to do: it loads the manifest and the log, stats every input and
# output and decides, which is what reagent's no-op must also do.
#
# The present images are real: one per node, FROM scratch, carrying that node's
# key and node labels and its key tag (`buildah from`/`config`/`commit` in stores
# of 500 merged into one, see present_images; untimed setup, printed).
#
# Usage: benches/perf.sh      RUNS=5 BIG=10000 PRESENT="1000" FILES=150000 by default;
#        PRESENT="1000 10000" also measures the no-op with 10,000 present images
#        (its setup makes 10,000 images). PERF_CACHE=DIR keeps each set of present
#        images there and reuses it while the keys stay the same.
set -euo pipefail

runs=${RUNS:-5}
big=${BIG:-10000}
present=${PRESENT:-1000}
files=${FILES:-150000}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}

for tool in buildah ninja b3sum git python3; do
    command -v "$tool" >/dev/null || {
        echo "perf.sh: $tool is needed (apt-get install ninja-build; cargo install b3sum --locked)" >&2
        exit 1
    }
done
[ -x /bin/busybox ] || {
    echo "perf.sh: a static /bin/busybox is needed (run scripts/setup)" >&2
    exit 1
}
real_buildah=$(command -v buildah)

work=$(mktemp -d "${TMPDIR:-/tmp}/reagent-perf.XXXXXX")
# --one-file-system: never follow a mount a killed build might have left.
cleanup() { rm -rf --one-file-system -- "$work"; }
trap cleanup EXIT INT TERM

echo "== building reagent and the snapshot examples (release)"
cargo build --quiet --release --locked -p reagent --manifest-path "$repo/Cargo.toml"
cargo build --quiet --release --locked -p reagent-snapshot --examples --manifest-path "$repo/Cargo.toml"
reagent=$target/release/reagent
identify=$target/release/examples/identify
gen_tree=$target/release/examples/gen_tree

# secs CMD...: "WALL CPU" seconds of CMD (CPU = user + sys of everything it
# ran, from bash's `times`; output discarded; a failure stops the run). Runs in
# the subshell of its caller, so `times` counts only CMD.
secs() {
    local start=$EPOCHREALTIME
    "$@" >/dev/null 2>&1 || {
        echo "perf.sh: failed: $*" >&2
        "$@" >&2 || true
        exit 1
    }
    local end=$EPOCHREALTIME
    times >"$work/times.$BASHPID"
    awk -v s="$start" -v e="$end" 'NR == 2 {
        split($0, f, /[ms ]+/); printf "%.4f %.4f\n", e - s, f[1] * 60 + f[2] + f[3] * 60 + f[4] }' \
        "$work/times.$BASHPID"
}
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END {
    if (NR % 2) printf "%.3f", a[(NR + 1) / 2]; else printf "%.3f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# pair A B: RUNS interleaved runs of the shell functions A and B. Sets $med_a,
# $med_b (median wall seconds), $cpu_a, $cpu_b (median CPU seconds) and
# $med_ratio (median of the pairwise wall ratios A/B). A function prep_A
# (prep_B), when defined, runs untimed before each run.
pair() {
    local i ta tb tca tcb sa=() sb=() ca=() cb=() rs=()
    for ((i = 0; i < runs; i++)); do
        if declare -F "prep_$1" >/dev/null; then "prep_$1" >/dev/null 2>&1; fi
        read -r ta tca < <(secs "$1")
        if declare -F "prep_$2" >/dev/null; then "prep_$2" >/dev/null 2>&1; fi
        read -r tb tcb < <(secs "$2")
        sa+=("$ta")
        sb+=("$tb")
        ca+=("$tca")
        cb+=("$tcb")
        rs+=("$(ratio "$ta" "$tb")")
    done
    med_a=$(median "${sa[@]}")
    med_b=$(median "${sb[@]}")
    cpu_a=$(median "${ca[@]}")
    cpu_b=$(median "${cb[@]}")
    med_ratio=$(median "${rs[@]}")
    echo "   $1 wall: ${sa[*]}   cpu: ${ca[*]}"
    echo "   $2 wall: ${sb[*]}   cpu: ${cb[*]}"
}
# a, b: the last pair's medians as "W s (C s CPU)"; both: its ratios, wall and CPU.
a() { echo "$med_a s ($cpu_a s CPU)"; }
b() { echo "$med_b s ($cpu_b s CPU)"; }
both() { echo "$(ratio "$med_a" "$med_b")× wall, $(ratio "$cpu_a" "$cpu_b")× CPU"; }

rows=()
row() { rows+=("$(printf '| %s | %s | %s | %s | %s |' "$@")"); }

# project DIR N: a generated N-image project whose store is DIR/storage (vfs).
project() {
    local dir=$1 n=$2
    python3 "$repo/benches/gen_project.py" "$dir/p" "$n" >/dev/null
    cat >>"$dir/p/graph.toml" <<EOF
[buildah]
isolation = "chroot"
storage_driver = "vfs"
root = "$dir/storage"
runroot = "$dir/run"
EOF
    "$reagent" -C "$dir/p" graph --json >"$dir/graph.json"
}

# ninja_dag DIR: DIR/ninja/build.ninja for DIR/graph.json, built once.
ninja_dag() {
    local dir=$1
    mkdir -p "$dir/ninja"
    python3 - "$dir/p" "$dir/graph.json" >"$dir/ninja/build.ninja" <<'PY'
import json, os, sys
project, graph = sys.argv[1:3]
print("rule stamp\n  command = : > $out\n")
for n in json.load(open(graph))["nodes"]:
    inputs = [os.path.join(project, n["path"], "Containerfile")] if n.get("path") else []
    parents = " ".join(f"stamp/{d}" for d in n["deps"])
    print(f"build stamp/{n['name']}: stamp {' '.join(inputs)}" + (f" | {parents}" if parents else ""))
PY
    ninja -C "$dir/ninja" -j2 >/dev/null
    ninja -C "$dir/ninja" -n | grep -q "no work to do" || {
        echo "perf.sh: ninja's second run was not a no-op" >&2
        exit 1
    }
}

# ---------------------------------------------------------------- 1. build -n, BIG images
echo "== 1. build -n -R all, $big images, empty store; ninja no-op on the same DAG"
b=$work/big
project "$b" "$big"
ninja_dag "$b"
big_plan() { "$reagent" -C "$b/p" build -n -R all; }
big_ninja() { ninja -C "$b/ninja"; }
big_plan >/dev/null 2>&1
pair big_plan big_ninja
row "\`build -n -R all\`, $big images, empty store" "$(a)" "ninja no-op, same DAG: $(b)" \
    "$(both)" "≤ 2×"

# ---------------------------------------------------------------- 2. no-op with images present
# A PATH wrapper that logs every buildah call to the file $BENCH_CALLS.
mkdir -p "$work/wrap"
printf '#!/bin/sh\nprintf "%%s\\n" "$*" >>"$BENCH_CALLS"\nexec %q "$@"\n' "$real_buildah" >"$work/wrap/buildah"
chmod +x "$work/wrap/buildah"

# present_images DIR: one real image per line "NAME KEY" of DIR/keys in the store
# DIR/storage, FROM scratch, carrying the node's key and node labels and its key
# tag. containers-storage rewrites its whole images.json on every commit, so one
# store of 10,000 images takes hours to fill; the images are made by buildah in
# stores of 500, two at a time, and the stores are then merged: their image
# folders moved into one and their images.json lists concatenated (every image
# is FROM scratch, so all share the one empty layer, which is checked).
present_images() {
    local dir=$1 chunk
    mkdir -p "$dir/chunks"
    split -l 500 -d -a 3 "$dir/keys" "$dir/chunks/keys."
    for chunk in "$dir"/chunks/keys.*; do
        printf '%s\n' "$chunk"
    done | xargs -P 2 -I{} bash -c '
        set -e
        chunk=$1 buildah=$2
        s=(--root "$chunk.storage" --runroot "$chunk.run" --storage-driver vfs)
        ctr=$("$buildah" "${s[@]}" from scratch)
        while read -r name key; do
            "$buildah" "${s[@]}" config --label "org.reagent.key=$key" --label "org.reagent.node=$name" "$ctr"
            "$buildah" "${s[@]}" commit --quiet "$ctr" "localhost/$name:${key:0:16}" >/dev/null
        done <"$chunk"
        "$buildah" "${s[@]}" rm "$ctr" >/dev/null
    ' _ {} "$real_buildah"
    python3 - "$dir" <<'PY'
import glob, json, os, shutil, sys
d = sys.argv[1]
stores = sorted(glob.glob(os.path.join(d, "chunks", "keys.*.storage")))
main = os.path.join(d, "storage")
shutil.move(stores[0], main)
images_json = os.path.join(main, "vfs-images", "images.json")
images = json.load(open(images_json))
(layer,) = {i["layer"] for i in images}
for store in stores[1:]:
    more = json.load(open(os.path.join(store, "vfs-images", "images.json")))
    if {i["layer"] for i in more} != {layer}:
        sys.exit(f"perf.sh: {store} has another layer than the empty one")
    for i in more:
        os.rename(os.path.join(store, "vfs-images", i["id"]), os.path.join(main, "vfs-images", i["id"]))
    images += more
    shutil.rmtree(store)
tmp = images_json + ".tmp"
with open(tmp, "w") as f:
    json.dump(images, f, separators=(",", ":"))
os.replace(tmp, images_json)
PY
    rm -rf --one-file-system -- "$dir/chunks"
}

# build_record DIR: DIR/p/.reagent/builds.jsonl with one "built" record per node
# of DIR/graph.json, shaped like reagent's own (an input list of the node's kind,
# Containerfile, context files and parents, with their hashes).
build_record() {
    mkdir -p "$1/p/.reagent"
    python3 - "$1/graph.json" >"$1/p/.reagent/builds.jsonl" <<'PY'
import hashlib, json, sys
start = 1796672223709
for i, n in enumerate(json.load(open(sys.argv[1]))["nodes"]):
    h = lambda s: hashlib.blake2s(f"{n['name']}/{s}".encode()).hexdigest()
    inputs = [{"label": "containerfile", "hash": h("Containerfile")},
              {"label": "context:conf/common.conf", "hash": h("common")},
              {"detail": "image", "label": "kind", "hash": h("kind")},
              {"detail": "ssl -X", "label": "use", "hash": h("use")}]
    inputs += [{"detail": d[:16], "label": f"parent:{d}", "hash": h(d)} for d in n["deps"]]
    print(json.dumps({"version": 2, "node": n["name"], "key": n["key"],
                      "manifest_digest": h("manifest"), "manifest": {"inputs": inputs},
                      "start": start + 2000 * i, "end": start + 2000 * i + 1500,
                      "outcome": "built", "project": "synthetic", "image": h("image")},
                     separators=(",", ":")))
PY
}

noop_calls=
for n in $present; do
    echo "== 2. no-op build -R all, $n images present; buildah images --json; ninja no-op"
    d=$work/present-$n
    project "$d" "$n"
    ninja_dag "$d"
    storage=(--root "$d/storage" --runroot "$d/run" --storage-driver vfs)
    python3 -c '
import json, sys
for n in json.load(open(sys.argv[1]))["nodes"]:
    print(n["name"], n["key"])
' "$d/graph.json" >"$d/keys"
    start=$EPOCHREALTIME
    if [ -n "${PERF_CACHE:-}" ] && cmp -s "$d/keys" "$PERF_CACHE/present-$n/keys"; then
        # The same images as a kept earlier run made: reuse its store.
        cp -a "$PERF_CACHE/present-$n/storage" "$d/storage"
        echo "   setup (untimed): $n real images reused from $PERF_CACHE/present-$n"
    else
        present_images "$d"
        echo "   setup (untimed): $n real images in $(awk -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.0f", e - s }') s"
        if [ -n "${PERF_CACHE:-}" ]; then
            rm -rf --one-file-system -- "$PERF_CACHE/present-$n"
            mkdir -p "$PERF_CACHE/present-$n"
            cp -a "$d/keys" "$d/storage" "$PERF_CACHE/present-$n/"
        fi
    fi
    listed=$("$real_buildah" "${storage[@]}" images --json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
    [ "$listed" = "$n" ] || {
        echo "perf.sh: buildah lists $listed images, not $n" >&2
        exit 1
    }
    # The build record a user's no-op reads: one line per image, as if reagent had
    # built each (ninja's peer likewise reads its .ninja_log, a line per output).
    build_record "$d"
    noop() { "$reagent" -C "$d/p" build -R all; }
    listing() { "$real_buildah" "${storage[@]}" images --json; }
    noop_ninja() { ninja -C "$d/ninja"; }
    noop 2>"$d/noop.log" >/dev/null
    grep -q "^0 built, 0 pulled, 0 pushed, $n up to date" "$d/noop.log" || {
        echo "perf.sh: the no-op build was not one:" >&2
        tail -n 5 "$d/noop.log" >&2
        exit 1
    }
    : >"$d/calls"
    PATH="$work/wrap:$PATH" BENCH_CALLS="$d/calls" "$reagent" -C "$d/p" build -R all >/dev/null 2>&1
    noop_calls+="$n images: $(wc -l <"$d/calls"); "
    pair noop listing
    row "no-op \`build -R all\`, $n images present" "$(a)" "\`buildah images --json\`: $(b)" \
        "$(both)" "—"
    pair noop noop_ninja
    row "no-op \`build -R all\`, $n images present" "$(a)" "ninja no-op, same DAG: $(b)" \
        "$(both)" "≤ 2×"
done

# ---------------------------------------------------------------- 3, 4. snapshot
echo "== 3, 4. snapshot of a $files-file generated tree"
tree=$work/tree
gen_out=$("$gen_tree" "$tree" "$files")
bytes=$(awk '$1 == "bytes" { print $2 }' <<<"$gen_out")
# git's folder outside the tree: a tree with a .git is identified by its commit.
gitdir=(--git-dir "$work/tree.git" --work-tree "$tree")
git init -q --bare "$work/tree.git"
git --git-dir "$work/tree.git" config gc.auto 0 # no background gc racing the clean-up
git "${gitdir[@]}" add -A
git "${gitdir[@]}" -c user.name=bench -c user.email=bench@localhost commit -qm tree
sync
cache=$work/snapshot-cache
"$identify" "$tree" --cache "$cache" >/dev/null # writes the stat cache
sleep 1.1                                        # past the racy second
warm() { "$identify" "$tree" --cache "$cache"; }
git_status() { git "${gitdir[@]}" status --porcelain; }
warm >/dev/null
git_status >/dev/null
pair warm git_status
row "warm snapshot re-identification, $files files ($((bytes / 1000000)) MB)" "$(a)" \
    "\`git status\` with its index: $(b)" "$(both)" "≤ 1.0×"
cold() { "$identify" "$tree"; }
b3() { find "$tree" -type f -print0 | xargs -0 -P 2 -n 2000 b3sum --num-threads 2; }
pair cold b3
row "cold snapshot hash (page cache warm, no stat cache)" "$(a)" \
    "b3sum --num-threads 2, 2 xargs streams: $(b)" \
    "$(ratio "$med_b" "$med_a")× throughput (wall), $(ratio "$cpu_b" "$cpu_a")× (CPU)" "≥ 1.0×"

# ---------------------------------------------------------------- 5, 6. busybox from scratch
echo "== 5. examples/busybox from scratch, -j1; the same buildah commands in a shell loop"
# fresh_example DIR: a copy of examples/busybox whose store is DIR/storage, new.
fresh_example() {
    local dir=$1
    rm -rf --one-file-system -- "$dir"
    mkdir -p "$dir/project"
    tar -C "$repo/examples/busybox" --exclude=./.reagent -cf - . | tar -C "$dir/project" -xf -
    install -m 0755 /bin/busybox "$dir/project/images/01-base/busybox"
    sed -i -e "s|^root = .*|root = \"$dir/storage\"|" \
        -e "s|^runroot = .*|runroot = \"$dir/run\"|" "$dir/project/graph.toml"
}
first=$work/first
fresh_example "$first"
: >"$work/build-calls"
PATH="$work/wrap:$PATH" BENCH_CALLS="$work/build-calls" \
    "$reagent" -C "$first/project" build -R -j1 all >"$first/out.log" 2>&1 || {
    cat "$first/out.log" >&2
    exit 1
}
cmds=$work/loop-commands
mkdir -p "$cmds"
"$reagent" -C "$first/project" graph --json >"$work/first-graph.json"
python3 - "$first/project" "$cmds" "$work/loop-iid" <<'PY'
import json, os, shlex, sys, tomllib
project, out, iid = sys.argv[1:4]
state = os.path.join(project, ".reagent")
with open(os.path.join(project, "graph.toml"), "rb") as f:
    images = tomllib.load(f).get("image", {})
records = [json.loads(l) for l in open(os.path.join(state, "builds.jsonl")) if l.strip()]
for n, r in enumerate(r for r in records if r["outcome"] == "built"):
    node, key16 = r["node"], r["key"][:16]
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
    with open(os.path.join(out, f"{n:02d}-{node}"), "wb") as f:
        f.write(b"".join(a.encode() + b"\0" for a in argv))
PY
prep_from_scratch() { fresh_example "$work/reagent"; }
from_scratch() { "$reagent" -C "$work/reagent/project" build -R -j1 all; }
prep_shell_loop() {
    rm -rf --one-file-system -- "$work/loop"
    mkdir -p "$work/loop"
}
shell_loop() {
    local dir=$work/loop file
    for file in "$cmds"/*; do
        mapfile -d '' -t argv <"$file"
        "$real_buildah" --root "$dir/storage" --runroot "$dir/run" --storage-driver vfs "${argv[@]}"
    done
}
pair from_scratch shell_loop
row "busybox example from scratch, \`-j1\`" "$(a)" "the same buildah commands, shell loop: $(b)" \
    "$med_ratio× (median of pairwise wall ratios), $(ratio "$cpu_a" "$cpu_b")× CPU" "≤ 1.03×"
by=$(awk '{ for (i = 1; i <= NF; i++) { if ($i ~ /^--(root|runroot|storage-driver)$/) { i++; continue }
            print $i; break } }' "$work/build-calls" | sort | uniq -c | awk '{ printf "%s%s %s", s, $1, $2; s = ", " }')
row "buildah processes, 4-image busybox build" "$(wc -l <"$work/build-calls") ($by)" \
    "$(find "$cmds" -type f | wc -l) (the loop)" "" "4 + what is essential"
row "buildah processes, no-op \`build -R all\`" "${noop_calls%; }" "0 (ninja)" "" "0"

echo
echo "== results (medians of $runs interleaved runs; $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ))"
echo "| what | reagent | peer | ratio | target |"
echo "| --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
