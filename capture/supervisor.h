/* Starts the workers and the broker with the descriptor layout of
 * fdmap.h, and restarts any that dies, with back-off. */
#ifndef FLOWSENSE_CAPTURE_SUPERVISOR_H
#define FLOWSENSE_CAPTURE_SUPERVISOR_H

#include "options.h"
#include "pipeline.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct child {
    const char *role;       /* "worker" or "broker" */
    int index;
    pid_t pid;              /* 0 while not running */
    uint64_t started_ms;
    uint64_t restart_at_ms; /* when to start again, 0 if not scheduled */
    unsigned backoff_ms;
    unsigned quick_deaths;  /* consecutive deaths soon after a start */
    bool finished;          /* exited 0 after shutdown began */
};

/* Shared with the capture process (anonymous shared memory), which
 * reports them in capture_stats. */
struct restart_counts {
    _Atomic uint64_t workers;
    _Atomic uint64_t broker;
};

struct supervisor {
    const struct options *opts;
    const struct pipeline *pipeline;
    char worker_path[4096];
    char broker_path[4096];
    struct child workers[FLOWSENSE_MAX_WORKERS];
    struct child broker;
    bool shutting_down;
    struct restart_counts *restarts;
    pid_t capture_pid;      /* the capture process, 0 once it has ended */
    int capture_status;     /* its wait status once ended */
};

/* Finds the child executables next to flowsensed, else in LIBEXECDIR. */
void supervisor_init(struct supervisor *s, const struct options *opts,
                     const struct pipeline *p);
void supervisor_start_all(struct supervisor *s);
/* Reaps dead children and starts those whose back-off has passed.
 * Cheap when nothing happened: call it from every loop. */
void supervisor_poll(struct supervisor *s);
/* From now on a child that exits 0 is done, not restarted. */
void supervisor_begin_shutdown(struct supervisor *s);
bool supervisor_workers_finished(const struct supervisor *s);
bool supervisor_broker_finished(const struct supervisor *s);
/* Sends sig to every running child. */
void supervisor_signal_all(struct supervisor *s, int sig);
/* Set from the SIGCHLD handler. */
extern volatile int supervisor_child_exited;

uint64_t monotonic_ms(void);

#endif
