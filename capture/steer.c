#include "steer.h"

#include "log.h"
#include "packet.h"

#include <string.h>

#define NS_PER_SEC 1000000000ull
#define WAIT_SLICE_MS 100
#define END_WAIT_SLICES 300 /* 30 s */

void steer_init(struct steer *st, struct pipeline *p, bool lossless, steer_wait_fn hook,
                void *ctx)
{
    memset(st, 0, sizeof(*st));
    st->pipeline = p;
    st->lossless = lossless;
    st->wait_hook = hook;
    st->wait_ctx = ctx;
}

static struct ring_record *reserve(struct steer *st, struct worker_link *w, uint32_t len,
                                   bool must_wait)
{
    struct ring_record *rec = ring_reserve(&w->ring, len);

    if (rec)
        return rec;
    /* Full: let the worker see what we have and wake it (commit() does
     * not always), then wait for space or drop. */
    ring_publish(&w->ring);
    w->pending = 0;
    if (!must_wait)
        return NULL;
    while ((rec = ring_reserve(&w->ring, len)) == NULL) {
        ring_wait_space(&w->ring, WAIT_SLICE_MS);
        bool go_on = st->wait_hook == NULL || st->wait_hook(st->wait_ctx);
        /* RING_END must get through even after a stop request, but a
         * worker that never drains its ring cannot hold us for ever. */
        if (!go_on && (!st->ending || ++st->end_wait_slices > END_WAIT_SLICES))
            return NULL;
    }
    return rec;
}

static void commit(struct worker_link *w)
{
    if (++w->pending >= STEER_PUBLISH_BATCH) {
        /* steer_publish_all() ends every burst with a wake-up. */
        ring_publish_lazy(&w->ring);
        w->pending = 0;
    }
}

static void fill(struct ring_record *rec, uint16_t kind, uint16_t interface, int link_type,
                 uint64_t ts_ns, uint32_t wire_len, uint32_t cap_len, const uint8_t *data)
{
    rec->kind = kind;
    rec->interface = interface;
    rec->ts_ns = ts_ns;
    rec->wire_len = wire_len;
    rec->link_type = (uint32_t)link_type;
    memcpy(rec->data, data, cap_len);
}

/* The DNS answer's copies for the workers other than its owner.  Only
 * the ports are looked at here: the answer is parsed by the sandboxed
 * workers. */
static void copy_dns_answer(struct steer *st, int owner, uint16_t interface, int link_type,
                            uint64_t ts_ns, uint32_t wire_len, uint32_t cap_len,
                            const uint8_t *data)
{
    for (int i = 0; i < st->pipeline->n_workers; i++) {
        if (i == owner)
            continue;
        struct worker_link *w = &st->pipeline->workers[i];
        struct ring_record *rec = reserve(st, w, cap_len, st->lossless);
        if (rec == NULL) {
            st->stats.dns_hint_drops++;
            continue;
        }
        fill(rec, RING_DNS_HINT, interface, link_type, ts_ns, wire_len, cap_len, data);
        commit(w);
        st->stats.dns_hint_copies++;
    }
}

bool steer_packet(struct steer *st, uint16_t interface, int link_type, uint64_t ts_ns,
                  uint32_t wire_len, uint32_t cap_len, const uint8_t *data)
{
    struct packet_view pv;
    int target = 0;
    bool dns_answer = false;

    /* Undecodable packets still go to a worker (the first), which counts
     * them by reason: nothing is dropped here without a counter.  With
     * one worker there is nothing to choose and no DNS answer to copy,
     * so nothing to decode. */
    if (st->pipeline->n_workers > 1 &&
        packet_decode(data, cap_len, (uint32_t)link_type, &pv) == DECODE_OK) {
        target = (int)(packet_steer_hash(&pv) % (uint32_t)st->pipeline->n_workers);
        dns_answer = packet_is_dns_answer(&pv);
    }
    struct worker_link *w = &st->pipeline->workers[target];
    if (RING_RECORD_HEADER_SIZE + cap_len > w->ring.sh->data_size / 2) {
        /* Could never fit: waiting for space would wait for ever. */
        st->stats.oversized++;
        return false;
    }
    /* The copies go first: if the owner's ring is full (live), the other
     * workers still learn the answer. */
    if (dns_answer)
        copy_dns_answer(st, target, interface, link_type, ts_ns, wire_len, cap_len, data);
    struct ring_record *rec = reserve(st, w, cap_len, st->lossless);
    if (rec == NULL) {
        atomic_fetch_add_explicit(&w->ring.sh->records_dropped, 1, memory_order_relaxed);
        return false;
    }
    fill(rec, RING_PACKET, interface, link_type, ts_ns, wire_len, cap_len, data);
    commit(w);
    if (ts_ns > st->last_packet_ns)
        st->last_packet_ns = ts_ns;
    st->stats.packets++;
    st->stats.bytes += wire_len;
    if (cap_len < wire_len)
        st->stats.truncated++;
    return true;
}

static void put_control(struct steer *st, struct worker_link *w, uint16_t kind,
                        uint64_t ts_ns, bool must_wait)
{
    struct ring_record *rec = reserve(st, w, 0, must_wait);

    if (rec == NULL) /* a full ring needs no tick: the worker has work */
        return;
    rec->kind = kind;
    rec->interface = 0;
    rec->ts_ns = ts_ns;
    rec->wire_len = 0;
    rec->link_type = 0;
    /* A replay's ticks come with packets behind them (and a replay has
     * many: one per second of packet time); live, a tick may be all there
     * is, and the worker should see it now. */
    if (kind == RING_TICK && st->lossless)
        ring_publish_lazy(&w->ring);
    else
        ring_publish(&w->ring);
    w->pending = 0;
}

void steer_tick(struct steer *st, uint64_t now_ns)
{
    /* Not last_tick_ns + NS_PER_SEC: a pcapng stamp near 2^64 ns would wrap it. */
    if (now_ns < st->last_tick_ns || now_ns - st->last_tick_ns < NS_PER_SEC)
        return;
    st->last_tick_ns = now_ns;
    for (int i = 0; i < st->pipeline->n_workers; i++)
        put_control(st, &st->pipeline->workers[i], RING_TICK, now_ns, st->lossless);
}

void steer_publish_all(struct steer *st)
{
    for (int i = 0; i < st->pipeline->n_workers; i++) {
        struct worker_link *w = &st->pipeline->workers[i];
        ring_publish(&w->ring);
        w->pending = 0;
    }
}

void steer_end(struct steer *st)
{
    /* Every worker ends at the same time: the latest the input reached. */
    uint64_t end_ns = st->last_packet_ns > st->last_tick_ns ? st->last_packet_ns : st->last_tick_ns;

    steer_publish_all(st);
    st->ending = true;
    for (int i = 0; i < st->pipeline->n_workers; i++) {
        struct worker_link *w = &st->pipeline->workers[i];
        put_control(st, w, RING_END, end_ns, true);
        if (st->end_wait_slices > END_WAIT_SLICES)
            log_warnx("worker %d does not drain its ring; its end marker is lost", i);
    }
}
