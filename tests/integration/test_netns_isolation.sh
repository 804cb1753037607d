#!/usr/bin/env bash
# The private network namespace of tests/lib/common.sh (netns_setup --veth)
# that every live test captures in: flowsensed on the namespace's lo and on
# its end of the veth pair sees exactly the test's own traffic while the
# machine's lo carries other traffic (a replay of mixed.pcap meanwhile):
#  - the namespace's lo: exactly the 500 generated DNS flows, no flow of
#    mixed.pcap's addresses, none of the machine's 127.0.0.1 traffic;
#  - the veth: the UDP datagrams sent to it from the root namespace, with
#    the MAC addresses `ip link` gives the two ends;
#  - on exit the namespace and the veth pair are gone (checked by a second
#    script run in the foreground).
source "$(dirname "$0")/../lib/common.sh"
require_built
require_root "a network namespace of its own"
require_cmd python3 jq tcpreplay tshark
fs_setup
netns_setup --veth
FLOWS=500
DATAGRAMS=20

python3 "$ROOT/tests/lib/gen_dns_pcap.py" "$TMP/dns.pcap" "$FLOWS" || fail "cannot generate the capture"
# Independent truth for the noise: every address mixed.pcap holds.
noise_addrs=$(tshark -r "$LOCAL_PCAP/mixed.pcap" -T fields -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst 2>/dev/null \
    | tr '\t' '\n' | grep -v '^$' | sort -u)
[[ -n $noise_addrs ]] || fail "tshark found no address in mixed.pcap"
[[ $(ip netns identify "$$") == "" ]] || fail "the test itself is not in the root namespace"

live_start 1 --update-interval 1 -i "$NETNS_IF"
start_reader "$TMP/records.ndjson" "unix:$LIVE_SOCK" --timeout 60
wait_until 10 has_type "$TMP/records.ndjson" agent_status || fail "no agent_status within 10 s"
[[ $(ip netns identify "$FS_PID") == "$FS_NETNS" ]] || fail "flowsensed $FS_PID is not in $FS_NETNS"

# An echo server in the namespace, on its end of the veth pair.
"${NS_EXEC[@]}" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 9999))
print("ready", flush=True)
while True:
    data, peer = s.recvfrom(100)
    s.sendto(data, peer)
' "$NETNS_IP" >"$TMP/echo.out" 2>&1 &
track_pid $!
wait_until 5 grep -q ready "$TMP/echo.out" || fail "the echo server did not start: $(cat "$TMP/echo.out")"

# Noise on the machine's lo (in the background, bounded), the test's DNS
# flows on the namespace's lo, datagrams from the root namespace's veth end.
tcpreplay -q -i lo --pps 5000 --loop 40 "$LOCAL_PCAP/mixed.pcap" >"$TMP/noise.out" 2>&1 &
noise=$!
track_pid "$noise"
python3 - <<'EOF' || fail "cannot send on the machine's lo"
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(50):
    s.sendto(b"noise", ("127.0.0.1", 9999))
EOF
in_netns tcpreplay -q -i lo --pps 5000 "$TMP/dns.pcap" >"$TMP/tcpreplay.out" 2>&1 \
    || fail "tcpreplay in $FS_NETNS failed: $(tail -n 3 "$TMP/tcpreplay.out")"
python3 - "$NETNS_HOST_IP" "$NETNS_IP" "$DATAGRAMS" <<'EOF' || fail "no echo over the veth pair"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 40000))
s.settimeout(5)
for i in range(int(sys.argv[3])):
    s.sendto(b"flowsense veth %d" % i, (sys.argv[2], 9999))
    if s.recv(100) != b"flowsense veth %d" % i:
        sys.exit("wrong echo")
EOF
wait "$noise" || fail "the noise replay failed: $(tail -n 3 "$TMP/noise.out")"

dns_flows() { jq -c 'select(.type == "flow" and (.flow.detection_updated | not) and (.flow.other_ip == "10.0.0.53" or .flow.local_ip == "10.0.0.53"))' "$TMP/records.ndjson" 2>/dev/null; }
all_dns() { (($(dns_flows | wc -l) >= FLOWS)); }
wait_until 20 all_dns || fail "only $(dns_flows | wc -l) of $FLOWS DNS flows within 20 s"
sleep 1
fs_finish 10 TERM

flows=$(jq -c 'select(.type == "flow")' "$TMP/records.ndjson")
n_dns=$(dns_flows | wc -l)
((n_dns == FLOWS)) || fail "$n_dns DNS flows, want exactly $FLOWS"
[[ $(dns_flows | jq -r .interface | sort -u) == lo ]] || fail "DNS flows not on lo: $(dns_flows | jq -r .interface | sort | uniq -c)"
addrs=$(jq -r '.flow.local_ip, .flow.other_ip' <<<"$flows" | sort -u)
leaked=$(comm -12 <(echo "$noise_addrs") <(echo "$addrs"))
[[ -z $leaked ]] || fail "flows of the machine's lo traffic reached the namespace: $leaked"
# The 127.0.0.1:9999 datagrams were sent on the machine's lo only.
[[ -z $(jq -c 'select(.flow.other_ip == "127.0.0.1" or .flow.local_ip == "127.0.0.1")' <<<"$flows") ]] \
    || fail "a 127.0.0.1 flow of the machine's lo reached the namespace"

veth=$(flows_on_port "$TMP/records.ndjson" 9999)
[[ -n $veth && $(wc -l <<<"$veth") == 1 ]] || fail "want one flow over the veth pair, got: $veth"
# The flow record comes when detection ends; its purge has the totals.
purge=$(jq -c --arg d "$(jq -r .flow.digest <<<"$veth")" 'select(.type == "flow_purge" and .flow.digest == $d)' \
    "$TMP/records.ndjson")
[[ -n $purge ]] || fail "no flow_purge for the veth flow"
host_mac=$(ip -j link show dev "$NETNS_HOST_IF" | jq -r '.[0].address')
ns_mac=$(in_netns ip -j link show dev "$NETNS_IF" | jq -r '.[0].address')
got=$(jq -r '[.interface, .flow.ip_protocol, .flow.local_ip, .flow.local_port, .flow.other_ip, .flow.other_port,
              .flow.local_mac, .flow.other_mac] | @tsv' <<<"$veth")$'\t'$(jq -r '[.flow.local_packets, .flow.other_packets] | @tsv' <<<"$purge")
# Both ends are in the veth's own /30, so both are local: the sender is
# the local side (local_origin).
want=$(printf '%s\t17\t%s\t40000\t%s\t9999\t%s\t%s\t%s\t%s' "$NETNS_IF" "$NETNS_HOST_IP" "$NETNS_IP" \
    "$host_mac" "$ns_mac" "$DATAGRAMS" "$DATAGRAMS")
[[ $got == "$want" ]] \
    || fail "the veth flow: got '$got', want '$want' (interface, protocol, ip/port/mac of both ends, packets each way)"
say "lo: $n_dns DNS flows, no flow of the $(wc -l <<<"$noise_addrs") mixed.pcap addresses; $NETNS_IF: $got"

# Cleanup: the namespace and the veth pair are gone after a test exits.
# A subshell is a test of its own here: its EXIT trap runs fs_cleanup.
parent_tmp=$TMP
(
    # shellcheck disable=SC2034
    TEST_NAME=${TEST_NAME}_child TMP='' FS_NETNS='' NS_EXEC=() TRACKED_PIDS=() TRACKED_SESSIONS=()
    fs_setup
    netns_setup --veth
    "${NS_EXEC[@]}" sleep 60 &
    echo "$FS_NETNS $NETNS_HOST_IF $!" >"$parent_tmp/child.names"
    exit 0
) >"$parent_tmp/child.out" 2>&1
read -r child_ns child_if child_sleep <"$parent_tmp/child.names" || fail "the child test did not name its namespace: $(cat "$parent_tmp/child.out")"
ip netns list | grep -q "^$child_ns\b" && fail "the namespace $child_ns outlived its test"
ip link show dev "$child_if" >/dev/null 2>&1 && fail "the veth $child_if outlived its test"
kill -0 "$child_sleep" 2>/dev/null && fail "the untracked process $child_sleep in $child_ns outlived its test"
say "ok: isolated from the machine's lo; $child_ns and $child_if removed on exit (an untracked sleep in it too)"
