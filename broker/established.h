/* The established-flow store: the flows a new client is told about when
 * it connects ([socket] dump_established_flows, as netifyd's).
 *
 * Every flow a worker has reported (a `flow` event at detection) and not
 * yet purged has one entry, keyed by its digest, holding the record to
 * replay: the flow event as msgpack, with "established" true and the
 * counters of the flow's latest flow_status.  A flow_purge removes the
 * entry; so does the death of the worker that owned it (its flows are
 * gone without a purge).
 *
 * Entries are kept in the order they were added (a sequence number each),
 * so a replay can walk them lazily while new ones arrive behind it.
 * The store is bounded: one entry per flow the workers may hold
 * (max_flows of each worker); a flow over the bound is refused and
 * counted.  Disabled (limit 0), it holds nothing and costs nothing. */
#ifndef FLOWSENSE_BROKER_ESTABLISHED_H
#define FLOWSENSE_BROKER_ESTABLISHED_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ESTABLISHED_DIGEST_BYTES 20

struct established_entry {
    struct established_entry *hash_next;
    struct established_entry *prev, *next; /* oldest first */
    uint64_t seq;                          /* order of addition, from 1 */
    uint8_t digest[ESTABLISHED_DIGEST_BYTES];
    unsigned worker;                       /* channel it came from */
    bool unknown;                          /* detected_protocol 0: nDPI found nothing */
    char *raw;                             /* the record to replay, msgpack */
    size_t raw_len;
};

/* Called just before an entry is freed (a replay may point at it). */
typedef void established_remove_fn(void *ctx, struct established_entry *e);

struct established_store {
    struct established_entry **bucket;
    size_t n_buckets; /* a power of two */
    struct established_entry *oldest, *newest;
    size_t count, limit; /* limit 0: disabled */
    uint64_t next_seq;
    uint64_t seed; /* of the bucket hash: a hostile worker cannot aim at one bucket */
    established_remove_fn *on_remove;
    void *on_remove_ctx;

    uint64_t refused; /* flows not kept: the store was full, or out of memory */
    uint64_t unkeyed; /* flow events without a valid digest */
    uint64_t lost;    /* entries dropped with a dead worker */

    msgpack_sbuffer scratch;
    msgpack_packer packer;
    msgpack_unpacked unpacked;
};

/* Returns 0, or -1 when memory is short.  limit 0 disables the store. */
int established_init(struct established_store *s, size_t limit, uint64_t seed,
                     established_remove_fn *on_remove, void *ctx);
void established_destroy(struct established_store *s);

static inline bool established_enabled(const struct established_store *s)
{
    return s->limit > 0;
}

/* The entry of the flow a checked flow, flow_status or flow_purge event
 * is about (its flow.digest), or NULL. */
struct established_entry *established_find(const struct established_store *s,
                                           const msgpack_object *event);

/* A checked flow event from worker's channel: adds its flow, or replaces
 * the record of a flow already held (e, from established_find). */
void established_put(struct established_store *s, struct established_entry *e, unsigned worker,
                     const msgpack_object *event);

/* A checked flow_status event: the entry's record takes its counters. */
void established_update(struct established_store *s, struct established_entry *e,
                        const msgpack_object *event);

void established_remove(struct established_store *s, struct established_entry *e);

/* Removes every entry of one worker; returns how many. */
size_t established_drop_worker(struct established_store *s, unsigned worker);

#endif
