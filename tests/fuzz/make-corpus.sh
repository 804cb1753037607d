#!/usr/bin/env bash
# Seeds generated at run time into build/fuzz/corpus/TARGET (the committed
# ones are in tests/fuzz/corpus/TARGET):
#   worker      frames of every capture in ../shared/pcap and tests/pcap
#   dns_answer  the DNS messages of those captures
#   broker      the worker's events for every worker seed, as the plain
#               fuzz_worker writes them (FUZZ_DUMP_EVENTS)
# Without ../shared/pcap, tests/pcap alone is used.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${FUZZ_BUILD:-build/fuzz}/corpus
SHARED=${FLOWSENSE_SHARED_PCAP:-../shared/pcap}

captures=(tests/pcap/*.pcap)
if [[ -d $SHARED ]]; then
    captures+=("$SHARED"/*.pcap "$SHARED"/*.pcapng)
else
    echo "make-corpus: $SHARED not found; seeds from tests/pcap only" >&2
fi
rm -rf "$OUT/worker" "$OUT/dns_answer" "$OUT/broker"
mkdir -p "$OUT/worker" "$OUT/dns_answer" "$OUT/broker"
python3 tests/fuzz/pcap_to_seeds.py "$OUT/worker" "${captures[@]}"
python3 tests/fuzz/pcap_to_seeds.py --dns --max-seeds 8 "$OUT/dns_answer" "${captures[@]}"
FUZZ_DUMP_EVENTS="$OUT/broker" "${FUZZ_BUILD:-build/fuzz}/replay/fuzz_worker" \
    "$OUT/worker" tests/fuzz/corpus/worker 2>/dev/null
echo "$(ls "$OUT/broker" | wc -l) seed(s) written to $OUT/broker"
