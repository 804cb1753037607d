/* Flow keys, digests and the flow table of a worker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "flow.h"
#include "flow_table.h"

#include <stdio.h>
#include <string.h>

static void view(struct packet_view *pv, const uint8_t s[4], uint16_t sp, const uint8_t d[4],
                 uint16_t dp)
{
    memset(pv, 0, sizeof(*pv));
    pv->ip_version = 4;
    pv->ip_proto = 6;
    memcpy(pv->src_ip, s, 4);
    memcpy(pv->dst_ip, d, 4);
    pv->src_port = sp;
    pv->dst_port = dp;
}

static const uint8_t CLIENT[4] = { 192, 168, 1, 10 }, SERVER[4] = { 93, 184, 216, 34 };

static void test_key_is_direction_free(void **state)
{
    (void)state;
    struct packet_view a, b;
    struct flow_key ka, kb;
    int da, db;

    view(&a, CLIENT, 51000, SERVER, 443);
    view(&b, SERVER, 443, CLIENT, 51000);
    flow_key_from_packet(&ka, &a, 0, &da);
    flow_key_from_packet(&kb, &b, 0, &db);
    assert_memory_equal(&ka, &kb, sizeof(ka));
    assert_int_not_equal(da, db);
    assert_int_equal(flow_key_hash(&ka), flow_key_hash(&kb));
    /* memcmp order: 93.x is "lower". */
    assert_memory_equal(ka.lower_ip, SERVER, 4);
    assert_int_equal(ka.lower_port, 443);
}

/* Expected value computed independently with Python's hashlib:
 * sha1(b"eth0" + bytes([4, 6]) + vlan(2) + 93.184.216.34 + 192.168.1.10
 *      + port 443 + port 51000, all network order). */
static void test_digest_matches_netifyd_layout(void **state)
{
    (void)state;
    struct packet_view pv;
    struct flow_key k;
    uint8_t d[20];
    char hex[41];
    int dir;

    view(&pv, CLIENT, 51000, SERVER, 443);
    flow_key_from_packet(&k, &pv, 0, &dir);
    flow_digest(d, &k, "eth0");
    for (int i = 0; i < 20; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    assert_string_equal(hex, "6528a54fce007f7d358d98c3330ef833bfa202f6");
}

static void test_table_bound_and_refusal(void **state)
{
    (void)state;
    struct flow_table t;
    struct packet_view pv;
    struct flow_key k;
    int dir;

    assert_int_equal(flow_table_init(&t, 16), 0);
    for (uint16_t port = 1; port <= 20; port++) {
        view(&pv, CLIENT, port, SERVER, 443);
        flow_key_from_packet(&k, &pv, 0, &dir);
        struct flow *f = flow_table_add(&t, &k, flow_key_hash(&k));
        if (port <= 16)
            assert_non_null(f);
        else
            assert_null(f);
    }
    assert_int_equal(t.count, 16);
    assert_int_equal(t.flows_refused, 4);
    view(&pv, SERVER, 443, CLIENT, 7);
    flow_key_from_packet(&k, &pv, 0, &dir);
    struct flow *f = flow_table_find(&t, &k, flow_key_hash(&k));
    assert_non_null(f);
    assert_int_equal(f->key.upper_port, 7);
    flow_table_remove(&t, f);
    assert_null(flow_table_find(&t, &k, flow_key_hash(&k)));
    assert_int_equal(t.count, 15);
    flow_table_destroy(&t);
}

static void test_idle_order_follows_touches(void **state)
{
    (void)state;
    struct flow_table t;
    struct packet_view pv;
    struct flow_key k;
    struct flow *flows[3];
    int dir;

    assert_int_equal(flow_table_init(&t, 100), 0);
    for (int i = 0; i < 3; i++) {
        view(&pv, CLIENT, (uint16_t)(100 + i), SERVER, 443);
        flow_key_from_packet(&k, &pv, 0, &dir);
        flows[i] = flow_table_add(&t, &k, flow_key_hash(&k));
    }
    assert_ptr_equal(flow_table_oldest(&t, LIST_TCP), flows[0]);
    flow_table_touch(&t, flows[0]);
    assert_ptr_equal(flow_table_oldest(&t, LIST_TCP), flows[1]);
    assert_ptr_equal(flow_table_newest(&t, LIST_TCP), flows[0]);
    flow_table_mark_closed(&t, flows[1]);
    assert_ptr_equal(flow_table_oldest(&t, LIST_TCP), flows[2]);
    assert_ptr_equal(flow_table_oldest(&t, LIST_CLOSED), flows[1]);
    assert_null(flow_table_oldest(&t, LIST_OTHER));
    flow_table_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_is_direction_free),
        cmocka_unit_test(test_digest_matches_netifyd_layout),
        cmocka_unit_test(test_table_bound_and_refusal),
        cmocka_unit_test(test_idle_order_follows_touches),
    };
    return cmocka_run_group_tests_name("flow", tests, NULL, NULL);
}
