/* The worker's DNS hint cache (netifyd's "DHC"): names learned from DNS
 * answers, given to later flows that go to an answered address.
 *
 * How answers reach every worker: flowsensed puts each whole UDP datagram
 * from port 53 (packet_is_dns_answer) on its owner's ring as usual and a
 * copy, RING_DNS_HINT, on every other ring.  Rings are FIFO, so each
 * worker learns every answer before any packet captured after it, and a
 * replay gives the same records with any number of workers.  Each worker
 * parses the answers itself (dns_answer.c): the capture process, which
 * steers, never parses anything above the ports.
 *
 * Not learned: DNS over TCP and fragmented answers (only their owner
 * could reassemble them, so the workers' caches would differ); mDNS. */
#ifndef FLOWSENSE_WORKER_DNS_HINTS_H
#define FLOWSENSE_WORKER_DNS_HINTS_H

#include "detect.h"
#include "dns_answer.h"
#include "dns_hint_cache.h"
#include "flow.h"
#include "options.h"
#include "packet.h"

#include <msgpack.h>

#define DNS_HINTS_DEFAULT_ENTRIES 65536u

struct dns_hints {
    struct dns_hint_cache cache;
    uint64_t hint_records;   /* RING_DNS_HINT records taken */
    uint64_t answers;        /* messages parsed (any status) */
    uint64_t addresses;      /* addresses learned (inserts + updates) */
    uint64_t status[DNS_ANSWER_STATUS_COUNT];
};

/* Returns 0, or -1 when memory is short. */
int dns_hints_init(struct dns_hints *h, uint32_t capacity);
void dns_hints_destroy(struct dns_hints *h);

/* Learns from a decoded packet (a flow's own or a hint copy) when it is
 * a DNS answer; ts_ms is its packet time. */
void dns_hints_learn(struct dns_hints *h, const struct packet_view *pv, uint64_t ts_ms);

/* At the end of a flow's detection (packet time at_ms): looks up the
 * flow's other address, as netifyd does for every flow but DNS ones and
 * group addresses.  On a hit, m->dns_host_name is the name and
 * m->dhc_hit true; the name also becomes host_server_name when nDPI found
 * none (or only an address literal). */
void dns_hints_annotate(struct dns_hints *h, const struct worker_options *o, const struct flow *f,
                        struct flow_metadata *m, uint64_t at_ms);
/* Sets the hint fields of m from a cached name (NULL: a miss, nothing set). */
void dns_hints_apply(struct flow_metadata *m, const char *name);

/* worker_stats fields: "dhc_size" and the "dns_hints" counters (2 keys). */
void dns_hints_pack_stats(msgpack_packer *pk, const struct dns_hints *h);

#endif
