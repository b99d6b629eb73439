#!/usr/bin/env bash
# aeclust's checks for a machine with a real GPU, in one command, from a binary and test
# executables built elsewhere (that machine has no toolchain and no network):
#   1. `aeclust info`;
#   2. the GPU test executables on the adapter `--backend auto` would pick;
#   3. `aeclust bench` for both recipes at batch 32, 256 and 1024, GPU against the CPU
#      reference on the same machine;
#   4. a timed `aeclust run --recipe deep --embed umap`.
# Everything goes under $OUT (JSON and logs); a table of the steps is printed last and
# written as $OUT/summary.json. QUICK=1 shrinks every step (a check of the script itself on a
# software adapter). Build first: cargo build --release && cargo test --release --no-run.
set -uo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-out-gpu-check}
BIN=${AECLUST_BIN:-target/release/aeclust}
DEPS=${AECLUST_TESTS:-target/release/deps}
QUICK=${QUICK:-0}
mkdir -p "$OUT"
# The GPU path everywhere, software adapter or not.
export AECLUST_BACKEND=gpu XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}

steps=()
failed=0
# step NAME COMMAND...: runs COMMAND with its output in $OUT/NAME.log and records the outcome.
step() {
    local name=$1
    shift
    local start end rc
    start=$(date +%s.%N)
    "$@" >"$OUT/$name.log" 2>&1
    rc=$?
    end=$(date +%s.%N)
    local seconds
    seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
    [ "$rc" -eq 0 ] || failed=$((failed + 1))
    steps+=("$name $rc $seconds")
    printf '%-24s %s  %8s s\n' "$name" "$([ "$rc" -eq 0 ] && echo ok || echo "FAILED ($rc)")" "$seconds"
}

# The newest build of a test executable.
test_exe() {
    find "$DEPS" -maxdepth 1 -type f -name "$1-*" -perm -u+x -printf '%T@ %p\n' 2>/dev/null |
        sort -nr | head -n 1 | cut -d' ' -f2
}

if [ "$QUICK" = 1 ]; then
    tests=(kernels)
    bench=(--samples 1024 --batch 32,256)
    deep=(--epochs 1 --limit 1000 --embed-epochs 20 --n-init 2)
else
    tests=(kernels domain parity cluster embed nndescent training pipeline)
    bench=(--batch 32,256,1024)
    deep=()
fi

step info "$BIN" info
for t in "${tests[@]}"; do
    exe=$(test_exe "$t")
    if [ -z "$exe" ]; then
        echo "no test executable for $t in $DEPS (cargo test --release --no-run)" >"$OUT/test-$t.log"
        steps+=("test-$t 127 0")
        failed=$((failed + 1))
        continue
    fi
    step "test-$t" "$exe"
done
for recipe in blog deep; do
    step "bench-$recipe" "$BIN" bench --recipe "$recipe" "${bench[@]}" --json "$OUT/bench-$recipe.json"
done
step run-deep "$BIN" run --recipe deep --embed umap --quiet --out "$OUT/run-deep" "${deep[@]}"

{
    echo '{'
    echo '  "steps": ['
    for i in "${!steps[@]}"; do
        read -r name rc seconds <<<"${steps[$i]}"
        sep=$([ "$i" -lt $((${#steps[@]} - 1)) ] && echo , || echo)
        echo "    {\"name\": \"$name\", \"exit\": $rc, \"seconds\": $seconds}$sep"
    done
    echo '  ],'
    echo "  \"failed\": $failed"
    echo '}'
} >"$OUT/summary.json"

echo
printf '%-24s %6s %10s\n' step exit seconds
for s in "${steps[@]}"; do
    read -r name rc seconds <<<"$s"
    printf '%-24s %6s %10s\n' "$name" "$rc" "$seconds"
done
echo "results: $OUT (summary.json, bench-*.json, run-deep/report.json, *.log)"
[ "$failed" -eq 0 ]
