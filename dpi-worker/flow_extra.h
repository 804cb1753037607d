/* What a flow keeps beside nDPI's state while it is dissected, and only
 * then: what its first `flow` record showed (to tell whether the update
 * at the end of dissection changed anything), the GTP-U tunnel it
 * travels in, and the SSDP header lines of its first SSDP message.
 * Allocated on first need, freed with the nDPI state: flows that never
 * need it pay one NULL pointer. */
#ifndef FLOWSENSE_WORKER_FLOW_EXTRA_H
#define FLOWSENSE_WORKER_FLOW_EXTRA_H

#include "flow.h"
#include "dns_answer.h"
#include "packet.h"

#include <stdbool.h>
#include <stdint.h>

/* Longest SSDP header value kept, terminator included; longer ones are cut. */
#define SSDP_VALUE_MAX 128

/* The innermost GTP-U tunnel, per side of the inner flow (FROM_LOWER,
 * FROM_UPPER): the tunnel endpoint at that side's end, and that
 * endpoint's TEID, which is the one packets sent *to* it carry. */
struct gtp_tunnel {
    uint8_t ip_version;   /* of the tunnel's datagrams; 0: no GTP-U packet seen */
    uint8_t ip[2][16];
    uint16_t port[2];
    uint32_t teid[2];
    uint8_t teid_seen;    /* bit per side */
    uint8_t sent_seen;    /* bit per side: its endpoint learnt from its own packets */
};

struct flow_extra {
    bool record_sent;
    uint64_t record_digest;   /* flow_metadata_digest() of the first `flow` record */
    uint64_t first_update_ms; /* its first_update_at, which updates repeat */
    uint16_t sent_protocol, sent_application; /* its detection, which status routes by */
    struct gtp_tunnel gtp;
    bool dns_looked_up;       /* the DNS hint cache was asked for the first record */
    char dns_host_name[DNS_NAME_MAX + 1]; /* and what it answered ("" = miss) */
    bool ssdp_seen;
    char ssdp_user_agent[SSDP_VALUE_MAX], ssdp_server[SSDP_VALUE_MAX];
};

/* The flow's extra, allocated zeroed on first call; NULL when memory is short. */
struct flow_extra *flow_extra_get(struct flow *f);
void flow_extra_free(struct flow *f);
/* Records the tunnel of a packet sent by side `from` that came through GTP-U. */
void flow_extra_note_gtp(struct flow *f, const struct packet_view *pv, int from);

#endif
