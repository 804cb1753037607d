/* Events arriving on the broker's channels.  Every message is hostile
 * until checked: a peer may be a compromised worker.  A message is read
 * whole (it never exceeds CHANNEL_MAX_MESSAGE), split into msgpack
 * objects, and each object is accepted only if it is a renderable map
 * whose "type" is a string naming an event its channel may send. */
#ifndef FLOWSENSE_BROKER_EVENTS_H
#define FLOWSENSE_BROKER_EVENTS_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum event_source {
    EVENT_FROM_WORKER,  /* a worker's event channel */
    EVENT_FROM_CONTROL, /* flowsensed's control channel */
};

enum event_kind {
    EVENT_INVALID = 0,
    EVENT_FLOW,
    EVENT_FLOW_STATUS,
    EVENT_FLOW_PURGE,
    EVENT_WORKER_STATS,
    EVENT_CAPTURE_STATS,
    EVENT_CAPTURE_DONE,
    EVENT_WORKER_EXIT,
    EVENT_LISTENER_REPLACED,    /* carries a descriptor: see broker_control_recv */
    EVENT_LISTENER_UNAVAILABLE,
};

/* Returns the kind of one event, or EVENT_INVALID with *why set. */
enum event_kind broker_event_classify(const msgpack_object *obj, enum event_source from,
                                      const char **why);

/* Called once per object of a message.  For EVENT_INVALID, obj may be
 * NULL (the message could not be parsed) and why says what was wrong.
 * raw/raw_len are the object's msgpack bytes inside the message. */
typedef void broker_event_fn(void *ctx, enum event_kind kind, const msgpack_object *obj,
                             const char *raw, size_t raw_len, const char *why);

/* Calls fn for every object of one message, in order.  A message that
 * ends inside an object or holds bytes that are not msgpack yields one
 * EVENT_INVALID and ends the walk: nothing after it can be trusted.
 * unpacked is scratch space the caller keeps (msgpack_unpacked_init). */
void broker_event_walk(const char *msg, size_t len, enum event_source from,
                       msgpack_unpacked *unpacked, broker_event_fn *fn, void *ctx);

/* Receives one message from a channel without blocking.  Returns its
 * length, 0 at end of file, or -1 with errno set (EAGAIN: nothing to
 * read).  *truncated is set when the message was longer than cap; its
 * tail is lost then. */
ssize_t broker_channel_recv(int fd, char *buf, size_t cap, bool *truncated);
/* The same, for the control channel only, which may pass one descriptor
 * with a message (listener_replaced).  *passed is that descriptor, the
 * caller's to close, or -1.  *refused is set when the message came with
 * anything else (more descriptors, other control data, more than fit):
 * all of it is closed then and *passed is -1.  A worker channel is read
 * with broker_channel_recv, without room for control data, so the kernel
 * discards any descriptor a worker sends.  *sender is the sending
 * process as the kernel saw it (SO_PASSCRED), or 0 without it. */
ssize_t broker_control_recv(int fd, char *buf, size_t cap, bool *truncated, int *passed,
                            bool *refused, pid_t *sender);

#endif
