/* flowsensed's command line.  Parsing fails fast with a clear message. */
#ifndef FLOWSENSE_CAPTURE_OPTIONS_H
#define FLOWSENSE_CAPTURE_OPTIONS_H

#include "fdmap.h"
#include "ip_prefix.h"

#include <stdbool.h>
#include <stdint.h>

struct source_spec {
    const char *name;   /* interface name, or the file's path */
    const char *label;  /* "interface" in records: iface name or file basename */
    bool live;
    bool internal;      /* LAN role */
    const char *bpf;    /* this source's filter, or NULL for the global -f */
    /* Its own networks: address[N] or -A, then (live) the interface's
     * addresses with their prefix; local for flows of this source only. */
    struct ip_prefix_list addresses;
};

struct options {
    struct source_spec sources[FLOWSENSE_MAX_INTERFACES];
    int n_sources;
    bool live;
    int workers;
    const char *listen[FLOWSENSE_MAX_LISTENERS];
    int n_listen;
    bool to_stdout;
    bool wait_for_client;
    const char *user;
    const char *bpf;
    bool debug;
    unsigned update_interval;    /* seconds */
    unsigned max_detection_pkts;
    unsigned max_flows;          /* per worker */
    unsigned dhc_max_entries;    /* DNS hint cache addresses, per worker */
    unsigned ttl_idle_flow;      /* seconds */
    unsigned ttl_idle_tcp_flow;  /* seconds */
    uint32_t ring_size;          /* bytes per worker ring */
    unsigned client_queue;       /* bytes a client may have queued in the broker */
    bool dump_established_flows; /* replay active flows to each new client */
    bool dump_unknown_flows;     /* ... Unknown ones included */
    const char *config_path;     /* the configuration file read, NULL if none */
    /* Local for every source: [local-networks] network[N] or --local-net,
     * after the built-in ones unless defaults = no (local_networks.h). */
    struct ip_prefix_list local_nets;
    bool no_default_local_nets;
    bool count_only;             /* benchmark: workers only count packets (no DPI) */
};

#define DEFAULT_LISTEN "unix:/run/flowsense/flowsense.sock"
#define DEFAULT_USER "flowsense"

/* Fills opts from the configuration file (-c FILE, else the default one if
 * it exists), then argv, which overrides it; exits with status 0 for -V/-h
 * and --check-config, and 2 on bad usage or a bad configuration. */
void options_parse(struct options *opts, int argc, char **argv);

/* Add a source / a listening address; NULL, or why not. */
const char *options_add_source(struct options *o, const char *name, bool live, bool internal);
const char *options_add_listen(struct options *o, const char *address);

/* yes or no, in any case: 0 with *value set, or -1. */
int options_parse_bool(const char *text, bool *value);

#endif
