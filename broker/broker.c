#include "broker.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_BUDGET_WINDOW 10 /* seconds */
#define LOG_BUDGET_LINES 5

static void channel_init(struct broker_channel *ch, int fd, enum event_source from, unsigned worker)
{
    *ch = (struct broker_channel){ .fd = fd, .open = true, .from = from, .worker = worker };
    if (from == EVENT_FROM_WORKER)
        snprintf(ch->name, sizeof(ch->name), "worker %u", worker);
    else
        snprintf(ch->name, sizeof(ch->name), "control");
}

void broker_init(struct broker *b, const struct broker_options *opt)
{
    memset(b, 0, sizeof(*b));
    b->opt = *opt;
    b->phase = BROKER_RUNNING;
    channel_init(&b->control, FD_BROKER_CONTROL, EVENT_FROM_CONTROL, 0);
    for (unsigned i = 0; i < opt->workers; i++)
        channel_init(&b->worker[i], FD_BROKER_FIRST_WORKER + (int)i, EVENT_FROM_WORKER, i);
    b->workers_open = opt->workers;
    for (unsigned i = 0; i < opt->listeners; i++)
        b->listen_fd[i] = FD_BROKER_FIRST_WORKER + (int)(opt->workers + i);
    b->stdout_open = opt->to_stdout;

    /* Replay is lossless end to end, so a full client holds the workers
     * for a while; live capture must not wait on anyone: a full client
     * is dropped at once. */
    client_set_init(&b->clients, opt->client_queue, opt->live ? 0 : CLIENT_STALL_MS);
    channel_writer_init(&b->control_out, FD_BROKER_CONTROL);
    msgpack_unpacked_init(&b->unpacked);
    msgpack_sbuffer_init(&b->record);
    msgpack_packer_init(&b->record_packer, &b->record, msgpack_sbuffer_write);
    b->message = malloc(CHANNEL_MAX_MESSAGE);
    if (b->message == NULL || json_out_init(&b->json) != 0 ||
        agent_init(&b->agent, opt->workers, opt->update_interval) != 0)
        fatalx("out of memory setting up the broker");
    broker_replay_init(b);
}

void broker_begin_drain(struct broker *b, const char *why)
{
    if (b->phase != BROKER_RUNNING)
        return;
    log_debug("%s: reading the %u open worker channel(s) to their end", why, b->workers_open);
    b->phase = BROKER_DRAINING;
    /* Capture has stopped: from here the records are a finite tail (the
     * purges of every open flow), which a reading client must get whole. */
    b->clients.stall_ms = CLIENT_STALL_MS;
}

void broker_begin_flush(struct broker *b, int seconds, const char *why)
{
    if (b->phase == BROKER_FLUSHING)
        return;
    log_debug("%s: sending what %u client(s) still have queued (%d s without progress at most)",
              why, b->clients.connected, seconds);
    b->phase = BROKER_FLUSHING;
    clock_gettime(CLOCK_MONOTONIC, &b->flush_deadline);
    b->flush_deadline.tv_sec += seconds;
}

bool log_budget_allow(struct log_budget *lb)
{
    time_t now = time(NULL);

    if (now - lb->window >= LOG_BUDGET_WINDOW) {
        if (lb->suppressed > 0)
            log_warnx("%llu similar warning(s) suppressed", (unsigned long long)lb->suppressed);
        lb->window = now;
        lb->logged = 0;
        lb->suppressed = 0;
    }
    if (lb->logged < LOG_BUDGET_LINES) {
        lb->logged++;
        return true;
    }
    lb->suppressed++;
    return false;
}

void broker_counters(const struct broker *b, struct agent_counters *c)
{
    *c = (struct agent_counters){
        .clients_connected = b->clients.connected,
        .clients_accepted = b->clients.accepted,
        .clients_refused = b->clients.refused,
        .clients_dropped_slow = b->clients.dropped_slow,
        .clients_records_sent = b->clients.records_queued,
        .clients_bytes_sent = b->clients.bytes_sent,
        .clients_subscribed = b->clients.subscribed,
        .clients_rejected_commands = b->clients.rejected_commands,
        .clients_command_timeouts = b->clients.command_timeouts,
        .events_received = b->events_received,
        .events_malformed = b->events_malformed,
        .events_dropped = agent_worker_events_dropped(&b->agent) + b->events_unrendered,
        .established_stored = b->replay.store.count,
        .established_limit = b->replay.store.limit,
        .established_refused = b->replay.store.refused,
        .established_unkeyed = b->replay.store.unkeyed,
        .established_lost = b->replay.store.lost,
        .established_replayed = b->replay.records,
        .listeners_recreated = b->listeners_recreated,
        .listeners_unavailable = broker_listeners_unavailable(b),
    };
}
