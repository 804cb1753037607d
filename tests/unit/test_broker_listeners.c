/* The broker's side of a listener bound again by flowsensed: a
 * listener_replaced event on the control channel with exactly one
 * descriptor (SCM_RIGHTS) becomes the listener's socket; anything else is
 * rejected, counted as malformed, and every descriptor that came with it
 * closed: the event on a worker channel (whose descriptors the kernel
 * discards), a bad or missing index, no descriptor, two descriptors, a
 * descriptor with another event, a descriptor from another process than
 * flowsensed (SO_PASSCRED).  listener_unavailable marks a listener
 * unreachable until its next replacement. */
#define _GNU_SOURCE /* accept4 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "broker.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define LISTENERS 2
#define NO_INDEX UINT64_MAX /* pack the event without "listener" */

struct fixture {
    struct broker b;
    int control_peer, worker_peer;
    int listen_fd[LISTENERS]; /* what the broker started with */
};

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    assert_non_null(d);
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

/* A listening socket in the abstract namespace, named by tag. */
static int listening_socket(int tag, struct sockaddr_un *addr, socklen_t *len)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    memset(addr, 0, sizeof(*addr));
    addr->sun_family = AF_UNIX;
    int n = snprintf(addr->sun_path + 1, sizeof(addr->sun_path) - 1,
                     "flowsense-test-listeners-%d-%d", (int)getpid(), tag);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    assert_int_equal(bind(fd, (struct sockaddr *)addr, *len), 0);
    assert_int_equal(listen(fd, 4), 0);
    return fd;
}

static void channel_pair(int *broker_end, int *our_end)
{
    int sv[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    *broker_end = sv[0];
    *our_end = sv[1];
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct broker_options opt = {
        .workers = 1,
        .listeners = LISTENERS,
        .update_interval = 15,
        .client_queue = BROKER_MIN_CLIENT_QUEUE,
        .user = "nobody",
    };
    struct sockaddr_un addr;
    socklen_t len;

    assert_non_null(f);
    broker_init(&f->b, &opt);
    channel_pair(&f->b.control.fd, &f->control_peer);
    assert_int_equal(broker_trust_descriptors_from(&f->b, getpid()), 0);
    channel_pair(&f->b.worker[0].fd, &f->worker_peer);
    f->b.control_out.fd = f->b.control.fd;
    for (int i = 0; i < LISTENERS; i++)
        f->b.listen_fd[i] = f->listen_fd[i] = listening_socket(100 + i, &addr, &len);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    struct broker *b = &f->b;

    for (int i = 0; i < LISTENERS; i++)
        close(b->listen_fd[i]);
    close(b->control.fd);
    close(b->worker[0].fd);
    close(f->control_peer);
    close(f->worker_peer);
    established_destroy(&b->replay.store);
    agent_destroy(&b->agent);
    json_out_destroy(&b->json);
    channel_writer_destroy(&b->control_out);
    msgpack_unpacked_destroy(&b->unpacked);
    msgpack_sbuffer_destroy(&b->record);
    free(b->message);
    free(f);
    return 0;
}

/* Sends {"type": type, "listener": index} on peer with fds attached (n of
 * them); returns whether the whole message went. */
static bool send_event(int peer, const char *type, uint64_t index, const int *fds, int n)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    union {
        struct cmsghdr align;
        char space[CMSG_SPACE(2 * sizeof(int))];
    } cbuf;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, index == NO_INDEX ? 1 : 2);
    pk_kv_str(&pk, "type", type);
    if (index != NO_INDEX)
        pk_kv_u64(&pk, "listener", index);
    struct iovec iov = { .iov_base = sb.data, .iov_len = sb.size };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (n > 0) {
        memset(&cbuf, 0, sizeof(cbuf));
        mh.msg_control = cbuf.space;
        mh.msg_controllen = CMSG_SPACE((size_t)n * sizeof(int));
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
        memcpy(CMSG_DATA(cm), fds, (size_t)n * sizeof(int));
    }
    bool sent = sendmsg(peer, &mh, MSG_NOSIGNAL) == (ssize_t)sb.size;
    msgpack_sbuffer_destroy(&sb);
    return sent;
}

/* send_event from this process, then lets the broker read the channel. */
static void deliver(struct fixture *f, struct broker_channel *ch, int peer, const char *type,
                    uint64_t index, const int *fds, int n)
{
    assert_true(send_event(peer, type, index, fds, n));
    broker_read_channel(&f->b, ch);
}

/* The same event sent by another process on the control channel, as the
 * capture process could (it writes there too). */
static void deliver_from_child(struct fixture *f, const char *type, uint64_t index, const int *fds,
                               int n)
{
    int status;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0)
        _exit(send_event(f->control_peer, type, index, fds, n) ? 0 : 1);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    broker_read_channel(&f->b, &f->b.control);
}

static void to_control(struct fixture *f, const char *type, uint64_t index, const int *fds, int n)
{
    deliver(f, &f->b.control, f->control_peer, type, index, fds, n);
}

static ino_t inode_of(int fd)
{
    struct stat st;

    assert_int_equal(fstat(fd, &st), 0);
    return st.st_ino;
}

static struct agent_counters counters(const struct broker *b)
{
    struct agent_counters c;

    broker_counters(b, &c);
    return c;
}

static void test_replaced_takes_the_socket(void **state)
{
    struct fixture *f = *state;
    struct sockaddr_un addr;
    socklen_t len;
    int fresh = listening_socket(1, &addr, &len);
    int before = open_fds();

    to_control(f, "listener_replaced", 1, &fresh, 1);
    assert_int_equal(f->b.events_malformed, 0);
    assert_int_equal(f->b.events_received, 1);
    assert_int_equal(f->b.listen_fd[0], f->listen_fd[0]);
    int now = f->b.listen_fd[1];
    assert_int_not_equal(now, f->listen_fd[1]);
    assert_int_equal(inode_of(now), inode_of(fresh));
    /* the old socket is closed: one descriptor in, one out */
    assert_int_equal(open_fds(), before);
    assert_int_equal(fcntl(f->listen_fd[1], F_GETFD), -1);
    assert_int_equal(errno, EBADF);
    assert_true(fcntl(now, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(counters(&f->b).listeners_recreated, 1);
    assert_int_equal(counters(&f->b).listeners_unavailable, 0);

    /* a client reaches the broker through it */
    int client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(client, (struct sockaddr *)&addr, len), 0);
    int accepted = accept4(now, NULL, NULL, SOCK_CLOEXEC);
    assert_true(accepted >= 0);
    close(accepted);
    close(client);
    close(fresh);
}

static void test_unavailable_until_replaced(void **state)
{
    struct fixture *f = *state;
    struct sockaddr_un addr;
    socklen_t len;

    to_control(f, "listener_unavailable", 0, NULL, 0);
    to_control(f, "listener_unavailable", 0, NULL, 0); /* told again after a restart */
    to_control(f, "listener_unavailable", 1, NULL, 0);
    assert_int_equal(counters(&f->b).listeners_unavailable, 2);
    int fresh = listening_socket(2, &addr, &len);
    to_control(f, "listener_replaced", 0, &fresh, 1);
    close(fresh);
    assert_int_equal(counters(&f->b).listeners_unavailable, 1);
    assert_int_equal(counters(&f->b).listeners_recreated, 1);
    assert_int_equal(f->b.events_malformed, 0);
    assert_int_equal(f->b.events_received, 4);
    /* a bad index is refused and changes nothing */
    to_control(f, "listener_unavailable", LISTENERS, NULL, 0);
    to_control(f, "listener_unavailable", NO_INDEX, NULL, 0);
    assert_int_equal(counters(&f->b).listeners_unavailable, 1);
    assert_int_equal(f->b.events_malformed, 2);
}

/* Each hostile delivery: rejected, counted once or more, nothing changed,
 * no descriptor left behind. */
static void expect_refused(struct fixture *f, int fds_before, uint64_t malformed_before)
{
    for (int i = 0; i < LISTENERS; i++)
        assert_int_equal(f->b.listen_fd[i], f->listen_fd[i]);
    assert_int_equal(counters(&f->b).listeners_recreated, 0);
    assert_int_equal(open_fds(), fds_before);
    assert_true(f->b.events_malformed > malformed_before);
}

static void test_hostile_deliveries_refused(void **state)
{
    struct fixture *f = *state;
    struct sockaddr_un addr;
    socklen_t len;
    int fresh = listening_socket(3, &addr, &len);
    int other = listening_socket(4, &addr, &len);
    int two[2] = { fresh, other };
    int before = open_fds();
    uint64_t malformed = 0;

    /* from a worker: its descriptor never reaches the broker */
    deliver(f, &f->b.worker[0], f->worker_peer, "listener_replaced", 0, &fresh, 1);
    expect_refused(f, before, malformed);
    malformed = f->b.events_malformed;
    /* an index past --listeners, none at all */
    to_control(f, "listener_replaced", LISTENERS, &fresh, 1);
    expect_refused(f, before, malformed);
    malformed = f->b.events_malformed;
    to_control(f, "listener_replaced", NO_INDEX, &fresh, 1);
    expect_refused(f, before, malformed);
    malformed = f->b.events_malformed;
    /* no descriptor */
    to_control(f, "listener_replaced", 0, NULL, 0);
    expect_refused(f, before, malformed);
    malformed = f->b.events_malformed;
    /* two descriptors */
    to_control(f, "listener_replaced", 0, two, 2);
    expect_refused(f, before, malformed);
    malformed = f->b.events_malformed;
    /* from another process than the one trusted (the capture process
     * shares the control channel) */
    deliver_from_child(f, "listener_replaced", 0, &fresh, 1);
    expect_refused(f, before, malformed);
    malformed = f->b.events_malformed;
    /* a descriptor with an event that takes none: the event stands */
    to_control(f, "listener_unavailable", 1, &fresh, 1);
    expect_refused(f, before, malformed);
    assert_int_equal(counters(&f->b).listeners_unavailable, 1);
    assert_int_equal(f->b.events_malformed, malformed + 1);
    assert_int_equal(f->b.events_received, 1);
    close(fresh);
    close(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replaced_takes_the_socket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unavailable_until_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_deliveries_refused, setup, teardown),
    };

    log_init("test_broker_listeners", 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
