/* The replay clock: which packets of a file keep their own stamp. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "replay_clock.h"

#define S 1000000000ull /* one second in ns */

/* Feeds stamps (seconds) as replay_source does; returns in out[] the time
 * each packet is steered at, in the order they are steered. */
static int replay(struct replay_clock *c, const uint64_t *in, int n, uint64_t *out)
{
    static const uint8_t byte[1];
    struct pcap_pkthdr h = { .caplen = 1, .len = 1 };
    bool outlier;
    int k = 0;

    c->jump_ns = 10 * S;
    replay_clock_reset(c);
    for (int i = 0; i < n; i++) {
        uint64_t ts = in[i] * S;
        if (c->holding)
            out[k++] = replay_clock_release(c, true, ts, &outlier) / S;
        if (replay_clock_must_hold(c, ts) && replay_clock_hold(c, &h, byte, ts))
            continue;
        replay_clock_take(c, ts);
        out[k++] = ts / S;
    }
    if (c->holding)
        out[k++] = replay_clock_release(c, false, 0, &outlier) / S;
    return k;
}

static void test_steady_time_is_kept(void **state)
{
    (void)state;
    struct replay_clock c = { 0 };
    const uint64_t in[] = { 100, 101, 101, 105, 109 };
    uint64_t out[5];

    assert_int_equal(replay(&c, in, 5, out), 5);
    assert_memory_equal(out, in, sizeof(in));
    assert_int_equal(c.outliers, 0);
    replay_clock_free(&c);
}

static void test_a_pause_is_kept(void **state)
{
    (void)state;
    struct replay_clock c = { 0 };
    const uint64_t in[] = { 100, 101, 5000, 5001, 90000 }; /* the last one: end of file */
    uint64_t out[5];

    assert_int_equal(replay(&c, in, 5, out), 5);
    assert_memory_equal(out, in, sizeof(in));
    assert_int_equal(c.outliers, 0);
    replay_clock_free(&c);
}

static void test_lone_stamps_ahead_take_the_time_around_them(void **state)
{
    (void)state;
    struct replay_clock c = { 0 };
    const uint64_t in[] = { 900000, 100, 101, 400000, 102, 103 };
    const uint64_t want[] = { 100, 100, 101, 101, 102, 103 };
    uint64_t out[6];

    assert_int_equal(replay(&c, in, 6, out), 6);
    assert_memory_equal(out, want, sizeof(want));
    assert_int_equal(c.outliers, 2);
    replay_clock_free(&c);
}

static void test_time_going_back_is_left_alone(void **state)
{
    (void)state;
    struct replay_clock c = { 0 };
    const uint64_t in[] = { 100, 101, 50, 51, 102 };
    uint64_t out[5];

    assert_int_equal(replay(&c, in, 5, out), 5);
    assert_memory_equal(out, in, sizeof(in));
    assert_int_equal(c.outliers, 0);
    replay_clock_free(&c);
}

static void test_stamps_near_the_end_of_time_do_not_wrap(void **state)
{
    (void)state;
    struct replay_clock c = { 0 };
    static const uint8_t byte[1];
    struct pcap_pkthdr h = { .caplen = 1, .len = 1 };
    const uint64_t top = UINT64_MAX - 5;
    bool outlier;

    c.jump_ns = 10 * S;
    replay_clock_reset(&c);
    assert_true(replay_clock_must_hold(&c, top));
    assert_true(replay_clock_hold(&c, &h, byte, top));
    assert_int_equal(replay_clock_release(&c, true, top + 1, &outlier), top);
    assert_false(outlier);
    assert_false(replay_clock_must_hold(&c, top + 1));
    replay_clock_take(&c, top + 1);
    assert_false(replay_clock_must_hold(&c, 1700000000 * S)); /* back in time: not held */
    assert_int_equal(c.outliers, 0);
    replay_clock_free(&c);
}

static void test_stamps_of_zero_are_a_clock_too(void **state)
{
    (void)state;
    struct replay_clock c = { 0 };
    const uint64_t in[] = { 0, 0, 0, 0 };
    uint64_t out[4];

    assert_int_equal(replay(&c, in, 4, out), 4);
    assert_memory_equal(out, in, sizeof(in));
    assert_false(replay_clock_must_hold(&c, 0)); /* only the first packet was held */
    replay_clock_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steady_time_is_kept),
        cmocka_unit_test(test_a_pause_is_kept),
        cmocka_unit_test(test_lone_stamps_ahead_take_the_time_around_them),
        cmocka_unit_test(test_time_going_back_is_left_alone),
        cmocka_unit_test(test_stamps_near_the_end_of_time_do_not_wrap),
        cmocka_unit_test(test_stamps_of_zero_are_a_clock_too),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
