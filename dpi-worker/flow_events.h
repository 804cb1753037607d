/* Encodes the worker's events as msgpack maps shaped like the JSON
 * records they become (see channel.h). */
#ifndef FLOWSENSE_WORKER_FLOW_EVENTS_H
#define FLOWSENSE_WORKER_FLOW_EVENTS_H

#include "channel.h"
#include "detect.h"
#include "flow.h"
#include "options.h"

struct worker_counters {
    uint64_t packets, bytes;
    uint64_t decode_errors[DECODE_STATUS_COUNT];
    uint64_t nested_fragments;   /* whole datagrams that tunnel another's fragment: dropped */
    uint64_t tunnels[TUNNEL_KIND_COUNT]; /* packets decapsulated, per kind of tunnel */
    uint64_t flows_purged;
};

/* detected_at_ms: packet time of the first detection (first_update_at);
 * updated: a later record of the same flow (detection_updated). */
void event_flow(struct channel_writer *w, const struct worker_options *o,
                const struct flow *f, const struct flow_metadata *m, uint64_t detected_at_ms,
                bool updated);
/* The names a flow_status or flow_purge is routed by: those of the
 * flow's last `flow` record.  They travel in the event's last key,
 * FLOW_ROUTE_KEY, which the broker reads for subscriptions and does not
 * render (the JSON records are netifyd's). */
struct flow_route {
    const char *protocol, *application;
};
void event_flow_status(struct channel_writer *w, const struct worker_options *o,
                       const struct flow *f, const struct flow_route *route);
void event_flow_purge(struct channel_writer *w, const struct worker_options *o,
                      const struct flow *f, const struct flow_route *route, const char *reason);
struct flow_table;
struct reassembly;
struct dns_hints;
void event_worker_stats(struct channel_writer *w, const struct worker_options *o,
                        const struct flow_table *t, const struct worker_counters *c,
                        const struct reassembly *r, const struct dns_hints *h,
                        const struct detector *d, uint64_t ring_corrupt);

#endif
