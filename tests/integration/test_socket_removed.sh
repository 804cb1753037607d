#!/usr/bin/env bash
# The UNIX socket's path removed, or replaced by another file, while
# flowsensed runs.  flowsensed looks at each socket path every second:
#   - removed (rm): it binds a new socket at the path (mode 0660, the run
#     user's) and hands it to the running broker (listener_replaced, the
#     descriptor passed on the control channel); a client connected before
#     keeps its whole stream, a new client by the path is served in full;
#     agent_status.listeners.recreated counts it (here 1, unavailable 0);
#   - replaced by another file (here another instance's socket, renamed
#     over the path): left alone, reported once, listeners.unavailable 1,
#     the TCP listener goes on serving, and at shutdown the other file is
#     still there;
#   - a path that cannot be bound again (its directory not writable) is
#     logged once and retried every second until it can;
#   - a broker restarted afterwards inherits the new socket and is told
#     again which listener is unavailable (second run, two unix paths).
# Every stream is checked whole: as many flows as the workers' flows_total,
# each with its purge.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_root "flowsensed binds as root and serves as $RUN_USER"
require_cmd python3 jq
GEN=$BUILD_DIR/tools/gen_bench_pcap
[[ -x $GEN ]] || skip "${GEN#"$ROOT/"} is not built (run make)"
fs_setup
# The unprivileged supervisor must reach the path to look at it and bind it
# again: flowsensed makes $TMP/run, owned by the run user, as /run/flowsense.
chmod 0755 "$TMP"
RUN=$TMP/run
SOCK=$RUN/s.sock

"$GEN" -o "$TMP/big.pcap" -n 100000 "$LOCAL_PCAP"/*.pcap >"$TMP/gen.log" 2>&1 \
    || fail "gen_bench_pcap failed: $(tail -n 3 "$TMP/gen.log")"
PORT=$(free_tcp_port)
fs_start -r "$TMP/big.pcap" -w 2 --listen "unix:$SOCK" --listen "tcp:127.0.0.1:$PORT" --wait-for-client
capture_started() { [[ -n $(children_named "$FS_PID" flowsensed) ]] && picture_complete 2; }
wait_until 20 capture_started && ! fs_exited || fail "flowsensed did not start its children"
CAPTURE=$(children_named "$FS_PID" flowsensed)
# The capture waits for a first client and is held stopped until every
# client below is connected, so each of them gets the whole stream.
kill -STOP "$CAPTURE" || fail "cannot stop the capture process"
start_reader "$TMP/before.ndjson" "unix:$SOCK" --timeout 120 --quiet
BEFORE_READER=$READER_PID
wait_until 10 has_type "$TMP/before.ndjson" agent_status || fail "the first UNIX client got no greeting"
[[ -S $SOCK ]] || fail "$SOCK is not a socket"
first=$(stat -c %i "$SOCK")

# 1. rm: a new socket at the path within a few seconds.
rm -f "$SOCK"
rebound() { [[ -S $SOCK && $(stat -c %U "$SOCK") == "$RUN_USER" ]] && grep -q "socket $SOCK was removed: bound a new one" "$FS_LAST_ERR"; }
wait_until 5 rebound || fail "flowsensed did not bind $SOCK again within 5 s: $(grep -i socket "$FS_LAST_ERR")"
[[ $(stat -c %a "$SOCK") == 660 ]] || fail "the new socket has mode $(stat -c %a "$SOCK"), not 660"
say "removed socket bound again (inode $first -> $(stat -c %i "$SOCK"), $(stat -c '%U:%G %a' "$SOCK"))"
start_reader "$TMP/after.ndjson" "unix:$SOCK" --timeout 120 --quiet
AFTER_READER=$READER_PID
wait_until 10 has_type "$TMP/after.ndjson" agent_status || fail "a new client by the path got no greeting"
# Its broker took the new socket before it could accept on it.
greeting=$(jq -c 'select(.type == "agent_status") | .listeners' "$TMP/after.ndjson" | head -n 1)
[[ $greeting == '{"recreated":1,"unavailable":0}' ]] \
    || fail "agent_status.listeners after the socket was bound again: $greeting"

# 2. Another instance's socket renamed over the path: not ours, left alone.
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$RUN/other.sock" \
    || fail "cannot bind $RUN/other.sock"
mv -f "$RUN/other.sock" "$SOCK"
other=$(stat -c %i "$SOCK")
replaced() { grep -q "socket $SOCK was replaced by another file" "$FS_LAST_ERR"; }
wait_until 5 replaced || fail "flowsensed did not report the other file at $SOCK within 5 s"
err=$(python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$SOCK" 2>&1) \
    && fail "a client connected to flowsensed through the other instance's socket file"
say "a new client by the path now: $(tail -n 1 <<<"$err")"
start_reader "$TMP/tcp.ndjson" "tcp:127.0.0.1:$PORT" --timeout 120 --quiet
TCP_READER=$READER_PID
wait_until 10 has_type "$TMP/tcp.ndjson" agent_status || fail "the TCP listener did not serve a new client"
sleep 1.5 # another look at the paths: nothing new to say
kill -CONT "$CAPTURE"
READER_PID=$BEFORE_READER READER_OUT=$TMP/before.ndjson fs_finish 120
for r in "$AFTER_READER:after" "$TCP_READER:tcp"; do
    wait "${r%%:*}" || fail "the ${r#*:} client's stream failed: $(cat "$TMP/${r#*:}.ndjson.err")"
done
[[ -S $SOCK && $(stat -c %i "$SOCK") == "$other" ]] || fail "flowsensed touched the other instance's socket file"

for out in "$TMP/before.ndjson" "$TMP/after.ndjson" "$TMP/tcp.ndjson"; do
    final=$(jq -c 'select(.type == "agent_status")' "$out" | tail -n 1)
    flows=$(count_flows "$out") purges=$(count_type "$out" flow_purge)
    total=$(jq '[.workers[].flows_total] | add' <<<"$final")
    say "$(basename "$out"): $flows flows, $purges purges, flows_total $total; listeners $(jq -c .listeners <<<"$final"), events $(jq -c .events <<<"$final")"
    ((flows >= 1000 && flows == purges && flows == total)) || fail "$(basename "$out"): the stream is not whole"
    [[ $(jq -c .listeners <<<"$final") == '{"recreated":1,"unavailable":1}' ]] \
        || fail "$(basename "$out"): final agent_status.listeners is not recreated 1, unavailable 1"
    [[ $(jq .events.malformed <<<"$final") == 0 ]] || fail "$(basename "$out"): events were rejected"
done
(($(grep -c "was removed: bound a new one" "$FS_LAST_ERR") == 1)) || fail "the new socket was not logged exactly once"
(($(grep -c "was replaced by another file" "$FS_LAST_ERR") == 1)) || fail "the other file was not logged exactly once"

# 3. A socket that cannot be bound again at once (the directory is not
# writable for a while), then is; a broker restarted after the changes
# serves the socket bound again and knows that the other path is
# unavailable.  The next start also replaces the stale socket the other
# instance left at $SOCK.
SOCK2=$RUN/t.sock
FS_ERR=$TMP/second.err fs_start -r "$LOCAL_PCAP/dns.pcap" -w 1 --listen "unix:$SOCK" --listen "unix:$SOCK2" --wait-for-client
ours() { [[ -S $1 && $(stat -c %U "$1") == "$RUN_USER" ]]; }
wait_until 20 ours "$SOCK" && wait_until 5 ours "$SOCK2" || fail "the next start did not replace the stale $SOCK"
wait_until 20 picture_complete 1 && ! fs_exited || fail "the second flowsensed did not start its children"
# While the directory is not the run user's, the socket cannot be bound
# again: logged once with the reason, tried again every second, silently.
owner=$(stat -c %U:%G "$RUN")
chown root:root "$RUN"
rm -f "$SOCK"
cannot() { grep -q "socket $SOCK was removed and cannot be bound again.*Permission denied" "$FS_LAST_ERR"; }
wait_until 5 cannot || { chown "$owner" "$RUN"; fail "no warning that $SOCK cannot be bound again: $(grep -i socket "$FS_LAST_ERR")"; }
sleep 2.5
chown "$owner" "$RUN"
(($(grep -c "socket $SOCK was removed and cannot be bound again" "$FS_LAST_ERR") == 1)) \
    || fail "the failure to bind $SOCK again was not logged exactly once"
: >"$RUN/plain"
mv -f "$RUN/plain" "$SOCK2"
both() { grep -q "socket $SOCK was removed: bound a new one" "$FS_LAST_ERR" && grep -q "socket $SOCK2 was replaced by another file" "$FS_LAST_ERR"; }
wait_until 5 both || fail "the second flowsensed did not rebind $SOCK and report $SOCK2: $(grep -i socket "$FS_LAST_ERR")"
# The broker took both events before it is killed (it logs them).
told() { grep -q "listener 0: accepting on the socket flowsensed bound again" "$FS_LAST_ERR" && grep -q "listener 1: its path no longer leads to it" "$FS_LAST_ERR"; }
wait_until 5 told || fail "the broker did not log the listener events: $(grep -i listener "$FS_LAST_ERR")"
BROKER=$(children_named "$FS_PID" flowsense-broker)
kill_and_time_restart KILL "$BROKER" flowsense-broker 10 || fail "the broker was not restarted"
start_reader "$TMP/again.ndjson" "unix:$SOCK" --timeout 60 --quiet
fs_finish 60
has_type "$TMP/again.ndjson" flow || fail "no flow through the socket bound again, from the restarted broker"
listeners=$(jq -c 'select(.type == "agent_status") | .listeners' "$TMP/again.ndjson" | head -n 1)
[[ $listeners == '{"recreated":0,"unavailable":1}' ]] \
    || fail "the restarted broker's agent_status.listeners: $listeners (expected recreated 0: it inherited the socket; unavailable 1)"
[[ -f $SOCK2 && ! -S $SOCK2 ]] || fail "the plain file at $SOCK2 was not left in place"
say "restarted broker (pid $RESTART_PID, ${RESTART_MS} ms): served by the socket bound again, listeners $listeners; $(count_flows "$TMP/again.ndjson") flows"
say "ok: removed socket bound again and handed to the broker (recreated 1); another file left alone and reported (unavailable 1); connected, new and TCP clients got whole streams"
