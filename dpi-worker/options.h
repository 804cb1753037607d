/* flowsense-worker's command line, written by flowsensed. */
#ifndef FLOWSENSE_WORKER_OPTIONS_H
#define FLOWSENSE_WORKER_OPTIONS_H

#include "fdmap.h"
#include "ip_prefix.h"

#include <stdbool.h>

struct worker_interface {
    const char *name;
    bool internal;
    struct ip_prefix_list own_nets;  /* --address after its --interface */
};

struct worker_options {
    int id;
    int pid;                     /* this process, in worker_stats: the broker tells
                                  * a dead worker's late stats from its successor's */
    bool live;                   /* live capture: never wait long on the broker */
    bool count_only;             /* benchmark: count packets, no decoding or DPI */
    const char *user;
    bool debug;
    unsigned update_interval;    /* seconds of packet time */
    unsigned max_detection_pkts;
    unsigned max_flows;
    unsigned dhc_max_entries;    /* DNS hint cache addresses */
    unsigned ttl_idle_flow;      /* seconds */
    unsigned ttl_idle_tcp_flow;  /* seconds */
    struct worker_interface interfaces[FLOWSENSE_MAX_INTERFACES];
    int n_interfaces;
    struct ip_prefix_list local_nets; /* --local-net: local on every interface */
};

void worker_options_parse(struct worker_options *o, int argc, char **argv);

#endif
