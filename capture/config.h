/* flowsensed's configuration file (/etc/flowsense/flowsense.conf, INI,
 * parsed by libinih), with netifyd's key names where one exists:
 *
 *   [flowsense]   update_interval, max_detection_pkts, ttl_idle_flow,
 *                 ttl_idle_tcp_flow, max_flows, dhc_max_entries, workers, user
 *   [socket]      listen_path[N], listen_address[N] + listen_port[N],
 *                 client_queue_kb, dump_established_flows, dump_unknown_flows
 *   [capture-interface-NAME]  role = LAN|WAN, filter = BPF, address[N] = CIDR
 *   [local-networks]  defaults = yes|no, network[N] = CIDR
 *
 * The file is read before the command line, which overrides it.  A file
 * from outside is hostile input: every value is checked, and the first
 * bad one is reported as FILE:LINE: [section] key: what is allowed. */
#ifndef FLOWSENSE_CAPTURE_CONFIG_H
#define FLOWSENSE_CAPTURE_CONFIG_H

#include "options.h"

#include <stddef.h>

/* $(SYSCONFDIR)/flowsense/flowsense.conf: /etc/... for a PREFIX=/usr build. */
#ifdef FLOWSENSE_CONFIG
#define DEFAULT_CONFIG FLOWSENSE_CONFIG
#else
#define DEFAULT_CONFIG "/etc/flowsense/flowsense.conf"
#endif

/* Applies `path` to `o` (already holding the defaults).  Returns 0, or -1
 * with a message in `err`.  A missing file is an error only if
 * `must_exist`. */
int config_load(struct options *o, const char *path, bool must_exist, char *err,
                size_t errlen);

#endif
