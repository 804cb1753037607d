/* flowsensed's command line.  Parsing fails fast with a clear message. */
#ifndef FLOWSENSE_CAPTURE_OPTIONS_H
#define FLOWSENSE_CAPTURE_OPTIONS_H

#include "fdmap.h"

#include <stdbool.h>
#include <stdint.h>

struct source_spec {
    const char *name;   /* interface name, or the file's path */
    const char *label;  /* "interface" in records: iface name or file basename */
    bool live;
    bool internal;      /* LAN role */
    const char *bpf;    /* this source's filter, or NULL for the global -f */
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
    unsigned ttl_idle_flow;      /* seconds */
    unsigned ttl_idle_tcp_flow;  /* seconds */
    uint32_t ring_size;          /* bytes per worker ring */
    unsigned client_queue;       /* bytes a client may have queued in the broker */
    const char *config_path;     /* the configuration file read, NULL if none */
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

#endif
