#include "flow_table.h"

#include <stdlib.h>
#include <string.h>

#define MIN_BUCKETS 1024u
#define MAX_BUCKETS (1u << 22)

static struct idle_list *idle_of(struct flow_table *t, const struct flow *f)
{
    if (f->closed)
        return &t->idle[LIST_CLOSED];
    return &t->idle[f->key.ip_protocol == 6 ? LIST_TCP : LIST_OTHER];
}

int flow_table_init(struct flow_table *t, uint32_t max_flows)
{
    uint32_t n = MIN_BUCKETS;

    memset(t, 0, sizeof(*t));
    /* About two flows per bucket when full. */
    while (n < max_flows / 2 && n < MAX_BUCKETS)
        n <<= 1;
    t->buckets = calloc(n, sizeof(*t->buckets));
    if (t->buckets == NULL)
        return -1;
    t->mask = n - 1;
    t->max_flows = max_flows;
    return 0;
}

void flow_table_destroy(struct flow_table *t)
{
    for (uint32_t i = 0; i <= t->mask; i++) {
        struct flow *f = t->buckets[i];
        while (f) {
            struct flow *next = f->hash_next;
            free(f);
            f = next;
        }
    }
    free(t->buckets);
    t->buckets = NULL;
}

struct flow *flow_table_find(struct flow_table *t, const struct flow_key *key, uint32_t hash)
{
    for (struct flow *f = t->buckets[hash & t->mask]; f; f = f->hash_next)
        if (memcmp(&f->key, key, sizeof(*key)) == 0)
            return f;
    return NULL;
}

static void idle_unlink(struct idle_list *l, struct flow *f)
{
    if (f->idle_prev)
        f->idle_prev->idle_next = f->idle_next;
    else
        l->head = f->idle_next;
    if (f->idle_next)
        f->idle_next->idle_prev = f->idle_prev;
    else
        l->tail = f->idle_prev;
    f->idle_prev = f->idle_next = NULL;
}

static void idle_append(struct idle_list *l, struct flow *f)
{
    f->idle_prev = l->tail;
    f->idle_next = NULL;
    if (l->tail)
        l->tail->idle_next = f;
    else
        l->head = f;
    l->tail = f;
}

struct flow *flow_table_add(struct flow_table *t, const struct flow_key *key, uint32_t hash)
{
    if (t->count >= t->max_flows) {
        t->flows_refused++;
        return NULL;
    }
    struct flow *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        t->flows_refused++;
        return NULL;
    }
    f->key = *key;
    uint32_t b = hash & t->mask;
    f->hash_next = t->buckets[b];
    t->buckets[b] = f;
    idle_append(idle_of(t, f), f);
    t->count++;
    t->flows_created++;
    return f;
}

void flow_table_remove(struct flow_table *t, struct flow *f)
{
    struct flow **pp = &t->buckets[flow_key_hash(&f->key) & t->mask];

    while (*pp && *pp != f)
        pp = &(*pp)->hash_next;
    if (*pp)
        *pp = f->hash_next;
    idle_unlink(idle_of(t, f), f);
    t->count--;
    free(f);
}

void flow_table_touch(struct flow_table *t, struct flow *f)
{
    struct idle_list *l = idle_of(t, f);

    if (l->tail == f)
        return;
    idle_unlink(l, f);
    idle_append(l, f);
}

void flow_table_mark_closed(struct flow_table *t, struct flow *f)
{
    idle_unlink(idle_of(t, f), f);
    f->closed = true;
    idle_append(idle_of(t, f), f);
}

struct flow *flow_table_oldest(struct flow_table *t, enum flow_list list)
{
    return t->idle[list].head;
}

struct flow *flow_table_newest(struct flow_table *t, enum flow_list list)
{
    return t->idle[list].tail;
}
