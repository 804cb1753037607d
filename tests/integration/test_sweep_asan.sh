#!/usr/bin/env bash
# The sanitizer sweep (tests/sweep.sh asan, `make check-asan`) as CI runs it:
# every capture of tests/pcap and ../shared/pcap through the ASan+UBSan
# build with 2 workers, sandbox on.  The one-worker replays of the same
# corpus are asan-integration/test_ndpireader_agreement's (cores - 1 workers
# by default), which fails on the same sanitizer, seccomp-trap and
# child-death messages; `make check-asan` runs both worker counts.
# Runs only as asan-integration/test_sweep_asan (the ASan build).
source "$(dirname "$0")/../lib/common.sh"
require_built
nm -D "$FLOWSENSED" 2>/dev/null | grep -q __asan_init \
    || skip "the sweep needs the ASan build (it runs as asan-integration/$TEST_NAME)"
SWEEP_WORKERS=${SWEEP_WORKERS:-2} exec "$ROOT/tests/sweep.sh" asan
