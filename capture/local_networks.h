/* Which networks count as local, per source, decided once by flowsensed
 * before it drops privileges and handed to every worker on its command
 * line:
 *
 *   every source   the built-in private networks (unless [local-networks]
 *                  defaults = no), then [local-networks] network[N] or
 *                  --local-net;
 *   one source     its address[N] or -A, and for a live interface the
 *                  networks of its own addresses (getifaddrs), whose
 *                  IPv4 directed broadcast counts as broadcast.
 *
 * A replay file has no interface to ask: only configured networks. */
#ifndef FLOWSENSE_CAPTURE_LOCAL_NETWORKS_H
#define FLOWSENSE_CAPTURE_LOCAL_NETWORKS_H

#include "options.h"

#include <stddef.h>
#include <stdio.h>

/* RFC 1918, RFC 4193 unique local, link-local and loopback. */
extern const char *const local_networks_builtin[];

/* Puts the built-in networks in front of o->local_nets (unless turned
 * off) and adds each live interface's own networks to its source.
 * Returns 0, or -1 with a message in err (a list past
 * IP_PREFIX_LIST_MAX).  An interface whose addresses cannot be read is
 * warned about on stderr and keeps its configured networks. */
int local_networks_resolve(struct options *o, char *err, size_t errlen);

/* One line for the shared networks, one per source, for --check-config. */
void local_networks_print(const struct options *o, FILE *out);

#endif
