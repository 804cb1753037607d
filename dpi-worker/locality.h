/* Which side of a flow is "local" and what the other side is, as
 * netifyd reports them (other_type, local_origin). */
#ifndef FLOWSENSE_WORKER_LOCALITY_H
#define FLOWSENSE_WORKER_LOCALITY_H

#include "flow.h"

#include <stdbool.h>

struct flow_sides {
    int local;               /* FROM_LOWER or FROM_UPPER */
    const char *other_type;  /* local, remote, multicast, broadcast */
    bool local_origin;       /* the local side sent the first packet */
};

/* Private, unique-local, link-local and loopback addresses. */
bool address_is_local(const uint8_t *ip, int ip_version);
void flow_sides(const struct flow *f, struct flow_sides *s);

#endif
