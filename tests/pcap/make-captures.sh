#!/usr/bin/env bash
# Regenerate the real packet captures in tests/pcap/ (http, https, dns, mixed).
#
# Every packet stays inside two network namespaces this script creates
# (fs-cli <-> fs-srv over one veth pair); nothing is sent anywhere else.
# Needs root and: iproute2 ethtool tcpdump python3 openssl curl dig dnsmasq.
#   apt-get install iproute2 ethtool tcpdump python3 openssl curl dnsutils dnsmasq-base
#
# Usage: tests/pcap/make-captures.sh [OUTDIR]     (default: the directory of this script)
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${1:-$HERE}

NS_CLI=fs-cli
NS_SRV=fs-srv
IF_CLI=fs-veth-c
IF_SRV=fs-veth-s
MAC_CLI=02:00:0a:c8:00:01
MAC_SRV=02:00:0a:c8:00:02
CLI4=10.200.0.1
SRV4=10.200.0.2
CLI6=fd00:200::1
SRV6=fd00:200::2
DOMAIN=flowsense.test
UA='flowsense-test/1.0 (curl)'

die() { echo "make-captures: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (network namespaces)"
for tool in ip ethtool tcpdump python3 openssl curl dig dnsmasq; do
    command -v "$tool" >/dev/null || die "missing tool: $tool"
done
for ns in $NS_CLI $NS_SRV; do
    if ip netns list | grep -qw "^$ns"; then
        die "namespace $ns already exists (left over?); remove it with: ip netns del $ns"
    fi
done
mkdir -p "$OUT"

WORK=$(mktemp -d /tmp/fs-captures.XXXXXX)
PIDS=()         # every background process we started, killed on exit
NS_MADE=()      # namespaces we created, deleted on exit
TCPDUMP_PID=

cleanup() {
    local rc=$?
    trap - ERR
    set +e
    if [ -n "$TCPDUMP_PID" ]; then kill -INT "$TCPDUMP_PID" 2>/dev/null; wait "$TCPDUMP_PID"; fi
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    for ns in "${NS_MADE[@]}"; do ip netns del "$ns" 2>/dev/null; done
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'echo "make-captures: failed (exit $?) at line $LINENO (callers: ${BASH_LINENO[*]}): $BASH_COMMAND" >&2' ERR
trap 'exit 130' INT TERM

in_cli() { ip netns exec "$NS_CLI" "$@"; }
in_srv() { ip netns exec "$NS_SRV" "$@"; }

# wait_listen NS tcp|udp PORT: poll (bounded, 10 s) until something listens there
wait_listen() {
    local ns=$1 proto=$2 port=$3 flag _
    [ "$proto" = tcp ] && flag=-ltnH || flag=-lunH
    for _ in $(seq 1 100); do
        if ip netns exec "$ns" ss $flag "sport = :$port" | grep -q .; then return 0; fi
        sleep 0.1
    done
    die "nothing listening on $proto/$port in $ns after 10 s"
}

# ---------------------------------------------------------------- network
setup_net() {
    ip netns add $NS_CLI; NS_MADE+=("$NS_CLI")
    ip netns add $NS_SRV; NS_MADE+=("$NS_SRV")
    ip link add $IF_CLI netns $NS_CLI address $MAC_CLI type veth \
        peer name $IF_SRV netns $NS_SRV address $MAC_SRV
    local ns ifc a4 a6
    for ns in $NS_CLI $NS_SRV; do
        if [ "$ns" = "$NS_CLI" ]; then ifc=$IF_CLI a4=$CLI4 a6=$CLI6; else ifc=$IF_SRV a4=$SRV4 a6=$SRV6; fi
        # no router solicitations / autoconf chatter on the captured link
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.$ifc.router_solicitations=0 \
            net.ipv6.conf.$ifc.accept_ra=0 net.ipv6.conf.$ifc.autoconf=0
        ip -n "$ns" link set lo up
        # offloads off: captured packets carry real checksums and are at most MTU-sized
        ip netns exec "$ns" ethtool -K $ifc tx off rx off tso off gso off gro off >/dev/null 2>&1 ||
            ip netns exec "$ns" ethtool -K $ifc tx off tso off gso off >/dev/null
        ip -n "$ns" addr add $a4/24 dev $ifc
        ip -n "$ns" addr add $a6/64 dev $ifc nodad
        ip -n "$ns" link set $ifc up
    done
    # static neighbours: no ARP/ND inside the captures, whatever the timing
    ip -n $NS_CLI neigh replace $SRV4 lladdr $MAC_SRV dev $IF_CLI nud permanent
    ip -n $NS_CLI neigh replace $SRV6 lladdr $MAC_SRV dev $IF_CLI nud permanent
    ip -n $NS_SRV neigh replace $CLI4 lladdr $MAC_CLI dev $IF_SRV nud permanent
    ip -n $NS_SRV neigh replace $CLI6 lladdr $MAC_CLI dev $IF_SRV nud permanent
    # let link-up multicast (MLD reports) go out before any capture starts
    sleep 2
}

# ---------------------------------------------------------------- servers
start_servers() {
    mkdir -p "$WORK/www"
    printf '<html><head><title>flowsense test</title></head><body>flowsense test page</body></html>\n' \
        >"$WORK/www/index.html"
    # HTTP/1.0 responder: the server closes after each response
    (cd "$WORK/www" && exec ip netns exec $NS_SRV python3 -m http.server 80 --bind $SRV4 \
        >"$WORK/http.log" 2>&1) &
    PIDS+=($!)

    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -subj "/CN=www.$DOMAIN" \
        -addext "subjectAltName=DNS:www.$DOMAIN,DNS:*.$DOMAIN" 2>/dev/null
    ip netns exec $NS_SRV openssl s_server -quiet -www -accept "$SRV4:443" \
        -cert "$WORK/cert.pem" -key "$WORK/key.pem" </dev/null >"$WORK/tls4.log" 2>&1 &
    PIDS+=($!)
    ip netns exec $NS_SRV openssl s_server -quiet -www -accept "[$SRV6]:443" \
        -cert "$WORK/cert.pem" -key "$WORK/key.pem" </dev/null >"$WORK/tls6.log" 2>&1 &
    PIDS+=($!)

    # authoritative-looking answers for *.flowsense.test; everything else refused
    ip netns exec $NS_SRV dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv \
        --no-hosts --bind-interfaces --listen-address=$SRV4,$SRV6 --except-interface=lo \
        --address=/$DOMAIN/$SRV4 --address=/$DOMAIN/$SRV6 --pid-file="$WORK/dnsmasq.pid" \
        --log-facility="$WORK/dnsmasq.log" --log-queries &
    PIDS+=($!)

    wait_listen $NS_SRV tcp 80
    wait_listen $NS_SRV tcp 443
    wait_listen $NS_SRV udp 53
    wait_listen $NS_SRV tcp 53
}

# ---------------------------------------------------------------- capture
# capture_start FILE: tcpdump on the client side of the veth, full snaplen, packet-buffered.
# The filter drops the kernel's own IPv6 multicast (MLD reports after link-up), which
# would otherwise land in a capture or not depending on timing; all test traffic is unicast.
capture_start() {
    local file=$1 _
    rm -f "$file"
    ip netns exec $NS_CLI tcpdump -i $IF_CLI -s 0 -U -n -Z root -w "$file" 'not ip6 multicast' \
        2>"$WORK/tcpdump.err" &
    TCPDUMP_PID=$!
    for _ in $(seq 1 100); do
        grep -q 'listening on' "$WORK/tcpdump.err" && return 0
        kill -0 "$TCPDUMP_PID" 2>/dev/null || die "tcpdump died: $(cat "$WORK/tcpdump.err")"
        sleep 0.1
    done
    die "tcpdump did not start within 10 s"
}

# capture_stop: give the last ACKs time to pass, then let tcpdump flush and exit
capture_stop() {
    sleep 1
    kill -INT "$TCPDUMP_PID"
    wait "$TCPDUMP_PID" || true
    TCPDUMP_PID=
    sed -n 's/^/  tcpdump: /p' "$WORK/tcpdump.err" | grep -v 'listening on' || true
}

# ---------------------------------------------------------------- client traffic
# Every client is bounded by a timeout; each TCP connection ends with FIN in both directions.
run_dns() {
    local dig_opts=(+tries=1 +time=3 +nocookie)
    in_cli timeout 10 dig "${dig_opts[@]}" @$SRV4 www.$DOMAIN A >/dev/null
    in_cli timeout 10 dig "${dig_opts[@]}" @$SRV4 www.$DOMAIN AAAA >/dev/null
    in_cli timeout 10 dig "${dig_opts[@]}" @$SRV4 api.$DOMAIN A >/dev/null
    in_cli timeout 10 dig "${dig_opts[@]}" @$SRV6 mail.$DOMAIN AAAA >/dev/null
    in_cli timeout 10 dig "${dig_opts[@]}" +tcp @$SRV4 tcp.$DOMAIN A >/dev/null
    sleep 0.3
}

run_http() {
    in_cli timeout 10 curl -sS -o /dev/null -A "$UA" --resolve "www.$DOMAIN:80:$SRV4" \
        "http://www.$DOMAIN/"
    in_cli timeout 10 curl -sS -o /dev/null -A "$UA" --resolve "www.$DOMAIN:80:$SRV4" \
        "http://www.$DOMAIN/index.html?from=flowsense"
    sleep 0.3
}

# s_client VERSION_FLAG SNI HOST: one HTTP/1.0 request over TLS; waits for the server to close
s_client() {
    printf 'GET / HTTP/1.0\r\nHost: %s\r\n\r\n' "$2" |
        in_cli timeout 10 openssl s_client -quiet -ign_eof "$1" -servername "$2" \
            -connect "$3:443" >/dev/null 2>&1
}

run_https() {
    in_cli timeout 10 curl -sS -k -o /dev/null --tlsv1.3 \
        --resolve "www.$DOMAIN:443:$SRV4" "https://www.$DOMAIN/"
    sleep 0.3
    in_cli timeout 10 curl -sS -k -o /dev/null --tlsv1.2 --tls-max 1.2 \
        --resolve "www.$DOMAIN:443:$SRV4" "https://www.$DOMAIN/"
    sleep 0.3
    s_client -tls1_3 api.$DOMAIN $SRV4
    sleep 0.3
    s_client -tls1_2 api.$DOMAIN $SRV4
    sleep 0.3
    in_cli timeout 10 curl -sS -k -o /dev/null --tlsv1.3 \
        --resolve "www.$DOMAIN:443:[$SRV6]" "https://www.$DOMAIN/"
    sleep 0.3
    s_client -tls1_2 api6.$DOMAIN "[$SRV6]"
    sleep 0.3
}

# ---------------------------------------------------------------- main
setup_net
start_servers

echo "make-captures: writing to $OUT"
capture_start "$OUT/http.pcap";  run_http;  capture_stop
capture_start "$OUT/https.pcap"; run_https; capture_stop
capture_start "$OUT/dns.pcap";   run_dns;   capture_stop
capture_start "$OUT/mixed.pcap"; run_dns; run_http; run_https; capture_stop

# sanity: no TCP reset, every TCP connection saw FIN from both ends
if command -v tshark >/dev/null; then
    for f in http https dns mixed; do
        file="$OUT/$f.pcap"
        rst=$(tshark -r "$file" -Y 'tcp.flags.reset==1' 2>/dev/null | wc -l)
        [ "$rst" = 0 ] || die "$f.pcap: $rst TCP resets"
        bad=$(tshark -r "$file" -Y 'tcp.flags.fin==1' -T fields -e tcp.stream -e tcp.srcport \
                  2>/dev/null | sort -u | cut -f1 | uniq -c | awk '$1 != 2' | wc -l)
        streams=$(tshark -r "$file" -Y tcp -T fields -e tcp.stream 2>/dev/null | sort -u | wc -l)
        fins=$(tshark -r "$file" -Y 'tcp.flags.fin==1' -T fields -e tcp.stream 2>/dev/null |
                   sort -u | wc -l)
        if [ "$bad" != 0 ] || [ "$fins" != "$streams" ]; then
            die "$f.pcap: some TCP connection lacks a FIN in one direction"
        fi
        echo "make-captures: $f.pcap: $(stat -c %s "$file") bytes," \
             "$(tshark -r "$file" 2>/dev/null | wc -l) packets, $streams TCP connections, all closed"
    done
else
    echo "make-captures: tshark not found, skipped FIN/RST check"
fi
