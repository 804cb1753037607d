/* The rows of each view, sorted by bytes, for the screen and the text. */
#include "top.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const top_view_title[VIEWS] = { "Top applications", "Top protocols", "Top hosts",
                                            "Top flows" };
const char *const top_view_count[VIEWS] = { "FLOWS", "FLOWS", "FLOWS", "PACKETS" };

/* Bytes down, then label up, so equal rows keep a stable order. */
static int by_bytes(const void *a, const void *b)
{
    const struct top_row *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    return strcmp(x->label, y->label);
}

/* Keeps the max biggest rows of all n: sorts them all, then cuts. */
static size_t sorted(struct top_row *all, size_t n, struct top_row *rows, size_t max)
{
    qsort(all, n, sizeof(*all), by_bytes);
    if (n > max)
        n = max;
    memcpy(rows, all, n * sizeof(*rows));
    return n;
}

static size_t tally_rows(const struct tally *t, struct top_row *rows, size_t max)
{
    struct top_row *all = malloc((TOP_TALLY_MAX + 1) * sizeof(*all));
    size_t n = 0;

    if (all == NULL)
        return 0;
    for (uint32_t i = 0; i <= TOP_TALLY_MAX; i++) {
        const struct tally_entry *e = &t->entries[i];
        if (i >= t->n && i != TOP_TALLY_MAX)
            continue;
        if (e->flows == 0 && e->bytes == 0)
            continue;
        snprintf(all[n].label, sizeof(all[n].label), "%s", e->name);
        all[n].bytes = e->bytes;
        all[n++].count = e->flows;
    }
    n = sorted(all, n, rows, max);
    free(all);
    return n;
}

static const char *l4_name(unsigned p, char *buf, size_t len)
{
    if (p == 6)
        return "tcp";
    if (p == 17)
        return "udp";
    snprintf(buf, len, "ip%u", p);
    return buf;
}

/* ADDR:PORT, or [ADDR]:PORT for IPv6. */
static const char *endpoint(const char *ip, unsigned port, char *buf, size_t len)
{
    snprintf(buf, len, strchr(ip, ':') != NULL ? "[%s]:%u" : "%s:%u", ip, port);
    return buf;
}

static size_t flow_rows(const struct flow_table *ft, struct top_row *rows, size_t max)
{
    struct top_row *all = malloc((ft->n + 1) * sizeof(*all));
    size_t n = 0;
    char l4[16], local[64], other[64];

    if (all == NULL)
        return 0;
    for (uint32_t i = 0; i < TOP_FLOW_MAX && n < ft->n; i++) {
        const struct top_flow *f = &ft->flows[i];
        if (!f->used)
            continue;
        snprintf(all[n].label, sizeof(all[n].label), "%s %s %s %s %s > %s%s", f->proto, f->app, f->host,
                 l4_name(f->ip_protocol, l4, sizeof(l4)),
                 endpoint(f->local_ip, f->local_port, local, sizeof(local)),
                 endpoint(f->other_ip, f->other_port, other, sizeof(other)),
                 f->purged ? " (ended)" : "");
        all[n].bytes = f->bytes;
        all[n++].count = f->packets;
    }
    n = sorted(all, n, rows, max);
    free(all);
    return n;
}

size_t top_rows(const struct top_state *s, enum top_view v, struct top_row *rows, size_t max)
{
    switch (v) {
    case VIEW_APPS:
        return tally_rows(&s->tally[TALLY_APPS], rows, max);
    case VIEW_PROTOS:
        return tally_rows(&s->tally[TALLY_PROTOS], rows, max);
    case VIEW_HOSTS:
        return tally_rows(&s->tally[TALLY_HOSTS], rows, max);
    default:
        return flow_rows(&s->flows, rows, max);
    }
}

void top_status_line(const struct top_state *s, char *buf, size_t len)
{
    const struct agent_summary *st = &s->status;
    uint32_t active = 0, seen = 0;

    for (uint32_t i = 0; i < TOP_FLOW_MAX && seen < s->flows.n; i++) {
        seen += s->flows.flows[i].used;
        active += s->flows.flows[i].used && !s->flows.flows[i].purged;
    }
    if (!st->seen) {
        snprintf(buf, len, "sensor: no agent_status yet | shown: %" PRIu32 " flows, %" PRIu32 " active",
                 s->flows.n, active);
        return;
    }
    snprintf(buf, len,
             "sensor: packets %" PRIu64 "  drops %" PRIu64 "  flows %" PRIu64 "  clients %" PRIu64
             " | shown: %" PRIu32 " flows, %" PRIu32 " active",
             st->packets, st->drops, st->flows, st->clients, s->flows.n, active);
}
