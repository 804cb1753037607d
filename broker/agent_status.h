/* The agent's own records: agent_hello (once per client, on connect) and
 * agent_status (on connect, then every update_interval), and the
 * statistics they are built from: the latest capture_stats from
 * flowsensed and worker_stats from each worker, plus the broker's own
 * measurements and counters.  Records are packed as msgpack maps so they
 * reach clients through the same renderer as every other record. */
#ifndef FLOWSENSE_BROKER_AGENT_STATUS_H
#define FLOWSENSE_BROKER_AGENT_STATUS_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define AGENT_JSON_VERSION 1.9
#define AGENT_BUILD_VERSION_MAX 128

/* The latest statistics event of one process, kept as its msgpack bytes
 * (the unpacked object points into a message buffer that is reused),
 * with the figures agent_status sums. */
struct agent_stats_slot {
    char *raw;
    size_t raw_len, raw_cap;
    double cpu_user, cpu_system; /* seconds */
    uint64_t maxrss_kb;
    uint64_t flows;          /* active flows (workers only) */
    uint64_t dhc_size;       /* entries in its DNS hint cache (workers only) */
    uint64_t events_dropped; /* events a worker could not send */
    uint64_t pid;            /* the worker that sent them (workers only) */
    uint64_t dead_pid;       /* the last worker of this slot that died: its
                              * statistics still queued are ignored */
};

/* Figures that are summed over the processes: now and at the previous
 * periodic agent_status. */
struct agent_totals {
    double cpu_user, cpu_system;
    uint64_t maxrss_kb;
    uint64_t flows;
};

/* The broker's own measurements at the moment a status is built. */
struct agent_self {
    int64_t timestamp; /* epoch seconds */
    uint64_t uptime;   /* seconds since the broker started */
    double cpu_user, cpu_system;
    uint64_t maxrss_kb;
};

/* Counters kept elsewhere in the broker. */
struct agent_counters {
    uint64_t clients_connected, clients_accepted, clients_refused, clients_dropped_slow;
    uint64_t clients_records_sent, clients_bytes_sent;
    uint64_t clients_subscribed, clients_rejected_commands, clients_command_timeouts;
    uint64_t events_received, events_malformed, events_dropped;
    /* The established-flow store (limit 0: dump_established_flows off). */
    uint64_t established_stored, established_limit, established_refused;
    uint64_t established_unkeyed, established_lost, established_replayed;
    /* Listening sockets flowsensed bound again since this broker started,
     * and listeners unreachable by their path now. */
    uint64_t listeners_recreated, listeners_unavailable;
};

struct agent {
    char build_version[AGENT_BUILD_VERSION_MAX];
    unsigned update_interval;
    long cpu_cores;
    struct timespec started; /* CLOCK_MONOTONIC */
    struct agent_stats_slot capture;
    struct agent_stats_slot *workers;
    unsigned n_workers;
    struct agent_totals prev;
    /* What dead workers had used or counted: cumulative figures do not go
     * back when a worker is replaced. */
    double retired_cpu_user, retired_cpu_system;
    uint64_t retired_events_dropped;
};

/* Returns 0, or -1 when memory is short.  Reads the CPU count and the
 * nDPI version, so call it before entering the sandbox. */
int agent_init(struct agent *a, unsigned n_workers, unsigned update_interval);
void agent_destroy(struct agent *a);

/* Keeps a checked capture_stats / worker_stats event; raw is its msgpack
 * encoding.  Returns 0, or -1 when memory is short (the event is lost). */
int agent_store_capture(struct agent *a, const msgpack_object *obj, const char *raw,
                        size_t raw_len);
int agent_store_worker(struct agent *a, unsigned worker, const msgpack_object *obj, const char *raw,
                       size_t raw_len);

/* A worker died (a checked worker_exit event): its statistics are dropped
 * (its flows are gone), its CPU time and drops kept in the totals.
 * Returns 0, or -1 with *why set when the event is not a valid one. */
int agent_worker_exit(struct agent *a, const msgpack_object *obj, const char **why);

/* Sum of workers' events_dropped, dead workers' included. */
uint64_t agent_worker_events_dropped(const struct agent *a);

void agent_measure_self(const struct agent *a, struct agent_self *self);

void agent_hello_pack(const struct agent *a, msgpack_packer *pk);
/* A periodic status also makes the current totals the next status's
 * *_prev values; the one sent on connect leaves them alone. */
void agent_status_pack(struct agent *a, msgpack_packer *pk, const struct agent_self *self,
                       const struct agent_counters *counters, bool periodic);

#endif
