#include "top.h"

#include <stdlib.h>
#include <string.h>

#define BUCKETS (2 * TOP_FLOW_MAX) /* a power of two */

int flow_table_init(struct flow_table *ft)
{
    *ft = (struct flow_table){ 0 };
    /* calloc: pages are touched only as flows arrive. */
    ft->flows = calloc(TOP_FLOW_MAX, sizeof(*ft->flows));
    ft->bucket = calloc(BUCKETS, sizeof(*ft->bucket));
    ft->next = calloc(TOP_FLOW_MAX, sizeof(*ft->next));
    ft->purged = calloc(TOP_FLOW_MAX, sizeof(*ft->purged));
    if (ft->flows == NULL || ft->bucket == NULL || ft->next == NULL || ft->purged == NULL) {
        flow_table_destroy(ft);
        return -1;
    }
    for (uint32_t i = 0; i < TOP_FLOW_MAX; i++)
        ft->next[i] = i + 2 <= TOP_FLOW_MAX ? i + 2 : 0;
    ft->free_head = 1;
    return 0;
}

void flow_table_destroy(struct flow_table *ft)
{
    free(ft->flows);
    free(ft->bucket);
    free(ft->next);
    free(ft->purged);
    *ft = (struct flow_table){ 0 };
}

static uint32_t bucket_of(const char *digest)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *digest; digest++)
        h = (h ^ (unsigned char)*digest) * 16777619u;
    return h & (BUCKETS - 1);
}

struct top_flow *flow_find(struct flow_table *ft, const char *digest)
{
    for (uint32_t i = ft->bucket[bucket_of(digest)]; i != 0; i = ft->next[i - 1]) {
        if (strcmp(ft->flows[i - 1].digest, digest) == 0)
            return &ft->flows[i - 1];
    }
    return NULL;
}

static void flow_remove(struct flow_table *ft, uint32_t index)
{
    uint32_t *link = &ft->bucket[bucket_of(ft->flows[index].digest)];

    while (*link != index + 1)
        link = &ft->next[*link - 1];
    *link = ft->next[index];
    ft->flows[index].used = false;
    ft->flows[index].generation++;
    ft->next[index] = ft->free_head;
    ft->free_head = index + 1;
    ft->n--;
}

/* Takes the oldest entry off the purged queue; returns the flow's index
 * if it is still that purged flow, else TOP_FLOW_MAX (it was reused). */
static uint32_t purged_pop(struct flow_table *ft)
{
    uint32_t index = ft->purged[ft->purged_head].index;
    uint32_t generation = ft->purged[ft->purged_head].generation;

    ft->purged_head = (ft->purged_head + 1) % TOP_FLOW_MAX;
    ft->purged_n--;
    const struct top_flow *f = &ft->flows[index];
    return f->used && f->purged && f->generation == generation ? index : TOP_FLOW_MAX;
}

struct top_flow *flow_add(struct flow_table *ft, const char *digest)
{
    while (ft->free_head == 0 && ft->purged_n > 0) {
        uint32_t index = purged_pop(ft);
        if (index != TOP_FLOW_MAX)
            flow_remove(ft, index);
    }
    if (ft->free_head == 0)
        return NULL;
    uint32_t index = ft->free_head - 1;
    struct top_flow *f = &ft->flows[index];
    ft->free_head = ft->next[index];
    uint32_t generation = f->generation;
    *f = (struct top_flow){ .used = true, .generation = generation };
    memcpy(f->digest, digest, sizeof(f->digest) - 1);
    uint32_t b = bucket_of(f->digest);
    ft->next[index] = ft->bucket[b];
    ft->bucket[b] = index + 1;
    ft->n++;
    return f;
}

void flow_mark_purged(struct flow_table *ft, struct top_flow *f, double now)
{
    if (f->purged)
        return;
    if (ft->purged_n == TOP_FLOW_MAX) { /* only stale entries can fill it */
        uint32_t index = purged_pop(ft);
        if (index != TOP_FLOW_MAX)
            flow_remove(ft, index);
    }
    f->purged = true;
    f->purged_at = now;
    uint32_t tail = (ft->purged_head + ft->purged_n) % TOP_FLOW_MAX;
    ft->purged[tail].index = (uint32_t)(f - ft->flows);
    ft->purged[tail].generation = f->generation;
    ft->purged_n++;
}

void flow_expire(struct flow_table *ft, double now)
{
    while (ft->purged_n > 0) {
        const struct top_flow *f = &ft->flows[ft->purged[ft->purged_head].index];
        bool stale = !f->used || !f->purged || f->generation != ft->purged[ft->purged_head].generation;
        if (!stale && now - f->purged_at < TOP_PURGED_LINGER)
            return;
        uint32_t index = purged_pop(ft);
        if (index != TOP_FLOW_MAX)
            flow_remove(ft, index);
    }
}
