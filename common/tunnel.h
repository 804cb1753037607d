/* Tunnel headers between one IP layer and the next: which tunnel an IP
 * payload is, and where the inner packet starts.  Used by packet_decode,
 * which then decodes the inner packet as it did the outer one. */
#ifndef FLOWSENSE_TUNNEL_H
#define FLOWSENSE_TUNNEL_H

#include "packet.h"

enum tunnel_inner {
    TUNNEL_INNER_NONE = 0, /* not a tunnel we open: the packet is its own flow */
    TUNNEL_INNER_IP,       /* an IP header, of the version in `ethertype` */
    TUNNEL_INNER_ETHERNET, /* an Ethernet frame */
};

struct tunnel_hop {
    enum tunnel_kind kind;
    enum tunnel_inner inner;
    uint32_t inner_off;  /* from the start of the IP payload */
    uint16_t ethertype;  /* of an inner IP header: 0x0800 or 0x86dd */
    uint32_t teid;       /* GTP-U tunnel endpoint id */
};

/* payload/len: the captured IP payload of the layer pv describes (its
 * protocol and ports already decoded).  DECODE_OK with hop->inner NONE
 * when it is no tunnel we open; DECODE_TRUNCATED when the bytes end
 * inside a header that is recognisably a tunnel's; DECODE_BAD_TUNNEL when
 * such a header contradicts itself. */
enum decode_status tunnel_find(const uint8_t *payload, uint32_t len,
                               const struct packet_view *pv, struct tunnel_hop *hop);

#endif
