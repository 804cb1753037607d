/* flowsensed after start-up: the supervisor.  It holds no privilege and
 * reads nothing from the network, clients or files; it keeps the workers
 * and the broker running while the capture process works, then shuts the
 * pipeline down in order.  It loads no seccomp filter because every
 * filter is inherited by the children it starts (policy/README.md). */
#ifndef FLOWSENSE_CAPTURE_SUPERVISOR_LOOP_H
#define FLOWSENSE_CAPTURE_SUPERVISOR_LOOP_H

#include "supervisor.h"

/* Runs until the capture process has ended and every child has finished.
 * Returns flowsensed's exit status: the capture's own, or 1 if the
 * capture process died. */
int supervisor_run(struct supervisor *s, struct pipeline *p);

#endif
