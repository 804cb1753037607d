/* Puts packets on the worker rings: the owner of a packet's flow is
 * chosen by the symmetric steering hash, so both directions of a flow
 * (and every fragment of a datagram) reach the same worker. */
#ifndef FLOWSENSE_CAPTURE_STEER_H
#define FLOWSENSE_CAPTURE_STEER_H

#include "pipeline.h"

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>

struct steer_stats {
    uint64_t packets;
    uint64_t bytes;
    uint64_t oversized;  /* larger than half a ring: dropped, counted */
    uint64_t truncated;  /* captured short of their wire length (snap length) */
    uint64_t dns_hint_copies; /* DNS answers copied to the workers that do not own them */
    uint64_t dns_hint_drops;  /* copies dropped: the ring was full (live only) */
};

/* Called while a replay waits for ring space, so that children keep being
 * supervised and signals handled during the wait.  Returns false to give
 * up waiting (shutdown requested). */
typedef bool (*steer_wait_fn)(void *ctx);

struct steer {
    struct pipeline *pipeline;
    bool lossless;            /* replay: wait for space; live: drop and count */
    steer_wait_fn wait_hook;
    void *wait_ctx;
    uint64_t last_tick_ns;    /* packet time of the last tick sent */
    uint64_t last_packet_ns;  /* latest packet time seen */
    bool ending;              /* steer_end() is running */
    unsigned end_wait_slices;
    struct steer_stats stats;
};

#define STEER_PUBLISH_BATCH 32

void steer_init(struct steer *st, struct pipeline *p, bool lossless, steer_wait_fn hook,
                void *ctx);
/* Copies one packet to its worker's ring; a DNS answer also goes, as a
 * RING_DNS_HINT record, to every other worker, so that each worker's DNS
 * hint cache learns every answer before any later packet (rings are FIFO).  Returns false if it was dropped
 * (live mode, ring full) or the wait was abandoned. */
bool steer_packet(struct steer *st, uint16_t interface, int link_type, uint64_t ts_ns,
                  uint32_t wire_len, uint32_t cap_len, const uint8_t *data);
/* Sends a RING_TICK with the given time to every worker once a second of
 * that clock has passed since the last one. */
void steer_tick(struct steer *st, uint64_t now_ns);
/* Publishes everything pending on every ring. */
void steer_publish_all(struct steer *st);
/* Puts RING_END on every ring (always waits for space). */
void steer_end(struct steer *st);

#endif
