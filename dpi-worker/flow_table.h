/* The worker's flows: a chained hash table bounded by max_flows, plus
 * two idle lists (TCP and the rest) kept in last-seen order, so expiry
 * looks only at the flows that are due. */
#ifndef FLOWSENSE_WORKER_FLOW_TABLE_H
#define FLOWSENSE_WORKER_FLOW_TABLE_H

#include "flow.h"

#include <stddef.h>
#include <stdint.h>

struct idle_list {
    struct flow *head, *tail;
};

struct flow_table {
    struct flow **buckets;
    uint32_t mask;
    uint32_t count;
    uint32_t max_flows;
    struct idle_list idle[3];   /* [0] non-TCP, [1] TCP, [2] closed TCP */
    uint64_t flows_created;
    uint64_t flows_refused;     /* table full */
};

int flow_table_init(struct flow_table *t, uint32_t max_flows);
void flow_table_destroy(struct flow_table *t);
struct flow *flow_table_find(struct flow_table *t, const struct flow_key *key, uint32_t hash);
/* Returns a zeroed flow with its key set, or NULL when the table is full
 * (counted in flows_refused) or memory is short. */
struct flow *flow_table_add(struct flow_table *t, const struct flow_key *key, uint32_t hash);
/* Unlinks and frees the flow (the caller has released its nDPI state). */
void flow_table_remove(struct flow_table *t, struct flow *f);
/* Moves f to the most-recently-seen end of its idle list. */
void flow_table_touch(struct flow_table *t, struct flow *f);
/* Moves a TCP flow that saw FIN both ways or RST to the closed list. */
void flow_table_mark_closed(struct flow_table *t, struct flow *f);

enum flow_list { LIST_OTHER = 0, LIST_TCP = 1, LIST_CLOSED = 2 };
/* The least recently seen flow of a list, or NULL. */
struct flow *flow_table_oldest(struct flow_table *t, enum flow_list list);
/* The most recently seen flow of a list, or NULL (walk with idle_prev). */
struct flow *flow_table_newest(struct flow_table *t, enum flow_list list);

#endif
