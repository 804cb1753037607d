#!/usr/bin/env bash
# Which side of a flow is local, from the configured networks:
#  - replays of tests/pcap/mixed.pcap and, when the shared corpus is there,
#    of 1kxun, iphone, http_ipv6 and whatsapp_login_chat (IPv4 and IPv6,
#    multicast, broadcast), each with the built-in networks, with a
#    [local-networks] file (defaults = no, network[N] chosen from the
#    capture's own remote addresses) plus the source's own network (-A,
#    whose directed broadcast is broadcast), and with no local network at
#    all: every flow's local_ip/port, other_ip/port, other_type and
#    local_origin equal what tests/lib/check_locality.py computes on its own
#    (Python's ipaddress over tshark's first packet of each flow), and the
#    configuration changes the answer;
#  - mixed.pcap without its SYNs, so every TCP flow starts with the SYN-ACK:
#    local_origin follows the SYN-ACK, not the first packet;
#  - --check-config -I lo lists lo's own networks as `ip addr` gives them,
#    and with netlink refused (strace fault injection) warns and lists none;
#  - live on lo as WAN (-E), LAN (-I) and plain -i, with no configured
#    network: internal is false, true, true, and 127.0.0.1 is local only
#    through lo's own address (root only); a replay's flows are internal.
# As root the lo parts run in a network namespace of the test's own, whose
# lo has 127.0.0.1/8, ::1 and a documentation network added here: nothing
# else on the machine changes lo's addresses or sends traffic on it.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd python3 jq tshark
CHECK=$ROOT/tests/lib/check_locality.py
[[ -f $LOCAL_PCAP/mixed.pcap ]] || skip "tests/pcap/mixed.pcap is missing"
fs_setup

BUILTIN=(10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 169.254.0.0/16 127.0.0.0/8 fc00::/7 fe80::/10 ::1/128)

# replay PCAP OUT ARGS...: flowsensed -r PCAP --stdout ARGS > OUT.
replay() {
    local pcap=$1 out=$2; shift 2
    FS_OUT=$out fs_run 120 -r "$pcap" "$@" --stdout -w 2
    [[ $FS_RC == 0 ]] || fail "replay of $(basename "$pcap") $* exited $FS_RC: $(tail -n 3 "$FS_LAST_ERR")"
    assert_no_leftovers
    (($(count_type "$out" flow) > 0)) || fail "no flow records from $(basename "$pcap")"
}

# verify PCAP OUT [--local-net CIDR]... [--own-net CIDR]...: the checker's verdict.
verify() {
    local pcap=$1 out=$2 res; shift 2
    res=$(python3 "$CHECK" "$pcap" "$out" "$@") || { echo "$res" | head -n 20; fail "$(basename "$pcap") $*: flows disagree with the computation (above)"; }
    say "  $(basename "$pcap"): $(tail -n 1 <<<"$res")"
}

# sides OUT: local_ip other_ip other_type local_origin per flow, sorted.
sides() { jq -r 'select(.type == "flow") | [.flow.digest, .flow.local_ip, .flow.other_type, .flow.local_origin] | @tsv' "$1" | sort; }

captures=("$LOCAL_PCAP/mixed.pcap")
for name in 1kxun.pcap iphone.pcap http_ipv6.pcap whatsapp_login_chat.pcap; do
    if [[ -f $SHARED_PCAP/$name ]]; then captures+=("$SHARED_PCAP/$name"); else say "note: $SHARED_PCAP/$name is absent, not replayed"; fi
done

builtin_args=()
for n in "${BUILTIN[@]}"; do builtin_args+=(--local-net "$n"); done
n=0
for pcap in "${captures[@]}"; do
    base=$(basename "$pcap" .pcap)
    say "$base:"
    # 1. the built-in networks
    replay "$pcap" "$TMP/$base.default.json"
    verify "$pcap" "$TMP/$base.default.json" "${builtin_args[@]}"
    [[ $(jq -r 'select(.type == "flow") | .internal' "$TMP/$base.default.json" | sort -u) == true ]] \
        || fail "$base: a replay's flows are not all internal"

    # 2. a file with defaults = no and networks taken from the capture: the
    #    most frequent other IPv4 address (/32) and the /64 of the most
    #    frequent other IPv6 address, and the /24 of the most frequent local
    #    IPv4 address as the source's own network (-A; none when that /24
    #    holds the other address).
    read -r remote4 remote6 local4 < <(python3 - "$TMP/$base.default.json" <<'EOF'
import collections, ipaddress, json, sys
rem4, rem6, loc4 = collections.Counter(), collections.Counter(), collections.Counter()
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("type") != "flow":
        continue
    f = r["flow"]
    o, l = ipaddress.ip_address(f["other_ip"]), ipaddress.ip_address(f["local_ip"])
    if f["other_type"] in ("remote", "local"):
        (rem4 if o.version == 4 else rem6)[o] += 1
    if l.version == 4:
        loc4[l] += 1
def top(c, bits):
    return str(ipaddress.ip_network("%s/%d" % (c.most_common(1)[0][0], bits), strict=False)) if c else "-"
own = top(loc4, 24)
if own != "-" and rem4 and rem4.most_common(1)[0][0] in ipaddress.ip_network(own):
    own = "-"
print(top(rem4, 32), top(rem6, 64), own)
EOF
)
    nets=()
    [[ $remote4 != - ]] && nets+=("$remote4")
    [[ $remote6 != - ]] && nets+=("$remote6")
    {
        echo "[local-networks]"
        echo "defaults = no"
        for i in "${!nets[@]}"; do echo "network[$i] = ${nets[$i]}"; done
    } >"$TMP/$base.conf"
    own=()
    [[ $local4 != - ]] && own=(-A "$local4")
    replay "$pcap" "$TMP/$base.file.json" -c "$TMP/$base.conf" "${own[@]}"
    check_args=()
    for x in "${nets[@]}"; do check_args+=(--local-net "$x"); done
    [[ $local4 != - ]] && check_args+=(--own-net "$local4")
    verify "$pcap" "$TMP/$base.file.json" "${check_args[@]}"
    changed=$(comm -3 <(sides "$TMP/$base.default.json") <(sides "$TMP/$base.file.json") | wc -l)
    ((changed > 0)) || fail "$base: networks ${nets[*]} (own: $local4) changed no flow's sides"
    say "  $base: networks ${nets[*]}, own: $local4: $((changed / 2)) flows changed sides or type"

    # 3. no local network at all: the first speaker is local
    replay "$pcap" "$TMP/$base.none.json" --local-defaults no
    verify "$pcap" "$TMP/$base.none.json"
    [[ -z $(jq -r 'select(.type == "flow" and .flow.other_type == "local") | .flow.digest' "$TMP/$base.none.json") ]] \
        || fail "$base: with no local network some flow's other side is still local"
    # 4. a directed broadcast (x.y.z.255 or x.y.255.255) that the built-in
    #    networks call local is broadcast once its /24 or /16 is the
    #    source's own network (-A).
    read -r dbcast count < <(jq -r 'select(.type == "flow" and .flow.other_type == "local") | .flow.other_ip' \
        "$TMP/$base.default.json" | python3 -c '
import collections, ipaddress, sys
c = collections.Counter(l.strip() for l in sys.stdin if l.strip().endswith(".255"))
if not c:
    print("- 0")
else:
    a, k = c.most_common(1)[0]
    bits = 16 if a.endswith(".255.255") else 24
    print(ipaddress.ip_network("%s/%d" % (a, bits), strict=False), k)')
    if [[ $dbcast != - ]]; then
        replay "$pcap" "$TMP/$base.bcast.json" -A "$dbcast"
        verify "$pcap" "$TMP/$base.bcast.json" "${builtin_args[@]}" --own-net "$dbcast"
        before=$(jq -c 'select(.type == "flow" and .flow.other_type == "broadcast")' "$TMP/$base.default.json" | wc -l)
        after=$(jq -c 'select(.type == "flow" and .flow.other_type == "broadcast")' "$TMP/$base.bcast.json" | wc -l)
        ((after >= before + count)) || fail "$base: -A $dbcast: $after broadcast flows, want at least $before + $count"
        say "  $base: -A $dbcast: broadcast flows $before -> $after"
    fi
    n=$((n + 1))
done
say "$n captures, 3 or 4 configurations each, agree with the independent computation"

# The SYN-ACK decides who started a TCP flow whose SYN was not captured.
tshark -r "$LOCAL_PCAP/mixed.pcap" -Y 'not (tcp.flags.syn == 1 and tcp.flags.ack == 0)' \
    -w "$TMP/nosyn.pcap" -F pcap 2>/dev/null || fail "tshark could not write mixed.pcap without its SYNs"
replay "$TMP/nosyn.pcap" "$TMP/nosyn.json" --local-defaults no --local-net 10.200.0.2/32 --local-net fd00:200::2/128
verify "$TMP/nosyn.pcap" "$TMP/nosyn.json" --local-net 10.200.0.2/32 --local-net fd00:200::2/128
tcp=$(jq -c 'select(.type == "flow" and .flow.ip_protocol == 6)' "$TMP/nosyn.json" | wc -l)
wrong=$(jq -c 'select(.type == "flow" and .flow.ip_protocol == 6 and (.flow.local_origin or (.flow.local_ip | test("^(10.200.0.2|fd00:200::2)$") | not)))' "$TMP/nosyn.json" | wc -l)
((tcp >= 8 && wrong == 0)) || fail "without SYNs: $wrong of $tcp TCP flows do not have the server local and local_origin false"
say "no SYNs: all $tcp TCP flows started by the server's SYN-ACK have local_origin false"

if netns_create; then
    in_netns ip addr add 198.51.100.7/24 dev lo || fail "cannot add 198.51.100.7/24 to lo in $FS_NETNS"
    say "lo parts in network namespace $FS_NETNS"
else
    say "note: lo parts on the machine's own lo ($NETNS_ERR)"
fi

# lo's own networks, read by flowsensed (getifaddrs), equal ip(8)'s.
want=$("${NS_EXEC[@]}" ip -j addr show dev lo | python3 -c '
import ipaddress, json, sys
nets = []
for a in json.load(sys.stdin)[0]["addr_info"]:
    n = str(ipaddress.ip_network("%s/%d" % (a["local"], a["prefixlen"]), strict=False))
    if n not in nets:
        nets.append(n)
print(" ".join(nets) or "none")')
out=$("${NS_EXEC[@]}" "$FLOWSENSED" -I lo --check-config --local-defaults no --local-net 192.0.2.0/24) || fail "--check-config -I lo: $out"
grep -qxF "flowsensed: local networks of every source: 192.0.2.0/24" <<<"$out" || fail "--check-config: $out"
got=$(sed -n 's/^flowsensed: local networks of lo (LAN) also: //p' <<<"$out")
[[ $(tr ' ' '\n' <<<"$got" | sort) == $(tr ' ' '\n' <<<"$want" | sort) ]] \
    || fail "lo's own networks: flowsensed read '$got', ip addr says '$want'"
say "--check-config -I lo: lo's own networks $got (as ip addr)"

# Where netlink is refused (the shipped systemd unit), one warning, and the
# configured networks only.
if command -v strace >/dev/null; then
    out=$("${NS_EXEC[@]}" strace -qq -f -o /dev/null -e trace=socket -e inject=socket:error=EAFNOSUPPORT:when=1 \
        "$FLOWSENSED" -I lo --check-config 2>&1) || fail "without netlink --check-config failed: $out"
    grep -q "^flowsensed: warning: cannot read the interfaces' addresses (getifaddrs: .*list them as address\[N\]" <<<"$out" \
        && grep -qxF "flowsensed: local networks of lo (LAN) also: none" <<<"$out" \
        || fail "without netlink: $out"
    say "netlink refused: a warning, lo has no own network"
else
    say "note: strace is not installed, the refused-netlink case is not run"
fi

# Live: -E lo, no configured network; internal false, 127.0.0.1 local
# through lo's own 127.0.0.0/8 only.
if [[ $(id -u) == 0 && -n $FS_NETNS ]] && command -v curl >/dev/null; then
    start_http_server
    for run in "-E false" "-I true" "-i true"; do
        read -r flag internal <<<"$run"
        LIVE_SOCK=$TMP/l$flag.sock
        fs_start "$flag" lo -w 1 --local-defaults no -f "tcp port $HTTP_PORT" --listen "unix:$LIVE_SOCK"
        wait_until 20 picture_complete 1 || fail "live on lo did not start: $(cat "$FS_LAST_ERR")"
        start_reader "$TMP/live$flag.json" "unix:$LIVE_SOCK" --timeout 60
        wait_until 10 has_type "$TMP/live$flag.json" agent_status || fail "no agent_status live"
        http_get 2
        wait_until 20 has_flow_on_port "$TMP/live$flag.json" "$HTTP_PORT" || fail "no flow for the HTTP traffic live"
        fs_finish 10 TERM
        seen=$(flows_on_port "$TMP/live$flag.json" "$HTTP_PORT" | jq -r '[.internal, .flow.other_type, .flow.local_ip, .flow.local_origin] | @tsv' | sort -u)
        [[ $seen == "$internal"$'\tlocal\t127.0.0.1\ttrue' ]] \
            || fail "live $flag lo: want internal $internal, other_type local, local 127.0.0.1 (the client), local_origin true; got: $seen"
        say "live $flag lo, no configured network: internal $internal, other_type local (lo's own 127.0.0.0/8)"
    done
else
    say "live part skipped (needs root, curl and a network namespace${NETNS_ERR:+: $NETNS_ERR})"
fi
say "ok"
