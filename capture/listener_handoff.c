#include "listener_handoff.h"

#include "channel.h"
#include "listen.h"
#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct pipeline *pipeline;
static int control = -1;
static bool unavailable[FLOWSENSE_MAX_LISTENERS];
/* What the broker has yet to be told, in this order per listener: */
static bool send_socket[FLOWSENSE_MAX_LISTENERS];      /* listen_fds[i] replaced */
static bool send_unavailable[FLOWSENSE_MAX_LISTENERS]; /* listener i unreachable */
static bool stall_logged;

void handoff_init(struct pipeline *p, int control_fd)
{
    pipeline = p;
    control = control_fd;
}

static void on_change(void *ctx, int listener, int new_fd)
{
    (void)ctx;
    if (new_fd < 0) {
        unavailable[listener] = true;
        send_unavailable[listener] = true;
        return;
    }
    if (close(pipeline->listen_fds[listener]) != 0)
        log_warn("closing the replaced socket of listener %d", listener);
    pipeline->listen_fds[listener] = new_fd;
    unavailable[listener] = false;
    send_socket[listener] = true;
    /* listener_replaced tells the broker the listener is reachable again. */
    send_unavailable[listener] = false;
}

/* One event, one datagram: {"type": type, "listener": listener}, with fd
 * attached when fd >= 0.  Never waits: 0 sent, -1 not (errno set). */
static int send_event(const char *type, int listener, int fd)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    union {
        struct cmsghdr h;
        char space[CMSG_SPACE(sizeof(int))];
    } cbuf;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pk_kv_str(&pk, "type", type);
    pk_kv_u64(&pk, "listener", (uint64_t)listener);
    struct iovec iov = { .iov_base = sb.data, .iov_len = sb.size };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (fd >= 0) {
        memset(&cbuf, 0, sizeof(cbuf));
        mh.msg_control = cbuf.space;
        mh.msg_controllen = sizeof(cbuf.space);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    }
    ssize_t n;
    do {
        n = sendmsg(control, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    int err = errno;
    msgpack_sbuffer_destroy(&sb);
    errno = err;
    return n == (ssize_t)iov.iov_len ? 0 : -1;
}

/* Sends what is pending, in listener order; stops at the first send that
 * fails, so nothing overtakes it. */
static void flush_pending(void)
{
    for (int i = 0; i < pipeline->n_listen; i++) {
        if (send_socket[i] && send_event("listener_replaced", i, pipeline->listen_fds[i]) != 0)
            goto stalled;
        send_socket[i] = false;
        if (send_unavailable[i] && send_event("listener_unavailable", i, -1) != 0)
            goto stalled;
        send_unavailable[i] = false;
    }
    stall_logged = false;
    return;
stalled:
    if (!stall_logged)
        log_warn("cannot tell the broker about its listeners yet; trying again every second");
    stall_logged = true;
}

void handoff_check(void)
{
    if (pipeline == NULL)
        return;
    listen_check_paths(on_change, NULL);
    flush_pending();
}

void handoff_broker_started(void)
{
    if (pipeline == NULL)
        return;
    /* A listener_replaced still pending goes too: the channel may hold an
     * older one, which the new broker reads first. */
    for (int i = 0; i < pipeline->n_listen; i++)
        send_unavailable[i] = send_unavailable[i] || unavailable[i];
    flush_pending();
}
