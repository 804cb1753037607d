#include "flow_extra.h"

#include "log.h"

#include <stdlib.h>
#include <string.h>

struct flow_extra *flow_extra_get(struct flow *f)
{
    static bool warned;

    if (f->extra == NULL) {
        f->extra = calloc(1, sizeof(*f->extra));
        /* The flow goes on without its tunnel, SSDP or update details. */
        if (f->extra == NULL && !warned) {
            log_warn("flow metadata (%zu bytes)", sizeof(*f->extra));
            warned = true;
        }
    }
    return f->extra;
}

void flow_extra_free(struct flow *f)
{
    free(f->extra);
    f->extra = NULL;
}

/* A packet from side `from` leaves that side's tunnel endpoint (its
 * source) for the other's (its destination), carrying the TEID the
 * destination endpoint chose.  An endpoint learnt from its own packets
 * is not overwritten by what the other side's packets say of it. */
void flow_extra_note_gtp(struct flow *f, const struct packet_view *pv, int from)
{
    struct flow_extra *x = flow_extra_get(f);
    int to = !from;

    if (x == NULL)
        return;
    struct gtp_tunnel *g = &x->gtp;
    g->ip_version = pv->gtp_ip_version;
    memcpy(g->ip[from], pv->gtp_src_ip, sizeof(g->ip[from]));
    g->port[from] = pv->gtp_src_port;
    g->sent_seen |= (uint8_t)(1u << from);
    if (!(g->sent_seen & (1u << to))) {
        memcpy(g->ip[to], pv->gtp_dst_ip, sizeof(g->ip[to]));
        g->port[to] = pv->gtp_dst_port;
    }
    g->teid[to] = pv->gtp_teid;
    g->teid_seen |= (uint8_t)(1u << to);
}
