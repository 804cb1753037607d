#!/usr/bin/env bash
# flowsense-top against replays of tests/pcap/mixed.pcap: --batch prints
# per application and per protocol exactly the bytes jq sums over
# stream_reader.py's records (flow_purge total_bytes, joined to the flow
# records by digest); a sensor that is not there gives exit 1 and a clear
# message; the interactive console on a terminal (script) draws its
# status line and exits 0 on q and on SIGTERM.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd python3 jq script
TOP=$BUILD_DIR/bin/flowsense-top
[[ -x $TOP ]] || skip "$TOP is not built (run make)"
PCAP=$LOCAL_PCAP/mixed.pcap
[[ -f $PCAP ]] || skip "tests/pcap/mixed.pcap is missing"
fs_setup

# replay NAME: a replay waiting for its client at unix:$TMP/NAME.sock.
replay() {
    EP=unix:$TMP/$1.sock
    fs_start -r "$PCAP" --listen "$EP" --wait-for-client
    wait_until 10 test -S "${EP#unix:}" || fail "no socket at $EP"
}

# The truth: the whole stream as the netify-style reader gets it.
replay reader
start_reader "$TMP/reader.ndjson" "$EP" --timeout 120
fs_finish 120

# truth FIELD: "NAME BYTES" per flow.FIELD, the bytes of the flow_purge
# records joined to the flow records by digest, biggest first.
truth() {
    jq -s -r --arg f "$1" '
        (map(select(.type == "flow")) | map({key: .flow.digest, value: .flow[$f]}) | from_entries) as $name
        | map(select(.type == "flow_purge"))
        | group_by($name[.flow.digest])
        | map({name: $name[.[0].flow.digest], bytes: (map(.flow.total_bytes) | add)})
        | sort_by(-.bytes, .name) | .[] | "\(.name) \(.bytes)"' "$TMP/reader.ndjson"
}
# shown TITLE: "NAME BYTES" of flowsense-top's table TITLE.
shown() {
    awk -v t="== $1 ==" '$0 == t { on = 1; next } /^$/ { on = 0 }
        on && $1 ~ /^[0-9]+$/ { print $3, $1 }' "$TMP/top.txt"
}

replay batch
rc=0
timeout 120 "$TOP" --batch 100 --rows 1000 "$EP" >"$TMP/top.txt" 2>"$TMP/top.err" || rc=$?
fs_finish 120
[[ $rc == 0 ]] || { cat "$TMP/top.err"; fail "flowsense-top --batch exited $rc"; }
head -n 1 "$TMP/top.txt" | grep -q 'stream ended' || fail "--batch did not report the end of the stream: $(head -n 1 "$TMP/top.txt")"
grep -q '^sensor: packets [0-9]* .*drops [0-9]* .*flows [0-9]* .*clients [0-9]*' "$TMP/top.txt" \
    || fail "no status line from agent_status: $(sed -n 2p "$TMP/top.txt")"
for t in "applications detected_application_name" "protocols detected_protocol_name"; do
    set -- $t
    truth "$2" >"$TMP/truth.$1"
    shown "Top $1" >"$TMP/shown.$1"
    [[ -s $TMP/truth.$1 ]] || fail "jq found no $1 in the stream"
    cmp -s "$TMP/truth.$1" "$TMP/shown.$1" || {
        diff "$TMP/truth.$1" "$TMP/shown.$1"
        fail "top $1: flowsense-top's bytes differ from jq's sum of flow_purge total_bytes (above: < jq, > top)"
    }
    say "top $1 as jq: $(tr '\n' ',' <"$TMP/shown.$1")"
done
flows=$(jq -s 'map(select(.type == "flow" and (.flow.detection_updated | not))) | length' "$TMP/reader.ndjson")
[[ $(awk '/^== Top flows ==/ { on = 1; next } on && $1 ~ /^[0-9]+$/' "$TMP/top.txt" | wc -l) == "$flows" ]] \
    || fail "the flows table does not list the $flows flows"
[[ $(shown "Top flows" | head -n 1 | cut -d' ' -f2) == \
   $(jq -s 'map(select(.type == "flow_purge") | .flow.total_bytes) | max' "$TMP/reader.ndjson") ]] \
    || fail "the top flow is not the biggest flow_purge"

# Not there: exit 1 and the address in the message.
rc=0; "$TOP" --batch 1 "unix:$TMP/nothing.sock" >/dev/null 2>"$TMP/none.err" || rc=$?
[[ $rc == 1 ]] || fail "no sensor: exit $rc, expected 1"
grep -q "cannot connect to unix:$TMP/nothing.sock" "$TMP/none.err" || fail "no sensor: unclear message: $(cat "$TMP/none.err")"
rc=0; "$TOP" --batch 1 "tcp:127.0.0.1:$(free_tcp_port)" >/dev/null 2>"$TMP/none.err" || rc=$?
[[ $rc == 1 ]] && grep -q "cannot connect" "$TMP/none.err" || fail "no TCP sensor: exit $rc: $(cat "$TMP/none.err")"
rc=0; "$TOP" --batch 0 "unix:$TMP/x.sock" 2>/dev/null || rc=$?
[[ $rc == 64 ]] || fail "--batch 0 exited $rc, expected 64"

# console VIA: the interactive console on a terminal for 2 s, stopped by
# VIA (q on its input, or SIGTERM); its exit status and terminal output.
console() {
    local out=$TMP/console.$1 pid
    replay "console-$1"
    if [[ $1 == q ]]; then
        { sleep 2; printf 'f'; sleep 0.5; printf 'q'; sleep 5; } |
            TERM=xterm COLUMNS=120 LINES=40 timeout 30 script -qec "$TOP $EP" /dev/null >"$out" 2>&1
        CONSOLE_RC=$?
    else
        sleep 10 | TERM=xterm timeout 30 script -qec "$TOP $EP; echo top-exit=\$?" /dev/null >"$out" 2>&1 &
        pid=$!
        sleep 2
        local top_pid
        top_pid=$(pgrep -f -n -x "$TOP $EP") || fail "no flowsense-top process under script"
        kill -TERM "$top_pid"
        wait "$pid"
        grep -q 'top-exit=0' "$out" || fail "SIGTERM: flowsense-top did not exit 0: $(grep -a -o 'top-exit=[0-9]*' "$out")"
        CONSOLE_RC=0
    fi
    fs_finish 120
    grep -a -q 'flows' "$out" || fail "console ($1): no status line drawn"
    grep -a -q 'Top applications' "$out" || fail "console ($1): no applications view drawn"
}
console q
[[ $CONSOLE_RC == 0 ]] || fail "the console exited $CONSOLE_RC after q, expected 0"
console term
say "ok: --batch equals jq per application and protocol, not there (exit 1), console exits 0 on q and SIGTERM"
