#!/usr/bin/env bash
# The configuration file (-c FILE, INI read by libinih): every bad value is
# refused with FILE:LINE, the section, the key and what is allowed, exit
# status 2, before anything starts; --check-config validates and exits; a
# good file drives a replay (update interval, workers, listening socket),
# the command line overrides it, and live on lo a [capture-interface-lo]
# section sets the interface's role and its own capture filter; bad
# networks ([local-networks], address[N], --local-net, -A) are refused the
# same way, lists are bounded at 256, and --check-config lists the local
# networks: the built-in ones unless defaults = no, then the file's (or
# --local-net's), and each source's own.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd python3 jq
PCAP=$LOCAL_PCAP/mixed.pcap
[[ -f $PCAP ]] || skip "tests/pcap/mixed.pcap is missing"
fs_setup

# refused LINE MESSAGE CONTENT: a file holding CONTENT is refused by both a
# run and --check-config, naming FILE:LINE and MESSAGE, and starts nothing.
refused() {
    local line=$1 msg=$2 conf=$TMP/bad.conf out rc
    printf '%b' "$3" >"$conf"
    for mode in run check; do
        rc=0
        if [[ $mode == run ]]; then
            out=$("$FLOWSENSED" -c "$conf" -r "$PCAP" --listen "unix:$TMP/never.sock" $(user_args) 2>&1) || rc=$?
        else
            out=$("$FLOWSENSED" -c "$conf" --check-config 2>&1) || rc=$?
        fi
        [[ $rc == 2 ]] || fail "$mode with [$(tr '\n' ' ' <"$conf")]: exit $rc, want 2: $out"
        grep -qF "$conf:$line: $msg" <<<"$out" || fail "$mode: want '$conf:$line: $msg', got: $out"
        [[ $(wc -l <<<"$out") == 1 ]] || fail "$mode: want one message, got: $out"
        [[ ! -e $TMP/never.sock ]] || fail "a refused configuration still created the socket"
    done
}

refused 2 "[flowsense] update_interval: '0' is not a whole number from 1 to 3600" '[flowsense]\nupdate_interval = 0\n'
refused 3 "[flowsense] workers: '-1' is not a whole number from 1 to" '; comment\n[flowsense]\nworkers = -1\n'
refused 2 "[flowsense] max_flows: 'lots' is not a whole number" '[flowsense]\nmax_flows = lots\n'
refused 2 "[flowsense] colour: unknown key (known: update_interval" '[flowsense]\ncolour = blue\n'
refused 2 "[flowsense] user: 'a b' is not a user name" '[flowsense]\nuser = a b\n'
refused 2 "[socket] listen_path: 'relative.sock' is not an absolute path" '[socket]\nlisten_path = relative.sock\n'
refused 2 "[socket] listen_port[1]: needs its listen_address[1] as well" '[socket]\nlisten_port[1] = 7150\n'
refused 3 "[socket] listen_port[0]: '70000' is not a whole number from 1 to 65535" '[socket]\nlisten_address[0] = 127.0.0.1\nlisten_port[0] = 70000\n'
refused 2 "[socket] listen_path[x]: an index is written [0] to [99]" '[socket]\nlisten_path[x] = /tmp/a.sock\n'
refused 2 "[socket] client_queue_kb: '1' is not a whole number from 64 to" '[socket]\nclient_queue_kb = 1\n'
refused 2 "[socket] dump_established_flows: 'maybe' is not yes or no" '[socket]\ndump_established_flows = maybe\n'
refused 3 "[socket] dump_unknown_flows: '2' is not yes or no" '[socket]\ndump_established_flows = yes\ndump_unknown_flows = 2\n'
refused 2 "[capture-interface-lo] role: 'DMZ' is not LAN or WAN" '[capture-interface-lo]\nrole = DMZ\n'
refused 3 "[capture-interface-lo] address[1]: '10.0.0.1/33' is not a network: the length after / is not 0 to 32 (write ADDRESS/LENGTH, e.g. 192.168.0.0/16 or fd00::/8)" '[capture-interface-lo]\naddress[0] = 10.0.0.1/8\naddress[1] = 10.0.0.1/33\n'
refused 3 "[capture-interface-lo] address[0]: given twice" '[capture-interface-lo]\naddress[0] = 10.0.0.0/8\naddress[0] = fd00::/8\n'
refused 2 "[capture-interface-lo] mask: unknown key (known: role, filter, address[N])" '[capture-interface-lo]\nmask = 8\n'
refused 2 "[local-networks] network[0]: 'fd00::/129' is not a network: the length after / is not 0 to 128" '[local-networks]\nnetwork[0] = fd00::/129\n'
refused 2 "[local-networks] network[1]: 'lan' is not a network: not an IPv4 or IPv6 address" '[local-networks]\nnetwork[1] = lan\n'
refused 3 "[local-networks] network: given twice" '[local-networks]\nnetwork = 10.0.0.0/8\nnetwork = 10.0.0.0/8\n'
refused 2 "[local-networks] network[100]: an index is written [0] to [99]" '[local-networks]\nnetwork[100] = 10.0.0.0/8\n'
refused 2 "[local-networks] defaults: 'maybe' is not yes or no" '[local-networks]\ndefaults = maybe\n'
refused 2 "[local-networks] networks: unknown key (known: defaults, network[N])" '[local-networks]\nnetworks = 10.0.0.0/8\n'
refused 4 "[sockets] x: unknown section" '[flowsense]\n\n[sockets]\nx = 1\n'
refused 2 "syntax error" '[flowsense]\nworkers 2\n'
refused 1 "syntax error" '\001\377\376garbage\n'
refused 2 "line too long" "[flowsense]\nuser = $(printf 'a%.0s' {1..400})\n"
out=$("$FLOWSENSED" -c "$TMP/missing.conf" --check-config 2>&1) && fail "a missing -c file was accepted"
grep -q "missing.conf: cannot read: No such file" <<<"$out" || fail "missing file: $out"
rc=0
out=$("$FLOWSENSED" -r "$PCAP" --dump-established-flows=perhaps --check-config 2>&1) || rc=$?
[[ $rc == 2 && $out == *"--dump-established-flows: 'perhaps' is not yes or no"* ]] \
    || fail "--dump-established-flows=perhaps: exit $rc: $out"
say "28 bad configurations refused with their file, line and key; a bad yes/no option too"

# The command line's networks: one message, exit 2.
for bad in "--local-net 10.0.0.0/8x" "--local-net ::/-1" "--local-defaults perhaps" "-A 10.0.0.0/8" "-r $PCAP -A 300.0.0.0/8"; do
    rc=0
    # shellcheck disable=SC2086
    out=$("$FLOWSENSED" $bad --check-config 2>&1) || rc=$?
    [[ $rc == 2 && $(wc -l <<<"$out") == 1 ]] || fail "'$bad': exit $rc, want 2 and one message: $out"
    grep -qE "^flowsensed: (--local-net|--local-defaults|-A)" <<<"$out" || fail "'$bad': $out"
done
many=()
for i in $(seq 0 256); do many+=(--local-net "10.$((i / 256)).$((i % 256)).0/24"); done
out=$("$FLOWSENSED" -r "$PCAP" "${many[@]}" --check-config 2>&1) && fail "257 --local-net were accepted"
grep -q "more than 256 networks" <<<"$out" || fail "257 --local-net: $out"
out=$("$FLOWSENSED" -r "$PCAP" "${many[@]:0:498}" --check-config 2>&1) && fail "249 --local-net and the 8 built-in were accepted"
grep -q "the built-in ones and those configured are more than 256" <<<"$out" || fail "249 + 8 built-in: $out"
say "bad --local-net, --local-defaults, -A and lists past 256 networks refused"

# [local-networks] and address[N] from the file, listed by --check-config:
# defaults = yes keeps the built-in networks in front of the file's.
cat >"$TMP/nets.conf" <<EOF
[local-networks]
network[0] = 198.51.100.7/24
network[3] = 2001:db8::/32
[capture-interface-lo]
address[0] = 203.0.113.1/24
EOF
out=$("$FLOWSENSED" -c "$TMP/nets.conf" --check-config) || fail "--check-config refused $TMP/nets.conf: $out"
grep -qxF "flowsensed: local networks of every source: 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 169.254.0.0/16 127.0.0.0/8 fc00::/7 fe80::/10 ::1/128 198.51.100.0/24 2001:db8::/32" <<<"$out" \
    || fail "the file's networks after the built-in ones: $out"
grep -q "^flowsensed: local networks of lo (LAN) also: 203.0.113.0/24 127.0.0.0/8" <<<"$out" || fail "lo's address[0], then its own: $out"
printf '[local-networks]\ndefaults = no\nnetwork[0] = 198.51.100.0/24\n' >"$TMP/nodefaults.conf"
out=$("$FLOWSENSED" -c "$TMP/nodefaults.conf" -r "$PCAP" --local-net 192.0.2.0/24 -A 10.1.0.0/16 --check-config) || fail "$out"
grep -qxF "flowsensed: local networks of every source: 192.0.2.0/24" <<<"$out" || fail "defaults = no with --local-net replacing the file's: $out"
grep -qxF "flowsensed: local networks of mixed.pcap (LAN) also: 10.1.0.0/16" <<<"$out" || fail "-A after -r: $out"
say "[local-networks] extends the built-in networks, defaults = no replaces them, --local-net replaces the file's list"

cat >"$TMP/good.conf" <<EOF
# a good configuration
[flowsense]
update_interval = 7
workers = 2
max_detection_pkts = 16

[socket]
listen_path[0] = $TMP/c.sock
client_queue_kb = 4096
dump_established_flows = yes
dump_unknown_flows = No
EOF
out=$("$FLOWSENSED" -c "$TMP/good.conf" -r "$PCAP" --check-config) || fail "--check-config refused a good file"
grep -q "configuration ok: 1 source(s), 1 listener(s), 2 worker(s)" <<<"$out" || fail "--check-config said: $out"

# The file drives the replay: its socket, its update interval, its workers.
fs_start -c "$TMP/good.conf" -r "$PCAP" --wait-for-client
start_reader "$TMP/file.ndjson" "unix:$TMP/c.sock" --timeout 60
fs_finish 60
status=$(jq -c 'select(.type == "agent_status")' "$TMP/file.ndjson" | tail -n 1)
[[ $(jq .update_interval <<<"$status") == 7 ]] || fail "update_interval from the file is not 7: $status"
[[ $(jq '.workers | length' <<<"$status") == 2 ]] || fail "not 2 workers as the file says: $(jq -c .workers <<<"$status")"
[[ $(jq .established_flows.limit <<<"$status") == 2000000 ]] \
    || fail "dump_established_flows = yes: no store of max_flows x 2 workers: $(jq -c .established_flows <<<"$status")"
say "file: update_interval 7, 2 workers, socket $TMP/c.sock, established flows kept"

# The command line overrides the file, its --listen replaces the file's.
rm -f "$TMP/c.sock"
fs_start -c "$TMP/good.conf" -r "$PCAP" --update-interval 5 -w 1 --listen "unix:$TMP/d.sock" --wait-for-client
start_reader "$TMP/cli.ndjson" "unix:$TMP/d.sock" --timeout 60
fs_finish 60
status=$(jq -c 'select(.type == "agent_status")' "$TMP/cli.ndjson" | tail -n 1)
[[ $(jq .update_interval <<<"$status") == 5 && $(jq '.workers | length' <<<"$status") == 1 ]] \
    || fail "the command line did not override the file: $status"
[[ ! -e $TMP/c.sock ]] || fail "the file's socket was created although --listen replaced it"
say "command line: update_interval 5, 1 worker, socket $TMP/d.sock"

# Live: [capture-interface-lo] gives lo its role and its own filter; lo of
# a network namespace of the test's own.
if [[ $(id -u) == 0 ]] && command -v curl >/dev/null && netns_create; then
    start_http_server
    cat >"$TMP/live.conf" <<EOF
[flowsense]
workers = 1
[socket]
listen_path[0] = $TMP/l.sock
[capture-interface-lo]
role = WAN
filter = tcp port $HTTP_PORT
EOF
    fs_start -c "$TMP/live.conf" -w 1
    LIVE_SOCK=$TMP/l.sock
    wait_until 20 picture_complete 1 || fail "live from the file did not start: $(cat "$FS_LAST_ERR")"
    start_reader "$TMP/live.ndjson" "unix:$LIVE_SOCK" --timeout 60
    wait_until 10 has_type "$TMP/live.ndjson" agent_status || fail "no agent_status live"
    dig_port=$(free_tcp_port)
    in_netns python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'x', ('127.0.0.1', $dig_port))"
    http_get 2
    wait_until 20 has_flow_on_port "$TMP/live.ndjson" "$HTTP_PORT" || fail "no flow for the HTTP traffic live"
    fs_finish 10 TERM
    [[ $(jq -r 'select(.type == "flow") | .internal' "$TMP/live.ndjson" | sort -u) == false ]] \
        || fail "role = WAN did not make the flows external: $(jq -c 'select(.type == "flow") | .internal' "$TMP/live.ndjson" | sort | uniq -c)"
    others=$(jq -c --argjson p "$HTTP_PORT" 'select(.type == "flow" and .flow.other_port != $p and .flow.local_port != $p)' "$TMP/live.ndjson" | wc -l)
    ((others == 0)) || fail "the interface's filter let $others other flows through"
    say "live: lo from the file, role WAN, filter 'tcp port $HTTP_PORT' kept only the HTTP flows"
else
    say "live part skipped (needs root, curl and a network namespace${NETNS_ERR:+: $NETNS_ERR})"
fi
say "ok"
