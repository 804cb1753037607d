/* The process graph, created in one place before any child starts:
 * one packet ring and one event channel per worker, one control channel
 * to the broker, and the listening sockets.  flowsensed keeps every end
 * so that a restarted child gets the same descriptors back. */
#ifndef FLOWSENSE_CAPTURE_PIPELINE_H
#define FLOWSENSE_CAPTURE_PIPELINE_H

#include "fdmap.h"
#include "options.h"
#include "progress_shm.h"
#include "ring.h"

#include <sys/types.h>

struct worker_link {
    struct ring ring;       /* producer view */
    int ring_fd;            /* memfd -> worker fd 3 */
    int worker_channel_fd;  /* -> worker fd 6 */
    int broker_channel_fd;  /* -> broker fd 4+i */
    unsigned pending;       /* packets reserved since the last publish */
};

struct pipeline {
    int n_workers;
    struct worker_link workers[FLOWSENSE_MAX_WORKERS];
    int control_fd;         /* our end of the control channel */
    int control_peer_fd;    /* -> broker fd 3 */
    int broker_progress_fd; /* memfd -> broker fd 4+W+L */
    struct child_progress *broker_progress; /* what the broker publishes there */
    int listen_fds[FLOWSENSE_MAX_LISTENERS];
    int n_listen;
};

/* Fatal on any failure: nothing can run without the whole graph. */
void pipeline_create(struct pipeline *p, const struct options *opts, uid_t uid, gid_t gid);
/* Closes the worker ends and rings after the workers have exited, so the
 * broker sees end-of-file on each event channel once it has drained it. */
void pipeline_close_worker_side(struct pipeline *p);
void pipeline_close_all(struct pipeline *p);

#endif
