/* The broker process: reads events from the workers and flowsensed,
 * renders records as JSON and serves them to stream clients and, with
 * --stdout, to standard output.
 *
 * Life cycle:
 *   running   events flow from the channels to the clients;
 *   draining  capture is done (capture_done, or the control channel hit
 *             end of file): keep reading every worker channel until each
 *             reaches end of file, so no record is lost;
 *   flushing  send what the clients still have queued, while it goes on
 *             moving (bounded in time without progress), then exit. */
#ifndef FLOWSENSE_BROKER_H
#define FLOWSENSE_BROKER_H

#include "agent_status.h"
#include "channel.h"
#include "clients.h"
#include "events.h"
#include "fdmap.h"
#include "json_out.h"
#include "options.h"
#include "progress_shm.h"
#include "replay.h"
#include "subscription.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* At the end of a capture: clients whose queues have not moved for this
 * long are closed (any byte sent to any client restarts the time). */
#define BROKER_FLUSH_SECONDS 10
#define BROKER_TERM_FLUSH_SECONDS 1 /* after SIGTERM */

enum broker_phase { BROKER_RUNNING, BROKER_DRAINING, BROKER_FLUSHING };

/* Rate limit for warnings a hostile or broken peer can trigger at will. */
struct log_budget {
    time_t window;
    unsigned logged;
    uint64_t suppressed;
};

/* One input channel: the control channel or a worker's. */
struct broker_channel {
    int fd;
    bool open;
    enum event_source from;
    unsigned worker; /* index, for EVENT_FROM_WORKER */
    char name[24];   /* "control", "worker 3" */
    struct log_budget malformed_log;
};

struct broker {
    struct broker_options opt;
    enum broker_phase phase;
    struct timespec flush_deadline; /* CLOCK_MONOTONIC, while flushing */
    struct timespec next_status;    /* CLOCK_MONOTONIC */

    struct broker_channel control;
    struct broker_channel worker[FLOWSENSE_MAX_WORKERS];
    unsigned workers_open;
    int listen_fd[FLOWSENSE_MAX_LISTENERS];
    /* Listeners whose socket flowsensed bound again (listener_replaced),
     * and those it reported unreachable by their path. */
    uint64_t listeners_recreated;
    bool listener_unavailable[FLOWSENSE_MAX_LISTENERS];
    /* The one process whose descriptors the control channel takes: the
     * capture process writes on it too, and must not pass any. */
    pid_t descriptor_sender;
    bool stdout_open;

    struct client_set clients;
    struct json_out json;
    struct agent agent;
    struct replay replay; /* dump_established_flows */
    struct channel_writer control_out; /* client_connected notices */
    struct log_budget client_log;      /* refused client commands */

    char *message; /* one channel message */
    msgpack_unpacked unpacked;
    msgpack_sbuffer record; /* the broker's own records */
    msgpack_packer record_packer;

    uint64_t events_received, events_malformed, events_unrendered;
    /* Bytes sent plus events received, published for flowsensed's
     * shutdown; a flush goes on while it grows (NULL: not published). */
    struct child_progress *progress;
    uint64_t progress_seen;
};

/* broker.c */
/* Sets everything up from parsed options; fatal when memory is short.
 * Reads the CPU count and nDPI version: call before the sandbox. */
void broker_init(struct broker *b, const struct broker_options *opt);
/* Capture is over: read the worker channels to their end, then flush. */
void broker_begin_drain(struct broker *b, const char *why);
/* Stop reading; send what is queued for at most seconds, then exit. */
void broker_begin_flush(struct broker *b, int seconds, const char *why);
/* Logs at most a few warnings per window; returns whether to log now. */
bool log_budget_allow(struct log_budget *lb);
/* The figures agent_status reports that the broker itself keeps. */
void broker_counters(const struct broker *b, struct agent_counters *c);

/* loop.c */
/* Runs until the stream is over or SIGTERM arrives; returns the exit
 * status. */
int broker_run(struct broker *b);

/* Signals: SIGINT and SIGPIPE ignored, SIGTERM asks for a quick exit. */
void broker_signals_init(void);
bool broker_terminating(void);

/* channels.c */
void broker_read_channel(struct broker *b, struct broker_channel *ch);

/* listeners.c: the control channel's listener events.  Each returns 0,
 * or -1 with *why set when the event is not a valid one. */
/* Takes *fd (sets it to -1; closed if the event is refused) as the new
 * socket of the event's listener, closing the old one. */
int broker_listener_replaced(struct broker *b, const msgpack_object *obj, int *fd,
                             const char **why);
/* The event's listener cannot be reached by its path any more. */
int broker_listener_unavailable(struct broker *b, const msgpack_object *obj, const char **why);
/* How many listeners are unreachable by their path now. */
unsigned broker_listeners_unavailable(const struct broker *b);

/* records.c */
/* Renders one checked flow, flow_status or flow_purge event and sends it
 * to stdout and to every client whose subscription matches; renders
 * nothing when no one takes it. */
void broker_publish(struct broker *b, enum record_type type, const msgpack_object *record);
/* Queues {"type":"error","message":...} for one client. */
void broker_send_error(struct broker *b, struct client *c, const char *message);
/* agent_hello, then agent_status, to a new client; with c NULL to every
 * output (used at start-up, when only stdout can be listening). */
void broker_greet(struct broker *b, struct client *c);
/* The periodic agent_status, to every client and stdout. */
void broker_publish_status(struct broker *b);

/* client_input.c */
/* Reads what a client sent: its subscription, or a refusal. */
void broker_client_input(struct broker *b, struct client *c);
/* Whether a client has sent part of a command line. */
bool broker_commands_pending(const struct broker *b);
/* Refuses (and counts) clients whose command line is overdue. */
void broker_expire_commands(struct broker *b);

/* descriptors.c: checks the inherited descriptors and makes them
 * non-blocking; fatal with a clear message when one is missing or of
 * the wrong kind. */
void broker_check_descriptors(const struct broker_options *opt);
/* Makes the kernel stamp each control message with its sender's pid
 * (SO_PASSCRED), and takes descriptors only from pid.  Call before the
 * sandbox.  Returns -1 with errno set. */
int broker_trust_descriptors_from(struct broker *b, pid_t pid);

/* Maps the progress memory flowsensed passes (fdmap.h), or returns NULL
 * when the broker was started without it.  Call before the sandbox. */
struct child_progress *broker_map_progress(const struct broker_options *opt);

#endif
