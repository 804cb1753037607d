/* Event channels: SOCK_SEQPACKET sockets that carry batches of msgpack
 * maps.  One message holds one or more whole maps and never exceeds
 * CHANNEL_MAX_MESSAGE bytes; each map is one event whose keys are the
 * field names of the JSON record it becomes (see DESIGN.md §4).
 *
 * Message types on the worker → broker channels:
 *   flow, flow_status, flow_purge   records for clients, already shaped
 *                                   like their JSON (type, interface,
 *                                   internal, established, flow{...});
 *                                   flow_status and flow_purge end with
 *                                   FLOW_ROUTE_KEY, for the broker only
 *   worker_stats                    counters of one worker (with its pid)
 * On the control channel flowsensed ↔ broker:
 *   capture_stats                   flowsensed → broker, every second
 *   capture_done                    flowsensed → broker: no packet will
 *                                   come; the workers' tail follows
 *   worker_exit                     flowsensed → broker: a worker died
 *                                   (worker, pid, signal or 0, exit
 *                                   status, flows_lost); the broker
 *                                   drops its worker_stats
 *   listener_replaced               flowsensed → broker: the socket file
 *                                   of listener N was removed and bound
 *                                   again ("listener": N); the new
 *                                   listening socket rides along
 *                                   (SCM_RIGHTS, exactly one descriptor)
 *   listener_unavailable            flowsensed → broker: listener N's
 *                                   path holds another file, or cannot
 *                                   be bound again ("listener": N)
 *   client_connected                broker → flowsensed
 */
#ifndef FLOWSENSE_CHANNEL_H
#define FLOWSENSE_CHANNEL_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#define CHANNEL_MAX_MESSAGE (64 * 1024)
/* The last key of a flow_status or flow_purge event: a map holding the
 * detected_protocol_name and detected_application_name of the flow's
 * last `flow` record, which the broker's subscriptions route by.  It is
 * not part of the JSON record. */
#define FLOW_ROUTE_KEY "_route"
/* An event larger than this cannot be sent and is dropped and counted. */
#define CHANNEL_MAX_EVENT (CHANNEL_MAX_MESSAGE - 1024)

struct channel_writer {
    int fd;
    msgpack_sbuffer batch;   /* whole events waiting to be sent */
    msgpack_sbuffer event;   /* the event being built */
    msgpack_packer packer;   /* writes into event */
    uint32_t batch_events;
    int max_wait_ms;         /* how long a send waits for room; -1: for ever */
    bool peer_stalled;       /* a wait expired; no more waits until a send succeeds */
    uint64_t events_sent;
    uint64_t events_dropped; /* too large, the peer gone, or not reading */
    uint64_t messages_sent;
};

void channel_writer_init(struct channel_writer *w, int fd);
void channel_writer_destroy(struct channel_writer *w);
/* Starts a new event; pack exactly one map with the returned packer. */
msgpack_packer *channel_event_begin(struct channel_writer *w);
/* Moves the finished event into the batch, sending the batch first when
 * the event would not fit. */
void channel_event_end(struct channel_writer *w);
/* Sends the batch as one message.  While the peer's queue is full it
 * waits, for ever by default (replay must be lossless).  Returns 0, or -1
 * when the batch was dropped and counted: the peer is gone, or the wait
 * limit passed. */
int channel_flush(struct channel_writer *w);
/* Limits how long channel_flush waits for room to ms (-1: no limit).
 * Once a wait has run out, later flushes drop at once until the peer
 * takes a message again: a dead peer costs one wait, not one per batch. */
void channel_set_max_wait(struct channel_writer *w, int ms);

/* Typed helpers so encoders read like the record they build. */
void pk_str(msgpack_packer *pk, const char *s);
void pk_key(msgpack_packer *pk, const char *key);
void pk_kv_str(msgpack_packer *pk, const char *key, const char *value);
void pk_kv_u64(msgpack_packer *pk, const char *key, uint64_t value);
void pk_kv_i64(msgpack_packer *pk, const char *key, int64_t value);
void pk_kv_bool(msgpack_packer *pk, const char *key, bool value);
void pk_kv_double(msgpack_packer *pk, const char *key, double value);

#endif
