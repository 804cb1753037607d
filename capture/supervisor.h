/* Starts the workers and the broker with the descriptor layout of
 * fdmap.h, restarts any that dies (within a second, see supervisor.c),
 * and counts what each death cost. */
#ifndef FLOWSENSE_CAPTURE_SUPERVISOR_H
#define FLOWSENSE_CAPTURE_SUPERVISOR_H

#include "options.h"
#include "pipeline.h"

#include <signal.h>
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
    unsigned start_failures; /* consecutive deaths before it was ready */
    bool finished;          /* exited 0 after shutdown began */
};

/* A worker died: what the broker is told (a worker_exit event). */
struct worker_exit {
    int worker;
    pid_t pid;
    int signal;          /* the signal that killed it, 0 if it exited */
    int status;          /* its exit status, when signal is 0 */
    uint64_t flows_lost; /* flows it held: they die with it */
};

typedef void (*worker_exit_fn)(void *ctx, const struct worker_exit *e);

/* worker_deaths[0]: exits; worker_deaths[n]: deaths by signal n. */
#define SUPERVISOR_DEATH_CAUSES NSIG

/* Shared with the capture process (anonymous shared memory): what the
 * supervisor counts, which the capture reports in capture_stats, and the
 * capture's word that it is ending the rings. */
struct supervisor_counts {
    _Atomic uint64_t worker_restarts;
    _Atomic uint64_t broker_restarts;
    _Atomic uint64_t flows_lost;
    _Atomic uint64_t worker_deaths[SUPERVISOR_DEATH_CAUSES];
    /* Set by the capture before it puts the end marker on the rings: from
     * then on a worker that ends is done, not restarted. */
    _Atomic int capture_ending;
};

struct supervisor {
    const struct options *opts;
    struct pipeline *pipeline;
    char worker_path[4096];
    char broker_path[4096];
    struct child workers[FLOWSENSE_MAX_WORKERS];
    struct child broker;
    bool shutting_down;
    struct supervisor_counts *counts;
    pid_t capture_pid;      /* the capture process, 0 once it has ended */
    int capture_status;     /* its wait status once ended */
    worker_exit_fn on_worker_exit; /* optional; called from supervisor_poll */
    /* The workers' command line: its tail on the sources and networks
     * (built once), and room for all of it. */
    char **worker_sources;
    size_t n_worker_sources;
    char **worker_argv;
    void *on_worker_exit_ctx;
};

/* Finds the child executables next to flowsensed, else in LIBEXECDIR. */
void supervisor_init(struct supervisor *s, const struct options *opts, struct pipeline *p);
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
void sleep_ms(unsigned ms);

#endif
