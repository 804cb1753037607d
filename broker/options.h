/* The broker's command line, as flowsensed passes it:
 *   flowsense-broker --workers W --listeners L [--stdout] [--live | --wait-for-client]
 *                    [--client-queue BYTES] [--update-interval SEC]
 *                    [--established-flows N [--dump-unknown-flows]] [-u USER] [-d] */
#ifndef FLOWSENSE_BROKER_OPTIONS_H
#define FLOWSENSE_BROKER_OPTIONS_H

#include "fdmap.h"

#include <stdbool.h>
#include <stddef.h>

#define BROKER_DEFAULT_USER "flowsense"
#define BROKER_DEFAULT_UPDATE_INTERVAL 15
#define BROKER_MAX_UPDATE_INTERVAL 3600
/* "A few MiB": CLIENT_MAX clients at this bound stay within a known
 * budget (see clients.h). */
#define BROKER_DEFAULT_CLIENT_QUEUE (4u << 20)
#define BROKER_MIN_CLIENT_QUEUE (64u << 10)
#define BROKER_MAX_CLIENT_QUEUE (1u << 30)
/* max_flows of every worker at most (see capture/options.c) */
#define BROKER_MAX_ESTABLISHED_FLOWS (100000000ul * FLOWSENSE_MAX_WORKERS)

struct broker_options {
    unsigned workers;         /* worker channels at fd 4.. */
    unsigned listeners;       /* listening sockets after them */
    bool to_stdout;           /* NDJSON on fd 1 */
    bool live;                /* live capture: never hold the workers for a client */
    bool wait_for_client;     /* replay for clients: take no worker event before the
                               * first client (a restarted broker holds the replay
                               * until one is back) */
    unsigned client_queue;    /* bytes a client may have queued */
    unsigned update_interval; /* seconds between agent_status records */
    unsigned long established_flows; /* store bound; 0: no connect-time replay */
    bool dump_unknown_flows;  /* the replay includes flows of no known protocol */
    const char *user;         /* unprivileged user to become */
    bool debug;
};

/* Parses argv into *opt.  Returns 0, or -1 with a one-line reason in
 * err (help requested: 1, with nothing in err). */
int broker_options_parse(int argc, char **argv, struct broker_options *opt, char *err,
                         size_t errlen);

extern const char broker_usage[];

#endif
