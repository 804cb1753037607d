/* The worker's life after start-up: take records off the ring, track
 * flows, run detection, and report flows to the broker, all on packet
 * time so that a replay gives the same records every time. */
#ifndef FLOWSENSE_WORKER_LOOP_H
#define FLOWSENSE_WORKER_LOOP_H

#include "channel.h"
#include "detect.h"
#include "dns_hints.h"
#include "flow_events.h"
#include "flow_table.h"
#include "options.h"
#include "reassembly.h"
#include "ring.h"

struct worker {
    const struct worker_options *opts;
    struct ring ring;
    struct channel_writer events;
    struct flow_table flows;
    struct detector detector;
    struct worker_counters counters;
    struct reassembly reassembly;
    struct dns_hints dns_hints;
    uint64_t now_ms;           /* packet time */
    uint64_t next_status_ms;
    uint64_t swept_ms;         /* expiry has run up to this second */
    uint64_t status_since_ms;  /* start of the current status interval */
    /* Flows purged whose flow_purge is still in the unsent batch: they
     * are lost too if this worker dies now. */
    uint64_t purges_unsent;
};

extern volatile int worker_stop_requested;

/* Returns when the ring delivers RING_END (every flow purged as
 * terminated) or a stop is requested. */
void worker_run(struct worker *w);

/* The per-record step, exposed for tests. */
void worker_handle_record(struct worker *w, const struct ring_record *rec);
void worker_purge_all(struct worker *w, const char *reason);

#endif
