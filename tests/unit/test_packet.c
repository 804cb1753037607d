/* Packet decoding and steering: both directions of a flow hash alike,
 * every header layer is found, and short or malformed packets are
 * reported by reason instead of read past their end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "build_packets.h"
#include "packet.h"

#include <pcap/dlt.h>
#include <string.h>

/* Builds Ethernet [+802.1Q] + IPv4 + TCP/UDP into buf; returns its length. */
static uint32_t build_v4(uint8_t *buf, int vlan, const uint8_t src[4], const uint8_t dst[4],
                         uint8_t proto, uint16_t sport, uint16_t dport, uint16_t frag)
{
    uint32_t off = 12;

    memset(buf, 0, 128);
    memcpy(buf, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
    if (vlan) {
        buf[off++] = 0x81, buf[off++] = 0x00;
        buf[off++] = (uint8_t)(vlan >> 8), buf[off++] = (uint8_t)vlan;
    }
    buf[off++] = 0x08, buf[off++] = 0x00;
    uint8_t *ip = buf + off;
    ip[0] = 0x45;
    ip[3] = 40; /* total length: 20 + 20 */
    ip[6] = (uint8_t)(frag >> 8), ip[7] = (uint8_t)frag;
    ip[9] = proto;
    memcpy(ip + 12, src, 4);
    memcpy(ip + 16, dst, 4);
    uint8_t *l4 = ip + 20;
    l4[0] = (uint8_t)(sport >> 8), l4[1] = (uint8_t)sport;
    l4[2] = (uint8_t)(dport >> 8), l4[3] = (uint8_t)dport;
    l4[12] = 0x50;
    l4[13] = 0x12; /* SYN+ACK */
    return off + 40;
}

static const uint8_t A[4] = { 192, 168, 1, 10 }, B[4] = { 93, 184, 216, 34 };

static void test_ethernet_vlan_ipv4_tcp(void **state)
{
    (void)state;
    uint8_t buf[128];
    struct packet_view pv;
    uint32_t len = build_v4(buf, 42, A, B, 6, 51000, 443, 0);

    assert_int_equal(packet_decode(buf, len, DLT_EN10MB, &pv), DECODE_OK);
    assert_int_equal(pv.vlan_id, 42);
    assert_int_equal(pv.ip_version, 4);
    assert_int_equal(pv.ip_proto, 6);
    assert_memory_equal(pv.src_ip, A, 4);
    assert_memory_equal(pv.dst_ip, B, 4);
    assert_int_equal(pv.src_port, 51000);
    assert_int_equal(pv.dst_port, 443);
    assert_int_equal(pv.tcp_flags, TCP_SYN | TCP_ACK);
    assert_int_equal(pv.l3_len, 40);
    assert_memory_equal(pv.src_mac, "\x02\x00\x00\x00\x00\x02", 6);
    assert_false(pv.fragment);
}

static void test_steering_is_symmetric(void **state)
{
    (void)state;
    uint8_t fwd[128], rev[128];
    struct packet_view a, b;
    int differ = 0;

    for (uint16_t port = 1000; port < 1100; port++) {
        uint8_t src[4] = { 10, 0, (uint8_t)(port >> 8), (uint8_t)port };
        uint32_t l1 = build_v4(fwd, 0, src, B, 17, port, 53, 0);
        uint32_t l2 = build_v4(rev, 0, B, src, 17, 53, port, 0);
        assert_int_equal(packet_decode(fwd, l1, DLT_EN10MB, &a), DECODE_OK);
        assert_int_equal(packet_decode(rev, l2, DLT_EN10MB, &b), DECODE_OK);
        assert_int_equal(packet_steer_hash(&a), packet_steer_hash(&b));
        differ += (packet_steer_hash(&a) & 1) != 0;
    }
    /* The hash spreads: across 100 hosts both halves of a 2-way split are used. */
    assert_true(differ > 20 && differ < 80);
}

static void test_fragments_steer_with_their_flow(void **state)
{
    (void)state;
    uint8_t first[128], later[128];
    struct packet_view a, b;
    uint32_t l1 = build_v4(first, 0, A, B, 17, 5000, 53, 0x2000); /* MF */
    uint32_t l2 = build_v4(later, 0, A, B, 17, 0, 0, 0x0010);     /* offset 128 */

    assert_int_equal(packet_decode(first, l1, DLT_EN10MB, &a), DECODE_OK);
    assert_int_equal(packet_decode(later, l2, DLT_EN10MB, &b), DECODE_OK);
    assert_true(a.fragment && !a.later_fragment);
    assert_true(b.fragment && b.later_fragment);
    assert_int_equal(b.src_port, 0);
    assert_int_equal(packet_steer_hash(&a), packet_steer_hash(&b));
}

static void test_truncations_are_reported(void **state)
{
    (void)state;
    uint8_t buf[128];
    struct packet_view pv;
    uint32_t len = build_v4(buf, 0, A, B, 6, 1, 2, 0);

    /* Every cut inside the headers is "truncated", never a read beyond. */
    for (uint32_t cut = 0; cut < len; cut++) {
        enum decode_status st = packet_decode(buf, cut, DLT_EN10MB, &pv);
        assert_int_equal(st, DECODE_TRUNCATED);
    }
}

static void test_bad_ip_header(void **state)
{
    (void)state;
    uint8_t buf[128];
    struct packet_view pv;
    uint32_t len = build_v4(buf, 0, A, B, 6, 1, 2, 0);

    buf[14] = 0x43; /* IHL 3 words: shorter than the fixed header */
    assert_int_equal(packet_decode(buf, len, DLT_EN10MB, &pv), DECODE_BAD_IP);
    buf[14] = 0x45;
    buf[14 + 20 + 12] = 0x20; /* TCP data offset 2 words */
    assert_int_equal(packet_decode(buf, len, DLT_EN10MB, &pv), DECODE_BAD_L4);
}

static void test_not_ip_and_unknown_link(void **state)
{
    (void)state;
    uint8_t arp[60] = { [12] = 0x08, [13] = 0x06 };
    struct packet_view pv;

    assert_int_equal(packet_decode(arp, sizeof(arp), DLT_EN10MB, &pv), DECODE_NOT_IP);
    assert_int_equal(packet_decode(arp, sizeof(arp), 147 /* user0 */, &pv),
                     DECODE_UNSUPPORTED_LINK);
}

static void test_ipv6_extension_headers_udp(void **state)
{
    (void)state;
    uint8_t p[40 + 8 + 8 + 8] = { 0 };
    struct packet_view pv;

    p[0] = 0x60;
    p[5] = 24;       /* payload length */
    p[6] = 0;        /* hop-by-hop */
    p[8] = 0x20, p[9] = 0x01, p[23] = 1;  /* 2001::1 */
    p[24] = 0xfe, p[25] = 0x80, p[39] = 2; /* fe80::2 */
    p[40] = 60;      /* next: destination options */
    p[48] = 17;      /* next: UDP */
    p[56] = 0x30, p[57] = 0x39; /* 12345 */
    p[58] = 0x01, p[59] = 0xbb; /* 443 */
    assert_int_equal(packet_decode(p, sizeof(p), DLT_RAW, &pv), DECODE_OK);
    assert_int_equal(pv.ip_version, 6);
    assert_int_equal(pv.ip_proto, 17);
    assert_int_equal(pv.src_port, 12345);
    assert_int_equal(pv.dst_port, 443);
    assert_null(pv.src_mac);
}

static void test_linux_cooked_and_null(void **state)
{
    (void)state;
    uint8_t eth[128], sll[128], null[128];
    struct packet_view pv;
    uint32_t len = build_v4(eth, 0, A, B, 17, 1234, 53, 0);

    memset(sll, 0, 16);
    sll[14] = 0x08, sll[15] = 0x00;
    memcpy(sll + 16, eth + 14, len - 14);
    assert_int_equal(packet_decode(sll, len + 2, DLT_LINUX_SLL, &pv), DECODE_OK);
    assert_int_equal(pv.dst_port, 53);
    memcpy(null, "\x02\x00\x00\x00", 4); /* AF_INET, little endian */
    memcpy(null + 4, eth + 14, len - 14);
    assert_int_equal(packet_decode(null, len - 10, DLT_NULL, &pv), DECODE_OK);
    assert_int_equal(pv.src_port, 1234);
}

static void test_cisco_hdlc_mpls_and_ppp(void **state)
{
    (void)state;
    uint8_t eth[128], hdlc[128], ppp[128];
    struct packet_view pv;
    uint32_t len = build_v4(eth, 0, A, B, 6, 63535, 179, 0);
    uint32_t ip_len = len - 14;

    /* Cisco HDLC, MPLS ethertype, one label with bottom-of-stack set. */
    memcpy(hdlc, "\x0f\x00\x88\x47" "\x00\x01\x01\x40", 8);
    memcpy(hdlc + 8, eth + 14, ip_len);
    assert_int_equal(packet_decode(hdlc, 8 + ip_len, DLT_C_HDLC, &pv), DECODE_OK);
    assert_int_equal(pv.dst_port, 179);
    assert_int_equal(pv.ip_version, 4);
    /* PPP with and without the address/control bytes. */
    memcpy(ppp, "\xff\x03\x00\x21", 4);
    memcpy(ppp + 4, eth + 14, ip_len);
    assert_int_equal(packet_decode(ppp, 4 + ip_len, DLT_PPP, &pv), DECODE_OK);
    assert_int_equal(pv.src_port, 63535);
    assert_int_equal(packet_decode(ppp + 2, 2 + ip_len, DLT_PPP, &pv), DECODE_OK);
    ppp[3] = 0x2b; /* IPX: not IP */
    assert_int_equal(packet_decode(ppp, 4 + ip_len, DLT_PPP, &pv), DECODE_NOT_IP);
}

static void test_ip_length_beyond_the_wire(void **state)
{
    (void)state;
    uint8_t buf[128];
    struct packet_view pv;
    uint32_t len = build_v4(buf, 0, A, B, 17, 1000, 53, 0);

    /* Cut by the snap length: the frame was whole on the wire. */
    assert_int_equal(packet_decode_frame(buf, len - 4, len, DLT_EN10MB, &pv), DECODE_OK);
    /* Cut on the wire: the IP header claims more than the frame held. */
    assert_int_equal(packet_decode_frame(buf, len - 4, len - 4, DLT_EN10MB, &pv),
                     DECODE_BAD_IP_LENGTH);
    /* Ethernet padding after a short datagram is fine. */
    assert_int_equal(packet_decode_frame(buf, len + 6, len + 6, DLT_EN10MB, &pv), DECODE_OK);
    assert_int_equal(pv.ip_end, len);
}


/* The inner flow every tunnel test carries: 10.1.1.1:40000 -> 10.2.2.2:443 UDP. */
static const uint8_t IN_SRC[4] = { 10, 1, 1, 1 }, IN_DST[4] = { 10, 2, 2, 2 };
static const uint8_t OUT6_SRC[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t OUT6_DST[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };

static void inner_v4(struct pkt *p, const uint8_t *src, const uint8_t *dst, uint16_t sport,
                     uint16_t dport)
{
    pkt_payload(p, "hello", 5);
    put_udp(p, sport, dport);
    put_ipv4(p, 17, src, dst, 1, 0);
}

static void inner_v6(struct pkt *p)
{
    pkt_payload(p, "hello", 5);
    put_udp(p, 40000, 443);
    put_ipv6(p, 17, OUT6_SRC, OUT6_DST);
}

/* Decodes p as Ethernet after wrapping it, and checks it reached the
 * inner flow through exactly one tunnel of kind `kind`. */
static void assert_inner_v4(struct pkt *p, enum tunnel_kind kind)
{
    struct packet_view pv;

    put_ethernet(p, 0x0800);
    assert_int_equal(packet_decode(pkt_data(p), p->len, DLT_EN10MB, &pv), DECODE_OK);
    assert_int_equal(pv.ip_version, 4);
    assert_int_equal(pv.ip_proto, 17);
    assert_memory_equal(pv.src_ip, IN_SRC, 4);
    assert_memory_equal(pv.dst_ip, IN_DST, 4);
    assert_int_equal(pv.src_port, 40000);
    assert_int_equal(pv.dst_port, 443);
    assert_int_equal(pv.tunnel_depth, 1);
    assert_int_equal(pv.tunnels, 1u << kind);
    /* nDPI gets the inner datagram. */
    assert_int_equal(pv.l3[0], 0x45);
    assert_memory_equal(pv.l3 + 12, IN_SRC, 4);
    assert_int_equal(pv.l3_len, 20 + 8 + 5);
}

static void test_ip_in_ip_all_four(void **state)
{
    (void)state;
    struct pkt p;
    struct packet_view pv;

    inner_v4(&p, IN_SRC, IN_DST, 40000, 443); /* 4in4 */
    put_ipv4(&p, 4, A, B, 7, 0);
    assert_inner_v4(&p, TUNNEL_IP_IN_IP);

    inner_v4(&p, IN_SRC, IN_DST, 40000, 443); /* 4in6 */
    put_ipv6(&p, 4, OUT6_SRC, OUT6_DST);
    assert_int_equal(packet_decode(pkt_data(&p), p.len, DLT_RAW, &pv), DECODE_OK);
    assert_memory_equal(pv.dst_ip, IN_DST, 4);
    assert_int_equal(pv.ip_version, 4);

    inner_v6(&p); /* 6in4 */
    put_ipv4(&p, 41, A, B, 7, 0);
    assert_int_equal(packet_decode(pkt_data(&p), p.len, DLT_RAW, &pv), DECODE_OK);
    assert_int_equal(pv.ip_version, 6);
    assert_memory_equal(pv.src_ip, OUT6_SRC, 16);
    assert_int_equal(pv.dst_port, 443);

    inner_v6(&p); /* 6in6 */
    put_ipv6(&p, 41, OUT6_DST, OUT6_SRC);
    assert_int_equal(packet_decode(pkt_data(&p), p.len, DLT_RAW, &pv), DECODE_OK);
    assert_memory_equal(pv.src_ip, OUT6_SRC, 16);
    assert_int_equal(pv.tunnels, 1u << TUNNEL_IP_IN_IP);
}

static void test_gre_with_options_and_ethernet(void **state)
{
    (void)state;
    struct pkt p;
    struct packet_view pv;

    /* Checksum, key and sequence present: 16 bytes of GRE header. */
    inner_v4(&p, IN_SRC, IN_DST, 40000, 443);
    uint8_t *gre = pkt_front(&p, 16);
    gre[0] = 0xb0;
    wr16(gre + 2, 0x0800);
    put_ipv4(&p, 47, A, B, 7, 0);
    assert_inner_v4(&p, TUNNEL_GRE);

    /* Transparent Ethernet bridging: the inner frame's MACs are the flow's. */
    inner_v4(&p, IN_SRC, IN_DST, 40000, 443);
    put_ethernet(&p, 0x0800);
    pkt_data(&p)[11] = 0x77;
    gre = pkt_front(&p, 4);
    wr16(gre + 2, 0x6558);
    put_ipv4(&p, 47, A, B, 7, 0);
    put_ethernet(&p, 0x0800);
    assert_int_equal(packet_decode(pkt_data(&p), p.len, DLT_EN10MB, &pv), DECODE_OK);
    assert_int_equal(pv.dst_port, 443);
    assert_int_equal(pv.src_mac[5], 0x77);

    /* Version 1 (PPTP) stays a GRE flow. */
    pkt_payload(&p, "\xff\x03\x00\x21", 4);
    gre = pkt_front(&p, 8);
    gre[0] = 0x30, gre[1] = 0x81;
    wr16(gre + 2, 0x880b);
    put_ipv4(&p, 47, A, B, 7, 0);
    assert_int_equal(packet_decode(pkt_data(&p), p.len, DLT_RAW, &pv), DECODE_OK);
    assert_int_equal(pv.ip_proto, 47);
    assert_int_equal(pv.tunnel_depth, 0);
}

static void put_gtp(struct pkt *p, uint8_t type, uint32_t teid, bool extension)
{
    if (extension) {
        /* PDU session container: length 1 (4 bytes), no further extension. */
        uint8_t *ext = pkt_front(p, 4);
        ext[0] = 1;
        ext[3] = 0;
        uint8_t *opt = pkt_front(p, 4);
        opt[3] = 0x85;
    }
    uint8_t *h = pkt_front(p, 8);
    h[0] = extension ? 0x34 : 0x30;
    h[1] = type;
    wr16(h + 2, p->len - 8);
    wr32(h + 4, teid);
}

static void test_gtp_u(void **state)
{
    (void)state;
    struct pkt p;
    struct packet_view pv;

    inner_v4(&p, IN_SRC, IN_DST, 40000, 443);
    put_gtp(&p, 0xff, 0x12345678, true);
    put_udp(&p, 2152, 2152);
    put_ipv4(&p, 17, A, B, 7, 0);
    assert_inner_v4(&p, TUNNEL_GTP_U);

    inner_v6(&p);
    put_gtp(&p, 0xff, 0xabcdef01, false);
    put_udp(&p, 2152, 2152);
    put_ipv4(&p, 17, A, B, 7, 0);
    assert_int_equal(packet_decode(pkt_data(&p), p.len, DLT_RAW, &pv), DECODE_OK);
    assert_int_equal(pv.ip_version, 6);
    assert_int_equal(pv.gtp_teid, 0xabcdef01);
    /* The tunnel's own endpoints stay beside the inner ones. */
    assert_int_equal(pv.gtp_ip_version, 4);
    assert_memory_equal(pv.gtp_src_ip, A, 4);
    assert_memory_equal(pv.gtp_dst_ip, B, 4);
    assert_int_equal(pv.gtp_src_port, 2152);
    assert_int_equal(pv.gtp_dst_port, 2152);
    /* The inner UDP header: 40 bytes of IPv6 header before it. */
    assert_int_equal(pv.l4_off, 40);
    assert_int_equal(pv.l3[pv.l4_off + 8], 'h');

    /* An echo request is GTP itself, not a tunnelled packet. */
    pkt_payload(&p, "\x00\x00\x00\x00", 4);
    put_gtp(&p, 1, 0, false);
    put_udp(&p, 2152, 2152);
    put_ipv4(&p, 17, A, B, 7, 0);
    assert_int_equal(packet_decode(pkt_data(&p), p.len, DLT_RAW, &pv), DECODE_OK);
    assert_int_equal(pv.dst_port, 2152);
    assert_int_equal(pv.tunnel_depth, 0);
}

static void test_vxlan(void **state)
{
    (void)state;
    struct pkt p;

    inner_v4(&p, IN_SRC, IN_DST, 40000, 443);
    put_ethernet(&p, 0x0800);
    uint8_t *vx = pkt_front(&p, 8);
    vx[0] = 0x08; /* VNI present */
    vx[6] = 42;
    put_udp(&p, 51000, 4789);
    put_ipv4(&p, 17, A, B, 7, 0);
    assert_inner_v4(&p, TUNNEL_VXLAN);
}

static void test_tunnel_steers_by_inner_flow(void **state)
{
    (void)state;
    struct pkt fwd, rev;
    struct packet_view a, b, plain;

    /* The two directions of the inner flow, in tunnels whose outer
     * addresses differ (as GTP-U's do between uplink and downlink). */
    inner_v4(&fwd, IN_SRC, IN_DST, 40000, 443);
    put_gtp(&fwd, 0xff, 1, false);
    put_udp(&fwd, 2152, 2152);
    put_ipv4(&fwd, 17, A, B, 7, 0);
    inner_v4(&rev, IN_DST, IN_SRC, 443, 40000);
    put_gtp(&rev, 0xff, 2, false);
    put_udp(&rev, 2152, 2152);
    put_ipv4(&rev, 17, B, (const uint8_t[4]){ 172, 16, 0, 9 }, 7, 0);
    assert_int_equal(packet_decode(pkt_data(&fwd), fwd.len, DLT_RAW, &a), DECODE_OK);
    assert_int_equal(packet_decode(pkt_data(&rev), rev.len, DLT_RAW, &b), DECODE_OK);
    assert_int_equal(packet_steer_hash(&a), packet_steer_hash(&b));
    inner_v4(&fwd, IN_SRC, IN_DST, 40000, 443);
    assert_int_equal(packet_decode(pkt_data(&fwd), fwd.len, DLT_RAW, &plain), DECODE_OK);
    assert_int_equal(packet_steer_hash(&a), packet_steer_hash(&plain));
}

static void test_tunnel_depth_is_bounded(void **state)
{
    (void)state;
    struct pkt p;
    struct packet_view pv;

    inner_v4(&p, IN_SRC, IN_DST, 40000, 443);
    for (int depth = 1; depth <= PACKET_MAX_TUNNELS + 1; depth++) {
        put_ipv4(&p, 4, A, B, 7, 0);
        enum decode_status st = packet_decode(pkt_data(&p), p.len, DLT_RAW, &pv);
        if (depth <= PACKET_MAX_TUNNELS) {
            assert_int_equal(st, DECODE_OK);
            assert_int_equal(pv.tunnel_depth, depth);
            assert_int_equal(pv.dst_port, 443);
        } else {
            assert_int_equal(st, DECODE_TUNNEL_TOO_DEEP);
        }
    }
    assert_string_equal(decode_status_name(DECODE_TUNNEL_TOO_DEEP), "tunnel_too_deep");
}

static void test_truncated_tunnel_headers(void **state)
{
    (void)state;
    struct pkt p;
    struct packet_view pv;

    /* GRE with a key, cut inside the key. */
    pkt_payload(&p, "\x20\x00\x08\x00\x00\x00", 6);
    put_ipv4(&p, 47, A, B, 7, 0);
    assert_int_equal(packet_decode(pkt_data(&p), p.len, DLT_RAW, &pv), DECODE_TRUNCATED);
    /* GTP-U G-PDU with the extension flag, cut inside the optional fields. */
    pkt_payload(&p, "\x34\xff\x00\x04\x00\x00\x00\x01\x00\x00", 10);
    put_udp(&p, 2152, 2152);
    put_ipv4(&p, 17, A, B, 7, 0);
    assert_int_equal(packet_decode(pkt_data(&p), p.len, DLT_RAW, &pv), DECODE_TRUNCATED);
    /* An extension header of length 0 would never end. */
    pkt_payload(&p, "\x34\xff\x00\x08\x00\x00\x00\x01\x00\x00\x00\x85\x00\x00\x00\x00", 16);
    put_udp(&p, 2152, 2152);
    put_ipv4(&p, 17, A, B, 7, 0);
    assert_int_equal(packet_decode(pkt_data(&p), p.len, DLT_RAW, &pv), DECODE_BAD_TUNNEL);
    /* Inner IP cut short: every cut of a 4in4 packet inside the inner headers. */
    inner_v4(&p, IN_SRC, IN_DST, 40000, 443);
    put_ipv4(&p, 4, A, B, 7, 0);
    for (uint32_t cut = 20; cut < 20 + 20 + 4; cut++)
        assert_int_equal(packet_decode(pkt_data(&p), cut, DLT_RAW, &pv), DECODE_TRUNCATED);
}

static void test_no_decapsulation_into_fragments(void **state)
{
    (void)state;
    struct pkt p;
    struct packet_view pv;

    /* A first fragment of a 4in4 datagram: steered and keyed by the outer
     * addresses, like the later fragments, until reassembly. */
    inner_v4(&p, IN_SRC, IN_DST, 40000, 443);
    put_ipv4(&p, 4, A, B, 7, 0x2000);
    assert_int_equal(packet_decode(pkt_data(&p), p.len, DLT_RAW, &pv), DECODE_OK);
    assert_true(pv.fragment);
    assert_int_equal(pv.tunnel_depth, 0);
    assert_memory_equal(pv.src_ip, A, 4);
    assert_int_equal(pv.frag_data, 20);
    assert_true(pv.frag_more);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ethernet_vlan_ipv4_tcp),
        cmocka_unit_test(test_steering_is_symmetric),
        cmocka_unit_test(test_fragments_steer_with_their_flow),
        cmocka_unit_test(test_truncations_are_reported),
        cmocka_unit_test(test_bad_ip_header),
        cmocka_unit_test(test_not_ip_and_unknown_link),
        cmocka_unit_test(test_ipv6_extension_headers_udp),
        cmocka_unit_test(test_linux_cooked_and_null),
        cmocka_unit_test(test_cisco_hdlc_mpls_and_ppp),
        cmocka_unit_test(test_ip_length_beyond_the_wire),
        cmocka_unit_test(test_ip_in_ip_all_four),
        cmocka_unit_test(test_gre_with_options_and_ethernet),
        cmocka_unit_test(test_gtp_u),
        cmocka_unit_test(test_vxlan),
        cmocka_unit_test(test_tunnel_steers_by_inner_flow),
        cmocka_unit_test(test_tunnel_depth_is_bounded),
        cmocka_unit_test(test_truncated_tunnel_headers),
        cmocka_unit_test(test_no_decapsulation_into_fragments),
    };
    return cmocka_run_group_tests_name("packet", tests, NULL, NULL);
}
