/* Builds the large capture `make bench` measures, out of small ones.
 *
 *   gen_bench_pcap -o OUT -n MIN_PACKETS INPUT...
 *
 * The Ethernet inputs (others are skipped with a note) are played one
 * after the other, and that whole round is repeated until at least
 * MIN_PACKETS were written; the file is cut at the end of an input.
 * Copy k of the round is made of new flows: every unicast IPv4 and IPv6
 * address has k xor-ed into its two low bytes (so for k < 256 an address
 * stays in its /24, and private stays private), with the IPv4 header
 * checksum recomputed and the TCP/UDP/ICMPv6 checksums adjusted.  Time
 * only moves forward: each input starts one second after the previous one
 * ended, gaps between packets are kept up to 60 s (longer ones are cut to
 * 60 s), and a packet stamped earlier than the one before it inside an
 * input is moved up to that one's time.
 * The output is a microsecond pcap and depends only on the inputs. */
#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "packet.h"

#define GAP_US 1000000LL        /* pause between two inputs */
/* The corpus joins traces recorded years apart; longer pauses are cut to
 * this, which still lets idle flows expire. */
#define MAX_GAP_US 60000000LL
#define OUT_SNAPLEN 262144      /* libpcap's largest: any input packet fits */
#define MAX_COPIES 65536        /* k must fit the two low address bytes */

struct stored_packet {
    int64_t offset_us;          /* from the first packet of its input */
    uint32_t caplen, len;
    uint8_t *data;
};

struct capture {
    const char *path;
    struct stored_packet *packets;
    size_t count, capacity;
    int64_t first_us;           /* time of its first packet */
};

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (p == NULL) {
        fprintf(stderr, "gen_bench_pcap: out of memory\n");
        exit(1);
    }
    return p;
}

static void store_packet(struct capture *c, const struct pcap_pkthdr *h, const u_char *data,
                         int64_t offset_us)
{
    if (c->count == c->capacity) {
        c->capacity = c->capacity ? c->capacity * 2 : 256;
        c->packets = xrealloc(c->packets, c->capacity * sizeof(*c->packets));
    }
    struct stored_packet *sp = &c->packets[c->count++];
    sp->offset_us = offset_us;
    sp->caplen = h->caplen;
    sp->len = h->len;
    sp->data = xrealloc(NULL, h->caplen ? h->caplen : 1);
    memcpy(sp->data, data, h->caplen);
}

/* Reads a whole capture into memory.  Returns false, with a note, when the
 * file is unusable or not Ethernet; a read error midway keeps what came
 * before it. */
static bool load_capture(const char *path, struct capture *c)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_open_offline(path, errbuf);

    memset(c, 0, sizeof(*c));
    c->path = path;
    if (p == NULL) {
        fprintf(stderr, "gen_bench_pcap: skipping %s: %s\n", path, errbuf);
        return false;
    }
    if (pcap_datalink(p) != DLT_EN10MB) {
        fprintf(stderr, "gen_bench_pcap: skipping %s: link type %s is not Ethernet\n", path,
                pcap_datalink_val_to_name(pcap_datalink(p)));
        pcap_close(p);
        return false;
    }

    struct pcap_pkthdr *h;
    const u_char *data;
    int64_t last_us = 0, offset_us = 0;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        int64_t t = (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
        if (c->count == 0)
            c->first_us = last_us = t;
        if (t > last_us) /* earlier than the packet before: no step back */
            offset_us += t - last_us < MAX_GAP_US ? t - last_us : MAX_GAP_US;
        last_us = t;
        store_packet(c, h, data, offset_us);
    }
    if (rc == PCAP_ERROR)
        fprintf(stderr, "gen_bench_pcap: %s: read error after %zu packets, using those: %s\n",
                path, c->count, pcap_geterr(p));
    pcap_close(p);
    if (c->count == 0) {
        fprintf(stderr, "gen_bench_pcap: skipping %s: no packets\n", path);
        return false;
    }
    return true;
}

static void free_capture(struct capture *c)
{
    for (size_t i = 0; i < c->count; i++)
        free(c->packets[i].data);
    free(c->packets);
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint16_t fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

static void ipv4_header_checksum(uint8_t *ip, uint32_t ihl)
{
    uint32_t sum = 0;

    wr16(ip + 10, 0);
    for (uint32_t i = 0; i < ihl; i += 2)
        sum += rd16(ip + i);
    wr16(ip + 10, (uint16_t)~fold(sum));
}

/* RFC 1624 incremental update of a checksum that covers `n` bytes which
 * changed from `before` to `after` (the pseudo-header addresses). */
static uint16_t checksum_adjust(uint16_t check, const uint8_t *before, const uint8_t *after,
                                size_t n)
{
    uint32_t sum = (uint16_t)~check;

    for (size_t i = 0; i < n; i += 2) {
        sum += (uint16_t)~rd16(before + i);
        sum += rd16(after + i);
    }
    return (uint16_t)~fold(sum);
}

/* Where the checksum covering the pseudo-header sits in the L4 header, or
 * -1 when this protocol has none. */
static int l4_checksum_offset(uint8_t proto)
{
    switch (proto) {
    case 6: return 16;  /* TCP */
    case 17: return 6;  /* UDP */
    case 58: return 2;  /* ICMPv6 */
    default: return -1;
    }
}

static void xor_low_bytes(uint8_t *addr, int n, uint32_t k)
{
    addr[n - 2] ^= (uint8_t)(k >> 8);
    addr[n - 1] ^= (uint8_t)k;
}

/* Unspecified, limited broadcast and multicast addresses keep their
 * meaning only unchanged. */
static bool ipv4_rewritable(const uint8_t *a)
{
    uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
    return v != 0 && v != 0xffffffff && (a[0] & 0xf0) != 0xe0;
}

static bool ipv6_rewritable(const uint8_t *a)
{
    static const uint8_t unspecified[16];
    return a[0] != 0xff && memcmp(a, unspecified, 16) != 0;
}

/* Offset of the upper-layer header behind the IPv6 extension headers, or
 * 0 when it is not reached or a routing header makes the pseudo-header's
 * destination another address than the one in the IPv6 header. */
static uint32_t ipv6_l4_offset(const uint8_t *ip, uint32_t len)
{
    uint8_t next = ip[6];
    uint32_t off = 40;

    for (int i = 0; i < 8; i++) {
        if (next != 0 && next != 60 && next != 44 && next != 51)
            return next == 43 ? 0 : off;
        if (off + 8 > len)
            return 0;
        uint32_t ext_len = next == 44   ? 8
                           : next == 51 ? ((uint32_t)ip[off + 1] + 2) * 4
                                        : ((uint32_t)ip[off + 1] + 1) * 8;
        next = ip[off];
        off += ext_len;
    }
    return 0;
}

/* Gives copy k of a frame its own addresses; frames that are not IP, or
 * whose IP header is cut short, are left as they are. */
static void rewrite_addresses(uint8_t *frame, uint32_t caplen, uint32_t k)
{
    struct packet_view pv;

    (void)packet_decode(frame, caplen, DLT_EN10MB, &pv);
    if (pv.l3 == NULL || (pv.ip_version != 4 && pv.ip_version != 6))
        return;
    uint8_t *ip = frame + (pv.l3 - frame);
    int alen = pv.ip_version == 4 ? 4 : 16;
    uint8_t *addrs = ip + (pv.ip_version == 4 ? 12 : 8);
    uint8_t before[32];
    memcpy(before, addrs, (size_t)alen * 2);
    for (int i = 0; i < 2; i++) {
        uint8_t *a = addrs + i * alen;
        if (pv.ip_version == 4 ? ipv4_rewritable(a) : ipv6_rewritable(a))
            xor_low_bytes(a, alen, k);
    }

    uint32_t l4off;
    if (pv.ip_version == 4) {
        l4off = (uint32_t)(ip[0] & 0x0f) * 4;
        ipv4_header_checksum(ip, l4off);
    } else {
        l4off = ipv6_l4_offset(ip, pv.l3_len);
        if (l4off == 0)
            return;
    }
    int csum_at = l4_checksum_offset(pv.ip_proto);
    if (pv.later_fragment || csum_at < 0 || l4off + (uint32_t)csum_at + 2 > pv.l3_len)
        return;
    uint8_t *check = ip + l4off + csum_at;
    uint16_t old = rd16(check);
    if (pv.ip_proto == 17 && old == 0)
        return; /* UDP without a checksum */
    uint16_t adjusted = checksum_adjust(old, before, addrs, (size_t)alen * 2);
    if (pv.ip_proto == 17 && adjusted == 0)
        adjusted = 0xffff;
    wr16(check, adjusted);
}

struct writer {
    pcap_dumper_t *dumper;
    uint8_t *scratch;
    uint64_t packets, bytes;
    int64_t last_us;
};

static int write_copy(struct writer *w, const struct capture *c, uint32_t k, int64_t start_us)
{
    for (size_t i = 0; i < c->count; i++) {
        const struct stored_packet *sp = &c->packets[i];
        int64_t t = start_us + sp->offset_us;
        if (t / 1000000 > UINT32_MAX) {
            fprintf(stderr, "gen_bench_pcap: timestamps passed the year 2106\n");
            return -1;
        }
        struct pcap_pkthdr h = {
            .ts = {.tv_sec = (time_t)(t / 1000000), .tv_usec = (suseconds_t)(t % 1000000)},
            .caplen = sp->caplen,
            .len = sp->len,
        };
        memcpy(w->scratch, sp->data, sp->caplen);
        if (k != 0)
            rewrite_addresses(w->scratch, sp->caplen, k);
        pcap_dump((u_char *)w->dumper, &h, w->scratch);
        w->packets++;
        w->bytes += sp->caplen;
        w->last_us = t;
    }
    return 0;
}

struct inputs {
    struct capture *caps;
    int used, skipped;
    uint32_t max_caplen;
    uint64_t per_copy;          /* packets in one round of every input */
};

static void load_inputs(char **paths, int n, struct inputs *in)
{
    memset(in, 0, sizeof(*in));
    in->caps = xrealloc(NULL, sizeof(*in->caps) * (size_t)n);
    in->max_caplen = 1;
    for (int i = 0; i < n; i++) {
        struct capture *c = &in->caps[in->used];
        if (!load_capture(paths[i], c)) {
            in->skipped++;
            continue;
        }
        for (size_t j = 0; j < c->count; j++)
            if (c->packets[j].caplen > in->max_caplen)
                in->max_caplen = c->packets[j].caplen;
        in->per_copy += c->count;
        in->used++;
    }
}

static void free_inputs(struct inputs *in)
{
    for (int i = 0; i < in->used; i++)
        free_capture(&in->caps[i]);
    free(in->caps);
}

/* Whole rounds, then inputs of the last round until min_packets. */
static int write_rounds(struct writer *w, const struct inputs *in, uint64_t min_packets,
                        uint32_t *copies)
{
    int64_t start_us = in->caps[0].first_us; /* time starts where the first input did */
    uint32_t k;

    for (k = 0; w->packets < min_packets; k++) {
        if (k == MAX_COPIES) {
            fprintf(stderr, "gen_bench_pcap: more than %d copies needed\n", MAX_COPIES);
            return -1;
        }
        for (int i = 0; i < in->used && w->packets < min_packets; i++) {
            if (write_copy(w, &in->caps[i], k, start_us) != 0)
                return -1;
            start_us = w->last_us + GAP_US;
        }
    }
    *copies = k;
    return 0;
}

/* Writes beside OUT and renames at the end, so OUT is whole or absent. */
static int write_output(const char *out, const struct inputs *in, uint64_t min_packets)
{
    size_t tmplen = strlen(out) + sizeof(".tmp");
    char *tmp = xrealloc(NULL, tmplen);
    struct writer w = {.scratch = xrealloc(NULL, in->max_caplen)};
    uint32_t copies = 0;
    int status = -1;

    snprintf(tmp, tmplen, "%s.tmp", out);
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, OUT_SNAPLEN);
    if (dead == NULL) {
        fprintf(stderr, "gen_bench_pcap: pcap_open_dead failed\n");
        goto done;
    }
    w.dumper = pcap_dump_open(dead, tmp);
    if (w.dumper == NULL) {
        fprintf(stderr, "gen_bench_pcap: cannot create %s: %s\n", tmp, pcap_geterr(dead));
        goto done;
    }
    status = write_rounds(&w, in, min_packets, &copies);
    if (pcap_dump_flush(w.dumper) != 0 || ferror(pcap_dump_file(w.dumper))) {
        fprintf(stderr, "gen_bench_pcap: writing %s failed\n", tmp);
        status = -1;
    }
    pcap_dump_close(w.dumper);
    if (status == 0 && rename(tmp, out) != 0) {
        fprintf(stderr, "gen_bench_pcap: rename %s -> %s: %s\n", tmp, out, strerror(errno));
        status = -1;
    }
    if (status != 0)
        unlink(tmp);
    else
        printf("gen_bench_pcap: wrote %s: packets=%" PRIu64 " bytes=%" PRIu64
               " inputs=%d skipped=%d copies=%" PRIu32 " packets_per_copy=%" PRIu64 "\n",
               out, w.packets, w.bytes, in->used, in->skipped, copies, in->per_copy);
done:
    if (dead != NULL)
        pcap_close(dead);
    free(w.scratch);
    free(tmp);
    return status;
}

static void usage(const char *argv0)
{
    fprintf(stderr, "usage: %s -o OUT -n MIN_PACKETS INPUT...\n", argv0);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *out = NULL;
    uint64_t min_packets = 0;
    int opt;

    while ((opt = getopt(argc, argv, "o:n:h")) != -1) {
        char *end;
        switch (opt) {
        case 'o':
            out = optarg;
            break;
        case 'n':
            errno = 0;
            min_packets = strtoull(optarg, &end, 10);
            if (errno != 0 || *end != '\0' || end == optarg || optarg[0] == '-' ||
                min_packets == 0) {
                fprintf(stderr, "gen_bench_pcap: -n wants a packet count >= 1, not '%s'\n", optarg);
                return 2;
            }
            break;
        default:
            usage(argv[0]);
        }
    }
    if (out == NULL || optind == argc)
        usage(argv[0]);

    struct inputs in;
    load_inputs(argv + optind, argc - optind, &in);
    int status = 1;
    if (in.used == 0)
        fprintf(stderr, "gen_bench_pcap: no usable Ethernet input\n");
    else if (write_output(out, &in, min_packets) == 0)
        status = 0;
    free_inputs(&in);
    return status;
}
