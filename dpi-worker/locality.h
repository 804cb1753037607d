/* Which side of a flow is "local" and what the other side is, as
 * netifyd reports them (other_type, local_origin), from the networks
 * flowsensed told the worker are local: those of every interface
 * (--local-net) and those of the flow's interface (--address). */
#ifndef FLOWSENSE_WORKER_LOCALITY_H
#define FLOWSENSE_WORKER_LOCALITY_H

#include "flow.h"
#include "options.h"

#include <stdbool.h>

struct flow_sides {
    int local;               /* FROM_LOWER or FROM_UPPER */
    const char *other_type;  /* local, remote, multicast, broadcast */
    bool local_origin;       /* the local side sent the first packet */
};

void flow_sides(const struct worker_options *o, const struct flow *f, struct flow_sides *s);

#endif
