#include "broker.h"

#include "log.h"

#include <errno.h>
#include <unistd.h>

/* Messages read from one channel per wake-up, so that one busy worker
 * cannot starve the others or the clients.  Reading stops early when a
 * client is full (see clients.h). */
#define MESSAGES_PER_WAKEUP 64

struct dispatch {
    struct broker *b;
    struct broker_channel *ch;
    int passed_fd; /* came with the message; a listener_replaced takes it */
};

static void reject(struct broker *b, struct broker_channel *ch, const char *why)
{
    b->events_malformed++;
    if (log_budget_allow(&ch->malformed_log))
        log_warnx("%s channel: event rejected: %s", ch->name, why);
}

static void on_event(void *ctx, enum event_kind kind, const msgpack_object *obj, const char *raw,
                     size_t raw_len, const char *why)
{
    struct dispatch *d = ctx;
    struct broker *b = d->b;

    /* These are checked field by field as they are applied. */
    if (kind == EVENT_WORKER_EXIT && agent_worker_exit(&b->agent, obj, &why) != 0)
        kind = EVENT_INVALID;
    if (kind == EVENT_LISTENER_REPLACED &&
        broker_listener_replaced(b, obj, &d->passed_fd, &why) != 0)
        kind = EVENT_INVALID;
    if (kind == EVENT_LISTENER_UNAVAILABLE && broker_listener_unavailable(b, obj, &why) != 0)
        kind = EVENT_INVALID;
    if (kind == EVENT_INVALID) {
        reject(b, d->ch, why);
        return;
    }
    b->events_received++;
    switch (kind) {
    case EVENT_FLOW:
        broker_flow_event(b, RECORD_FLOW, obj, d->ch->worker);
        break;
    case EVENT_FLOW_STATUS:
        broker_flow_event(b, RECORD_FLOW_STATUS, obj, d->ch->worker);
        break;
    case EVENT_FLOW_PURGE:
        broker_flow_event(b, RECORD_FLOW_PURGE, obj, d->ch->worker);
        break;
    case EVENT_WORKER_STATS:
        if (agent_store_worker(&b->agent, d->ch->worker, obj, raw, raw_len) != 0)
            log_warnx("%s channel: worker_stats lost (out of memory)", d->ch->name);
        break;
    case EVENT_CAPTURE_STATS:
        if (agent_store_capture(&b->agent, obj, raw, raw_len) != 0)
            log_warnx("control channel: capture_stats lost (out of memory)");
        break;
    case EVENT_CAPTURE_DONE:
        broker_begin_drain(b, "capture done");
        break;
    case EVENT_WORKER_EXIT: /* applied to the agent above */
        broker_replay_worker_exit(b, obj);
        break;
    case EVENT_LISTENER_REPLACED: /* applied above */
    case EVENT_LISTENER_UNAVAILABLE:
        break;
    case EVENT_INVALID:
        break;
    }
}

static void channel_closed(struct broker *b, struct broker_channel *ch)
{
    ch->open = false;
    if (close(ch->fd) != 0)
        log_warn("closing the %s channel", ch->name);
    if (ch->from == EVENT_FROM_CONTROL) {
        broker_begin_drain(b, "control channel closed (capture is gone)");
        return;
    }
    b->workers_open--;
    log_debug("%s channel at end of file; %u still open", ch->name, b->workers_open);
}

/* One message; only the control channel may pass a descriptor with it. */
static ssize_t receive(struct broker *b, struct broker_channel *ch, bool *truncated, int *passed)
{
    bool refused = false;
    pid_t sender;
    ssize_t n;

    *passed = -1;
    if (ch->from != EVENT_FROM_CONTROL)
        return broker_channel_recv(ch->fd, b->message, CHANNEL_MAX_MESSAGE, truncated);
    n = broker_control_recv(ch->fd, b->message, CHANNEL_MAX_MESSAGE, truncated, passed, &refused,
                            &sender);
    if (refused)
        reject(b, ch, "message passed descriptors or control data other than one descriptor");
    if (*passed >= 0 && (sender == 0 || sender != b->descriptor_sender)) {
        close(*passed);
        *passed = -1;
        reject(b, ch, "descriptor passed by a process other than flowsensed");
    }
    if (*passed >= 0 && (n <= 0 || *truncated)) {
        close(*passed);
        *passed = -1;
    }
    return n;
}

void broker_read_channel(struct broker *b, struct broker_channel *ch)
{
    struct dispatch d = { .b = b, .ch = ch, .passed_fd = -1 };

    for (int i = 0; i < MESSAGES_PER_WAKEUP && ch->open; i++) {
        if (ch->from == EVENT_FROM_WORKER && b->clients.full > 0)
            return;
        bool truncated;
        ssize_t n = receive(b, ch, &truncated, &d.passed_fd);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (ch->from == EVENT_FROM_WORKER)
                broker_replay_channel_idle(b, ch->worker);
            return;
        }
        if (n < 0)
            log_warn("%s channel: recv", ch->name);
        if (n <= 0) {
            channel_closed(b, ch);
            return;
        }
        if (truncated) {
            reject(b, ch, "message longer than the channel limit");
            continue;
        }
        broker_event_walk(b->message, (size_t)n, ch->from, &b->unpacked, on_event, &d);
        if (d.passed_fd >= 0) {
            close(d.passed_fd);
            d.passed_fd = -1;
            reject(b, ch, "descriptor passed without a listener_replaced event for it");
        }
    }
}
