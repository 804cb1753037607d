#!/usr/bin/env bash
# The UNIX socket's path removed while flowsensed runs (rm of the socket
# file).  The broker has no socket, bind or file system syscall in its
# sandbox, so nothing can recreate it; what flowsense does instead:
#   - a client connected before keeps its whole stream (every flow record
#     has its purge, as many flows as the workers' flows_total);
#   - the other listeners (here TCP) go on accepting clients;
#   - a new client cannot connect by the path (ENOENT);
#   - flowsensed logs once that the path was removed (it looks every
#     second) and, at shutdown, leaves alone whatever another program put
#     at that path since (here a socket file of another "instance");
#   - the next start of flowsensed replaces that stale socket with its
#     own, and clients connect again.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_root "flowsensed binds as root and serves as $RUN_USER"
require_cmd python3 jq
GEN=$BUILD_DIR/tools/gen_bench_pcap
[[ -x $GEN ]] || skip "${GEN#"$ROOT/"} is not built (run make)"
fs_setup
# The unprivileged supervisor must see the path to notice its removal:
# flowsensed makes $TMP/run, owned by the run user, as it does /run/flowsense.
chmod 0755 "$TMP"
SOCK=$TMP/run/s.sock

"$GEN" -o "$TMP/big.pcap" -n 100000 "$LOCAL_PCAP"/*.pcap >"$TMP/gen.log" 2>&1 \
    || fail "gen_bench_pcap failed: $(tail -n 3 "$TMP/gen.log")"
PORT=$(free_tcp_port)
fs_start -r "$TMP/big.pcap" -w 2 --listen "unix:$SOCK" --listen "tcp:127.0.0.1:$PORT" --wait-for-client
capture_started() { [[ -n $(children_named "$FS_PID" flowsensed) ]] && picture_complete 2; }
wait_until 20 capture_started && ! fs_exited || fail "flowsensed did not start its children"
CAPTURE=$(children_named "$FS_PID" flowsensed)
kill -STOP "$CAPTURE" || fail "cannot stop the capture process"
start_reader "$TMP/unix.ndjson" "unix:$SOCK" --timeout 120 --quiet
UNIX_READER=$READER_PID
wait_until 10 has_type "$TMP/unix.ndjson" agent_status || { kill -CONT "$CAPTURE"; fail "the UNIX client got no greeting"; }

[[ -S $SOCK ]] || { kill -CONT "$CAPTURE"; fail "$SOCK is not a socket"; }
rm -f "$SOCK"
warned() { grep -q "socket $SOCK was removed or replaced" "$FS_LAST_ERR"; }
wait_until 5 warned || { kill -CONT "$CAPTURE"; fail "flowsensed did not log the removal of $SOCK within 5 s"; }
err=$(python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$SOCK" 2>&1) \
    && { kill -CONT "$CAPTURE"; fail "a new client connected by the removed path"; }
say "a new client by the path: $(tail -n 1 <<<"$err")"
# "Another instance" binds the path now, then goes away leaving its file.
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$SOCK" \
    || { kill -CONT "$CAPTURE"; fail "cannot bind $SOCK"; }
other=$(stat -c %i "$SOCK")

python3 "$READER" --connect-retries 100 --output "$TMP/tcp.ndjson" --timeout 120 --quiet "tcp:127.0.0.1:$PORT" \
    2>"$TMP/tcp.ndjson.err" &
TCP_READER=$!
track_pid "$TCP_READER"
wait_until 10 has_type "$TMP/tcp.ndjson" agent_status || { kill -CONT "$CAPTURE"; fail "the TCP listener did not serve a new client"; }
kill -CONT "$CAPTURE"
fs_finish 120
wait "$TCP_READER" || fail "the TCP client's stream failed: $(cat "$TMP/tcp.ndjson.err")"
[[ -S $SOCK && $(stat -c %i "$SOCK") == "$other" ]] || fail "flowsensed removed a socket file that was not its own at shutdown"

for out in "$TMP/unix.ndjson" "$TMP/tcp.ndjson"; do
    final=$(jq -c 'select(.type == "agent_status")' "$out" | tail -n 1)
    flows=$(count_flows "$out") purges=$(count_type "$out" flow_purge)
    total=$(jq '[.workers[].flows_total] | add' <<<"$final")
    say "$(basename "$out"): $flows flows, $purges purges, flows_total $total; clients $(jq -c '.clients | {accepted, connected}' <<<"$final")"
    ((flows >= 1000 && flows == purges && flows == total)) || fail "$(basename "$out"): the stream is not whole"
done
(($(grep -c "was removed or replaced" "$FS_LAST_ERR") == 1)) || fail "the removal was not logged exactly once"

# A restart replaces the stale socket and serves by the path again.
FS_ERR=$TMP/second.err fs_start -r "$LOCAL_PCAP/dns.pcap" -w 1 --listen "unix:$SOCK" --wait-for-client
SECOND=$FS_PID
# (Its inode number may be the freed one's: the owner tells them apart.)
replaced() { [[ -S $SOCK && $(stat -c %U "$SOCK") == "$RUN_USER" ]]; }
wait_until 20 replaced || fail "the next start did not recreate $SOCK"
start_reader "$TMP/again.ndjson" "unix:$SOCK" --timeout 60 --quiet
fs_finish 60
has_type "$TMP/again.ndjson" flow || fail "no flow by the recreated socket"
[[ -e $SOCK ]] && say "note: $SOCK left at exit (the unprivileged flowsensed cannot remove it; the next start replaces it)"
say "ok: removed path logged once; connected and TCP clients got whole streams; another program's file kept; a restart recreates the socket (pid $SECOND)"
