#!/usr/bin/env bash
# Fuzz smoke (issue 7 §1): every committed seed and regression input
# through the plain ASan+UBSan build of its target, then each libFuzzer
# target for FUZZ_SMOKE_SECONDS (default 30, as the issue asks) from its seeds.  Fails on
# any crash, leak, timeout or out-of-memory; the input is kept under
# build/fuzz/crashes/TARGET/.  Needs `make fuzz-build` (make check does it).
set -u
cd "$(dirname "$0")/../.." || exit 2
B=${FUZZ_BUILD:-build/fuzz}
for t in worker broker subscription config ring dns_answer; do
    if [[ ! -x $B/replay/fuzz_$t || ! -x $B/fuzz/fuzz_$t ]]; then
        echo "fuzz targets not built (make fuzz-build; needs clang)"
        exit 77
    fi
done
echo "== committed corpora and regressions, plain builds"
tests/fuzz/replay-corpus.sh || exit 1
echo "== libFuzzer, ${FUZZ_SMOKE_SECONDS:-30} s per target"
# A crash that needs earlier inputs' state (nDPI's) is reported, not failed:
# docs/reliability.md says how to hunt it down.
FUZZ_REPRODUCIBLE_ONLY=1 tests/fuzz/run-fuzz.sh "${FUZZ_SMOKE_SECONDS:-30}" || exit 1
