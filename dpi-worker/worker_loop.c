#include "worker_loop.h"

#include "flow_extra.h"
#include "locality.h"
#include "log.h"
#include "record_digest.h"
#include "test_hooks.h"

#include <pcap/dlt.h>
#include <string.h>

#define SWEEP_INTERVAL_MS 1000
/* A closed TCP flow stays this long so its last ACKs do not start a new one. */
#define CLOSE_LINGER_MS 5000
#define RELEASE_BATCH 64
#define IDLE_WAIT_MS 1000
/* Live, a broker that does not read (dead, restarting) holds the worker
 * this long at most; then events are dropped and counted, so the flow
 * table keeps up with the packets.  The channel buffer (8 MiB) absorbs a
 * broker restart. */
#define LIVE_CHANNEL_WAIT_MS 200

volatile int worker_stop_requested;

/* The DNS hint of a flow: looked up once, when its first record goes,
 * and repeated from the flow's extra in its update, so that an entry
 * evicted or relearnt in between does not change what the flow showed. */
static void annotate_from_dns(struct worker *w, struct flow *f, struct flow_metadata *m,
                              uint64_t at_ms)
{
    const struct flow_extra *x = f->extra;

    if (x && x->dns_looked_up)
        dns_hints_apply(m, x->dns_host_name[0] ? x->dns_host_name : NULL);
    else
        dns_hints_annotate(&w->dns_hints, w->opts, f, m, at_ms);
}

/* The first `flow` record, sent as soon as the protocol is known (or
 * nDPI gave up); first_update_at is at_ms. */
static void first_record(struct worker *w, struct flow *f, uint64_t at_ms, bool more_to_come)
{
    struct flow_metadata m;

    detector_metadata(&w->detector, f, &m);
    annotate_from_dns(w, f, &m, at_ms);
    event_flow(&w->events, w->opts, f, &m, at_ms, false);
    f->state = FLOW_DISSECTING;
    if (!more_to_come)
        return;
    /* Without room to remember what it showed, the update is sent anyway. */
    struct flow_extra *x = flow_extra_get(f);
    if (x) {
        x->record_sent = true;
        x->record_digest = record_digest(f, &m);
        x->first_update_ms = at_ms;
        x->sent_protocol = f->detected_protocol;
        x->sent_application = f->detected_application;
        x->dns_looked_up = true;
        if (m.dns_host_name)
            snprintf(x->dns_host_name, sizeof(x->dns_host_name), "%s", m.dns_host_name);
    }
}

/* nDPI has nothing more to extract: a `flow` record marked
 * detection_updated when the metadata changed since the first one, then
 * nDPI's state goes. */
static void finish_dissection(struct worker *w, struct flow *f)
{
    struct flow_extra *x = f->extra;
    struct flow_metadata m;

    detector_metadata(&w->detector, f, &m);
    annotate_from_dns(w, f, &m, x ? x->first_update_ms : f->last_seen_ms);
    if (x == NULL || !x->record_sent || record_digest(f, &m) != x->record_digest)
        event_flow(&w->events, w->opts, f, &m, x ? x->first_update_ms : f->first_seen_ms, true);
    flow_extra_free(f);
    detector_flow_release(&w->detector, f);
    f->state = FLOW_DETECTED;
}

/* Moves a flow on after nDPI saw one more of its packets (step), or
 * after its last one (DETECTION_DONE from purge). */
static void detection_step(struct worker *w, struct flow *f, enum detection_step step,
                           uint64_t at_ms)
{
    if (step == DETECTION_PENDING)
        return;
    if (f->state == FLOW_DETECTING) {
        first_record(w, f, at_ms, step != DETECTION_DONE);
        if (step == DETECTION_DONE) {
            flow_extra_free(f);
            detector_flow_release(&w->detector, f);
            f->state = FLOW_DETECTED;
        }
        return;
    }
    if (step == DETECTION_DONE)
        finish_dissection(w, f);
}

/* A flow's status and purge go to the clients its last `flow` record
 * went to: while nDPI dissects, the detection may have moved on since
 * the first record (the update tells at the end), so the first record's
 * is used (the current one when there was no memory to keep it); after,
 * it is final. */
static void route_of(struct worker *w, const struct flow *f, struct flow_route *route,
                     char application[FLOW_APPLICATION_NAME_MAX])
{
    const struct flow_extra *x = f->extra;
    bool first = x && x->record_sent;
    uint16_t protocol = first ? x->sent_protocol : f->detected_protocol;

    detector_application_name(&w->detector, first ? x->sent_application : f->detected_application,
                              application);
    *route = (struct flow_route){ detector_protocol_name(&w->detector, protocol), application };
}

static void purge(struct worker *w, struct flow *f, const char *reason)
{
    struct flow_route route;
    char application[FLOW_APPLICATION_NAME_MAX];

    if (f->state == FLOW_DETECTING)
        detector_give_up(&w->detector, f);
    if (f->state != FLOW_DETECTED)
        detection_step(w, f, DETECTION_DONE, w->now_ms);
    route_of(w, f, &route, application);
    event_flow_purge(&w->events, w->opts, f, &route, reason);
    w->purges_unsent++;
    w->counters.flows_purged++;
    flow_table_remove(&w->flows, f);
}

/* What flowsensed counts as lost if we die now: the flows in the table,
 * and those purged whose flow_purge has not left with a batch yet; and
 * the messages sent, which show flowsensed that we get on. */
static void report_held_flows(struct worker *w)
{
    if (w->events.batch_events == 0)
        w->purges_unsent = 0;
    ring_report_flows(&w->ring, w->flows.count + w->purges_unsent);
    ring_report_messages(&w->ring, w->events.messages_sent);
}

static uint64_t floor_to(uint64_t t, uint64_t step) { return t / step * step; }
static uint64_t ceil_to(uint64_t t, uint64_t step) { return (t + step - 1) / step * step; }

/* Purges the flows of a list whose expiry falls at or before `until`.
 * Expiry happens on whole seconds of packet time, and each record is
 * stamped with its flow's own expiry second, not with the time this
 * worker happened to notice it: so the records of a replay do not depend
 * on how many workers share the traffic. */
static void expire_list(struct worker *w, enum flow_list list, uint64_t ttl_ms, uint64_t until,
                        const char *reason)
{
    struct flow *f;
    uint64_t due;

    while ((f = flow_table_oldest(&w->flows, list)) != NULL &&
           (due = ceil_to(f->last_seen_ms + ttl_ms, SWEEP_INTERVAL_MS)) <= until) {
        w->now_ms = due;
        purge(w, f, reason);
    }
}

static void expire_flows(struct worker *w, uint64_t until)
{
    expire_list(w, LIST_OTHER, (uint64_t)w->opts->ttl_idle_flow * 1000, until, "expired");
    expire_list(w, LIST_TCP, (uint64_t)w->opts->ttl_idle_tcp_flow * 1000, until, "expired");
    expire_list(w, LIST_CLOSED, CLOSE_LINGER_MS, until, "closed");
}

static void send_worker_stats(struct worker *w)
{
    event_worker_stats(&w->events, w->opts, &w->flows, &w->counters, &w->reassembly,
                       &w->dns_hints,
                       &w->detector,
                       atomic_load_explicit(&w->ring.sh->records_corrupt, memory_order_relaxed));
}

static void send_status(struct worker *w)
{
    struct flow_route route;
    char application[FLOW_APPLICATION_NAME_MAX];

    /* Lists are in last-seen order: walk back from the newest until the
     * flows were last seen before this interval began. */
    for (int list = LIST_OTHER; list <= LIST_CLOSED; list++)
        for (struct flow *f = flow_table_newest(&w->flows, (enum flow_list)list);
             f && f->last_seen_ms >= w->status_since_ms; f = f->idle_prev)
            if (f->state != FLOW_DETECTING &&
                f->packets[0] + f->packets[1] != f->status_packets) {
                f->status_packets = f->packets[0] + f->packets[1];
                route_of(w, f, &route, application);
                event_flow_status(&w->events, w->opts, f, &route);
            }
    send_worker_stats(w);
}

/* Runs the timers that packet time has reached, before the record at
 * ts_ms is handled.  Timers fire on absolute boundaries (whole seconds
 * for expiry, multiples of update_interval for flow_status), so every
 * worker fires them at the same packet times. */
static void advance_clock(struct worker *w, uint64_t ts_ms)
{
    uint64_t interval = (uint64_t)w->opts->update_interval * 1000;

    if (ts_ms <= w->now_ms)
        return;
    if (w->now_ms == 0) {
        w->status_since_ms = floor_to(ts_ms, interval);
        w->next_status_ms = w->status_since_ms + interval;
    }
    if (ts_ms >= w->next_status_ms) {
        uint64_t at = w->next_status_ms;
        expire_flows(w, at);
        w->now_ms = at;
        send_status(w);
        w->status_since_ms = at;
        /* Later boundaries up to ts_ms saw no record of this worker, so no
         * flow was active in them: skip them (time may jump by years). */
        w->next_status_ms = floor_to(ts_ms, interval) + interval;
    }
    uint64_t second = floor_to(ts_ms, SWEEP_INTERVAL_MS);
    if (second > w->swept_ms) {
        expire_flows(w, second);
        reassembly_expire(&w->reassembly, second);
        w->swept_ms = second;
    }
    w->now_ms = ts_ms;
}

static struct flow *flow_start(struct worker *w, const struct flow_key *key, uint32_t hash,
                               const struct packet_view *pv, int dir, uint64_t ts_ms)
{
    struct flow *f = flow_table_add(&w->flows, key, hash);

    if (f == NULL)
        return NULL;
    flow_digest(f->digest, key, w->opts->interfaces[key->interface].name);
    f->first_seen_ms = f->last_seen_ms = ts_ms;
    /* A SYN-ACK seen first was sent by the responder. */
    bool syn_ack = (pv->tcp_flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK);
    f->origin = (uint8_t)(syn_ack ? !dir : dir);
    f->state = FLOW_DETECTING;
    if (!detector_flow_start(&w->detector, f)) {
        log_warnx("out of memory for nDPI flow state; flow refused");
        flow_table_remove(&w->flows, f);
        w->flows.flows_refused++;
        return NULL;
    }
    return f;
}

static void track_tcp_close(struct worker *w, struct flow *f, const struct packet_view *pv,
                            int dir)
{
    if (f->key.ip_protocol != 6 || f->closed)
        return;
    if (pv->tcp_flags & TCP_FIN)
        f->fin_seen |= (uint8_t)(1u << dir);
    if (pv->tcp_flags & TCP_RST)
        f->rst_seen = true;
    if (f->fin_seen == 3 || f->rst_seen)
        flow_table_mark_closed(&w->flows, f);
}

/* Replaces the fragment *pv by the datagram it completes, decoded; false
 * when there is none yet (or it cannot be decoded: counted).  The whole
 * datagram keeps what only the frame that carried the fragment knows. */
static bool reassemble(struct worker *w, const struct ring_record *rec, struct packet_view *pv,
                       uint64_t ts_ms, uint64_t *wire_bytes, uint32_t *packets)
{
    struct packet_view frame = *pv;
    struct reassembled whole;

    if (!reassembly_add(&w->reassembly, pv, rec->interface, ts_ms, rec->wire_len, &whole))
        return false;
    enum decode_status st = packet_decode(whole.data, whole.len, DLT_RAW, pv);
    if (st != DECODE_OK) {
        w->counters.decode_errors[st]++;
        return false;
    }
    /* A tunnel inside the datagram that carries a fragment of another:
     * one level of reassembly only. */
    if (pv->fragment) {
        w->counters.nested_fragments++;
        return false;
    }
    uint8_t whole_tunnels = pv->tunnels;
    if (frame.vlan_id)
        pv->vlan_id = frame.vlan_id;
    if (pv->src_mac == NULL) {
        pv->src_mac = frame.src_mac;
        pv->dst_mac = frame.dst_mac;
    }
    pv->tunnels |= frame.tunnels;
    /* The fragment came through GTP-U: the datagram holds only what was inside. */
    if (!(whole_tunnels & (1u << TUNNEL_GTP_U)) && (frame.tunnels & (1u << TUNNEL_GTP_U))) {
        pv->gtp_teid = frame.gtp_teid;
        pv->gtp_ip_version = frame.gtp_ip_version;
        memcpy(pv->gtp_src_ip, frame.gtp_src_ip, sizeof(pv->gtp_src_ip));
        memcpy(pv->gtp_dst_ip, frame.gtp_dst_ip, sizeof(pv->gtp_dst_ip));
        pv->gtp_src_port = frame.gtp_src_port;
        pv->gtp_dst_port = frame.gtp_dst_port;
    }
    *wire_bytes = whole.wire_bytes;
    *packets = whole.fragments;
    return true;
}

static void handle_packet(struct worker *w, const struct ring_record *rec)
{
    struct packet_view pv;
    struct flow_key key;
    int dir;
    /* A flow's times come from its own packets, not from this worker's
     * clock (which other flows' packets move): a capture with time going
     * backwards still gives the same records for any number of workers. */
    uint64_t ts_ms = rec->ts_ns / 1000000;
    uint64_t wire_bytes = rec->wire_len;
    uint32_t packets = 1;

    w->counters.packets++;
    w->counters.bytes += rec->wire_len;
    if (rec->interface >= w->opts->n_interfaces) {
        w->counters.decode_errors[DECODE_UNSUPPORTED_LINK]++;
        return;
    }
    test_hook_packet(rec->data, rec->cap_len);
    enum decode_status st =
        packet_decode_frame(rec->data, rec->cap_len, rec->wire_len, rec->link_type, &pv);
    if (st != DECODE_OK) {
        w->counters.decode_errors[st]++;
        return;
    }
    /* Before the flow sees it: a DNS answer is learned at the same point
     * of every worker's input (see handle_dns_hint). */
    dns_hints_learn(&w->dns_hints, &pv, ts_ms);
    /* The flow's bytes and packets are counted when the datagram is whole:
     * a datagram never made whole belongs to no flow. */
    if (pv.fragment && !reassemble(w, rec, &pv, ts_ms, &wire_bytes, &packets))
        return;
    for (int k = 0; k < TUNNEL_KIND_COUNT; k++)
        w->counters.tunnels[k] += (pv.tunnels >> k) & 1;
    flow_key_from_packet(&key, &pv, rec->interface, &dir);
    uint32_t hash = flow_key_hash(&key);
    struct flow *f = flow_table_find(&w->flows, &key, hash);
    if (f == NULL && (f = flow_start(w, &key, hash, &pv, dir, ts_ms)) == NULL)
        return;
    if (ts_ms > f->last_seen_ms)
        f->last_seen_ms = ts_ms;
    f->bytes[dir] += wire_bytes;
    f->packets[dir] += packets;
    if (pv.src_mac)
        memcpy(f->mac[dir], pv.src_mac, 6);
    flow_table_touch(&w->flows, f);
    track_tcp_close(w, f, &pv, dir);
    if (f->state == FLOW_DETECTED)
        return;
    if (pv.tunnels & (1u << TUNNEL_GTP_U))
        flow_extra_note_gtp(f, &pv, dir);
    detection_step(w, f, detector_process(&w->detector, f, &pv, dir, ts_ms), f->last_seen_ms);
}

/* Another worker's DNS answer: decoded as the owner decodes it, so that
 * both learn exactly the same answers, then used for the cache only. */
static void handle_dns_hint(struct worker *w, const struct ring_record *rec)
{
    struct packet_view pv;

    w->dns_hints.hint_records++;
    if (rec->interface >= w->opts->n_interfaces ||
        packet_decode_frame(rec->data, rec->cap_len, rec->wire_len, rec->link_type, &pv) !=
            DECODE_OK)
        return;
    dns_hints_learn(&w->dns_hints, &pv, rec->ts_ns / 1000000);
}

void worker_handle_record(struct worker *w, const struct ring_record *rec)
{
    /* Benchmark of the transport alone (flowsensed --count-only). */
    if (w->opts->count_only) {
        if (rec->kind == RING_PACKET) {
            w->counters.packets++;
            w->counters.bytes += rec->wire_len;
        }
        return;
    }
    advance_clock(w, rec->ts_ns / 1000000);
    if (rec->kind == RING_PACKET)
        handle_packet(w, rec);
    else if (rec->kind == RING_DNS_HINT)
        handle_dns_hint(w, rec);
}

void worker_purge_all(struct worker *w, const char *reason)
{
    struct flow *f;

    /* Flows that already saw their TCP close keep that reason.  Each
     * purge is reported: the broker may take the tail slowly. */
    while ((f = flow_table_oldest(&w->flows, LIST_CLOSED)) != NULL) {
        purge(w, f, "closed");
        report_held_flows(w);
    }
    for (int list = LIST_OTHER; list <= LIST_TCP; list++)
        while ((f = flow_table_oldest(&w->flows, (enum flow_list)list)) != NULL) {
            purge(w, f, reason);
            report_held_flows(w);
        }
    send_worker_stats(w);
}

void worker_run(struct worker *w)
{
    const struct ring_record *rec;
    unsigned popped = 0;

    channel_set_max_wait(&w->events, w->opts->live ? LIVE_CHANNEL_WAIT_MS : -1);
    /* Live, the capture process wakes us once per read burst anyway, and
     * a spinning worker would take CPU time it needs not to drop. */
    if (w->opts->live)
        w->ring.spin_polls = 0;
    ring_consumer_ready(&w->ring);
    while (!worker_stop_requested) {
        while ((rec = ring_peek(&w->ring)) != NULL) {
            /* Popped first: if this record kills us, our successor starts
             * after it.  It stays readable until ring_release. */
            ring_pop(&w->ring);
            if (rec->kind == RING_END) {
                /* The end record carries the input's last time: flows
                 * still open are purged at that time in every worker. */
                advance_clock(w, rec->ts_ns / 1000000);
                ring_release(&w->ring);
                /* Capture is over: the tail goes to the broker whole. */
                channel_set_max_wait(&w->events, -1);
                worker_purge_all(w, "terminated");
                report_held_flows(w);
                channel_flush(&w->events);
                return;
            }
            worker_handle_record(w, rec);
            report_held_flows(w);
            if (++popped % RELEASE_BATCH == 0)
                ring_release(&w->ring);
        }
        ring_release(&w->ring);
        channel_flush(&w->events);
        report_held_flows(w);
        ring_wait_data(&w->ring, IDLE_WAIT_MS);
    }
    channel_flush(&w->events);
}
