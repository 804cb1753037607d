/* Stream clients: sockets accepted on the listeners flowsensed passed
 * in.  Every socket is non-blocking and each client has a bounded output
 * queue.
 *
 * A client whose queue reaches its bound is "full".  In a replay, while
 * any client is full the broker takes no new events, so the replay runs
 * at the pace of its readers and a reading client loses nothing (the
 * workers wait on their channels); a full client that has not drained to
 * half its bound within the stall time is disconnected and counted as
 * dropped.  While a live capture runs (stall time 0) nothing waits for a
 * client: a full client is disconnected and counted at once; once capture
 * has stopped, the tail of the stream is delivered as in a replay. */
#ifndef FLOWSENSE_BROKER_CLIENTS_H
#define FLOWSENSE_BROKER_CLIENTS_H

#include "fdmap.h"
#include "sandbox.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CLIENT_STALL_MS 2000
/* A command line longer than this, or not complete this long after its
 * first byte, is refused and the client cut off. */
#define CLIENT_COMMAND_MAX 4096
#define CLIENT_COMMAND_MS 5000

struct subscription;

/* At most this many clients at once; one more is accepted, sent an error
 * record and closed at once, and counted as refused.  Memory, not
 * descriptors, sets the figure: each client may hold up to twice its
 * queue bound (see client_queue), so the worst case is
 * CLIENT_MAX x 2 x client_queue (256 x 8 MiB = 2 GiB at the default
 * 4 MiB; a replay keeping every queue full measured about 1.6 x the
 * bound per client, and live a client is dropped at its bound). */
#define CLIENT_MAX 256
/* Descriptors the broker holds besides its clients: stdin/out/err, the
 * control channel, every worker channel, every listener, and the one a
 * client over the limit needs while it is refused. */
#define CLIENT_RESERVED_FDS (3 + 1 + FLOWSENSE_MAX_WORKERS + FLOWSENSE_MAX_LISTENERS + 1)
_Static_assert(CLIENT_MAX + CLIENT_RESERVED_FDS <= SANDBOX_MAX_OPEN_FILES,
               "CLIENT_MAX clients do not fit in the broker's open-file limit");

struct client {
    int fd;      /* -1: free slot */
    uint64_t id; /* for log messages */
    char *queue; /* bytes [head, tail) wait to be sent */
    size_t head, tail, cap;
    int64_t full_since_ms; /* CLOCK_MONOTONIC; 0 while below the bound */

    /* Input: at most one command line, before anything else. */
    char *command;               /* the line so far (CLIENT_COMMAND_MAX bytes) */
    size_t command_len;
    int64_t command_started_ms;  /* CLOCK_MONOTONIC of its first byte; 0: none */
    bool commanded;              /* its one command has been taken */
    bool input_closed;           /* shut its side down after subscribing */
    struct subscription *sub;    /* NULL: every record */
    bool closing;                /* refused: gets no more records, closed once flushed */
};

struct client_set {
    struct client slot[CLIENT_MAX];
    unsigned connected;
    unsigned full; /* clients at their bound: take no new events */
    size_t queue_limit;
    int64_t stall_ms; /* how long a client may stay full */
    uint64_t accepted;
    uint64_t refused;        /* over CLIENT_MAX: accepted only to be closed */
    uint64_t dropped_slow;
    uint64_t records_queued; /* records queued to clients, all of them */
    uint64_t bytes_sent;     /* bytes written to client sockets */
    uint64_t subscribed;        /* subscriptions taken */
    uint64_t rejected_commands; /* commands refused, timed out ones included */
    uint64_t command_timeouts;  /* partial command lines cut off */
};

void client_set_init(struct client_set *cs, size_t queue_limit, int64_t stall_ms);

/* Accepts one pending connection.  Returns the new client, or NULL when
 * none is pending, accept failed (logged, errno set), or the set was
 * full: the connection is then refused (an error record, a close) and
 * counted in cs->refused. */
struct client *client_accept(struct client_set *cs, int listen_fd);

/* Appends one record of len bytes to the client's queue; reaching the bound makes the
 * client full.  The queue may pass its bound by the records of the event
 * being handled, never by twice the bound: a client that would is
 * disconnected and counted as dropped, and -1 returned. */
int client_queue(struct client_set *cs, struct client *c, const char *data, size_t len);
/* Queues to every client that takes records (none being closed). */
void client_set_broadcast(struct client_set *cs, const char *data, size_t len);

static inline bool client_takes_records(const struct client *c)
{
    return c->fd >= 0 && !c->closing;
}

/* Current CLOCK_MONOTONIC time in milliseconds. */
int64_t client_clock_ms(void);

/* Disconnects, and counts as dropped, every client full for longer than
 * the stall time. */
void client_set_drop_stalled(struct client_set *cs);

static inline bool client_has_output(const struct client *c)
{
    return c->tail > c->head;
}

/* Sends as much queued output as the socket takes; a full client that
 * drains to half its bound is full no more, and a closing client whose
 * queue is empty is closed.  Returns 0, or -1 when the client was closed
 * (error, peer gone, or done closing). */
int client_flush(struct client_set *cs, struct client *c);

/* Reads and discards whatever the client sent; closes it on end of file
 * or error. */
void client_read(struct client_set *cs, struct client *c);

/* Receives up to cap bytes without blocking.  Returns the count, 0 when
 * nothing is waiting, or -1 at end of file or on error (*eof tells). */
ssize_t client_recv(struct client *c, char *buf, size_t cap, bool *eof);

/* After its error record is queued: the client takes no more records,
 * and is closed once that record has been sent. */
void client_refuse(struct client_set *cs, struct client *c);

void client_close(struct client_set *cs, struct client *c, const char *why);
/* Closes every client, after reading what each sent so that close()
 * does not reset the connection and lose output still in flight. */
void client_set_close_all(struct client_set *cs);

#endif
