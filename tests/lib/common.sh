# shellcheck shell=bash disable=SC2034
# Helpers for the integration tests: source it, then call fs_setup.
#
# Every flowsensed a test starts runs in a session of its own (setsid), so
# "no process left behind" is a question about that session, and cleanup
# ends exactly the processes the test started, by PID.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${FLOWSENSE_BUILD:-build}
[[ $BUILD_DIR == /* ]] || BUILD_DIR=$ROOT/$BUILD_DIR
FLOWSENSED="$BUILD_DIR/bin/flowsensed"
SHARED_PCAP=${SHARED_PCAP:-"$ROOT/../shared/pcap"}
LOCAL_PCAP="$ROOT/tests/pcap"
READER="$ROOT/tests/lib/stream_reader.py"
RUN_USER=${RUN_USER:-nobody}

TEST_NAME=$(basename "$0" .sh)
TMP=
FS_PID=
FS_RC=
FS_LAST_ERR=
TRACKED_PIDS=()
TRACKED_SESSIONS=()

say() { printf '%s: %s\n' "$TEST_NAME" "$*"; }
fail() { printf '%s: FAIL: %s\n' "$TEST_NAME" "$*"; exit 1; }
# skip prints its reason on the last line, which run-tests.sh shows.
skip() { printf '%s: skipped: %s\n' "$TEST_NAME" "$*"; exit 77; }

require_built() {
    local b
    for b in flowsensed flowsense-worker flowsense-broker; do
        [[ -x "$BUILD_DIR/bin/$b" ]] || skip "${BUILD_DIR#"$ROOT/"}/bin/$b is not built (run make)"
    done
}

require_root() {
    [[ $(id -u) == 0 ]] || skip "needs root ($*)"
}

require_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || skip "$c is not installed (make deps)"
    done
}

# The user flag every run gets: children must drop to an unprivileged user.
user_args() {
    if [[ $(id -u) == 0 ]]; then printf '%s\n' -u "$RUN_USER"; fi
}

fs_setup() {
    # Mode 0700: the processes running as $RUN_USER use only descriptors
    # flowsensed opened for them, never a path in here.
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/$TEST_NAME.XXXXXX") || fail "mktemp"
    trap fs_cleanup EXIT
    trap 'exit 130' INT TERM
}

fs_cleanup() {
    local rc=$? sid pid
    for sid in "${TRACKED_SESSIONS[@]}"; do
        signal_session "$sid" TERM
    done
    for pid in "${TRACKED_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    if [[ ${#TRACKED_SESSIONS[@]} -gt 0 || ${#TRACKED_PIDS[@]} -gt 0 ]]; then
        wait_until 3 all_gone
        for sid in "${TRACKED_SESSIONS[@]}"; do
            signal_session "$sid" KILL
        done
        for pid in "${TRACKED_PIDS[@]}"; do
            kill -KILL "$pid" 2>/dev/null
        done
    fi
    [[ -n ${FS_NETNS:-} ]] && netns_remove
    if [[ $rc != 0 && $rc != 77 && -n $FS_LAST_ERR && -f $FS_LAST_ERR ]]; then
        echo "---- stderr of the last flowsensed, $(basename "$FS_LAST_ERR") (last 30 lines) ----"
        tail -n 30 "$FS_LAST_ERR"
    fi
    if [[ -n $TMP && ${KEEP_TMP:-0} != 1 ]]; then
        rm -rf "$TMP"
    elif [[ -n $TMP ]]; then
        echo "kept $TMP"
    fi
    exit "$rc"
}

track_pid() { TRACKED_PIDS+=("$1"); }

all_gone() {
    local sid pid
    for sid in "${TRACKED_SESSIONS[@]}"; do
        [[ -z $(session_pids "$sid") ]] || return 1
    done
    for pid in "${TRACKED_PIDS[@]}"; do
        kill -0 "$pid" 2>/dev/null && return 1
    done
    return 0
}

# wait_until SECONDS CMD...: polls CMD every 0.1 s; status 0 once it holds.
wait_until() {
    local secs=$1; shift
    local now=${EPOCHREALTIME//[.,]/} deadline
    deadline=$((now + secs * 1000000))
    while true; do
        "$@" && return 0
        now=${EPOCHREALTIME//[.,]/}
        ((now >= deadline)) && return 1
        sleep 0.1
    done
}

session_pids() { ps -o pid= -s "$1" 2>/dev/null | tr -d ' '; }

signal_session() {
    local pid
    for pid in $(session_pids "$1"); do
        kill -"$2" "$pid" 2>/dev/null
    done
}

# The program a process runs, from its executable (comm is cut at 15 chars).
proc_name() {
    local exe
    exe=$(readlink "/proc/$1/exe" 2>/dev/null) || exe=$(ps -o comm= -p "$1")
    exe=${exe% (deleted)}
    basename "$exe"
}

# children_named PID NAME: PIDs of PID's children that run NAME.
children_named() {
    local c
    for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        [[ $(proc_name "$c") == "$2" ]] && echo "$c"
    done
}

# kill_and_time_restart SIG PID NAME SECONDS: sends SIG to PID, a NAME
# child of the flowsensed of fs_start, then polls (every 10 ms, at most
# SECONDS) for a NAME child that was not there before.  Sets RESTART_PID
# and RESTART_MS, the milliseconds from the kill until the new child runs
# NAME; status 1 if none came.
kill_and_time_restart() {
    local sig=$1 victim=$2 name=$3 secs=$4 before start now c
    before=$(children_named "$FS_PID" "$name")
    start=${EPOCHREALTIME//[.,]/}
    kill "-$sig" "$victim" || return 1
    while true; do
        for c in $(cat "/proc/$FS_PID/task/"*/children 2>/dev/null); do
            grep -qx "$c" <<<"$before" && continue
            [[ $(proc_name "$c") == "$name" ]] || continue
            now=${EPOCHREALTIME//[.,]/}
            RESTART_PID=$c
            RESTART_MS=$(((now - start) / 1000))
            return 0
        done
        now=${EPOCHREALTIME//[.,]/}
        ((now - start > secs * 1000000)) && return 1
        sleep 0.01
    done
}

# fs_start ARGS...: starts flowsensed in a session of its own, with the
# run user added (unless FS_NO_USER is set); stdout and stderr go to
# $TMP/flowsensed.{out,err} (or $FS_OUT, $FS_ERR).  After netns_setup it
# runs in the test's network namespace.
fs_start() {
    local out=${FS_OUT:-$TMP/flowsensed.out} err=${FS_ERR:-$TMP/flowsensed.err}
    FS_LAST_ERR=$err
    # shellcheck disable=SC2046,SC2086
    # FS_WRAPPER: a command line to run flowsensed under (e.g. valgrind).
    setsid "${NS_EXEC[@]}" ${FS_WRAPPER:-} "$FLOWSENSED" "$@" $([[ -n ${FS_NO_USER:-} ]] || user_args) >"$out" 2>"$err" </dev/null &
    FS_PID=$!
    TRACKED_SESSIONS+=("$FS_PID")
}

# fs_wait SECONDS: waits for the flowsensed of fs_start; FS_RC = its exit
# status, or 124 after a timeout (it is then killed).
fs_wait() {
    if ! wait_until "$1" fs_exited; then
        say "flowsensed (pid $FS_PID) still running after $1 s; killing it"
        signal_session "$FS_PID" KILL
        wait "$FS_PID" 2>/dev/null
        FS_RC=124
        return 1
    fi
    wait "$FS_PID"
    FS_RC=$?
    return 0
}

fs_exited() { ! kill -0 "$FS_PID" 2>/dev/null; }

# fs_run SECONDS ARGS...: fs_start + fs_wait.
fs_run() {
    local secs=$1; shift
    fs_start "$@"
    fs_wait "$secs"
}

# assert_no_leftovers: nothing of the last flowsensed's session survives
# it, and no sanitizer reported an error on its stderr.
assert_no_leftovers() {
    if grep -q -E 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$FS_LAST_ERR" 2>/dev/null; then
        grep -A 30 -E 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$FS_LAST_ERR" | head -n 60
        fail "a sanitizer reported an error (above, from $(basename "$FS_LAST_ERR"))"
    fi
    if ! wait_until 5 session_empty "$FS_PID"; then
        ps -o pid,ppid,user,args -s "$FS_PID"
        fail "processes of flowsensed (session $FS_PID) are still running after it exited"
    fi
}

session_empty() { [[ -z $(session_pids "$1") ]]; }

# start_slow_clients ENDPOINT GOOD_OUT: tests/lib/slow_client.py (a reading
# and a stalled client) in the background; its summary goes to
# $TMP/summary.json.  finish_slow_clients waits for it after flowsensed
# has exited and fails unless the reading client's stream ended cleanly.
start_slow_clients() {
    python3 "$ROOT/tests/lib/slow_client.py" "$1" "$2" --timeout 300 \
        >"$TMP/summary.json" 2>"$TMP/slow.err" &
    SLOW_CLIENTS_PID=$!
    track_pid "$SLOW_CLIENTS_PID"
}

finish_slow_clients() {
    local rc=0
    wait_until 30 eval '! kill -0 $SLOW_CLIENTS_PID 2>/dev/null' || fail "the clients did not finish"
    wait "$SLOW_CLIENTS_PID" || rc=$?
    cat "$TMP/slow.err"
    say "clients: $(cat "$TMP/summary.json")"
    [[ $rc == 0 ]] || fail "the reading client's stream failed (exit $rc)"
}

# fs_finish SECONDS [SIGNAL]: sends SIGNAL (if given) to flowsensed, then
# checks that it exits 0 within SECONDS leaving nothing behind, and that
# the client of start_reader saw a clean end of its stream.
fs_finish() {
    local secs=$1 sig=${2:-}
    [[ -n $sig ]] && kill "-$sig" "$FS_PID"
    fs_wait "$secs" || fail "flowsensed did not exit within $secs s${sig:+ of SIG$sig}"
    [[ $FS_RC == 0 ]] || fail "flowsensed exited $FS_RC${sig:+ after SIG$sig}, expected 0"
    assert_no_leftovers
    [[ -n ${READER_PID:-} ]] || return 0
    wait_until 15 fs_reader_done || fail "the client's stream did not end after flowsensed exited"
    local rc=0
    wait "$READER_PID" || rc=$?
    cat "$READER_OUT.err"
    [[ $rc == 0 ]] || fail "stream_reader exited $rc (framing lost, non-ASCII byte or reset; see above)"
}

# start_reader OUTFILE ENDPOINT [OPTIONS...]: the netify-style client, in
# the background; READER_PID is its PID, its stderr goes to OUTFILE.err.
start_reader() {
    local out=$1 ep=$2; shift 2
    python3 "$READER" --connect-retries 100 --output "$out" "$@" "$ep" 2>"$out.err" &
    READER_PID=$!
    READER_OUT=$out
    track_pid "$READER_PID"
}

free_tcp_port() {
    "${NS_EXEC[@]}" python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# count_type FILE TYPE: number of NDJSON records of TYPE in FILE.
count_type() {
    jq -c --arg t "$2" 'select(.type == $t)' "$1" 2>/dev/null | wc -l
}

# count_flows FILE: flows, i.e. `flow` records less those marked
# detection_updated (a flow's second record).
count_flows() {
    jq -c 'select(.type == "flow" and (.flow.detection_updated | not))' "$1" 2>/dev/null | wc -l
}

fs_reader_done() { ! kill -0 "$READER_PID" 2>/dev/null; }

# ---- live capture on lo ----

# live_start WORKERS [ARGS...]: flowsensed on lo, clients at
# unix:$LIVE_SOCK; returns once its children are up: WORKERS
# flowsense-worker and one flowsense-broker.
live_start() {
    LIVE_SOCK=$TMP/s.sock
    fs_start -i lo -w "$@" --listen "unix:$LIVE_SOCK"
    if ! wait_until 20 picture_complete "$1" || fs_exited; then
        fs_exited && fail "flowsensed exited during start-up"
        ps -o pid,ppid,user,args --ppid "$FS_PID"
        fail "after 20 s flowsensed (pid $FS_PID) does not have $1 flowsense-worker and 1 flowsense-broker children"
    fi
    [[ $(proc_name "$FS_PID") == flowsensed ]] || fail "pid $FS_PID runs $(proc_name "$FS_PID"), not flowsensed"
}

picture_complete() {
    fs_exited && return 0
    [[ $(children_named "$FS_PID" flowsense-worker | wc -l) == "$1" &&
       $(children_named "$FS_PID" flowsense-broker | wc -l) == 1 ]]
}

status_field() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null; }

# is_sandboxed PID: no capability left in any set, no_new_privs, no root uid.
is_sandboxed() {
    [[ $(status_field "$1" CapEff) == 0000000000000000 &&
       $(status_field "$1" CapPrm) == 0000000000000000 &&
       $(status_field "$1" CapBnd) == 0000000000000000 &&
       $(status_field "$1" CapAmb) == 0000000000000000 &&
       $(status_field "$1" NoNewPrivs) == 1 ]] || return 1
    awk '$1 == "Uid:" { exit !($2 && $3 && $4 && $5) }' "/proc/$1/status"
}

show_privileges() {
    grep -E '^(Name|Uid|Gid|Cap(Eff|Prm|Inh|Bnd|Amb)|NoNewPrivs|Seccomp):' "/proc/$1/status" \
        | tr '\n' ' ' | tr -s '\t ' ' '
    echo
}

# start_http_server: python's http.server on 127.0.0.1:$HTTP_PORT (in the
# test's network namespace after netns_setup, as http_get's requests).
start_http_server() {
    mkdir -p "$TMP/www" && echo "flowsense test page" >"$TMP/www/index.html"
    HTTP_PORT=$(free_tcp_port)
    "${NS_EXEC[@]}" python3 -m http.server --bind 127.0.0.1 --directory "$TMP/www" "$HTTP_PORT" \
        >"$TMP/http.log" 2>&1 &
    track_pid $!
    wait_until 10 "${NS_EXEC[@]}" curl -s -o /dev/null -m 2 "http://127.0.0.1:$HTTP_PORT/" \
        || fail "python3 -m http.server did not answer on 127.0.0.1:$HTTP_PORT"
}

# http_get COUNT: COUNT bounded requests to the test server.
http_get() {
    local i
    for ((i = 0; i < $1; i++)); do
        "${NS_EXEC[@]}" curl -s -o /dev/null -m 5 "http://127.0.0.1:$HTTP_PORT/index.html" \
            || fail "curl to 127.0.0.1:$HTTP_PORT failed"
    done
}

# flows_on_port FILE PORT [TYPE]: records of TYPE (default flow) of the TCP
# flow with PORT on either side, as compact JSON lines.
flows_on_port() {
    jq -c --argjson p "$2" --arg t "${3:-flow}" \
        'select(.type == $t and (.flow.local_port == $p or .flow.other_port == $p))' \
        "$1" 2>/dev/null
}

has_flow_on_port() { [[ -n $(flows_on_port "$@") ]]; }

# has_type FILE TYPE [N]: FILE holds at least N (default 1) records of TYPE.
has_type() { (($(count_type "$1" "$2") >= ${3:-1})); }

# ---- a private network namespace per test ----
#
# Live tests capture inside a network namespace of their own, so traffic of
# anything else on the machine (other test suites replaying on lo) never
# reaches their sensor.  netns_setup (after fs_setup) creates it with its lo
# up (127.0.0.1/8, ::1); from then on fs_start, free_tcp_port,
# start_http_server and http_get run in it, and so does any command
# prefixed with "${NS_EXEC[@]}" (`ip netns exec NS` execs, so $! of a
# background command is the command's own PID).  Clients of a UNIX socket
# may stay outside: the socket is a file.  fs_cleanup ends the tracked
# processes, then netns_remove ends whatever else still runs in the
# namespace (by PID) and deletes it.

FS_NETNS=
NS_EXEC=()
NETNS_HOST_IF='' NETNS_IF='' NETNS_HOST_IP='' NETNS_IP='' NETNS_ERR=''

# netns_setup [--veth]: the namespace flowsense-TEST-PID.  --veth adds a
# veth pair, $NETNS_HOST_IF (root namespace, $NETNS_HOST_IP/30) to
# $NETNS_IF (inside, $NETNS_IP/30), for tests that need an interface with
# MAC addresses; the /30 is taken from 198.18.0.0/15 (RFC 2544, benchmark
# tests) by PID.  Skips (77) where namespaces cannot be made.
netns_setup() {
    require_root "a network namespace of its own (ip netns add)"
    require_cmd ip
    netns_create "$@" || skip "$NETNS_ERR"
}

# netns_create [--veth]: netns_setup for a test that runs without the
# namespace too; status 1, with the reason in NETNS_ERR, where none can
# be made.
netns_create() {
    local name="flowsense-$TEST_NAME-$BASHPID" err
    [[ -n $TMP ]] || fail "netns_setup before fs_setup"
    [[ $(id -u) == 0 ]] || { NETNS_ERR="a network namespace needs root"; return 1; }
    command -v ip >/dev/null || { NETNS_ERR="ip (iproute2) is not installed"; return 1; }
    netns_reap_stale
    if ! err=$(ip netns add "$name" 2>&1); then
        NETNS_ERR="cannot create a network namespace (ip netns add: $err)"
        return 1
    fi
    FS_NETNS=$name
    NS_EXEC=(ip netns exec "$FS_NETNS")
    err=$("${NS_EXEC[@]}" ip link set lo up 2>&1) || fail "cannot bring lo up in $FS_NETNS: $err"
    [[ ${1:-} == --veth ]] || return 0
    local n=$((BASHPID % 32768))
    NETNS_HOST_IF="fsh$BASHPID" NETNS_IF="fsn$BASHPID"
    NETNS_HOST_IP="198.$((18 + n / 16384)).$((n / 64 % 256)).$((n % 64 * 4 + 1))"
    NETNS_IP="${NETNS_HOST_IP%.*}.$((n % 64 * 4 + 2))"
    err=$( { ip link add "$NETNS_HOST_IF" type veth peer name "$NETNS_IF" netns "$FS_NETNS" &&
             ip addr add "$NETNS_HOST_IP/30" dev "$NETNS_HOST_IF" &&
             ip link set "$NETNS_HOST_IF" up &&
             "${NS_EXEC[@]}" ip addr add "$NETNS_IP/30" dev "$NETNS_IF" &&
             "${NS_EXEC[@]}" ip link set "$NETNS_IF" up; } 2>&1) \
        || fail "cannot make the veth pair $NETNS_HOST_IF/$NETNS_IF: $err"
}

# in_netns CMD...: CMD in the test's namespace (in the foreground).
in_netns() { "${NS_EXEC[@]}" "$@"; }

netns_pids() { ip netns pids "$1" 2>/dev/null; }

netns_remove() {
    local pid
    for pid in $(netns_pids "$FS_NETNS"); do
        kill -TERM "$pid" 2>/dev/null
    done
    if ! wait_until 3 netns_empty "$FS_NETNS"; then
        for pid in $(netns_pids "$FS_NETNS"); do
            kill -KILL "$pid" 2>/dev/null
        done
        wait_until 2 netns_empty "$FS_NETNS"
    fi
    [[ -n $NETNS_HOST_IF ]] && ip link del "$NETNS_HOST_IF" 2>/dev/null
    ip netns del "$FS_NETNS" 2>/dev/null || echo "$TEST_NAME: warning: could not delete network namespace $FS_NETNS"
    FS_NETNS=
    NS_EXEC=()
}

netns_empty() { [[ -z $(netns_pids "$1") ]]; }

# netns_reap_stale: deletes the names of namespaces this helper made for a
# test that no longer runs (killed before its trap ran) and that hold no
# process; it never signals anything.
netns_reap_stale() {
    local ns pid
    for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^flowsense-test_.*-[0-9]+$/ { print $1 }'); do
        pid=${ns##*-}
        kill -0 "$pid" 2>/dev/null && continue
        netns_empty "$ns" && ip netns del "$ns" 2>/dev/null
    done
}
