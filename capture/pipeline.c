#define _GNU_SOURCE
#include "pipeline.h"

#include "channel.h"
#include "listen.h"
#include "log.h"

#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/* Events queue here while the broker is slow or restarting. */
#define CHANNEL_BUFFER_BYTES (8 << 20)

static void set_buffer(int fd, int force_opt, int opt, const char *what)
{
    int bytes = CHANNEL_BUFFER_BYTES;

    /* The FORCE variants pass rmem_max/wmem_max as root; fall back
     * to what an unprivileged start may set. */
    if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof(bytes)) != 0 &&
        setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof(bytes)) != 0)
        log_warn("cannot size %s buffer of fd %d", what, fd);
}

static void channel_pair(int *a, int *b)
{
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        fatal("socketpair(SOCK_SEQPACKET)");
    set_buffer(sv[0], SO_SNDBUFFORCE, SO_SNDBUF, "send");
    set_buffer(sv[1], SO_RCVBUFFORCE, SO_RCVBUF, "receive");
    set_buffer(sv[1], SO_SNDBUFFORCE, SO_SNDBUF, "send");
    set_buffer(sv[0], SO_RCVBUFFORCE, SO_RCVBUF, "receive");
    *a = sv[0];
    *b = sv[1];
}

/* The broker's progress: a memfd, mapped here and by each broker. */
static void broker_progress_create(struct pipeline *p)
{
    size_t len = sizeof(*p->broker_progress);

    p->broker_progress_fd = memfd_create("flowsense-broker-progress", MFD_CLOEXEC);
    if (p->broker_progress_fd < 0 || ftruncate(p->broker_progress_fd, (off_t)len) != 0)
        fatal("creating the broker's progress memory");
    p->broker_progress =
        mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, p->broker_progress_fd, 0);
    if (p->broker_progress == MAP_FAILED)
        fatal("mapping the broker's progress memory");
}

void pipeline_create(struct pipeline *p, const struct options *opts, uid_t uid, gid_t gid)
{
    memset(p, 0, sizeof(*p));
    p->n_workers = opts->workers;
    for (int i = 0; i < p->n_workers; i++) {
        struct worker_link *w = &p->workers[i];
        if (ring_create(&w->ring, opts->ring_size, &w->ring_fd) != 0)
            fatal("cannot create the packet ring of worker %d (%u bytes)", i,
                  (unsigned)opts->ring_size);
        channel_pair(&w->worker_channel_fd, &w->broker_channel_fd);
    }
    channel_pair(&p->control_fd, &p->control_peer_fd);
    broker_progress_create(p);
    p->n_listen = opts->n_listen;
    for (int i = 0; i < opts->n_listen; i++)
        p->listen_fds[i] = listen_open(i, opts->listen[i], uid, gid);
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

void pipeline_close_worker_side(struct pipeline *p)
{
    for (int i = 0; i < p->n_workers; i++) {
        struct worker_link *w = &p->workers[i];
        close_fd(&w->worker_channel_fd);
        close_fd(&w->broker_channel_fd);
    }
}

void pipeline_close_all(struct pipeline *p)
{
    pipeline_close_worker_side(p);
    for (int i = 0; i < p->n_workers; i++) {
        struct worker_link *w = &p->workers[i];
        close_fd(&w->ring.data_event_fd);
        close_fd(&w->ring.space_event_fd);
        close_fd(&w->ring_fd);
        ring_detach(&w->ring);
    }
    close_fd(&p->control_fd);
    close_fd(&p->control_peer_fd);
    close_fd(&p->broker_progress_fd);
    if (p->broker_progress != NULL)
        munmap(p->broker_progress, sizeof(*p->broker_progress));
    p->broker_progress = NULL;
    for (int i = 0; i < p->n_listen; i++)
        close_fd(&p->listen_fds[i]);
}
