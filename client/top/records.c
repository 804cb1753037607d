/* Turns records into the console's state: per-flow byte counts joined by
 * digest, credited to the application, protocol and host tallies. */
#include "top.h"

#include <stdio.h>
#include <string.h>

int top_state_init(struct top_state *s)
{
    *s = (struct top_state){ 0 };
    if (flow_table_init(&s->flows) != 0)
        return -1;
    for (int i = 0; i < TALLIES; i++) {
        if (tally_init(&s->tally[i]) != 0) {
            top_state_destroy(s);
            return -1;
        }
    }
    return 0;
}

void top_state_destroy(struct top_state *s)
{
    flow_table_destroy(&s->flows);
    for (int i = 0; i < TALLIES; i++)
        tally_destroy(&s->tally[i]);
}

static yajl_val at(yajl_val v, const char *k1, const char *k2)
{
    const char *path[] = { k1, k2, NULL };
    return yajl_tree_get(v, path, yajl_t_any);
}

static uint64_t number(yajl_val v)
{
    return YAJL_IS_INTEGER(v) && YAJL_GET_INTEGER(v) > 0 ? (uint64_t)YAJL_GET_INTEGER(v) : 0;
}

/* A string field into buf (cut to fit); fallback when absent or empty. */
static void copy_text(yajl_val v, char *buf, size_t len, const char *fallback)
{
    const char *s = YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
    snprintf(buf, len, "%s", s != NULL && *s != '\0' ? s : fallback);
    for (char *p = buf; *p; p++) /* one line on the screen, whatever the wire held */
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
}

static void credit(struct top_state *s, struct top_flow *f, uint64_t bytes, uint64_t flows)
{
    static const enum top_tally kind[4] = { TALLY_APPS, TALLY_PROTOS, TALLY_HOSTS, TALLY_HOSTS };
    for (int i = 0; i < 4; i++) {
        struct tally_entry *e = &s->tally[kind[i]].entries[f->tally[i]];
        e->bytes += bytes;
        e->flows += flows;
    }
}

/* Takes back what credit() gave the flow's tallies so far. */
static void debit(struct top_state *s, struct top_flow *f)
{
    static const enum top_tally kind[4] = { TALLY_APPS, TALLY_PROTOS, TALLY_HOSTS, TALLY_HOSTS };
    for (int i = 0; i < 4; i++) {
        struct tally_entry *e = &s->tally[kind[i]].entries[f->tally[i]];
        e->bytes -= f->bytes;
        e->flows -= 1;
    }
}

/* Counters only grow: a late or repeated record never lowers them. */
static void update_counters(struct top_state *s, struct top_flow *f, yajl_val flow)
{
    uint64_t bytes = number(at(flow, "total_bytes", NULL));
    uint64_t packets = number(at(flow, "total_packets", NULL));

    if (bytes > f->bytes) {
        credit(s, f, bytes - f->bytes, 0);
        f->bytes = bytes;
    }
    if (packets > f->packets)
        f->packets = packets;
}

/* Names the flow and finds the tallies it counts in. */
static void describe(struct top_state *s, struct top_flow *f, yajl_val flow)
{
    copy_text(at(flow, "detected_application_name", NULL), f->app, sizeof(f->app), "Unknown");
    copy_text(at(flow, "detected_protocol_name", NULL), f->proto, sizeof(f->proto), "Unknown");
    copy_text(at(flow, "local_ip", NULL), f->local_ip, sizeof(f->local_ip), "?");
    copy_text(at(flow, "other_ip", NULL), f->other_ip, sizeof(f->other_ip), "?");
    copy_text(at(flow, "host_server_name", NULL), f->host, sizeof(f->host), f->other_ip);
    f->local_port = (unsigned)number(at(flow, "local_port", NULL));
    f->other_port = (unsigned)number(at(flow, "other_port", NULL));
    f->ip_protocol = (unsigned)number(at(flow, "ip_protocol", NULL));
    f->tally[0] = tally_find(&s->tally[TALLY_APPS], f->app);
    f->tally[1] = tally_find(&s->tally[TALLY_PROTOS], f->proto);
    f->tally[2] = tally_find(&s->tally[TALLY_HOSTS], f->local_ip);
    f->tally[3] = tally_find(&s->tally[TALLY_HOSTS], f->host);
}

static void on_flow(struct top_state *s, yajl_val flow)
{
    const char *digest = YAJL_GET_STRING(at(flow, "digest", NULL));
    if (digest == NULL || strlen(digest) != 40)
        return;
    struct top_flow *f = flow_find(&s->flows, digest);
    if (f != NULL && !f->purged) {
        /* detection_updated: nDPI's later dissection may have named the
         * application (or host) better; the flow moves to those tallies. */
        if (YAJL_IS_TRUE(at(flow, "detection_updated", NULL))) {
            debit(s, f);
            describe(s, f, flow);
            credit(s, f, f->bytes, 1);
        }
        update_counters(s, f, flow);
        return;
    }
    if (f != NULL) { /* the same addresses and ports again: a new flow */
        f->generation++; /* its place in the purged queue is stale now */
        f->purged = false;
        f->bytes = f->packets = 0;
    } else if ((f = flow_add(&s->flows, digest)) == NULL) {
        s->untracked++;
        return;
    }
    describe(s, f, flow);
    credit(s, f, 0, 1);
    update_counters(s, f, flow);
}

/* flow_status and flow_purge carry counters only: joined by digest. */
static void on_update(struct top_state *s, yajl_val flow, bool purge, double now)
{
    const char *digest = YAJL_GET_STRING(at(flow, "digest", NULL));
    struct top_flow *f = digest != NULL ? flow_find(&s->flows, digest) : NULL;

    if (f == NULL || f->purged) { /* still detecting, or before we connected */
        s->unjoined++;
        return;
    }
    update_counters(s, f, flow);
    if (purge)
        flow_mark_purged(&s->flows, f, now);
}

static void on_status(struct top_state *s, yajl_val r)
{
    struct agent_summary *st = &s->status;
    yajl_val rings = at(r, "capture", "ring_drops");

    st->seen = true;
    st->packets = number(at(r, "capture", "packets"));
    st->drops = number(at(r, "capture", "pcap_drop")) + number(at(r, "events", "dropped"));
    for (size_t i = 0; YAJL_IS_ARRAY(rings) && i < rings->u.array.len; i++)
        st->drops += number(rings->u.array.values[i]);
    st->flows = number(at(r, "flows", NULL));
    st->clients = number(at(r, "clients", "connected"));
}

void top_apply(struct top_state *s, yajl_val r, double now)
{
    const char *type = YAJL_GET_STRING(at(r, "type", NULL));
    yajl_val flow = at(r, "flow", NULL);

    s->records++;
    if (type == NULL)
        return;
    if (strcmp(type, "flow") == 0 && YAJL_IS_OBJECT(flow))
        on_flow(s, flow);
    else if (strcmp(type, "flow_status") == 0 && YAJL_IS_OBJECT(flow))
        on_update(s, flow, false, now);
    else if (strcmp(type, "flow_purge") == 0 && YAJL_IS_OBJECT(flow))
        on_update(s, flow, true, now);
    else if (strcmp(type, "agent_status") == 0)
        on_status(s, r);
}
