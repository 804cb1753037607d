/* Listeners bound again at run time (listen.c), handed to the broker.
 *
 * When a unix: listener's socket file is removed, flowsensed binds a new
 * socket at the path and passes it to the running broker on the control
 * channel (a listener_replaced event carrying the descriptor, SCM_RIGHTS),
 * so connected clients keep their streams; it also keeps it in
 * pipeline->listen_fds, so a broker started later inherits it.  A path
 * that holds another file is reported (listener_unavailable) and left
 * alone.  The broker counts both in agent_status ("listeners"). */
#ifndef FLOWSENSE_CAPTURE_LISTENER_HANDOFF_H
#define FLOWSENSE_CAPTURE_LISTENER_HANDOFF_H

#include "pipeline.h"

/* control_fd: the supervisor's end of the control channel. */
void handoff_init(struct pipeline *p, int control_fd);
/* Looks at the listeners' paths (every second), then sends the broker
 * what it has not been told yet; a send the channel has no room for is
 * tried again at the next call. */
void handoff_check(void);
/* A broker was started: it inherited the current listeners, but not the
 * knowledge of which are unreachable by their path: tell it again. */
void handoff_broker_started(void);

#endif
