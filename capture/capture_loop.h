/* flowsensed's work after start-up: read packets from every source onto
 * the rings, supervise the children, report counters to the broker, and
 * shut the pipeline down in order. */
#ifndef FLOWSENSE_CAPTURE_LOOP_H
#define FLOWSENSE_CAPTURE_LOOP_H

#include "channel.h"
#include "options.h"
#include "pipeline.h"
#include "source.h"
#include "steer.h"
#include "supervisor.h"

struct capture {
    const struct options *opts;
    struct source sources[FLOWSENSE_MAX_INTERFACES];
    int n_sources;
    struct pipeline *pipeline;
    struct supervisor *supervisor;
    struct steer steer;
    struct channel_writer control;
    uint64_t last_stats_ms;
    uint64_t read_errors;
    bool client_connected;
};

/* Set from the SIGINT/SIGTERM handler. */
extern volatile int capture_stop_requested;

void capture_install_signals(void);
/* Runs until the input ends or a stop is requested, then shuts down.
 * Returns the process exit status. */
int capture_run(struct capture *cap);

#endif
