/* The capture process: flowsensed's child that reads packets from every
 * source onto the rings and reports its counters to the broker, inside
 * its own seccomp sandbox (policy/capture.policy).  It ends by telling
 * the broker and putting the end marker on every ring; the supervisor
 * (capture/supervisor_loop.c) shuts the rest down in order. */
#ifndef FLOWSENSE_CAPTURE_LOOP_H
#define FLOWSENSE_CAPTURE_LOOP_H

#include "channel.h"
#include "options.h"
#include "pipeline.h"
#include "progress.h"
#include "replay_clock.h"
#include "source.h"
#include "steer.h"
#include "supervisor.h"

struct capture {
    const struct options *opts;
    struct source sources[FLOWSENSE_MAX_INTERFACES];
    int n_sources;
    struct pipeline *pipeline;
    struct supervisor_counts *counts; /* shared with the supervisor */
    struct steer steer;
    struct channel_writer control;
    uint64_t last_stats_ms;
    uint64_t read_errors;
    bool client_connected;
    struct progress progress;
    struct replay_clock replay_clock;
};

/* Set from the SIGINT/SIGTERM handler. */
extern volatile int capture_stop_requested;

/* SIGINT/SIGTERM set capture_stop_requested; SIGCHLD wakes the supervisor. */
void capture_install_signals(void);
/* Forks the capture process, which enters its sandbox and runs
 * capture_run(); returns its pid. */
pid_t capture_start(struct capture *cap);
/* Runs until the input ends or a stop is requested, then ends the rings.
 * Returns the process exit status: 0, or 1 when every live handle failed. */
int capture_run(struct capture *cap);

#endif
