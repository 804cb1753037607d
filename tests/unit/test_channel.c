/* The event channel writer: batches reach the peer whole, a peer that
 * stops reading costs a bounded wait once (live mode), and an unbounded
 * writer waits until the peer reads (replay). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "channel.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct fixture {
    int sv[2]; /* [0] writer end, [1] reader end */
    struct channel_writer w;
};

static int setup(void **state)
{
    static struct fixture f;
    int small = 16384;

    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, f.sv), 0);
    /* a small queue fills after a few messages */
    assert_int_equal(setsockopt(f.sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    channel_writer_init(&f.w, f.sv[0]);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    channel_writer_destroy(&f->w);
    close(f->sv[0]);
    close(f->sv[1]);
    return 0;
}

static int64_t elapsed_ms(const struct timespec *since)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

/* One event of about `bytes` bytes, then a flush. */
static int send_event(struct channel_writer *w, size_t bytes)
{
    static char filler[8192];

    msgpack_packer *pk = channel_event_begin(w);
    msgpack_pack_map(pk, 2);
    pk_kv_str(pk, "type", "flow");
    pk_key(pk, "pad");
    msgpack_pack_bin(pk, bytes);
    msgpack_pack_bin_body(pk, filler, bytes);
    channel_event_end(w);
    return channel_flush(w);
}

static int read_all(int fd)
{
    char buf[CHANNEL_MAX_MESSAGE];
    int n = 0;

    while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
        n++;
    return n;
}

static void test_bounded_wait_drops_once_then_at_once(void **state)
{
    struct fixture *f = *state;
    struct timespec t0;
    int sent = 0, rc;

    channel_set_max_wait(&f->w, 100);
    while (clock_gettime(CLOCK_MONOTONIC, &t0), (rc = send_event(&f->w, 4000)) == 0)
        sent++;
    assert_true(elapsed_ms(&t0) >= 90);
    assert_true(sent > 0);
    assert_int_equal(f->w.events_sent, (uint64_t)sent);
    assert_int_equal(f->w.events_dropped, 1);
    assert_true(f->w.peer_stalled);

    /* the peer still does not read: dropped without waiting again */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(send_event(&f->w, 4000), -1);
    assert_true(elapsed_ms(&t0) < 50);
    assert_int_equal(f->w.events_dropped, 2);

    /* the peer reads again: sending works and the next full queue waits again */
    assert_int_equal(read_all(f->sv[1]), sent);
    assert_int_equal(send_event(&f->w, 4000), 0);
    assert_false(f->w.peer_stalled);
    while (clock_gettime(CLOCK_MONOTONIC, &t0), (rc = send_event(&f->w, 4000)) == 0)
        ;
    int64_t waited = elapsed_ms(&t0);
    assert_true(waited >= 90 && waited < 1000);
}

/* Unbounded (replay): the writer waits for the peer, and loses nothing. */
static void test_unbounded_wait_blocks_until_the_peer_reads(void **state)
{
    struct fixture *f = *state;
    int sent = 0;

    channel_set_max_wait(&f->w, 0);
    while (send_event(&f->w, 4000) == 0)
        sent++;
    assert_int_equal(read_all(f->sv[1]), sent);
    f->w.events_dropped = 0;

    channel_set_max_wait(&f->w, -1);
    pid_t reader = fork();
    assert_true(reader >= 0);
    if (reader == 0) {
        /* reads slowly, 3 * sent messages in all */
        char buf[CHANNEL_MAX_MESSAGE];
        for (int got = 0; got < 3 * sent;) {
            usleep(20000);
            if (recv(f->sv[1], buf, sizeof(buf), 0) > 0)
                got++;
        }
        _exit(0);
    }
    for (int i = 0; i < 3 * sent; i++)
        assert_int_equal(send_event(&f->w, 4000), 0);
    int status;
    assert_int_equal(waitpid(reader, &status, 0), reader);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(f->w.events_dropped, 0);
}

static void test_gone_peer_is_counted(void **state)
{
    struct fixture *f = *state;

    close(f->sv[1]);
    f->sv[1] = -1;
    assert_int_equal(send_event(&f->w, 100), -1);
    assert_int_equal(f->w.events_dropped, 1);
    assert_false(f->w.peer_stalled);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bounded_wait_drops_once_then_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unbounded_wait_blocks_until_the_peer_reads, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_gone_peer_is_counted, setup, teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
