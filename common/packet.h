/* Just enough packet decoding to find the flow a packet belongs to:
 * link layer, VLAN, MPLS, PPPoE, IPv4/IPv6 (with extension headers), the
 * TCP/UDP ports, and through tunnels (IP-in-IP, GRE, GTP-U, VXLAN) to the
 * innermost IP datagram.  Used by flowsensed to steer and by the workers
 * to key flows.  Nothing here trusts a length it has not checked. */
#ifndef FLOWSENSE_PACKET_H
#define FLOWSENSE_PACKET_H

#include <stdbool.h>
#include <stdint.h>

enum decode_status {
    DECODE_OK = 0,
    DECODE_UNSUPPORTED_LINK, /* link type we do not decode */
    DECODE_NOT_IP,           /* ARP, LLDP, ...: counted, not an error */
    DECODE_TRUNCATED,        /* captured bytes end inside a header */
    DECODE_BAD_IP,           /* bad version, header length or total length */
    DECODE_BAD_L4,           /* bad TCP data offset */
    DECODE_BAD_IP_LENGTH,    /* the IP length runs past the end of the frame on the wire */
    DECODE_TUNNEL_TOO_DEEP,  /* more than PACKET_MAX_TUNNELS tunnel layers */
    DECODE_BAD_TUNNEL,       /* a tunnel header that contradicts itself */
    DECODE_STATUS_COUNT
};

const char *decode_status_name(enum decode_status s);

/* Tunnel layers decoded through, at most; deeper packets are refused. */
#define PACKET_MAX_TUNNELS 4

enum tunnel_kind {
    TUNNEL_IP_IN_IP = 0, /* 4in4, 6in4, 4in6, 6in6 (IP protocols 4 and 41) */
    TUNNEL_GRE,          /* version 0, inner IP or Ethernet */
    TUNNEL_GTP_U,        /* UDP 2152, G-PDU */
    TUNNEL_VXLAN,        /* UDP 4789, inner Ethernet */
    TUNNEL_KIND_COUNT
};

const char *tunnel_kind_name(enum tunnel_kind k);

struct packet_view {
    const uint8_t *l3;     /* IP header */
    uint32_t l3_len;       /* captured bytes from l3, capped at the IP total length */
    uint32_t l4_off;       /* offset from l3 of the innermost L4 header (after IPv6 extension headers) */
    const uint8_t *src_mac, *dst_mac; /* NULL when the link has none */
    uint16_t vlan_id;      /* outermost 802.1Q id, 0 when untagged */
    uint8_t ip_version;    /* 4 or 6 */
    uint8_t ip_proto;      /* upper-layer protocol after extension headers */
    uint8_t src_ip[16], dst_ip[16]; /* IPv4 in the first 4 bytes, rest zero */
    uint16_t src_port, dst_port;    /* host order; 0 when the protocol has none */
    uint8_t tcp_flags;
    bool fragment;         /* part of a fragmented datagram */
    bool later_fragment;   /* not the first fragment: no L4 header */
    /* Of a fragment (decoding stops at a fragmented layer, tunnel or not): */
    bool frag_more;        /* more fragments follow */
    uint32_t frag_offset;  /* bytes */
    uint32_t frag_id;      /* IPv4 identification or IPv6 fragment id */
    uint32_t frag_data;    /* offset from l3 of the fragment's data */
    uint8_t frag_proto;    /* protocol of the whole datagram's payload */
    uint32_t ip_end;       /* frame offset where the outermost IP header says the datagram ends */
    uint8_t tunnels;       /* bit (1 << enum tunnel_kind) per kind decoded through */
    uint8_t tunnel_depth;  /* tunnel layers decoded through */
    uint32_t gtp_teid;     /* innermost GTP-U tunnel id, when tunnels has TUNNEL_GTP_U */
    /* The IP and UDP endpoints of the datagram that carried that GTP-U header: */
    uint8_t gtp_ip_version;
    uint8_t gtp_src_ip[16], gtp_dst_ip[16];
    uint16_t gtp_src_port, gtp_dst_port;
};

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

enum decode_status packet_decode(const uint8_t *data, uint32_t len, uint32_t link_type,
                                 struct packet_view *pv);

/* packet_decode() for a frame of wire_len bytes captured as cap_len:
 * also refuses a datagram whose IP length runs past the frame's end (a
 * frame cut on the wire, not by the capture's snap length). */
enum decode_status packet_decode_frame(const uint8_t *data, uint32_t cap_len, uint32_t wire_len,
                                       uint32_t link_type, struct packet_view *pv);

/* Whether packet_decode() knows the link layer of this DLT_ type at all. */
bool packet_link_supported(uint32_t link_type);

/* A whole UDP datagram from port 53: what the DNS hint cache learns from.
 * flowsensed copies these to every worker, and each worker applies this
 * same test to what it decodes (dpi-worker/dns_hints.h). */
static inline bool packet_is_dns_answer(const struct packet_view *pv)
{
    return pv->ip_proto == 17 && pv->src_port == 53 && !pv->fragment;
}

/* Symmetric: equal for both directions of a flow.  Ports are left out so
 * every fragment of a datagram (only the first has ports) reaches the
 * worker that owns its flow. */
uint32_t packet_steer_hash(const struct packet_view *pv);

#endif
