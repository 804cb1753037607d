#!/usr/bin/env bash
# The three processes under valgrind memcheck (children traced), replaying
# the bundled captures: no memory error and no definite leak in any
# process, and the same flow records as without valgrind.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd valgrind jq
fs_setup
# The children run as the unprivileged user and write their logs here.
chmod 0755 "$TMP"
mkdir -m 1777 "$TMP/vg"

for name in mixed https; do
    pcap=$LOCAL_PCAP/$name.pcap
    rm -f "$TMP"/vg/*.log
    FS_OUT=$TMP/$name.plain.ndjson fs_run 60 -r "$pcap" --stdout -w 2
    [[ $FS_RC == 0 ]] || fail "$name: plain run exited $FS_RC"
    VALGRIND="valgrind -q --trace-children=yes --vgdb=no --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 --log-file=$TMP/vg/%p.log"
    FS_WRAPPER=$VALGRIND FS_OUT=$TMP/$name.vg.ndjson \
        fs_run 300 -r "$pcap" --stdout -w 2
    [[ $FS_RC == 0 ]] || fail "$name: flowsensed under valgrind exited $FS_RC: $(tail -n 5 "$FS_LAST_ERR")"
    grep -q "exited with status\|died from signal" "$FS_LAST_ERR" \
        && fail "$name: a child failed under valgrind: $(grep 'exited with status\|died from signal' "$FS_LAST_ERR" | head -n 3)"
    logs=("$TMP"/vg/*.log)
    ((${#logs[@]} >= 4)) || fail "$name: expected a valgrind log per process (flowsensed, broker, 2 workers), got ${#logs[@]}"
    if grep -l -E "Invalid (read|write|free)|uninitialised|Syscall param|Mismatched free|definitely lost" "${logs[@]}" >/dev/null; then
        grep -h -B2 -A12 -E "Invalid|uninitialised|Syscall param|definitely lost" "${logs[@]}" | head -n 60
        fail "$name: valgrind reported errors (above)"
    fi
    canon() { jq -c -S 'select(.type == "flow" or .type == "flow_purge")' "$1" | LC_ALL=C sort; }
    cmp -s <(canon "$TMP/$name.plain.ndjson") <(canon "$TMP/$name.vg.ndjson") \
        || fail "$name: the records under valgrind differ from the plain run"
    say "$name: $(count_type "$TMP/$name.vg.ndjson" flow) flows, ${#logs[@]} processes clean under memcheck"
done
say "ok"
