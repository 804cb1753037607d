/* Synthetic captures for `make bench`, built packet by packet (no input):
 *
 *   gen_synth_pcap dns  -o OUT -f FLOWS
 *       FLOWS DNS flows, each a query and its answer from its own client
 *       address (10.0.0.0/8, then other ports), evenly over 10 s of packet
 *       time, then one more query of the first flow 2 s later.  Every flow
 *       is detected on its answer and none goes idle for 30 s, so at the
 *       end a sensor holds all of them at once: the memory benchmark.
 *
 *   gen_synth_pcap bulk -o OUT -f FLOWS -p PACKETS
 *       FLOWS HTTP downloads side by side (round robin), each of about
 *       PACKETS packets: handshake, GET, a 200 response, then full-size
 *       data segments with an ACK every fourth, then FIN both ways.  Most
 *       packets come after detection: the fast-path benchmark.
 *
 * Checksums: IPv4 header only (nothing on the benchmark path checks L4
 * checksums).  Output: a microsecond Ethernet pcap, the same every time.
 * Prints one line: "gen_synth_pcap: wrote OUT: packets=N bytes=N flows=N". */
#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define START_US 1700000000000000LL /* 2023-11-14 */
#define MSS 1448
#define DNS_SPAN_US 10000000LL
#define MAX_FLOWS 100000000ull

struct out {
    pcap_dumper_t *dumper;
    uint64_t packets, bytes;
};

static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void wr32(uint8_t *p, uint32_t v) { wr16(p, (uint16_t)(v >> 16)); wr16(p + 2, (uint16_t)v); }

static void ipv4_checksum(uint8_t *ip)
{
    uint32_t sum = 0;

    for (int i = 0; i < 20; i += 2)
        sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    wr16(ip + 10, (uint16_t)~sum);
}

/* Ethernet + IPv4 headers for l4_len bytes of protocol proto; returns the
 * L4 header's offset (34). */
static size_t eth_ipv4(uint8_t *f, uint32_t src, uint32_t dst, uint8_t proto, size_t l4_len)
{
    static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0x0a }, mac_b[6] = { 0x02, 0, 0, 0, 0, 0x0b };
    bool from_a = src < dst;

    memcpy(f, from_a ? mac_b : mac_a, 6);
    memcpy(f + 6, from_a ? mac_a : mac_b, 6);
    wr16(f + 12, 0x0800);
    uint8_t *ip = f + 14;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    wr16(ip + 2, (uint16_t)(20 + l4_len));
    ip[6] = 0x40; /* DF */
    ip[8] = 64;
    ip[9] = proto;
    wr32(ip + 12, src);
    wr32(ip + 16, dst);
    ipv4_checksum(ip);
    return 34;
}

static void emit(struct out *o, int64_t t_us, const uint8_t *f, size_t len)
{
    struct pcap_pkthdr h = {
        .ts = { .tv_sec = (time_t)(t_us / 1000000), .tv_usec = (suseconds_t)(t_us % 1000000) },
        .caplen = (bpf_u_int32)len,
        .len = (bpf_u_int32)len,
    };
    pcap_dump((u_char *)o->dumper, &h, f);
    o->packets++;
    o->bytes += len;
}

/* ---- dns ---------------------------------------------------------------- */

#define DNS_SERVER 0xc0a80035u /* 192.168.0.53 */

static void dns_packet(struct out *o, int64_t t, uint64_t i, bool answer)
{
    uint8_t f[128], q[64];
    char label[24];
    /* Client address 10.a.b.c (c != 0) per flow; past 16 M, a new port. */
    uint32_t client = 0x0a000000u | (uint32_t)(i % 0xffffff + 1);
    uint16_t port = (uint16_t)(10000 + i / 0xffffff);
    size_t qlen = 0;

    int n = snprintf(label, sizeof(label), "h%" PRIx64, i);
    q[qlen++] = (uint8_t)n;
    memcpy(q + qlen, label, (size_t)n);
    qlen += (size_t)n;
    memcpy(q + qlen, "\x07" "example" "\x03" "com" "\x00", 13);
    qlen += 13;
    wr16(q + qlen, 1);     /* A */
    wr16(q + qlen + 2, 1); /* IN */
    qlen += 4;

    size_t dns_len = 12 + qlen + (answer ? 16 : 0);
    size_t l4 = eth_ipv4(f, answer ? DNS_SERVER : client, answer ? client : DNS_SERVER, 17,
                         8 + dns_len);
    wr16(f + l4, answer ? 53 : port);
    wr16(f + l4 + 2, answer ? port : 53);
    wr16(f + l4 + 4, (uint16_t)(8 + dns_len));
    wr16(f + l4 + 6, 0);
    uint8_t *d = f + l4 + 8;
    wr16(d, (uint16_t)i);              /* id */
    wr16(d + 2, answer ? 0x8180 : 0x0100);
    wr16(d + 4, 1);                    /* questions */
    wr16(d + 6, answer ? 1 : 0);       /* answers */
    wr16(d + 8, 0);
    wr16(d + 10, 0);
    memcpy(d + 12, q, qlen);
    if (answer) {
        uint8_t *a = d + 12 + qlen;
        wr16(a, 0xc00c);               /* the question's name */
        wr16(a + 2, 1);
        wr16(a + 4, 1);
        wr32(a + 6, 300);
        wr16(a + 10, 4);
        wr32(a + 12, 0xc6336400u | (uint32_t)(i & 0xff)); /* 198.51.100.x */
    }
    emit(o, t, f, l4 + 8 + dns_len);
}

static void gen_dns(struct out *o, uint64_t flows)
{
    for (uint64_t i = 0; i < flows; i++) {
        int64_t t = START_US + (int64_t)(i * (uint64_t)DNS_SPAN_US / flows);
        dns_packet(o, t, i, false);
        dns_packet(o, t + 100, i, true);
    }
    dns_packet(o, START_US + DNS_SPAN_US + 2000000, 0, false);
}

/* ---- bulk --------------------------------------------------------------- */

#define WEB_SERVER 0xc0a80050u /* 192.168.0.80 */
enum { TCP_FIN = 1, TCP_SYN = 2, TCP_PSH = 8, TCP_ACK = 16 };

struct tcp_flow {
    uint32_t client;
    uint16_t port;
    uint32_t seq[2];   /* next sequence number: [0] client, [1] server */
    uint64_t sent;     /* packets so far */
    uint64_t data;     /* data segments so far */
    bool done;
};

static void tcp_packet(struct out *o, int64_t t, struct tcp_flow *fl, int from_server,
                       uint8_t flags, const void *payload, size_t len)
{
    static uint8_t f[14 + 20 + 20 + MSS];
    uint32_t src = from_server ? WEB_SERVER : fl->client, dst = from_server ? fl->client : WEB_SERVER;
    size_t l4 = eth_ipv4(f, src, dst, 6, 20 + len);
    uint8_t *tcp = f + l4;

    memset(tcp, 0, 20);
    wr16(tcp, from_server ? 80 : fl->port);
    wr16(tcp + 2, from_server ? fl->port : 80);
    wr32(tcp + 4, fl->seq[from_server]);
    wr32(tcp + 8, (flags & TCP_ACK) ? fl->seq[!from_server] : 0);
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    wr16(tcp + 14, 65535);
    if (len)
        memcpy(tcp + 20, payload, len);
    fl->seq[from_server] += (uint32_t)len + ((flags & (TCP_SYN | TCP_FIN)) ? 1 : 0);
    fl->sent++;
    emit(o, t, f, l4 + 20 + len);
}

/* The flow's next packet; false once it has sent its last. */
static bool bulk_step(struct out *o, int64_t t, struct tcp_flow *fl, uint64_t packets)
{
    static const char get[] = "GET /file.bin HTTP/1.1\r\nHost: files.example.com\r\n"
                              "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";
    static const char ok[] = "HTTP/1.1 200 OK\r\nServer: nginx\r\n"
                             "Content-Type: application/octet-stream\r\n"
                             "Content-Length: 1073741824\r\n\r\n";
    static uint8_t data[MSS];
    uint64_t closing = packets > 10 ? packets - 3 : 7;

    switch (fl->sent) {
    case 0: tcp_packet(o, t, fl, 0, TCP_SYN, NULL, 0); return true;
    case 1: tcp_packet(o, t, fl, 1, TCP_SYN | TCP_ACK, NULL, 0); return true;
    case 2: tcp_packet(o, t, fl, 0, TCP_ACK, NULL, 0); return true;
    case 3: tcp_packet(o, t, fl, 0, TCP_PSH | TCP_ACK, get, sizeof(get) - 1); return true;
    case 4: tcp_packet(o, t, fl, 1, TCP_PSH | TCP_ACK, ok, sizeof(ok) - 1); return true;
    default: break;
    }
    if (fl->sent < closing) {
        if (++fl->data % 5 == 0)
            tcp_packet(o, t, fl, 0, TCP_ACK, NULL, 0);
        else
            tcp_packet(o, t, fl, 1, TCP_ACK, data, sizeof(data));
        return true;
    }
    if (fl->sent == closing)
        tcp_packet(o, t, fl, 1, TCP_FIN | TCP_ACK, NULL, 0);
    else if (fl->sent == closing + 1)
        tcp_packet(o, t, fl, 0, TCP_FIN | TCP_ACK, NULL, 0);
    else
        tcp_packet(o, t, fl, 1, TCP_ACK, NULL, 0);
    return fl->sent < closing + 3;
}

static void gen_bulk(struct out *o, uint64_t flows, uint64_t packets)
{
    struct tcp_flow *fl = calloc(flows, sizeof(*fl));
    int64_t t = START_US;
    uint64_t live = flows;

    if (fl == NULL) {
        fprintf(stderr, "gen_synth_pcap: out of memory\n");
        exit(1);
    }
    for (uint64_t i = 0; i < flows; i++) {
        fl[i].client = 0x0a000000u | (uint32_t)(i % 0xffffff + 1);
        fl[i].port = (uint16_t)(40000 + i / 0xffffff);
        fl[i].seq[0] = 1000;
        fl[i].seq[1] = 500000;
    }
    /* Round robin, 10 us apart: about 1 Gbit/s of full-size segments. */
    while (live > 0)
        for (uint64_t i = 0; i < flows; i++)
            if (!fl[i].done) {
                if (!bulk_step(o, t, &fl[i], packets)) {
                    fl[i].done = true;
                    live--;
                }
                t += 10;
            }
    free(fl);
}

/* ---- main --------------------------------------------------------------- */

static uint64_t count(const char *opt, const char *v)
{
    char *end;

    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end || end == v || v[0] == '-' || n == 0 || n > MAX_FLOWS) {
        fprintf(stderr, "gen_synth_pcap: %s wants a count from 1 to %llu, not '%s'\n", opt,
                MAX_FLOWS, v);
        exit(2);
    }
    return n;
}

static void usage(void)
{
    fprintf(stderr, "usage: gen_synth_pcap dns -o OUT -f FLOWS\n"
                    "       gen_synth_pcap bulk -o OUT -f FLOWS -p PACKETS_PER_FLOW\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *out = NULL;
    uint64_t flows = 0, packets = 0;
    int opt;

    if (argc < 2 || (strcmp(argv[1], "dns") != 0 && strcmp(argv[1], "bulk") != 0))
        usage();
    bool dns = strcmp(argv[1], "dns") == 0;
    optind = 2;
    while ((opt = getopt(argc, argv, "o:f:p:")) != -1) {
        switch (opt) {
        case 'o': out = optarg; break;
        case 'f': flows = count("-f", optarg); break;
        case 'p': packets = count("-p", optarg); break;
        default: usage();
        }
    }
    if (out == NULL || flows == 0 || optind != argc || (!dns && packets == 0))
        usage();

    size_t tmplen = strlen(out) + sizeof(".tmp");
    char *tmp = malloc(tmplen);
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
    struct out o = { 0 };
    if (tmp == NULL || dead == NULL) {
        fprintf(stderr, "gen_synth_pcap: out of memory\n");
        return 1;
    }
    snprintf(tmp, tmplen, "%s.tmp", out);
    if ((o.dumper = pcap_dump_open(dead, tmp)) == NULL) {
        fprintf(stderr, "gen_synth_pcap: cannot create %s: %s\n", tmp, pcap_geterr(dead));
        return 1;
    }
    if (dns)
        gen_dns(&o, flows);
    else
        gen_bulk(&o, flows, packets);
    int bad = pcap_dump_flush(o.dumper) != 0 || ferror(pcap_dump_file(o.dumper));
    pcap_dump_close(o.dumper);
    pcap_close(dead);
    if (bad || rename(tmp, out) != 0) {
        fprintf(stderr, "gen_synth_pcap: writing %s failed: %s\n", out, strerror(errno));
        unlink(tmp);
        return 1;
    }
    printf("gen_synth_pcap: wrote %s: packets=%" PRIu64 " bytes=%" PRIu64 " flows=%" PRIu64 "\n",
           out, o.packets, o.bytes, flows);
    free(tmp);
    return 0;
}
