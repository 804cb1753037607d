#!/usr/bin/env bash
# Fragment floods and malformed fragments, IPv4 and IPv6
# (tests/lib/gen_fragments.py says what each case is and must count):
#   1. every reason in worker_stats fragments{} counts exactly the crafted
#      cases (timeouts, reassembled, duplicates, overlaps, too_large,
#      bad_offset, truncated), and 3000 first fragments that are never
#      completed leave exactly 1024 datagrams held (REASSEMBLY_MAX_DATAGRAMS)
#      and 1976 dropped_memory; the datagrams made whole form their flow
#      with every fragment counted;
#   2. 2000 datagrams of one fragment each at the far end of 64 KiB: the
#      bytes held stay under 4 MiB per worker (REASSEMBLY_MAX_BYTES), each
#      datagram is held or counted in dropped_memory, the worker's peak RSS
#      stays bounded.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd python3 jq
fs_setup

GEN="$ROOT/tests/lib/gen_fragments.py"
SCALE=1
[[ $BUILD_DIR == *asan* ]] && SCALE=3

# replay NAME: $TMP/NAME.pcap with one worker; FRAGS = its final fragments{}.
replay() {
    FS_OUT=$TMP/$1.out FS_ERR=$TMP/$1.err fs_run 60 -r "$TMP/$1.pcap" --stdout -w 1
    [[ $FS_RC == 0 ]] || fail "the replay of $1 exited $FS_RC"
    assert_no_leftovers
    FINAL=$(jq -c 'select(.type == "agent_status") | .workers[0]' "$TMP/$1.out" | tail -n 1)
    FRAGS=$(jq -c .fragments <<<"$FINAL")
    say "$1: fragments $FRAGS"
}

# 1. The crafted cases.
python3 "$GEN" cases "$TMP/cases.pcap" || fail "gen_fragments.py cases"
replay cases
want='{"received":3140,"reassembled":28,"pending":1024,"timeouts":4,"dropped_memory":1976,"overlaps":12,"duplicates":12,"too_large":6,"bad_offset":6,"truncated":2,"nested":0}'
got=$(jq -c 'del(.pending_bytes)' <<<"$FRAGS")
[[ $got == "$want" ]] || fail "fragment counters are $got, expected $want"
errors=$(jq -c '.decode_errors | with_entries(select(.value > 0))' <<<"$FINAL")
[[ $errors == '{}' ]] || fail "fragments counted as decode errors too: $errors"
flows=$(jq -c 'select(.type == "flow_purge") | .flow.total_packets' "$TMP/cases.out" | paste -sd ' ')
[[ $flows == "46 46" ]] || fail "the reassembled datagrams' flows have $flows packets, expected 46 each (v4 and v6)"
python3 "$ROOT/tests/lib/check_records.py" --hello --min-flows 2 "$TMP/cases.out" >/dev/null \
    || fail "the stream breaks the contract"

# 2. The byte bound.
python3 "$GEN" bytes "$TMP/bytes.pcap" 2000 || fail "gen_fragments.py bytes"
replay bytes
pending=$(jq .pending <<<"$FRAGS")
pending_bytes=$(jq .pending_bytes <<<"$FRAGS")
dropped=$(jq .dropped_memory <<<"$FRAGS")
((pending_bytes <= 4 * 1024 * 1024)) || fail "$pending_bytes bytes held in reassembly, over 4 MiB"
((pending < 1024)) || fail "$pending datagrams held: the byte bound should come first"
((pending + dropped == 2000)) || fail "$pending held + $dropped dropped_memory != the 2000 datagrams sent"
rss=$(jq .maxrss_kb <<<"$FINAL")
((rss <= (32 * 1024) * SCALE)) || fail "the worker peaked at $rss kB of RSS, over $((32 * SCALE)) MiB"
say "ok: counters exact; byte flood: $pending datagrams ($pending_bytes bytes) held, $dropped dropped, worker peak RSS $rss kB"
