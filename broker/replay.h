/* Connect-time replay ([socket] dump_established_flows): a new client
 * gets, after agent_hello and agent_status, one `flow` record with
 * "established": true for each flow the store holds (see established.h),
 * filtered by its subscription; with dump_unknown_flows off, flows nDPI
 * found no protocol for (detected_protocol 0, "Unknown") are left out.
 *
 * The replay is lazy: a client's records are rendered as its queue
 * drains, never past half its bound, so a table of any size reaches a
 * reading client whole and counts toward its queue like live records.
 * Each client has a cursor in the store's order of addition; it replays
 * the entries that existed when it connected.  While it replays, live
 * records keep flowing to it, and each flow's records stay in order:
 *   - a flow detected after the client connected arrives live
 *     ("established": false) and is not replayed;
 *   - a flow_status or flow_purge of a flow not replayed yet, that the
 *     client's replay includes, is withheld: the replayed record carries
 *     the latest counters, and a purged flow is simply not replayed;
 *   - records of flows already replayed arrive as they happen.
 * The replay starts once the client's subscription is in, or
 * REPLAY_GRACE_MS after it connected without starting one. */
#ifndef FLOWSENSE_BROKER_REPLAY_H
#define FLOWSENSE_BROKER_REPLAY_H

#include "clients.h"
#include "established.h"
#include "events.h"
#include "fdmap.h"
#include "subscription.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#define REPLAY_GRACE_MS 200
#define REPLAY_ENTRIES_PER_FILL 4096 /* entries looked at per client per wake-up */

struct broker;

struct replay_cursor {
    uint64_t client_id;                   /* 0: this slot replays nothing */
    const struct established_entry *next; /* NULL: done */
    uint64_t end_seq;                     /* entries added from here on are not replayed */
    int64_t start_ms;                     /* CLOCK_MONOTONIC: when to start without a command */
};

struct replay {
    struct established_store store;
    bool unknown_flows; /* dump_unknown_flows */
    struct replay_cursor cursor[CLIENT_MAX]; /* by client slot */
    unsigned active;                         /* cursors not done */
    /* The entry of the record being published, and the view of its
     * replayed record: clients whose replay has not reached it, and would
     * get it, do not get the live record. */
    const struct established_entry *publishing;
    struct record_view publishing_view;
    /* A worker died with events still in its channel: its entries are
     * dropped again once that channel has been read empty. */
    bool worker_stale[FLOWSENSE_MAX_WORKERS];
    uint64_t records; /* established records queued to clients */
};

/* Sets up the store (disabled when the options ask for none).  Call
 * before the sandbox; fatal when memory is short. */
void broker_replay_init(struct broker *b);

/* A checked flow, flow_status or flow_purge event from a worker: publishes
 * it and keeps the store up to date. */
void broker_flow_event(struct broker *b, enum record_type type, const msgpack_object *event,
                       unsigned worker);

/* A checked worker_exit: the dead worker's flows leave the store. */
void broker_replay_worker_exit(struct broker *b, const msgpack_object *event);
/* A worker channel was read until empty. */
void broker_replay_channel_idle(struct broker *b, unsigned worker);

/* A client was accepted (and greeted). */
void broker_replay_begin(struct broker *b, const struct client *c);
/* Whether the record being published is withheld from client c, in slot
 * i (its replay will carry the flow, or the flow is gone).  Inline: it is
 * asked per client per record, and is false at once unless some client
 * is being replayed to. */
static inline bool replay_withholds(const struct replay *r, unsigned i, const struct client *c)
{
    const struct replay_cursor *cur = &r->cursor[i];
    const struct established_entry *e = r->publishing;

    return e != NULL && cur->client_id != 0 && cur->client_id == c->id &&
           e->seq >= cur->next->seq && e->seq < cur->end_seq &&
           subscription_matches(c->sub, &r->publishing_view);
}
/* Queues replayed records to every client with room for them. */
void broker_replay_fill(struct broker *b);
/* Milliseconds until a replay needs the loop again (0: now), or -1. */
int64_t broker_replay_wait_ms(const struct broker *b);

#endif
