#!/usr/bin/env bash
# flowsense-cat against replays of tests/pcap/mixed.pcap: its NDJSON
# equals what stream_reader.py (the netify-style client) gets; --pretty
# prints one line per record; --count stops; a sensor that is not there
# and a refused subscription give clear messages and exits 1 and 2.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd python3 jq
CAT=$BUILD_DIR/bin/flowsense-cat
[[ -x $CAT ]] || skip "$CAT is not built (run make)"
PCAP=$LOCAL_PCAP/mixed.pcap
[[ -f $PCAP ]] || skip "tests/pcap/mixed.pcap is missing"
fs_setup

# cat_replay OUT CAT_ARGS...: a replay read by flowsense-cat; sets CAT_RC.
cat_replay() {
    local out=$1 ep="unix:$TMP/$(basename "$1").sock"; shift
    fs_start -r "$PCAP" --listen "$ep" --wait-for-client
    wait_until 10 test -S "${ep#unix:}" || fail "no socket at $ep"
    CAT_RC=0
    timeout 120 "$CAT" "$@" "$ep" >"$out" 2>"$out.err" || CAT_RC=$?
    fs_finish 120
}
canon() { jq -c -S 'select(.type | startswith("agent_") | not)' "$1" | LC_ALL=C sort; }

# The truth: the netify-style reader.
ep=unix:$TMP/reader.sock
fs_start -r "$PCAP" --listen "$ep" --wait-for-client
start_reader "$TMP/reader.ndjson" "$ep" --timeout 120
fs_finish 120

cat_replay "$TMP/cat.ndjson"
[[ $CAT_RC == 0 ]] || { cat "$TMP/cat.ndjson.err"; fail "flowsense-cat exited $CAT_RC at the end of a replay"; }
jq -e -c . "$TMP/cat.ndjson" >/dev/null || fail "flowsense-cat's output is not NDJSON"
grep -q -v '^{.*}$' "$TMP/cat.ndjson" && fail "a line of flowsense-cat's output is not one JSON object"
[[ $(head -n 1 "$TMP/cat.ndjson" | jq -r .type) == agent_hello ]] || fail "first record is not agent_hello"
cmp -s <(canon "$TMP/cat.ndjson") <(canon "$TMP/reader.ndjson") || {
    diff <(canon "$TMP/reader.ndjson") <(canon "$TMP/cat.ndjson") | head
    fail "flowsense-cat and stream_reader.py got different records"
}
[[ $(count_type "$TMP/cat.ndjson" agent_status) == $(count_type "$TMP/reader.ndjson" agent_status) ]] \
    || fail "different agent_status counts"
say "NDJSON: $(wc -l <"$TMP/cat.ndjson") records, as stream_reader.py"

cat_replay "$TMP/pretty.txt" --pretty
[[ $CAT_RC == 0 ]] || fail "--pretty exited $CAT_RC"
[[ $(wc -l <"$TMP/pretty.txt") == $(wc -l <"$TMP/cat.ndjson") ]] \
    || fail "--pretty printed $(wc -l <"$TMP/pretty.txt") lines for $(wc -l <"$TMP/cat.ndjson") records"
for t in agent_hello agent_status flow flow_purge; do
    [[ $(grep -c "^$t " "$TMP/pretty.txt") == $(count_type "$TMP/cat.ndjson" "$t") ]] \
        || fail "--pretty: the $t lines do not match the $t records"
done
grep -q '^flow .* -> .*TLS' "$TMP/pretty.txt" || fail "--pretty: no flow line shows addresses and TLS"
say "--pretty: one line per record, e.g. $(grep -m 1 '^flow ' "$TMP/pretty.txt")"

cat_replay "$TMP/count.ndjson" --count 3 --type flow
[[ $CAT_RC == 0 && $(wc -l <"$TMP/count.ndjson") == 3 ]] || fail "--count 3 gave $(wc -l <"$TMP/count.ndjson") records, exit $CAT_RC"
[[ $(jq -r .type "$TMP/count.ndjson" | tr '\n' ' ') == "agent_hello agent_status flow " ]] \
    || fail "--type flow --count 3: not hello, status, flow"

cat_replay "$TMP/refused.ndjson" --type bogus
[[ $CAT_RC == 2 ]] || fail "a refused subscription exited $CAT_RC, expected 2"
grep -q 'refused.*bogus' "$TMP/refused.ndjson.err" || { cat "$TMP/refused.ndjson.err"; fail "no clear message for the refusal"; }

rc=0; "$CAT" "unix:$TMP/nothing.sock" >"$TMP/none.out" 2>"$TMP/none.err" || rc=$?
[[ $rc == 1 ]] || fail "no sensor: exit $rc, expected 1"
grep -q "cannot connect to unix:$TMP/nothing.sock" "$TMP/none.err" || { cat "$TMP/none.err"; fail "no sensor: unclear message"; }
rc=0; "$CAT" "tcp:127.0.0.1:$(free_tcp_port)" 2>"$TMP/none.err" || rc=$?
[[ $rc == 1 ]] && grep -q "cannot connect" "$TMP/none.err" || fail "no TCP sensor: exit $rc: $(cat "$TMP/none.err")"
rc=0; "$CAT" bogus:addr 2>/dev/null || rc=$?
[[ $rc == 1 ]] || fail "a bad address exited $rc"
say "ok: NDJSON, --pretty, --count, refusal (exit 2), not there (exit 1): $(cat "$TMP/none.err")"
