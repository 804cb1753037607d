#include "tunnel.h"

#include <string.h>

#define IPPROTO_IPIP_ 4
#define IPPROTO_IPV6_ 41
#define IPPROTO_GRE_ 47
#define IPPROTO_UDP_ 17
#define GTP_U_PORT 2152
#define VXLAN_PORT 4789
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_TEB 0x6558 /* transparent Ethernet bridging */
#define GTP_G_PDU 0xff
#define GTP_MAX_EXTENSIONS 8

static const char *const kind_names[TUNNEL_KIND_COUNT] = {
    [TUNNEL_IP_IN_IP] = "ip_in_ip",
    [TUNNEL_GRE] = "gre",
    [TUNNEL_GTP_U] = "gtp_u",
    [TUNNEL_VXLAN] = "vxlan",
};

const char *tunnel_kind_name(enum tunnel_kind k)
{
    return (unsigned)k < TUNNEL_KIND_COUNT ? kind_names[k] : "unknown";
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* GRE version 0 (RFC 2784, keys and sequence numbers RFC 2890).  Source
 * routing (RFC 1701) and version 1 (PPTP, carrying PPP) stay GRE flows. */
static enum decode_status gre(const uint8_t *p, uint32_t len, struct tunnel_hop *hop)
{
    if (len < 4)
        return DECODE_TRUNCATED;
    uint8_t flags = p[0], version = p[1] & 0x07;
    uint16_t proto = rd16(p + 2);
    if (version != 0 || (flags & 0x40))
        return DECODE_OK;
    uint32_t off = 4;
    off += (flags & 0x80) ? 4 : 0; /* checksum + reserved */
    off += (flags & 0x20) ? 4 : 0; /* key */
    off += (flags & 0x10) ? 4 : 0; /* sequence number */
    if (proto == ETHERTYPE_TEB)
        hop->inner = TUNNEL_INNER_ETHERNET;
    else if (proto == ETHERTYPE_IPV4 || proto == ETHERTYPE_IPV6)
        hop->inner = TUNNEL_INNER_IP, hop->ethertype = proto;
    else
        return DECODE_OK;
    if (len < off)
        return DECODE_TRUNCATED;
    hop->kind = TUNNEL_GRE;
    hop->inner_off = off;
    return DECODE_OK;
}

/* GTP-U (3GPP TS 29.281): only a G-PDU carries a user packet; echo and
 * error messages are the GTP flow itself. */
static enum decode_status gtp_u(const uint8_t *p, uint32_t len, struct tunnel_hop *hop)
{
    /* version 1, protocol type GTP (not GTP'), message G-PDU */
    if (len < 8 || (p[0] & 0xf0) != 0x30 || p[1] != GTP_G_PDU)
        return DECODE_OK;
    uint32_t off = 8;
    if (p[0] & 0x07) { /* E, S or PN: sequence, N-PDU and next-extension fields */
        if (len < 12)
            return DECODE_TRUNCATED;
        uint8_t next = p[11];
        off = 12;
        for (int i = 0; next != 0; i++) {
            if (i == GTP_MAX_EXTENSIONS)
                return DECODE_BAD_TUNNEL;
            if (len < off + 1)
                return DECODE_TRUNCATED;
            /* Length in 4-byte units, counting itself and the next-type byte. */
            uint32_t ext_len = (uint32_t)p[off] * 4;
            if (ext_len == 0)
                return DECODE_BAD_TUNNEL;
            if (len < off + ext_len)
                return DECODE_TRUNCATED;
            next = p[off + ext_len - 1];
            off += ext_len;
        }
    }
    /* An empty G-PDU, or one that carries no IP (PPP, Ethernet PDU
     * sessions): nothing to look into. */
    if (len <= off)
        return DECODE_OK;
    uint8_t version = p[off] >> 4;
    if (version != 4 && version != 6)
        return DECODE_OK;
    hop->kind = TUNNEL_GTP_U;
    hop->inner = TUNNEL_INNER_IP;
    hop->ethertype = version == 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
    hop->inner_off = off;
    hop->teid = rd32(p + 4);
    return DECODE_OK;
}

/* VXLAN (RFC 7348): flags with the I bit, 24-bit VNI, then Ethernet. */
static enum decode_status vxlan(const uint8_t *p, uint32_t len, struct tunnel_hop *hop)
{
    if (len < 8 || (p[0] & 0x08) == 0)
        return DECODE_OK;
    hop->kind = TUNNEL_VXLAN;
    hop->inner = TUNNEL_INNER_ETHERNET;
    hop->inner_off = 8;
    return DECODE_OK;
}

enum decode_status tunnel_find(const uint8_t *payload, uint32_t len,
                               const struct packet_view *pv, struct tunnel_hop *hop)
{
    memset(hop, 0, sizeof(*hop));
    switch (pv->ip_proto) {
    case IPPROTO_IPIP_:
    case IPPROTO_IPV6_:
        hop->kind = TUNNEL_IP_IN_IP;
        hop->inner = TUNNEL_INNER_IP;
        hop->ethertype = pv->ip_proto == IPPROTO_IPIP_ ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
        return DECODE_OK;
    case IPPROTO_GRE_:
        return gre(payload, len, hop);
    case IPPROTO_UDP_: {
        enum decode_status st = DECODE_OK;
        if (len < 8)
            return DECODE_OK;
        if (pv->src_port == GTP_U_PORT || pv->dst_port == GTP_U_PORT)
            st = gtp_u(payload + 8, len - 8, hop);
        else if (pv->dst_port == VXLAN_PORT)
            st = vxlan(payload + 8, len - 8, hop);
        if (hop->inner != TUNNEL_INNER_NONE)
            hop->inner_off += 8; /* the UDP header */
        return st;
    }
    default:
        return DECODE_OK;
    }
}
