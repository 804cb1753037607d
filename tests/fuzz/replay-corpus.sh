#!/usr/bin/env bash
# Replays every committed seed and regression input through the plain
# (non-libFuzzer) ASan+UBSan build of its target:
#   tests/fuzz/corpus/TARGET/*  and  tests/fuzz/regressions/TARGET/*
# Exits non-zero when any target crashes (its report is printed).
#   tests/fuzz/replay-corpus.sh [TARGET...]
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
BIN=${FUZZ_BUILD:-build/fuzz}/replay
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(worker broker subscription config ring dns_answer)
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
for t in "${targets[@]}"; do
    dirs=()
    for d in tests/fuzz/corpus/$t tests/fuzz/regressions/$t; do
        [[ -d $d ]] && dirs+=("$d")
    done
    [[ ${#dirs[@]} -gt 0 ]] || continue
    log=$(mktemp)
    if "$BIN/fuzz_$t" "${dirs[@]}" >"$log" 2>&1; then
        echo "replay $t: $(tail -n 1 "$log" | sed 's/.*: //')"
    else
        failed=1
        echo "replay $t: FAILED; last input and report:"
        grep '^replaying' "$log" | tail -n 1
        grep -v '^replaying' "$log" | tail -n 40
    fi
    rm -f "$log"
done
exit $failed
