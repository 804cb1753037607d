/* Stream clients: accept, queue and send, refusal over CLIENT_MAX, the
 * bound that pauses the stream, the stall that drops a client, end of file, and closing
 * without losing queued output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../broker/clients.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define QUEUE_LIMIT (256 * 1024)
#define STALL_MS 50

struct fixture {
    struct client_set cs;
    int listener;
    struct sockaddr_in addr;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    socklen_t len = sizeof(f->addr);

    assert_non_null(f);
    client_set_init(&f->cs, QUEUE_LIMIT, STALL_MS);
    f->listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(f->listener >= 0);
    f->addr.sin_family = AF_INET;
    f->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(f->listener, (struct sockaddr *)&f->addr, sizeof(f->addr)), 0);
    assert_int_equal(getsockname(f->listener, (struct sockaddr *)&f->addr, &len), 0);
    assert_int_equal(listen(f->listener, 8), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    for (unsigned i = 0; i < CLIENT_MAX; i++)
        client_close(&f->cs, &f->cs.slot[i], "test over");
    close(f->listener);
    free(f);
    return 0;
}

/* Connects a peer and accepts it; returns the peer's socket. */
static int connect_peer(struct fixture *f, struct client **c)
{
    int peer = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(peer >= 0);
    assert_int_equal(connect(peer, (struct sockaddr *)&f->addr, sizeof(f->addr)), 0);
    struct pollfd p = { .fd = f->listener, .events = POLLIN };
    assert_int_equal(poll(&p, 1, 2000), 1);
    *c = client_accept(&f->cs, f->listener);
    assert_non_null(*c);
    assert_true((*c)->fd >= 0);
    assert_true(fcntl((*c)->fd, F_GETFL) & O_NONBLOCK);
    return peer;
}

static size_t read_all(int fd, char *buf, size_t cap)
{
    size_t len = 0;

    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 2000) != 1)
            fail_msg("peer saw no end of file");
        ssize_t n = read(fd, buf + len, cap - len);
        assert_true(n >= 0);
        if (n == 0)
            return len;
        len += (size_t)n;
    }
}

static void test_accept_queue_and_send(void **state)
{
    struct fixture *f = *state;
    struct client *a, *b;
    char buf[64];

    assert_null(client_accept(&f->cs, f->listener)); /* nobody waiting */
    int pa = connect_peer(f, &a);
    int pb = connect_peer(f, &b);
    assert_int_equal(f->cs.connected, 2);
    assert_int_equal(f->cs.accepted, 2);
    assert_true(a->id != b->id);

    assert_int_equal(client_queue(&f->cs, a, "hello\n", 6), 0);
    assert_true(client_has_output(a));
    assert_false(client_has_output(b));
    client_set_broadcast(&f->cs, "all\n", 4);
    assert_int_equal(client_flush(&f->cs, a), 0);
    assert_int_equal(client_flush(&f->cs, b), 0);
    assert_false(client_has_output(a));

    assert_int_equal(recv(pa, buf, 10, MSG_WAITALL), 10);
    assert_memory_equal(buf, "hello\nall\n", 10);
    assert_int_equal(recv(pb, buf, sizeof(buf), MSG_DONTWAIT), 4);
    assert_memory_equal(buf, "all\n", 4);
    assert_int_equal(f->cs.records_queued, 3);
    assert_int_equal(f->cs.bytes_sent, 14);
    close(pa);
    close(pb);
}

static void test_client_over_the_limit_is_refused(void **state)
{
    struct fixture *f = *state;
    static int peers[CLIENT_MAX];
    struct client *c;
    char buf[256];
    const char *want = "{\"type\":\"error\",\"message\":\"too many clients: at most 256 at once\"}\n";

    for (unsigned i = 0; i < CLIENT_MAX; i++)
        peers[i] = connect_peer(f, &c);
    assert_int_equal(f->cs.connected, CLIENT_MAX);

    int extra = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(extra >= 0);
    assert_int_equal(connect(extra, (struct sockaddr *)&f->addr, sizeof(f->addr)), 0);
    struct pollfd p = { .fd = f->listener, .events = POLLIN };
    assert_int_equal(poll(&p, 1, 2000), 1);
    errno = EBADF;
    assert_null(client_accept(&f->cs, f->listener));
    assert_int_equal(errno, 0);
    assert_int_equal(f->cs.refused, 1);
    assert_int_equal(f->cs.connected, CLIENT_MAX);
    assert_int_equal(f->cs.accepted, CLIENT_MAX);
    assert_null(client_accept(&f->cs, f->listener)); /* the backlog is empty */

    /* the refused peer reads one framed error record, then end of file */
    size_t len = read_all(extra, buf, sizeof(buf) - 1);
    buf[len] = '\0';
    char header[32];
    snprintf(header, sizeof(header), "{\"length\":%zu}\n", strlen(want));
    assert_int_equal(len, strlen(header) + strlen(want));
    assert_memory_equal(buf, header, strlen(header));
    assert_string_equal(buf + strlen(header), want);
    close(extra);
    for (unsigned i = 0; i < CLIENT_MAX; i++)
        close(peers[i]);
}

/* Queues chunk-sized records until the client is full. */
static size_t fill(struct fixture *f, struct client *c)
{
    char chunk[1000];
    size_t queued = 0;

    memset(chunk, 'x', sizeof(chunk));
    while (c->full_since_ms == 0) {
        assert_int_equal(client_queue(&f->cs, c, chunk, sizeof(chunk)), 0);
        queued += sizeof(chunk);
        assert_true(queued < QUEUE_LIMIT + sizeof(chunk));
    }
    return queued;
}

static void test_full_client_pauses_then_is_dropped_when_stalled(void **state)
{
    struct fixture *f = *state;
    struct client *slow, *fast;

    int ps = connect_peer(f, &slow);
    int pf = connect_peer(f, &fast);
    /* small socket buffers, so the kernel cannot absorb the queue */
    int small = 4096;
    assert_int_equal(setsockopt(ps, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
    assert_int_equal(setsockopt(slow->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    assert_int_equal(f->cs.full, 0);
    size_t queued = fill(f, slow);
    assert_true(queued >= QUEUE_LIMIT - 1000);
    assert_int_equal(f->cs.full, 1);
    assert_true(slow->fd >= 0);

    /* it may still take the records of the event at hand */
    assert_int_equal(client_queue(&f->cs, slow, "more", 4), 0);
    client_set_drop_stalled(&f->cs);
    assert_true(slow->fd >= 0);

    /* its peer reads nothing: past the stall time it is dropped */
    client_flush(&f->cs, slow);
    usleep((STALL_MS + 20) * 1000);
    client_flush(&f->cs, slow);
    client_set_drop_stalled(&f->cs);
    assert_int_equal(slow->fd, -1);
    assert_int_equal(f->cs.dropped_slow, 1);
    assert_int_equal(f->cs.full, 0);
    assert_int_equal(f->cs.connected, 1);
    /* the other client is untouched */
    assert_true(fast->fd >= 0);
    close(ps);
    close(pf);
}

static void test_reading_client_drains_and_stays(void **state)
{
    struct fixture *f = *state;
    struct client *c;
    char buf[1 << 16];
    size_t got = 0;

    int peer = connect_peer(f, &c);
    size_t queued = fill(f, c);
    assert_int_equal(f->cs.full, 1);
    while (got < queued) {
        assert_int_equal(client_flush(&f->cs, c), 0);
        ssize_t n = recv(peer, buf, sizeof(buf), 0);
        assert_true(n > 0);
        got += (size_t)n;
    }
    assert_int_equal(got, queued);
    assert_int_equal(f->cs.full, 0);
    assert_int_equal(c->full_since_ms, 0);
    usleep((STALL_MS + 20) * 1000);
    client_set_drop_stalled(&f->cs);
    assert_true(c->fd >= 0);
    assert_int_equal(f->cs.dropped_slow, 0);
    close(peer);
}

static void test_queue_past_twice_the_bound_drops(void **state)
{
    struct fixture *f = *state;
    struct client *c;
    static char big[QUEUE_LIMIT];

    int peer = connect_peer(f, &c);
    assert_int_equal(client_queue(&f->cs, c, big, sizeof(big)), 0);
    assert_int_equal(f->cs.full, 1);
    assert_int_equal(client_queue(&f->cs, c, big, sizeof(big)), 0);
    assert_int_equal(client_queue(&f->cs, c, "x", 1), -1);
    assert_int_equal(c->fd, -1);
    assert_int_equal(f->cs.dropped_slow, 1);
    assert_int_equal(f->cs.full, 0);
    close(peer);
}

static void test_end_of_file_closes(void **state)
{
    struct fixture *f = *state;
    struct client *c;

    int peer = connect_peer(f, &c);
    /* data is read and discarded, the client stays */
    assert_int_equal(write(peer, "{\"subscribe\":{}}\n", 17), 17);
    usleep(20000);
    client_read(&f->cs, c);
    assert_true(c->fd >= 0);
    assert_int_equal(f->cs.connected, 1);

    close(peer);
    usleep(20000);
    client_read(&f->cs, c);
    assert_int_equal(c->fd, -1);
    assert_int_equal(f->cs.connected, 0);
    assert_int_equal(f->cs.dropped_slow, 0);
}

static void test_send_to_a_vanished_peer_closes(void **state)
{
    struct fixture *f = *state;
    struct client *c;

    int peer = connect_peer(f, &c);
    /* unread data makes the peer's close a reset */
    assert_int_equal(client_queue(&f->cs, c, "a", 1), 0);
    assert_int_equal(client_flush(&f->cs, c), 0);
    close(peer);
    usleep(20000);
    for (int i = 0; i < 10 && c->fd >= 0; i++) {
        if (client_queue(&f->cs, c, "b", 1) == 0)
            client_flush(&f->cs, c);
        usleep(10000);
    }
    assert_int_equal(c->fd, -1);
    assert_int_equal(f->cs.connected, 0);
}

static void test_close_all_delivers_queued_output(void **state)
{
    struct fixture *f = *state;
    struct client *c;
    char buf[256];

    int peer = connect_peer(f, &c);
    /* the peer sent something the broker never read */
    assert_int_equal(write(peer, "unread", 6), 6);
    usleep(20000);
    assert_int_equal(client_queue(&f->cs, c, "last record\n", 12), 0);
    assert_int_equal(client_flush(&f->cs, c), 0);
    client_set_close_all(&f->cs);
    assert_int_equal(f->cs.connected, 0);

    /* the output arrives, then a clean end of file (not a reset) */
    assert_int_equal(read_all(peer, buf, sizeof(buf)), 12);
    assert_memory_equal(buf, "last record\n", 12);
    close(peer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_accept_queue_and_send),
        T(test_client_over_the_limit_is_refused),
        T(test_full_client_pauses_then_is_dropped_when_stalled),
        T(test_reading_client_drains_and_stays),
        T(test_queue_past_twice_the_bound_drops),
        T(test_end_of_file_closes),
        T(test_send_to_a_vanished_peer_closes),
        T(test_close_all_delivers_queued_output),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
