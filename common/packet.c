#include "packet.h"

#include "tunnel.h"

#include <pcap/dlt.h>
#include <string.h>

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100
#define ETHERTYPE_MPLS 0x8847
#define ETHERTYPE_MPLS_MC 0x8848
#define ETHERTYPE_PPPOE_SESSION 0x8864

#define MAX_LINK_HEADERS 8
#define MAX_IPV6_EXT_HEADERS 8

static const char *const status_names[DECODE_STATUS_COUNT] = {
    [DECODE_OK] = "ok",
    [DECODE_UNSUPPORTED_LINK] = "unsupported_link",
    [DECODE_NOT_IP] = "not_ip",
    [DECODE_TRUNCATED] = "truncated",
    [DECODE_BAD_IP] = "bad_ip",
    [DECODE_BAD_L4] = "bad_l4",
    [DECODE_BAD_IP_LENGTH] = "bad_ip_length",
    [DECODE_TUNNEL_TOO_DEEP] = "tunnel_too_deep",
    [DECODE_BAD_TUNNEL] = "bad_tunnel",
};

const char *decode_status_name(enum decode_status s)
{
    return (unsigned)s < DECODE_STATUS_COUNT ? status_names[s] : "unknown";
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t rd32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* PPP protocol numbers of IPv4 and IPv6, as ethertypes. */
static enum decode_status ppp_protocol(uint16_t proto, uint16_t *ethertype)
{
    switch (proto) {
    case 0x0021: *ethertype = ETHERTYPE_IPV4; return DECODE_OK;
    case 0x0057: *ethertype = ETHERTYPE_IPV6; return DECODE_OK;
    default: return DECODE_NOT_IP;
    }
}

/* What may stack between a link header and IP (VLAN tags, MPLS labels,
 * PPPoE); on success *off points at the IP header and *ethertype says
 * which IP version. */
static enum decode_status decode_ethertype_chain(const uint8_t *d, uint32_t len,
                                                 uint32_t *off, uint16_t *ethertype,
                                                 struct packet_view *pv)
{
    for (int i = 0; i < MAX_LINK_HEADERS; i++) {
        switch (*ethertype) {
        case ETHERTYPE_VLAN:
        case ETHERTYPE_QINQ:
        case ETHERTYPE_QINQ_OLD:
            if (len < *off + 4)
                return DECODE_TRUNCATED;
            if (pv->vlan_id == 0)
                pv->vlan_id = rd16(d + *off) & 0x0fff;
            *ethertype = rd16(d + *off + 2);
            *off += 4;
            break;
        case ETHERTYPE_MPLS:
        case ETHERTYPE_MPLS_MC:
            for (int labels = 0;; labels++) {
                if (len < *off + 4)
                    return DECODE_TRUNCATED;
                int bottom = d[*off + 2] & 1;
                *off += 4;
                if (bottom)
                    break;
                if (labels == MAX_LINK_HEADERS)
                    return DECODE_NOT_IP;
            }
            if (len <= *off)
                return DECODE_TRUNCATED;
            /* No next-protocol field below MPLS: the IP version nibble says. */
            *ethertype = (d[*off] >> 4) == 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
            return DECODE_OK;
        case ETHERTYPE_PPPOE_SESSION:
            if (len < *off + 8)
                return DECODE_TRUNCATED;
            if (ppp_protocol(rd16(d + *off + 6), ethertype) != DECODE_OK)
                return DECODE_NOT_IP;
            *off += 8;
            return DECODE_OK;
        case ETHERTYPE_IPV4:
        case ETHERTYPE_IPV6:
            return DECODE_OK;
        default:
            return DECODE_NOT_IP;
        }
    }
    return DECODE_NOT_IP;
}

static enum decode_status decode_link(const uint8_t *d, uint32_t len, uint32_t link_type,
                                      uint32_t *off, uint16_t *ethertype,
                                      struct packet_view *pv)
{
    switch (link_type) {
    case DLT_EN10MB:
        if (len < 14)
            return DECODE_TRUNCATED;
        pv->dst_mac = d;
        pv->src_mac = d + 6;
        *ethertype = rd16(d + 12);
        *off = 14;
        return decode_ethertype_chain(d, len, off, ethertype, pv);
    case DLT_LINUX_SLL:
        if (len < 16)
            return DECODE_TRUNCATED;
        *ethertype = rd16(d + 14);
        *off = 16;
        return decode_ethertype_chain(d, len, off, ethertype, pv);
    case DLT_LINUX_SLL2:
        if (len < 20)
            return DECODE_TRUNCATED;
        *ethertype = rd16(d);
        *off = 20;
        return decode_ethertype_chain(d, len, off, ethertype, pv);
    case DLT_C_HDLC: /* address, control, then an ethertype */
        if (len < 4)
            return DECODE_TRUNCATED;
        *ethertype = rd16(d + 2);
        *off = 4;
        return decode_ethertype_chain(d, len, off, ethertype, pv);
    case DLT_PPP: { /* address 0xff and control 0x03 may be left out */
        uint32_t at = len >= 2 && d[0] == 0xff && d[1] == 0x03 ? 2 : 0;
        if (len < at + 2)
            return DECODE_TRUNCATED;
        *off = at + 2;
        enum decode_status st = ppp_protocol(rd16(d + at), ethertype);
        if (st != DECODE_OK)
            return st;
        break;
    }
    case DLT_NULL:
    case DLT_LOOP: {
        if (len < 4)
            return DECODE_TRUNCATED;
        /* DLT_NULL stores the BSD address family in host order of the
         * capturing machine, DLT_LOOP in network order: accept both. */
        uint32_t af = link_type == DLT_LOOP ? (uint32_t)rd16(d + 2) : rd32le(d);
        if (af > 0xffff)
            af = (uint32_t)d[3];
        *off = 4;
        if (af == 2)
            *ethertype = ETHERTYPE_IPV4;
        else if (af == 10 || af == 24 || af == 28 || af == 30)
            *ethertype = ETHERTYPE_IPV6;
        else
            return DECODE_NOT_IP;
        break;
    }
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
#ifdef DLT_RAW_ALT
    case DLT_RAW_ALT:
#endif
        if (len < 1)
            return DECODE_TRUNCATED;
        *off = 0;
        *ethertype = (d[0] >> 4) == 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
        break;
    default:
        return DECODE_UNSUPPORTED_LINK;
    }
    if (*ethertype != ETHERTYPE_IPV4 && *ethertype != ETHERTYPE_IPV6)
        return DECODE_NOT_IP;
    return DECODE_OK;
}

bool packet_link_supported(uint32_t link_type)
{
    static const uint8_t none[1];
    struct packet_view pv;
    uint32_t off;
    uint16_t ethertype;

    memset(&pv, 0, sizeof(pv));
    /* Every link type decoded refuses an empty frame as truncated. */
    return decode_link(none, 0, link_type, &off, &ethertype, &pv) != DECODE_UNSUPPORTED_LINK;
}

static enum decode_status decode_ipv4(const uint8_t *ip, uint32_t len, uint32_t *l4off,
                                      struct packet_view *pv)
{
    if (len < 20)
        return DECODE_TRUNCATED;
    uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4;
    uint32_t total = rd16(ip + 2);
    if ((ip[0] >> 4) != 4 || ihl < 20 || total < ihl)
        return DECODE_BAD_IP;
    if (len < ihl)
        return DECODE_TRUNCATED;
    /* Ethernet padding follows short datagrams: cut at the IP length. */
    if (total < len)
        pv->l3_len = total;
    pv->ip_end = total;
    uint16_t frag = rd16(ip + 6);
    pv->fragment = (frag & 0x3fff) != 0;
    pv->later_fragment = (frag & 0x1fff) != 0;
    pv->frag_more = (frag & 0x2000) != 0;
    pv->frag_offset = (uint32_t)(frag & 0x1fff) * 8;
    pv->frag_id = rd16(ip + 4);
    pv->frag_data = ihl;
    pv->frag_proto = ip[9];
    pv->ip_version = 4;
    pv->ip_proto = ip[9];
    memcpy(pv->src_ip, ip + 12, 4);
    memcpy(pv->dst_ip, ip + 16, 4);
    *l4off = ihl;
    return DECODE_OK;
}

static enum decode_status decode_ipv6(const uint8_t *ip, uint32_t len, uint32_t *l4off,
                                      struct packet_view *pv)
{
    if (len < 40)
        return DECODE_TRUNCATED;
    if ((ip[0] >> 4) != 6)
        return DECODE_BAD_IP;
    uint32_t total = 40u + rd16(ip + 4);
    if (total < len)
        pv->l3_len = len = total;
    pv->ip_end = total;
    pv->ip_version = 6;
    memcpy(pv->src_ip, ip + 8, 16);
    memcpy(pv->dst_ip, ip + 24, 16);
    uint8_t next = ip[6];
    uint32_t off = 40;
    for (int i = 0; i < MAX_IPV6_EXT_HEADERS; i++) {
        uint32_t ext_len;
        switch (next) {
        case 0:  /* hop-by-hop */
        case 43: /* routing */
        case 60: /* destination options */
            if (len < off + 8)
                return DECODE_TRUNCATED;
            ext_len = ((uint32_t)ip[off + 1] + 1) * 8;
            break;
        case 44: { /* fragment */
            if (len < off + 8)
                return DECODE_TRUNCATED;
            uint16_t field = rd16(ip + off + 2);
            /* Offset 0 without more fragments is an atomic fragment (RFC
             * 6946): a whole datagram. */
            if ((field & 0xfff9) == 0) {
                ext_len = 8;
                break;
            }
            pv->fragment = true;
            pv->later_fragment = (field & 0xfff8) != 0;
            pv->frag_more = (field & 1) != 0;
            pv->frag_offset = field & 0xfff8; /* 8-byte units, already shifted */
            pv->frag_id = rd32(ip + off + 4);
            pv->frag_data = off + 8;
            pv->frag_proto = ip[off];
            if (pv->later_fragment) {
                /* What follows is the middle of a datagram, not headers. */
                pv->ip_proto = ip[off];
                *l4off = off + 8;
                return off + 8 <= len ? DECODE_OK : DECODE_TRUNCATED;
            }
            ext_len = 8;
            break;
        }
        case 51: /* authentication header */
            if (len < off + 8)
                return DECODE_TRUNCATED;
            ext_len = ((uint32_t)ip[off + 1] + 2) * 4;
            break;
        default:
            pv->ip_proto = next;
            *l4off = off;
            return DECODE_OK;
        }
        next = ip[off];
        off += ext_len;
        if (off > len)
            return DECODE_TRUNCATED;
    }
    return DECODE_BAD_IP;
}

static enum decode_status decode_l4(const uint8_t *l4, uint32_t len, struct packet_view *pv)
{
    if (pv->later_fragment)
        return DECODE_OK;
    switch (pv->ip_proto) {
    case 6: /* TCP */
        if (len < 20)
            return DECODE_TRUNCATED;
        if ((l4[12] >> 4) < 5)
            return DECODE_BAD_L4;
        pv->tcp_flags = l4[13];
        /* fall through */
    case 17:  /* UDP */
    case 132: /* SCTP */
    case 136: /* UDP-Lite */
        if (len < 4)
            return DECODE_TRUNCATED;
        pv->src_port = rd16(l4);
        pv->dst_port = rd16(l4 + 2);
        return DECODE_OK;
    default:
        return DECODE_OK;
    }
}

/* Forgets what the layer decoded last said about ports, fragments and
 * addresses, before the next (inner) layer is decoded. */
static void start_layer(struct packet_view *pv)
{
    pv->ip_proto = 0;
    memset(pv->src_ip, 0, sizeof(pv->src_ip));
    memset(pv->dst_ip, 0, sizeof(pv->dst_ip));
    pv->src_port = pv->dst_port = 0;
    pv->tcp_flags = 0;
    pv->fragment = pv->later_fragment = pv->frag_more = false;
    pv->frag_offset = pv->frag_id = pv->frag_data = 0;
    pv->frag_proto = 0;
}

/* One IP layer at ip (len captured bytes): its header, its L4 ports, and
 * whether a tunnel follows (hop). */
static enum decode_status decode_ip_layer(const uint8_t *ip, uint32_t len, uint16_t ethertype,
                                          struct packet_view *pv, struct tunnel_hop *hop)
{
    uint32_t l4off = 0;
    enum decode_status st;

    start_layer(pv);
    memset(hop, 0, sizeof(*hop));
    pv->l3 = ip;
    pv->l3_len = len;
    if (ethertype == ETHERTYPE_IPV4)
        st = decode_ipv4(ip, len, &l4off, pv);
    else
        st = decode_ipv6(ip, len, &l4off, pv);
    if (st != DECODE_OK)
        return st;
    if (l4off > pv->l3_len)
        return DECODE_TRUNCATED;
    pv->l4_off = l4off;
    st = decode_l4(ip + l4off, pv->l3_len - l4off, pv);
    /* A fragment's payload is a piece of a datagram: its inner headers
     * are read once the datagram is whole (dpi-worker/reassembly). */
    if (st != DECODE_OK || pv->fragment)
        return st;
    st = tunnel_find(ip + l4off, pv->l3_len - l4off, pv, hop);
    hop->inner_off += l4off;
    return st;
}

/* Keeps what the tunnel's own datagram says before the inner layer
 * overwrites the addresses and ports. */
static void note_gtp(struct packet_view *pv, uint32_t teid)
{
    pv->gtp_teid = teid;
    pv->gtp_ip_version = pv->ip_version;
    memcpy(pv->gtp_src_ip, pv->src_ip, sizeof(pv->gtp_src_ip));
    memcpy(pv->gtp_dst_ip, pv->dst_ip, sizeof(pv->gtp_dst_ip));
    pv->gtp_src_port = pv->src_port;
    pv->gtp_dst_port = pv->dst_port;
}

enum decode_status packet_decode(const uint8_t *data, uint32_t len, uint32_t link_type,
                                 struct packet_view *pv)
{
    uint32_t off = 0;
    uint16_t ethertype = 0;
    struct tunnel_hop hop;
    enum decode_status st;

    memset(pv, 0, sizeof(*pv));
    st = decode_link(data, len, link_type, &off, &ethertype, pv);
    if (st != DECODE_OK)
        return st;
    const uint8_t *ip = data + off;
    uint32_t ip_len = len - off;
    for (;;) {
        st = decode_ip_layer(ip, ip_len, ethertype, pv, &hop);
        if (pv->tunnel_depth == 0)
            pv->ip_end += off; /* the outermost datagram's end, in the frame */
        if (st != DECODE_OK || hop.inner == TUNNEL_INNER_NONE)
            return st;
        if (pv->tunnel_depth == PACKET_MAX_TUNNELS)
            return DECODE_TUNNEL_TOO_DEEP;
        pv->tunnel_depth++;
        pv->tunnels |= (uint8_t)(1u << hop.kind);
        if (hop.kind == TUNNEL_GTP_U)
            note_gtp(pv, hop.teid);
        if (hop.inner_off > pv->l3_len)
            return DECODE_TRUNCATED;
        /* Within the outer datagram: l3_len already ends where it does. */
        ip = pv->l3 + hop.inner_off;
        ip_len = pv->l3_len - hop.inner_off;
        if (hop.inner == TUNNEL_INNER_ETHERNET) {
            uint32_t eth_len = 0;
            st = decode_link(ip, ip_len, DLT_EN10MB, &eth_len, &ethertype, pv);
            if (st != DECODE_OK)
                return st;
            ip += eth_len;
            ip_len -= eth_len;
        } else {
            ethertype = hop.ethertype;
        }
    }
}

enum decode_status packet_decode_frame(const uint8_t *data, uint32_t cap_len, uint32_t wire_len,
                                       uint32_t link_type, struct packet_view *pv)
{
    enum decode_status st = packet_decode(data, cap_len, link_type, pv);

    if (st == DECODE_OK && pv->ip_end > wire_len)
        return DECODE_BAD_IP_LENGTH;
    return st;
}

static uint32_t mix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x7feb352d;
    h ^= h >> 15;
    h *= 0x846ca68b;
    h ^= h >> 16;
    return h;
}

static uint32_t hash_address(const uint8_t *a, int n)
{
    uint32_t h = 0x9e3779b9;

    for (int i = 0; i < n; i += 4)
        h = mix32(h ^ ((uint32_t)a[i] << 24 | (uint32_t)a[i + 1] << 16 |
                       (uint32_t)a[i + 2] << 8 | a[i + 3]));
    return h;
}

uint32_t packet_steer_hash(const struct packet_view *pv)
{
    int n = pv->ip_version == 6 ? 16 : 4;

    /* Addition commutes, so swapping source and destination gives the
     * same value; each address is mixed first so that pairs do not cancel. */
    uint32_t h = hash_address(pv->src_ip, n) + hash_address(pv->dst_ip, n);
    return mix32(h ^ ((uint32_t)pv->ip_proto << 16) ^ pv->vlan_id);
}
