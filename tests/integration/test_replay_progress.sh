#!/usr/bin/env bash
# flowsensed -r on a terminal shows its progress on standard error
# (packets, percent of the file read, rate), rewritten in place; with
# standard error not a terminal it prints nothing of the kind.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd script
GEN=$BUILD_DIR/tools/gen_bench_pcap
[[ -x $GEN ]] || skip "${GEN#"$ROOT/"} is not built (run make)"
fs_setup
chmod 0755 "$TMP"

# About 300 000 packets, replayed to a client that reads 10 000 records a
# second through a 1 MiB queue: back-pressure stretches the replay over
# several seconds (replay is lossless), long enough to report progress.
"$GEN" -o "$TMP/big.pcap" -n 300000 "$LOCAL_PCAP"/*.pcap >"$TMP/gen.log" 2>&1 \
    || fail "gen_bench_pcap failed: $(tail -n 3 "$TMP/gen.log")"
# script(1) gives flowsensed a terminal; its output is what the terminal shows.
script -qec "$FLOWSENSED -r $TMP/big.pcap --stdout -w 1 $(user_args | tr '\n' ' ') >/dev/null 2>$TMP/tty-err-unused" /dev/null >/dev/null 2>&1
# stderr redirected to a file above: not a terminal, so no progress there.
grep -q "packets/s" "$TMP/tty-err-unused" && fail "progress printed although standard error was a file"
start_reader "$TMP/slow.ndjson" "unix:$TMP/p.sock" --rate 10000 --timeout 120 --quiet
timeout 120 script -qec "$FLOWSENSED -r $TMP/big.pcap -w 1 --listen unix:$TMP/p.sock --wait-for-client --client-queue 1048576 $(user_args | tr '\n' ' ')" /dev/null >"$TMP/tty.out" 2>&1 \
    || fail "flowsensed under script failed: $(tail -c 300 "$TMP/tty.out")"
wait "$READER_PID" || fail "the slow reader failed: $(cat "$TMP/slow.ndjson.err")"
tr '\r' '\n' <"$TMP/tty.out" | grep -a "flowsensed: big.pcap:" >"$TMP/lines" || fail "no progress shown on the terminal: $(tail -c 300 "$TMP/tty.out")"
grep -aq "packets, *[0-9]*%, [0-9]* packets/s" "$TMP/lines" \
    || fail "no progress line with a percentage before the end: $(head -n 3 "$TMP/lines")"
last=$(tail -n 1 "$TMP/lines")
grep -aq "300[0-9]* packets.*done" <<<"$last" || fail "the last progress line is not the total: $last"
pcts=$(grep -ao "[0-9]*%" "$TMP/lines" | tr -d '%' | tr '\n' ' ')
(($(wc -w <<<"$pcts") >= 2)) || fail "want at least two progress updates before the end, got: $(cat "$TMP/lines")"
prev=-1
for p in $pcts; do
    ((p >= prev && p <= 100)) || fail "percentages do not grow within 0..100: $pcts"
    prev=$p
done
say "ok: $(wc -l <"$TMP/lines") progress lines on a terminal (percentages: $pcts), none on a file"
