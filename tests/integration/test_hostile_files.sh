#!/usr/bin/env bash
# Malformed capture files (tests/lib/hostile_pcap.py makes them):
#   1. files cut at every interesting offset (global header, record header,
#      record body), random garbage, pcapng with bad block lengths: a file
#      that cannot be opened ends flowsensed (exit 1) with a message naming
#      the file and the problem; a file that breaks mid-way is replayed up to
#      the break, the error names the file and is counted in
#      capture.read_errors, and the replay ends normally (exit 0);
#   2. readable files of odd records (unknown or wrong link type, caplen >
#      len, caplen 0, snaplen 0, caplen > snaplen, stamps 0 or near 2^64
#      ns): every record is taken and
#      each one no flow can use is counted in decode_errors by its reason;
#   3. packet time that runs backwards: no negative duration, no mass
#      expiry, every flow whole and purged once;
#   4. lone packets stamped far ahead: taken at the time around them,
#      counted in capture.time_outliers, no mass expiry;
#   5. SIGTERM mid-file: a clean exit 0, no process killed by its sandbox.
# Never a crash, a hang or a process left behind.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd python3 jq
fs_setup

GEN="$ROOT/tests/lib/hostile_pcap.py"
problems=()
n=0

# replay FILE: flowsensed -r FILE --stdout -w 1 into $TMP/case$n.{out,err}.
replay() {
    n=$((n + 1))
    OUT=$TMP/case$n.out
    FS_OUT=$OUT FS_ERR=$TMP/case$n.err fs_run 30 -r "$1" --stdout -w 1
    assert_no_leftovers
    ((FS_RC < 124)) || fail "$(basename "$1"): exit $FS_RC (crash, signal or hang)"
}

# final_status: the last agent_status of the last replay.
final_status() { jq -c 'select(.type == "agent_status")' "$OUT" | tail -n 1; }

# 1. Unreadable and broken files.
while read -r name expect count; do
    f=$TMP/$name.pcap
    python3 "$GEN" "$name" "$f" || fail "hostile_pcap.py $name"
    replay "$f"
    first=$(grep -v -e '^flowsense-broker' -e '^[[:space:]]*$' "$FS_LAST_ERR" | head -n 1)
    case $expect in
    refuse)
        if ((FS_RC != 1)); then
            problems+=("$name: exit $FS_RC, expected 1 (cannot be read)")
        elif ! grep -q "cannot read capture file $f: " "$FS_LAST_ERR"; then
            problems+=("$name: no 'cannot read capture file $f: <why>' on stderr: $first")
        fi
        ;;
    partial | read)
        st=$(final_status)
        want_errors=$([[ $expect == partial ]] && echo 1 || echo 0)
        got="exit $FS_RC, packets $(jq .capture.packets <<<"$st"), read_errors $(jq .capture.read_errors <<<"$st")"
        if [[ $got != "exit 0, packets $count, read_errors $want_errors" ]]; then
            problems+=("$name: $got; expected exit 0, packets $count, read_errors $want_errors")
        elif [[ $expect == partial ]] && ! grep -q "$f: read error after $count packets: .* (the rest of the file is skipped)" "$FS_LAST_ERR"; then
            problems+=("$name: no '$f: read error after $count packets: <why>' on stderr: $first")
        elif [[ $(count_type "$OUT" flow) != $((count > 0)) ]]; then
            problems+=("$name: $(count_type "$OUT" flow) flow records, expected $((count > 0))")
        fi
        ;;
    esac
    say "$name: exit $FS_RC: ${first:-<nothing on stderr>}"
done < <(python3 "$GEN" --list)

# 2. Odd records.  expect_odd NAME PACKETS DECODE_ERRORS FLOW_PACKETS
# [STDERR_WORD]: the replay takes PACKETS records, worker 0 counts
# DECODE_ERRORS (the non-zero decode_errors, as compact JSON), and the one
# flow (if FLOW_PACKETS > 0) has FLOW_PACKETS packets.
expect_odd() {
    local name=$1 packets=$2 errors=$3 flow_packets=$4 word=${5:-} st got
    python3 "$GEN" --odd "$name" "$TMP/$name.pcap" || fail "hostile_pcap.py --odd $name"
    replay "$TMP/$name.pcap"
    st=$(final_status)
    got="exit $FS_RC, packets $(jq .capture.packets <<<"$st"), decode_errors $(jq -c '.workers[0].decode_errors | with_entries(select(.value > 0))' <<<"$st")"
    got+=", flow packets $(jq -s '[.[] | select(.type == "flow_purge") | .flow.total_packets] | add // 0' "$OUT")"
    local want="exit 0, packets $packets, decode_errors $errors, flow packets $flow_packets"
    [[ $got == "$want" ]] || problems+=("$name: $got; expected $want")
    if [[ -n $word ]] && ! grep -q -- "$word" "$FS_LAST_ERR"; then
        problems+=("$name: stderr does not say '$word': $(head -n 2 "$FS_LAST_ERR")")
    fi
    say "$name: $got"
}
expect_odd linktype-user0 3 '{"unsupported_link":3}' 0 "link type 147 (unknown) is not decoded"
expect_odd linktype-unknown 3 '{"unsupported_link":3}' 0 "link type 65000 (unknown) is not decoded"
expect_odd linktype-wrong 3 '{"bad_ip":3}' 0
# The frame whose IP length fits its length on the wire is taken (with
# that length); the two whose IP length runs past it are refused.
expect_odd caplen-gt-len 4 '{"bad_ip_length":2}' 2
expect_odd caplen-zero 3 '{"truncated":2}' 1
expect_odd snaplen-zero 5 '{}' 5
expect_odd caplen-gt-snaplen 2 '{}' 2
expect_odd stamps-zero 5 '{}' 5
expect_odd stamps-near-2^64 4 '{}' 4
[[ $(final_status | jq .capture.time_outliers) == 0 ]] \
    || problems+=("stamps-near-2^64: $(final_status | jq .capture.time_outliers) time outliers, expected none")

# 3. Packet time that runs backwards (see time_backwards() in hostile_pcap.py).
python3 "$GEN" --time-backwards "$TMP/backwards.pcap" || fail "hostile_pcap.py --time-backwards"
n=$((n + 1))
OUT=$TMP/case$n.out
FS_OUT=$OUT FS_ERR=$TMP/case$n.err fs_run 30 -r "$TMP/backwards.pcap" --stdout -w 2
assert_no_leftovers
[[ $FS_RC == 0 ]] || fail "time-backwards: exit $FS_RC"
python3 "$ROOT/tests/lib/check_records.py" --hello --min-flows 211 "$OUT" \
    || fail "time-backwards: the stream breaks the contract"
purges=$(jq -s -c '[.[] | select(.type == "flow_purge") | "\(.reason) \(.flow.total_packets)"]
    | group_by(.) | map({(.[0]): length}) | add' "$OUT")
say "time-backwards: purges by reason and packets: $purges"
[[ $purges == '{"expired 2":10,"terminated 11":200,"terminated 3":1}' ]] \
    || problems+=("time-backwards: purges are '$purges'; expected the 200 flows terminated with 11 packets each, the 10 an hour early expired with 2, the one going back terminated with 3")
negative=$(jq -c 'select(.type == "flow") | .flow | select(.last_seen_at < .first_seen_at) | .digest' "$OUT" | wc -l)
((negative == 0)) || problems+=("time-backwards: $negative flow records end before they start")
early=$(jq -c 'select(.type == "flow" and (.flow.local_ip | startswith("10.3.0."))) | .flow | [.first_seen_at, .last_seen_at]' "$OUT" | sort -u)
[[ $early == "[1699996400000,1699996401000]" ]] \
    || problems+=("time-backwards: the early flows do not keep their own times: $early")
back=$(jq -c 'select(.type == "flow" and .flow.local_ip == "10.4.0.1") | .flow | [.first_seen_at, .last_seen_at]' "$OUT")
[[ $back == "[1700000012000,1700000012000]" ]] \
    || problems+=("time-backwards: the flow whose packets go back has times $back, expected first = last = its first packet")

# 4. Lone stamps far ahead (see time_outliers() in hostile_pcap.py): taken
# at the time of the packets around them and counted, so they neither
# expire every flow at once nor stall expiry afterwards.
python3 "$GEN" --time-outliers "$TMP/outliers.pcap" || fail "hostile_pcap.py --time-outliers"
n=$((n + 1))
OUT=$TMP/case$n.out
FS_OUT=$OUT FS_ERR=$TMP/case$n.err fs_run 30 -r "$TMP/outliers.pcap" --stdout -w 2
assert_no_leftovers
[[ $FS_RC == 0 ]] || fail "time-outliers: exit $FS_RC"
python3 "$ROOT/tests/lib/check_records.py" --hello --min-flows 302 "$OUT" >/dev/null \
    || fail "time-outliers: the stream breaks the contract"
outliers=$(final_status | jq .capture.time_outliers)
purges=$(jq -s -c '[.[] | select(.type == "flow_purge") | "\(.reason) \(.flow.total_packets)"]
    | group_by(.) | map({(.[0]): length}) | add' "$OUT")
times=$(jq -c 'select(.type == "flow" and (.flow.local_ip | startswith("10.7.0."))) | .flow | [.local_ip, .first_seen_at, .last_seen_at]' "$OUT" | sort | paste -sd ' ')
say "time-outliers: capture.time_outliers $outliers; purges $purges; the outliers' flows: $times"
[[ $outliers == 2 ]] || problems+=("time-outliers: capture.time_outliers is $outliers, expected 2")
[[ $purges == '{"expired 1":2,"terminated 60":300}' ]] \
    || problems+=("time-outliers: purges are $purges; expected the 300 flows whole (terminated, 60 packets) and the 2 outliers' flows expired")
[[ $times == '["10.7.0.1",1700000000000,1700000000000] ["10.7.0.2",1700000020000,1700000020000]' ]] \
    || problems+=("time-outliers: the outliers were not taken at the time around them: $times")
grep -q "outliers.pcap: packet 1 is stamped 31536000.000 s away from the packets around it" "$FS_LAST_ERR" \
    || problems+=("time-outliers: no warning naming the file and packet 1: $(head -n 2 "$FS_LAST_ERR")")

# 5. A stop mid-file: the capture process exits with part of the file
# unread in its stdio buffer (exit() hands it back with lseek, which its
# sandbox once killed it for).  Its stdout, a FIFO nobody reads yet,
# holds the replay mid-file: the broker, the workers' channels and the
# rings fill up.
python3 "$ROOT/tests/lib/gen_dns_pcap.py" "$TMP/stop.pcap" 60000 || fail "gen_dns_pcap.py"
mkfifo "$TMP/stop.fifo"
n=$((n + 1))
FS_OUT=$TMP/stop.fifo FS_ERR=$TMP/case$n.err fs_start -r "$TMP/stop.pcap" -w 1 --ring-size 65536 --stdout
exec 3<"$TMP/stop.fifo"
sleep 2
fs_exited && fail "stop mid-file: the replay was not held by its unread stdout"
kill -TERM "$FS_PID"
cat <&3 >"$TMP/stop.out" &
track_pid $!
exec 3<&-
fs_finish 30
packets=$(jq -c 'select(.type == "agent_status") | .capture.packets' "$TMP/stop.out" | tail -n 1)
((packets < 120000)) || problems+=("stop mid-file: the replay had read the whole file ($packets packets)")
grep -q "died from signal" "$FS_LAST_ERR" && problems+=("stop mid-file: $(grep -m 1 "died from signal" "$FS_LAST_ERR")")
python3 "$ROOT/tests/lib/check_records.py" --hello --min-flows 1 "$TMP/stop.out" >/dev/null \
    || problems+=("stop mid-file: the stream breaks the contract")
say "stop mid-file: exit $FS_RC after $packets of 120000 packets; $(grep -c . "$TMP/stop.out") records"

if ((${#problems[@]} > 0)); then
    printf '  %s\n' "${problems[@]}"
    fail "${#problems[@]} hostile files were not handled as expected (above)"
fi
say "ok: $n malformed files and odd captures handled, each counted"
