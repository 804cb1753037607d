/* The established-flow store: keyed by digest, in order of addition,
 * records with "established" true and the latest counters, bounded,
 * hostile digests refused, a dead worker's flows dropped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../broker/established.h"
#include "../../broker/msgpack_map.h"

#include <stdio.h>
#include <string.h>

struct event {
    msgpack_sbuffer buf;
    msgpack_unpacked u;
};

static void pk_s(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* {"type":TYPE,"interface":"eth0","established":false,"flow":{digest,
 * detected_protocol, detected_protocol_name, total_bytes}} -- flow_status
 * events carry only digest and total_bytes. */
static const msgpack_object *make(struct event *ev, const char *type, const char *digest,
                                  unsigned protocol, uint64_t bytes)
{
    bool status = strcmp(type, "flow") != 0;
    msgpack_packer pk;
    size_t off = 0;

    msgpack_sbuffer_init(&ev->buf);
    msgpack_packer_init(&pk, &ev->buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, status ? 3 : 4);
    pk_s(&pk, "type");
    pk_s(&pk, type);
    pk_s(&pk, "interface");
    pk_s(&pk, "eth0");
    if (!status) {
        pk_s(&pk, "established");
        msgpack_pack_false(&pk);
    }
    pk_s(&pk, "flow");
    msgpack_pack_map(&pk, status ? 2 : 4);
    pk_s(&pk, "digest");
    pk_s(&pk, digest);
    if (!status) {
        pk_s(&pk, "detected_protocol");
        msgpack_pack_unsigned_int(&pk, protocol);
        pk_s(&pk, "detected_protocol_name");
        pk_s(&pk, protocol ? "TLS" : "Unknown");
    }
    pk_s(&pk, "total_bytes");
    msgpack_pack_uint64(&pk, bytes);
    msgpack_unpacked_init(&ev->u);
    assert_int_equal(msgpack_unpack_next(&ev->u, ev->buf.data, ev->buf.size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    return &ev->u.data;
}

static void drop(struct event *ev)
{
    msgpack_unpacked_destroy(&ev->u);
    msgpack_sbuffer_destroy(&ev->buf);
}

static void digest_hex(char *out, unsigned i)
{
    snprintf(out, 41, "%040x", i);
}

/* Adds flow i (digest i) from worker w. */
static void put(struct established_store *s, unsigned i, unsigned w, unsigned protocol)
{
    struct event ev;
    char d[41];

    digest_hex(d, i);
    const msgpack_object *o = make(&ev, "flow", d, protocol, 100 + i);
    established_put(s, established_find(s, o), w, o);
    drop(&ev);
}

static struct established_entry *find(struct established_store *s, unsigned i)
{
    struct event ev;
    char d[41];

    digest_hex(d, i);
    struct established_entry *e = established_find(s, make(&ev, "flow_purge", d, 0, 0));
    drop(&ev);
    return e;
}

/* The stored record, unpacked into u. */
static const msgpack_object *record(const struct established_entry *e, msgpack_unpacked *u)
{
    size_t off = 0;

    msgpack_unpacked_init(u);
    assert_int_equal(msgpack_unpack_next(u, e->raw, e->raw_len, &off), MSGPACK_UNPACK_SUCCESS);
    return &u->data;
}

static uint64_t total_bytes(const struct established_entry *e)
{
    msgpack_unpacked u;
    const msgpack_object *flow = mp_map_get(record(e, &u), "flow");
    uint64_t v = mp_map_get(flow, "total_bytes")->via.u64;

    msgpack_unpacked_destroy(&u);
    return v;
}

static unsigned removed;
static void count_removal(void *ctx, struct established_entry *e)
{
    (void)ctx;
    (void)e;
    removed++;
}

static void test_disabled_holds_nothing(void **state)
{
    (void)state;
    struct established_store s;

    assert_int_equal(established_init(&s, 0, 1, NULL, NULL), 0);
    assert_false(established_enabled(&s));
    assert_null(find(&s, 1));
    established_destroy(&s);
}

static void test_record_is_established_with_latest_counters(void **state)
{
    (void)state;
    struct established_store s;
    struct event ev;
    msgpack_unpacked u;
    char d[41];

    assert_int_equal(established_init(&s, 16, 7, NULL, NULL), 0);
    put(&s, 1, 0, 91);
    put(&s, 2, 1, 0);
    assert_int_equal(s.count, 2);
    struct established_entry *e = find(&s, 1);
    assert_non_null(e);
    assert_false(e->unknown);
    assert_true(find(&s, 2)->unknown);
    assert_null(find(&s, 3));

    const msgpack_object *r = record(e, &u);
    assert_int_equal(r->via.map.size, 4); /* nothing added, nothing lost */
    const msgpack_object *flag = mp_map_get(r, "established");
    assert_true(flag->type == MSGPACK_OBJECT_BOOLEAN && flag->via.boolean);
    assert_true(mp_key_is(mp_map_get(r, "type"), "flow"));
    msgpack_unpacked_destroy(&u);
    assert_int_equal(total_bytes(e), 101);

    /* flow_status: its counters replace the record's; its digest is not taken */
    digest_hex(d, 1);
    established_update(&s, e, make(&ev, "flow_status", d, 0, 5000));
    drop(&ev);
    assert_int_equal(total_bytes(e), 5000);
    r = record(e, &u);
    assert_true(mp_key_is(mp_map_get(mp_map_get(r, "flow"), "detected_protocol_name"), "TLS"));
    assert_true(mp_map_get(r, "established")->via.boolean);
    msgpack_unpacked_destroy(&u);
    established_destroy(&s);
}

static void test_order_bound_and_removal(void **state)
{
    (void)state;
    struct established_store s;

    removed = 0;
    assert_int_equal(established_init(&s, 3, 0, count_removal, NULL), 0);
    for (unsigned i = 1; i <= 5; i++)
        put(&s, i, 0, 5);
    assert_int_equal(s.count, 3);
    assert_int_equal(s.refused, 2);
    assert_null(find(&s, 4));
    /* a flow already held is replaced, not refused, when the store is full */
    put(&s, 2, 1, 7);
    assert_int_equal(s.refused, 2);
    assert_int_equal(find(&s, 2)->worker, 1);

    struct established_entry *a = s.oldest, *b = a->next, *c = b->next;
    assert_true(a == find(&s, 1) && b == find(&s, 2) && c == find(&s, 3));
    assert_true(a->seq < b->seq && b->seq < c->seq && c->next == NULL && s.newest == c);
    established_remove(&s, b);
    assert_int_equal(removed, 1);
    assert_true(s.oldest == a && a->next == c && c->prev == a);
    put(&s, 4, 0, 5);
    assert_true(s.newest == find(&s, 4) && s.newest->seq > c->seq);
    established_destroy(&s);
}

static void test_hostile_digests_are_refused(void **state)
{
    (void)state;
    static const char *const bad[] = { "", "abc", "zz00000000000000000000000000000000000000",
                                       "00000000000000000000000000000000000000001" };
    struct established_store s;
    struct event ev;

    assert_int_equal(established_init(&s, 16, 0, NULL, NULL), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const msgpack_object *o = make(&ev, "flow", bad[i], 5, 1);
        assert_null(established_find(&s, o));
        established_put(&s, NULL, 0, o);
        drop(&ev);
    }
    assert_int_equal(s.count, 0);
    assert_int_equal(s.unkeyed, 4);
    established_destroy(&s);
}

static void test_dead_worker_and_many_flows(void **state)
{
    (void)state;
    struct established_store s;

    removed = 0;
    assert_int_equal(established_init(&s, 100000, 42, count_removal, NULL), 0);
    for (unsigned i = 0; i < 5000; i++)
        put(&s, i, i % 3, 5);
    assert_int_equal(s.count, 5000);
    assert_true(s.n_buckets >= 5000);
    for (unsigned i = 0; i < 5000; i += 7)
        assert_non_null(find(&s, i));
    size_t n = established_drop_worker(&s, 1);
    assert_int_equal(n, 5000 / 3 + (5000 % 3 > 1));
    assert_int_equal(removed, n);
    assert_int_equal(s.lost, n);
    assert_int_equal(s.count, 5000 - n);
    for (const struct established_entry *e = s.oldest; e; e = e->next)
        assert_int_not_equal(e->worker, 1);
    assert_null(find(&s, 1));
    assert_non_null(find(&s, 3));
    established_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disabled_holds_nothing),
        cmocka_unit_test(test_record_is_established_with_latest_counters),
        cmocka_unit_test(test_order_bound_and_removal),
        cmocka_unit_test(test_hostile_digests_are_refused),
        cmocka_unit_test(test_dead_worker_and_many_flows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
