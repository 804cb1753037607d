#!/usr/bin/env bash
# Live on lo (of a network namespace of its own): a worker that has been "taken over" by a hostile packet tries
# what an attacker would — create a socket, open a file, execute a program,
# map executable memory, ptrace — and the seccomp filter kills it with
# SIGSYS each time.  flowsensed restarts it within a second, counts the
# deaths, and a client connected throughout keeps receiving valid records.
#
# The attempts come from a test-only hook (dpi-worker/test_hooks.c) built
# into build/hooks (release flags) and build/asan (which also names the
# forbidden syscall); the release binaries in build/bin do not have it.
[[ ${FLOWSENSE_BUILD:-build} != build ]] || FLOWSENSE_BUILD=build/hooks
source "$(dirname "$0")/../lib/common.sh"
require_built
require_root "live capture on lo"
require_cmd python3 jq curl
fs_setup
netns_setup

release_worker="$ROOT/build/bin/flowsense-worker"
if [[ -x $release_worker ]]; then
    ! grep -qa FLOWSENSE-TEST-SYSCALL "$release_worker" \
        || fail "the release worker $release_worker contains the test hook"
fi
grep -qa FLOWSENSE-TEST-SYSCALL "$BUILD_DIR/bin/flowsense-worker" \
    || skip "${BUILD_DIR#"$ROOT/"} is not a test-hook build (make BUILD=build/hooks EXTRA_CFLAGS=-DFLOWSENSE_TEST_HOOKS)"
trap_build=0
grep -qa "made forbidden system call" "$BUILD_DIR/bin/flowsense-worker" && trap_build=1

start_http_server
live_start 1 --update-interval 1
start_reader "$TMP/records.ndjson" "unix:$LIVE_SOCK" --timeout 120
wait_until 10 has_type "$TMP/records.ndjson" agent_status \
    || fail "no agent_status within 10 s of connecting: $(cat "$TMP/records.ndjson.err")"
# send_trigger WHAT: one UDP datagram on lo that carries the hook's trigger,
# to a socket that receives it (a closed port would answer with an ICMP
# error quoting the datagram: a second trigger).
send_trigger() {
    in_netns python3 - "$1" <<'EOF'
import socket, sys
rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rx.bind(("127.0.0.1", 0))
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
tx.sendto(b"FLOWSENSE-TEST-SYSCALL:" + sys.argv[1].encode(), rx.getsockname())
rx.settimeout(5)
rx.recv(100)
EOF
}
one_worker() { [[ $(children_named "$FS_PID" flowsense-worker | wc -w) == 1 ]]; }
# Exactly one death per attempt: the packet that killed a worker is not
# handed to its successor.
deaths() { grep -c "died from signal" "$FS_LAST_ERR"; }

# attempt -> the syscall it makes (as the trap build names it)
declare -A SYSCALL=([socket]=socket [open]=openat [execve]=execve [mmap-exec]=mmap [ptrace]=ptrace)
attempts=(socket open execve mmap-exec ptrace)
for what in "${attempts[@]}"; do
    wait_until 5 one_worker || fail "expected one worker, found: $(children_named "$FS_PID" flowsense-worker)"
    victim=$(children_named "$FS_PID" flowsense-worker)
    deaths_before=$(deaths)
    wait_until 10 is_sandboxed "$victim" || fail "worker $victim is not sandboxed yet: $(show_privileges "$victim")"
    before=$(date +%s%N)
    send_trigger "$what"
    replaced() {
        local now
        now=$(children_named "$FS_PID" flowsense-worker)
        [[ -n $now && $now != "$victim" ]]
    }
    wait_until 5 replaced || fail "'$what': worker $victim was not replaced within 5 s (flowsensed log: $(tail -n 5 "$FS_LAST_ERR"))"
    ms=$((($(date +%s%N) - before) / 1000000))
    grep -q "test hook: '$what' was not stopped" "$FS_LAST_ERR" \
        && fail "'$what' was not stopped by the sandbox: $(grep 'test hook' "$FS_LAST_ERR" | tail -n 1)"
    wait_until 5 grep -q "worker 0 (pid $victim) died from signal $(kill -l SYS 2>/dev/null || echo 31)" "$FS_LAST_ERR" \
        || fail "'$what': flowsensed does not report worker $victim dying by SIGSYS: $(grep "pid $victim" "$FS_LAST_ERR")"
    if ((trap_build)); then
        grep -qa "seccomp: flowsense-worker\[$victim\] made forbidden system call ${SYSCALL[$what]} " "$FS_LAST_ERR" \
            || fail "'$what': the trap build did not name ${SYSCALL[$what]}: $(grep -a 'seccomp:' "$FS_LAST_ERR" | tail -n 1)"
    fi
    kill -0 "$READER_PID" 2>/dev/null || fail "the client was disconnected when the worker died ('$what')"
    sleep 0.5
    (($(deaths) == deaths_before + 1)) || fail "'$what': $(($(deaths) - deaths_before)) worker deaths, want 1: $(grep 'died from' "$FS_LAST_ERR" | tail -n 3)"
    say "'$what' (${SYSCALL[$what]}): worker $victim killed by SIGSYS, new worker $(children_named "$FS_PID" flowsense-worker) within $ms ms of the packet"
done

# The pipeline still works end to end, for the same client.
http_get 3
wait_until 20 has_flow_on_port "$TMP/records.ndjson" "$HTTP_PORT" \
    || fail "no flow record for HTTP traffic after the restarts"
deaths_reported() {
    local n
    n=$(jq -r 'select(.type == "agent_status") | .capture.worker_deaths.SIGSYS // 0' \
        "$TMP/records.ndjson" 2>/dev/null | tail -n 1)
    ((${n:-0} == ${#attempts[@]}))
}
wait_until 5 deaths_reported \
    || fail "agent_status does not report ${#attempts[@]} SIGSYS deaths: $(jq -c 'select(.type == "agent_status") | .capture.worker_deaths' "$TMP/records.ndjson" | tail -n 1)"
kill -0 "$READER_PID" 2>/dev/null || fail "the client's connection ended: $(cat "$TMP/records.ndjson.err")"

fs_finish 10 TERM
python3 "$ROOT/tests/lib/check_records.py" --hello --allow-unpurged --min-flows 1 \
    --interface lo "$TMP/records.ndjson" || fail "the stream breaks the contract"
say "ok: ${#attempts[@]} forbidden attempts, each killed by SIGSYS; the client kept a valid stream"
