#include "replay.h"

#include "broker.h"
#include "log.h"
#include "msgpack_map.h"

#include <poll.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static void cursor_done(struct replay *r, struct replay_cursor *cur)
{
    if (cur->client_id == 0)
        return;
    *cur = (struct replay_cursor){ 0 };
    r->active--;
}

/* Moves a cursor to e, or ends it when e is past its end. */
static void cursor_to(struct replay *r, struct replay_cursor *cur,
                      const struct established_entry *e)
{
    if (e == NULL || e->seq >= cur->end_seq)
        cursor_done(r, cur);
    else
        cur->next = e;
}

/* An entry is about to be freed: no cursor may point at it. */
static void on_remove(void *ctx, struct established_entry *e)
{
    struct replay *r = ctx;

    for (unsigned i = 0; i < CLIENT_MAX && r->active > 0; i++)
        if (r->cursor[i].client_id != 0 && r->cursor[i].next == e)
            cursor_to(r, &r->cursor[i], e->next);
}

static uint64_t random_seed(void)
{
    uint64_t seed;
    struct timespec ts;

    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
        return seed;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)ts.tv_sec;
}

void broker_replay_init(struct broker *b)
{
    struct replay *r = &b->replay;

    memset(r, 0, sizeof(*r));
    r->unknown_flows = b->opt.dump_unknown_flows;
    if (established_init(&r->store, b->opt.established_flows, random_seed(), on_remove, r) != 0)
        fatalx("out of memory setting up the established-flow store");
}

/* While a replay runs, a record about flow e is withheld from the clients
 * that have yet to be replayed e: note e and how its replay would look. */
static void note_publishing(struct replay *r, const struct established_entry *e)
{
    size_t off = 0;

    r->publishing = NULL;
    if (r->active == 0 || e == NULL || (e->unknown && !r->unknown_flows))
        return;
    if (msgpack_unpack_next(&r->store.unpacked, e->raw, e->raw_len, &off) != MSGPACK_UNPACK_SUCCESS)
        return; /* cannot happen: the store packed it */
    record_view_from_event(&r->publishing_view, RECORD_FLOW, &r->store.unpacked.data);
    r->publishing = e;
}

void broker_flow_event(struct broker *b, enum record_type type, const msgpack_object *event,
                       unsigned worker)
{
    struct replay *r = &b->replay;
    struct established_store *s = &r->store;

    if (!established_enabled(s)) {
        broker_publish(b, type, event);
        return;
    }
    struct established_entry *e = established_find(s, event);
    note_publishing(r, e);
    broker_publish(b, type, event);
    r->publishing = NULL;
    if (type == RECORD_FLOW)
        established_put(s, e, worker, event);
    else if (e != NULL && type == RECORD_FLOW_STATUS)
        established_update(s, e, event);
    else if (e != NULL && type == RECORD_FLOW_PURGE)
        established_remove(s, e);
}

static bool channel_has_input(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };

    return poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLIN);
}

void broker_replay_worker_exit(struct broker *b, const msgpack_object *event)
{
    struct replay *r = &b->replay;
    const msgpack_object *w = mp_map_get(event, "worker");

    /* agent_worker_exit() has checked the index */
    if (!established_enabled(&r->store) || w == NULL ||
        w->type != MSGPACK_OBJECT_POSITIVE_INTEGER || w->via.u64 >= b->opt.workers)
        return;
    unsigned worker = (unsigned)w->via.u64;
    size_t n = established_drop_worker(&r->store, worker);
    /* What it sent before dying may still wait in its channel (flowsensed
     * reports a death once it has reaped the worker); its replacement has
     * barely started, so that is the dead worker's. */
    r->worker_stale[worker] = b->worker[worker].open && channel_has_input(b->worker[worker].fd);
    log_debug("worker %u died: %zu established flow(s) dropped%s", worker, n,
              r->worker_stale[worker] ? ", more once its channel is read" : "");
}

void broker_replay_channel_idle(struct broker *b, unsigned worker)
{
    struct replay *r = &b->replay;

    if (worker >= FLOWSENSE_MAX_WORKERS || !r->worker_stale[worker])
        return;
    r->worker_stale[worker] = false;
    size_t n = established_drop_worker(&r->store, worker);
    log_debug("worker %u: %zu more established flow(s) of the dead worker dropped", worker, n);
}

static unsigned slot_of(const struct broker *b, const struct client *c)
{
    return (unsigned)(c - b->clients.slot);
}

/* Whether a subscription leaves out flow records altogether. */
static bool takes_no_flows(const struct subscription *sub)
{
    return sub != NULL && sub->types != 0 && !(sub->types & (1u << RECORD_FLOW));
}

void broker_replay_begin(struct broker *b, const struct client *c)
{
    struct replay *r = &b->replay;
    struct replay_cursor *cur = &r->cursor[slot_of(b, c)];

    cursor_done(r, cur); /* the slot's last client may have left mid-replay */
    if (!established_enabled(&r->store) || r->store.oldest == NULL || c->fd < 0)
        return;
    *cur = (struct replay_cursor){
        .client_id = c->id,
        .next = r->store.oldest,
        .end_seq = r->store.next_seq,
        .start_ms = client_clock_ms() + REPLAY_GRACE_MS,
    };
    r->active++;
}

/* Renders one entry for one client if its subscription takes it; returns
 * -1 when the client is gone. */
static int replay_entry(struct broker *b, struct client *c, const struct established_entry *e)
{
    struct established_store *s = &b->replay.store;
    struct record_view view;
    size_t off = 0, len;

    if (e->unknown && !b->replay.unknown_flows)
        return 0;
    if (msgpack_unpack_next(&s->unpacked, e->raw, e->raw_len, &off) != MSGPACK_UNPACK_SUCCESS)
        return 0; /* cannot happen: the store packed it */
    record_view_from_event(&view, RECORD_FLOW, &s->unpacked.data);
    if (!subscription_matches(c->sub, &view))
        return 0;
    if (json_out_render(&b->json, &s->unpacked.data) != 0) {
        b->events_unrendered++;
        log_warnx("established record not rendered: %s", b->json.error);
        return 0;
    }
    const char *p = json_out_framed(&b->json, &len);
    if (client_queue(&b->clients, c, p, len) != 0)
        return -1;
    b->replay.records++;
    return 0;
}

/* Whether the client's replay may start: its subscription is in, or it
 * has had the grace time to send one and has not begun. */
static bool may_start(const struct client *c, const struct replay_cursor *cur, int64_t now)
{
    return c->commanded || (c->command_started_ms == 0 && now >= cur->start_ms);
}

static void fill_one(struct broker *b, unsigned i, int64_t now)
{
    struct replay *r = &b->replay;
    struct replay_cursor *cur = &r->cursor[i];
    struct client *c = &b->clients.slot[i];
    size_t room = b->clients.queue_limit / 2;

    if (c->fd < 0 || c->id != cur->client_id || !client_takes_records(c) ||
        takes_no_flows(c->sub)) {
        cursor_done(r, cur);
        return;
    }
    if (!may_start(c, cur, now))
        return;
    for (unsigned n = 0; n < REPLAY_ENTRIES_PER_FILL && cur->client_id != 0; n++) {
        if (c->tail - c->head >= room)
            return;
        const struct established_entry *e = cur->next;
        cursor_to(r, cur, e->next);
        if (replay_entry(b, c, e) != 0) {
            cursor_done(r, cur);
            return;
        }
    }
}

void broker_replay_fill(struct broker *b)
{
    struct replay *r = &b->replay;

    if (r->active == 0)
        return;
    int64_t now = client_clock_ms();
    for (unsigned i = 0; i < CLIENT_MAX && r->active > 0; i++)
        if (r->cursor[i].client_id != 0)
            fill_one(b, i, now);
}

int64_t broker_replay_wait_ms(const struct broker *b)
{
    const struct replay *r = &b->replay;
    int64_t wait = -1, now;

    if (r->active == 0)
        return -1;
    now = client_clock_ms();
    for (unsigned i = 0; i < CLIENT_MAX; i++) {
        const struct replay_cursor *cur = &r->cursor[i];
        const struct client *c = &b->clients.slot[i];
        if (cur->client_id == 0 || c->id != cur->client_id)
            continue;
        int64_t ms;
        if (!may_start(c, cur, now))
            ms = c->command_started_ms != 0 ? -1 : cur->start_ms - now;
        else if (c->tail - c->head < b->clients.queue_limit / 2)
            ms = 0; /* room left: the last fill stopped at its budget */
        else
            ms = -1; /* the queue drains on POLLOUT */
        if (ms >= 0 && (wait < 0 || ms < wait))
            wait = ms;
    }
    return wait;
}
