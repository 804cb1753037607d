/* The packet ring: empty, full, wrap-around, ordering, corrupt records,
 * a restarted consumer, and a producer and consumer in two processes over
 * shared memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ring.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct pair {
    struct ring producer, consumer;
    int memfd;
};

static int setup(void **state)
{
    static struct pair p;

    assert_int_equal(ring_create(&p.producer, RING_MIN_SIZE, &p.memfd), 0);
    assert_int_equal(ring_attach(&p.consumer, p.memfd, p.producer.data_event_fd,
                                 p.producer.space_event_fd), 0);
    *state = &p;
    return 0;
}

static int teardown(void **state)
{
    struct pair *p = *state;

    ring_detach(&p->consumer);
    close(p->producer.data_event_fd);
    close(p->producer.space_event_fd);
    ring_detach(&p->producer);
    close(p->memfd);
    return 0;
}

static void push(struct ring *r, uint32_t seq, uint32_t len)
{
    struct ring_record *rec = ring_reserve(r, len);

    assert_non_null(rec);
    rec->kind = RING_PACKET;
    rec->ts_ns = seq;
    memset(rec->data, (int)(seq & 0xff), len);
}

static void expect(struct ring *r, uint32_t seq, uint32_t len)
{
    const struct ring_record *rec = ring_peek(r);

    assert_non_null(rec);
    assert_int_equal(rec->kind, RING_PACKET);
    assert_int_equal(rec->ts_ns, seq);
    assert_int_equal(rec->cap_len, len);
    for (uint32_t i = 0; i < len; i++)
        assert_int_equal(rec->data[i], seq & 0xff);
    ring_pop(r);
}

static void test_empty(void **state)
{
    struct pair *p = *state;

    assert_null(ring_peek(&p->consumer));
    /* Reserved but unpublished records are invisible. */
    push(&p->producer, 1, 10);
    assert_null(ring_peek(&p->consumer));
    ring_publish(&p->producer);
    expect(&p->consumer, 1, 10);
    assert_null(ring_peek(&p->consumer));
}

/* How many times the producer signalled the data eventfd since the last
 * call (it is non-blocking: nothing there reads as EAGAIN). */
static uint64_t wakeups(struct pair *p)
{
    uint64_t n = 0;

    if (read(p->producer.data_event_fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
        return 0;
    return n;
}

static void test_lazy_publish_wakes_in_batches(void **state)
{
    struct pair *p = *state;
    uint32_t seq = 0;

    /* An awake consumer is never signalled: it looks at head again. */
    push(&p->producer, seq++, 0);
    ring_publish(&p->producer);
    assert_int_equal(wakeups(p), 0);
    expect(&p->consumer, 0, 0);
    ring_release(&p->consumer);

    /* A sleeping one sees lazily published records but is not woken... */
    atomic_store(&p->consumer.sh->consumer_sleeping, 1);
    for (int i = 0; i < 10; i++)
        push(&p->producer, seq++, 0);
    ring_publish_lazy(&p->producer);
    assert_int_equal(wakeups(p), 0);
    assert_non_null(ring_peek(&p->consumer));
    /* ...until a plain publish ends the burst, even with nothing new. */
    ring_publish(&p->producer);
    assert_int_equal(wakeups(p), 1);
    ring_publish(&p->producer);
    assert_int_equal(wakeups(p), 0);

    /* Or until a quarter of the ring waits (32-byte records, 64 KiB). */
    uint32_t woken_at = 0;
    for (uint32_t i = 0; i < RING_MIN_SIZE / 32 / 2 && woken_at == 0; i++) {
        push(&p->producer, seq++, 0);
        ring_publish_lazy(&p->producer);
        if (wakeups(p) > 0)
            woken_at = i + 1;
    }
    /* 10 records were waiting already (the first one was released). */
    assert_int_equal((woken_at + 10) * 32, RING_MIN_SIZE / 4);
}

static void test_full_then_space_returns(void **state)
{
    struct pair *p = *state;
    uint32_t n = 0;

    /* 1000-byte packets take 1032 bytes each: 63 fit in 64 KiB. */
    while (ring_reserve(&p->producer, 1000) != NULL)
        n++;
    assert_int_equal(n, RING_MIN_SIZE / 1032);
    ring_publish(&p->producer);
    assert_null(ring_reserve(&p->producer, 1000));
    assert_non_null(ring_peek(&p->consumer));
    ring_pop(&p->consumer);
    /* Space comes back only when the consumer releases it. */
    assert_null(ring_reserve(&p->producer, 1000));
    ring_release(&p->consumer);
    assert_non_null(ring_reserve(&p->producer, 1000));
}

static void test_wraparound_keeps_order(void **state)
{
    struct pair *p = *state;
    uint32_t next_in = 0, next_out = 0;

    /* Sizes that do not divide the area force padding records at the end;
     * 40 rounds go round the 64 KiB area many times. */
    for (int round = 0; round < 40; round++) {
        for (int i = 0; i < 7; i++, next_in++)
            push(&p->producer, next_in, 1 + (next_in * 389) % 4000);
        ring_publish(&p->producer);
        for (int i = 0; i < 7; i++, next_out++)
            expect(&p->consumer, next_out, 1 + (next_out * 389) % 4000);
        ring_release(&p->consumer);
    }
    assert_null(ring_peek(&p->consumer));
    assert_int_equal(atomic_load(&p->producer.sh->records_pushed), 280);
    assert_int_equal(atomic_load(&p->producer.sh->records_consumed), 280);
}

static void test_oversized_record_refused(void **state)
{
    struct pair *p = *state;

    assert_null(ring_reserve(&p->producer, RING_MIN_SIZE));
    assert_non_null(ring_reserve(&p->producer, 1500));
}

static void test_corrupt_size_resets_ring(void **state)
{
    struct pair *p = *state;

    push(&p->producer, 1, 100);
    push(&p->producer, 2, 100);
    ring_publish(&p->producer);
    /* A hostile producer writes a size that points past the data. */
    struct ring_record *rec = (struct ring_record *)p->producer.sh->data;
    rec->size = 0x7ffffff8;
    assert_null(ring_peek(&p->consumer));
    assert_int_equal(atomic_load(&p->consumer.sh->records_corrupt), 1);
    /* The ring is usable again afterwards. */
    push(&p->producer, 3, 10);
    ring_publish(&p->producer);
    expect(&p->consumer, 3, 10);
}

static void test_cap_len_beyond_record_is_corrupt(void **state)
{
    struct pair *p = *state;

    push(&p->producer, 1, 64);
    ring_publish(&p->producer);
    ((struct ring_record *)p->producer.sh->data)->cap_len = 4096;
    assert_null(ring_peek(&p->consumer));
    assert_int_equal(atomic_load(&p->consumer.sh->records_corrupt), 1);
}

static void test_attach_rejects_bad_header(void **state)
{
    struct pair *p = *state;
    struct ring other;

    p->producer.sh->magic = 0;
    assert_int_equal(ring_attach(&other, p->memfd, -1, -1), -1);
    p->producer.sh->magic = RING_MAGIC;
}

/* Found by fuzz_ring: a size the memory behind the ring cannot hold
 * would fault (SIGBUS) on the first read past its end. */
static void test_attach_rejects_size_beyond_memory(void **state)
{
    struct pair *p = *state;
    struct ring other;

    p->producer.sh->data_size = RING_MIN_SIZE * 4;
    assert_int_equal(ring_attach(&other, p->memfd, -1, -1), -1);
    p->producer.sh->data_size = RING_MIN_SIZE;
}

/* Found by fuzz_ring: positions a producer cannot have written reset the
 * ring instead of being read. */
static void test_hostile_positions_reset_ring(void **state)
{
    struct pair *p = *state;

    push(&p->producer, 1, 100);
    ring_publish(&p->producer);
    /* More bytes in use than the area holds. */
    atomic_store(&p->producer.sh->head, RING_MIN_SIZE * 2);
    assert_null(ring_peek(&p->consumer));
    assert_int_equal(atomic_load(&p->consumer.sh->records_corrupt), 1);
    /* A position off the 8-byte grid of records. */
    p->consumer.local_pos += 3;
    atomic_store(&p->producer.sh->head, p->consumer.local_pos + 64);
    assert_null(ring_peek(&p->consumer));
    assert_int_equal(atomic_load(&p->consumer.sh->records_corrupt), 2);
}

/* Found by fuzz_ring: a size changed after attach is not believed. */
static void test_size_changed_after_attach_ignored(void **state)
{
    struct pair *p = *state;

    push(&p->producer, 1, 10);
    ring_publish(&p->producer);
    p->producer.sh->data_size = RING_MAX_SIZE;
    expect(&p->consumer, 1, 10);
    assert_null(ring_peek(&p->consumer));
    assert_int_equal(atomic_load(&p->consumer.sh->records_corrupt), 0);
    p->producer.sh->data_size = RING_MIN_SIZE;
}

/* A consumer that dies after popping records it has not released: the
 * next one starts after them, so a record that killed a worker is not
 * handed to its successor. */
static void test_restarted_consumer_skips_taken_records(void **state)
{
    struct pair *p = *state;
    struct ring next;

    for (uint32_t i = 1; i <= 5; i++)
        push(&p->producer, i, 100);
    ring_publish(&p->producer);
    expect(&p->consumer, 1, 100);
    ring_release(&p->consumer);
    expect(&p->consumer, 2, 100);
    expect(&p->consumer, 3, 100);
    assert_false(ring_drained(&p->producer));
    /* dies here: 2 and 3 taken, not released */
    assert_int_equal(ring_attach(&next, p->memfd, p->producer.data_event_fd,
                                 p->producer.space_event_fd), 0);
    expect(&next, 4, 100);
    expect(&next, 5, 100);
    assert_null(ring_peek(&next));
    assert_true(ring_drained(&p->producer));
    ring_release(&next);
    ring_detach(&next);
}

static void test_untrusted_resume_position_falls_back_to_tail(void **state)
{
    struct pair *p = *state;
    struct ring next;

    push(&p->producer, 1, 100);
    push(&p->producer, 2, 100);
    ring_publish(&p->producer);
    expect(&p->consumer, 1, 100);
    ring_release(&p->consumer);
    static const uint32_t bad[] = { 1u << 20, 0xfffffff8u, 12 };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        atomic_store(&p->producer.sh->taken, bad[i]);
        assert_int_equal(ring_attach(&next, p->memfd, -1, -1), 0);
        expect(&next, 2, 100);
        ring_detach(&next);
    }
}

static void test_consumer_life_seen_by_producer(void **state)
{
    struct pair *p = *state;

    assert_false(ring_consumer_was_ready(&p->producer));
    ring_consumer_ready(&p->consumer);
    ring_report_flows(&p->consumer, 42);
    assert_true(ring_consumer_was_ready(&p->producer));
    /* read once: a second death of a consumer that reported nothing loses nothing */
    assert_int_equal(ring_take_flows(&p->producer), 42);
    assert_int_equal(ring_take_flows(&p->producer), 0);
    ring_consumer_reset(&p->producer);
    assert_false(ring_consumer_was_ready(&p->producer));
}

/* A real producer and consumer in two processes: one million records in
 * order through a small ring, with eventfd wake-ups both ways. */
static void test_two_processes(void **state)
{
    struct pair *p = *state;
    const uint32_t total = 1000000;

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        for (uint32_t i = 0; i < total; i++) {
            struct ring_record *rec;
            while ((rec = ring_reserve(&p->producer, 4 + i % 64)) == NULL) {
                ring_publish(&p->producer);
                ring_wait_space(&p->producer, 100);
            }
            rec->kind = RING_PACKET;
            rec->ts_ns = i;
            memcpy(rec->data, &i, 4);
            if (i % 32 == 0)
                ring_publish(&p->producer);
        }
        ring_publish(&p->producer);
        _exit(0);
    }
    uint32_t expected = 0;
    int idle_waits = 0;
    while (expected < total && idle_waits < 100) {
        const struct ring_record *rec = ring_peek(&p->consumer);
        if (rec == NULL) {
            ring_release(&p->consumer);
            ring_wait_data(&p->consumer, 100);
            idle_waits++;
            continue;
        }
        idle_waits = 0;
        uint32_t v;
        memcpy(&v, rec->data, 4);
        if (v != expected || rec->ts_ns != expected || rec->cap_len != 4 + expected % 64)
            break;
        expected++;
        ring_pop(&p->consumer);
        if (expected % 64 == 0)
            ring_release(&p->consumer);
    }
    ring_release(&p->consumer);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(expected, total);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lazy_publish_wakes_in_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_then_space_returns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wraparound_keeps_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_record_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_size_resets_ring, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cap_len_beyond_record_is_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach_rejects_bad_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach_rejects_size_beyond_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_positions_reset_ring, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_changed_after_attach_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restarted_consumer_skips_taken_records, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_untrusted_resume_position_falls_back_to_tail, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_consumer_life_seen_by_producer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_processes, setup, teardown),
    };
    return cmocka_run_group_tests_name("ring", tests, NULL, NULL);
}
