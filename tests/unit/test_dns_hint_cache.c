/* The DNS hint cache: lookups by address family, expiry in packet time
 * with the TTL clamped, the capacity bound and clock eviction, and that
 * lookups never change what the cache holds (every worker must hold the
 * same entries, whatever lookups its own flows made). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dns_hint_cache.h"

#include <stdio.h>
#include <string.h>

#define SEC 1000ull
#define T0 (1700000000ull * SEC)

static const uint8_t *v4(uint8_t last)
{
    static uint8_t ip[4][16];
    static int turn;
    uint8_t *p = ip[turn++ % 4];

    memset(p, 0, 16);
    p[0] = 198, p[1] = 51, p[2] = 100, p[3] = last;
    return p;
}

static void test_v4_and_v6_are_distinct(void **state)
{
    (void)state;
    struct dns_hint_cache c;
    uint8_t six[16] = { 198, 51, 100, 7 }; /* same first bytes as the IPv4 address */

    assert_int_equal(dns_hint_cache_init(&c, 16), 0);
    dns_hint_cache_insert(&c, v4(7), 4, "four.test", 300, T0);
    dns_hint_cache_insert(&c, six, 6, "six.test", 300, T0);
    assert_int_equal(c.count, 2);
    assert_string_equal(dns_hint_cache_lookup(&c, v4(7), 4, T0), "four.test");
    assert_string_equal(dns_hint_cache_lookup(&c, six, 6, T0), "six.test");
    assert_null(dns_hint_cache_lookup(&c, v4(8), 4, T0));
    assert_int_equal(c.counters.hits, 2);
    assert_int_equal(c.counters.misses, 1);
    dns_hint_cache_destroy(&c);
}

static void test_ttl_expiry_and_clamp(void **state)
{
    (void)state;
    struct dns_hint_cache c;

    assert_int_equal(dns_hint_cache_init(&c, 16), 0);
    dns_hint_cache_insert(&c, v4(1), 4, "five-minutes.test", 300, T0);
    dns_hint_cache_insert(&c, v4(2), 4, "zero.test", 0, T0);
    dns_hint_cache_insert(&c, v4(3), 4, "a-year.test", 31536000, T0);
    /* Live until the TTL has passed, to the millisecond. */
    assert_non_null(dns_hint_cache_lookup(&c, v4(1), 4, T0 + 300 * SEC - 1));
    assert_null(dns_hint_cache_lookup(&c, v4(1), 4, T0 + 300 * SEC));
    /* TTL 0 lives the floor, a year the ceiling. */
    assert_non_null(dns_hint_cache_lookup(&c, v4(2), 4, T0 + DNS_HINT_TTL_MIN_S * SEC - 1));
    assert_null(dns_hint_cache_lookup(&c, v4(2), 4, T0 + DNS_HINT_TTL_MIN_S * SEC));
    assert_non_null(dns_hint_cache_lookup(&c, v4(3), 4, T0 + DNS_HINT_TTL_MAX_S * SEC - 1));
    assert_null(dns_hint_cache_lookup(&c, v4(3), 4, T0 + DNS_HINT_TTL_MAX_S * SEC));
    /* A later answer for the same address replaces name and expiry. */
    dns_hint_cache_insert(&c, v4(1), 4, "renamed.test", 600, T0 + 500 * SEC);
    assert_int_equal(c.count, 3);
    assert_int_equal(c.counters.updates, 1);
    assert_string_equal(dns_hint_cache_lookup(&c, v4(1), 4, T0 + 1000 * SEC), "renamed.test");
    dns_hint_cache_destroy(&c);
}

static void test_bound_and_eviction_order(void **state)
{
    (void)state;
    struct dns_hint_cache c;
    char name[32];

    assert_int_equal(dns_hint_cache_init(&c, 4), 0);
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof(name), "h%d.test", i);
        dns_hint_cache_insert(&c, v4((uint8_t)i), 4, name, 3600, T0 + (uint64_t)i);
        assert_true(c.count <= 4);
    }
    assert_int_equal(c.count, 4);
    assert_int_equal(c.counters.inserts, 10);
    assert_int_equal(c.counters.evictions, 6);
    /* Nothing was learned twice: the oldest went first. */
    for (int i = 0; i < 6; i++)
        assert_null(dns_hint_cache_lookup(&c, v4((uint8_t)i), 4, T0 + 10));
    for (int i = 6; i < 10; i++) {
        snprintf(name, sizeof(name), "h%d.test", i);
        assert_string_equal(dns_hint_cache_lookup(&c, v4((uint8_t)i), 4, T0 + 10), name);
    }
    dns_hint_cache_destroy(&c);
}

static void test_relearned_gets_second_chance(void **state)
{
    (void)state;
    struct dns_hint_cache c;

    assert_int_equal(dns_hint_cache_init(&c, 3), 0);
    dns_hint_cache_insert(&c, v4(1), 4, "a.test", 3600, T0);
    dns_hint_cache_insert(&c, v4(2), 4, "b.test", 3600, T0);
    dns_hint_cache_insert(&c, v4(3), 4, "c.test", 3600, T0);
    dns_hint_cache_insert(&c, v4(1), 4, "a.test", 3600, T0 + 1); /* learned again */
    dns_hint_cache_insert(&c, v4(4), 4, "d.test", 3600, T0 + 2);
    assert_non_null(dns_hint_cache_lookup(&c, v4(1), 4, T0 + 3));
    assert_null(dns_hint_cache_lookup(&c, v4(2), 4, T0 + 3));
    assert_non_null(dns_hint_cache_lookup(&c, v4(3), 4, T0 + 3));
    assert_non_null(dns_hint_cache_lookup(&c, v4(4), 4, T0 + 3));
    dns_hint_cache_destroy(&c);
}

static void test_expired_leave_first(void **state)
{
    (void)state;
    struct dns_hint_cache c;

    assert_int_equal(dns_hint_cache_init(&c, 3), 0);
    dns_hint_cache_insert(&c, v4(1), 4, "a.test", 3600, T0);
    dns_hint_cache_insert(&c, v4(2), 4, "short.test", 60, T0);
    dns_hint_cache_insert(&c, v4(3), 4, "c.test", 3600, T0);
    /* Full; b has expired: it makes room, not a, the oldest. */
    dns_hint_cache_insert(&c, v4(4), 4, "d.test", 3600, T0 + 61 * SEC);
    assert_int_equal(c.count, 3);
    assert_int_equal(c.counters.evictions, 0);
    assert_int_equal(c.counters.expired, 1);
    assert_non_null(dns_hint_cache_lookup(&c, v4(1), 4, T0 + 62 * SEC));
    assert_non_null(dns_hint_cache_lookup(&c, v4(4), 4, T0 + 62 * SEC));
    /* Inserts sweep: once everything has expired, a few inserts empty it. */
    dns_hint_cache_destroy(&c);
    assert_int_equal(dns_hint_cache_init(&c, 8), 0);
    for (int i = 0; i < 8; i++)
        dns_hint_cache_insert(&c, v4((uint8_t)i), 4, "x.test", 60, T0);
    for (int i = 0; i < 4; i++)
        dns_hint_cache_insert(&c, v4((uint8_t)(100 + i)), 4, "y.test", 60, T0 + 3600 * SEC);
    assert_int_equal(c.count, 4);
    assert_int_equal(c.counters.expired, 8);
    dns_hint_cache_destroy(&c);
}

/* Two caches given the same inserts hold the same entries, however many
 * lookups one of them served in between. */
static void test_lookups_change_nothing(void **state)
{
    (void)state;
    struct dns_hint_cache a, b;
    uint32_t seed = 7;
    char name[32];

    assert_int_equal(dns_hint_cache_init(&a, 64), 0);
    assert_int_equal(dns_hint_cache_init(&b, 64), 0);
    for (int i = 0; i < 5000; i++) {
        seed = seed * 1103515245u + 12345u;
        uint8_t last = (uint8_t)(seed >> 16);
        uint64_t now = T0 + (uint64_t)i * 100;
        snprintf(name, sizeof(name), "n%d.test", i);
        dns_hint_cache_insert(&a, v4(last), 4, name, (seed >> 8) % 120, now);
        dns_hint_cache_insert(&b, v4(last), 4, name, (seed >> 8) % 120, now);
        for (int k = 0; k < 3; k++)
            dns_hint_cache_lookup(&a, v4((uint8_t)(last + k)), 4, now);
    }
    assert_int_equal(a.count, b.count);
    assert_true(a.count <= 64);
    for (unsigned i = 0; i < 256; i++) {
        const char *na = dns_hint_cache_lookup(&a, v4((uint8_t)i), 4, T0 + 500000);
        const char *nb = dns_hint_cache_lookup(&b, v4((uint8_t)i), 4, T0 + 500000);
        if (na == NULL)
            assert_null(nb);
        else
            assert_string_equal(na, nb);
    }
    dns_hint_cache_destroy(&a);
    dns_hint_cache_destroy(&b);
}

static void test_longest_name_and_bad_input(void **state)
{
    (void)state;
    struct dns_hint_cache c;
    char longest[DNS_NAME_MAX + 1];

    assert_int_equal(dns_hint_cache_init(&c, 0), -1);
    assert_int_equal(dns_hint_cache_init(&c, 2), 0);
    memset(longest, 'n', DNS_NAME_MAX);
    longest[DNS_NAME_MAX] = '\0';
    dns_hint_cache_insert(&c, v4(1), 4, longest, 60, T0);
    assert_string_equal(dns_hint_cache_lookup(&c, v4(1), 4, T0), longest);
    dns_hint_cache_insert(&c, v4(2), 5, "bad-version.test", 60, T0);
    assert_int_equal(c.count, 1);
    dns_hint_cache_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v4_and_v6_are_distinct),
        cmocka_unit_test(test_ttl_expiry_and_clamp),
        cmocka_unit_test(test_bound_and_eviction_order),
        cmocka_unit_test(test_relearned_gets_second_chance),
        cmocka_unit_test(test_expired_leave_first),
        cmocka_unit_test(test_lookups_change_nothing),
        cmocka_unit_test(test_longest_name_and_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
