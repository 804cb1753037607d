/* IP fragment reassembly: datagrams cut into hand-built fragments come
 * back byte for byte whatever the order; overlaps, timeouts, the memory
 * limits and impossible offsets each drop a datagram and count it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "build_packets.h"
#include "packet.h"
#include "reassembly.h"

#include <pcap/dlt.h>
#include <stdlib.h>

static const uint8_t A[4] = { 10, 0, 0, 1 }, B[4] = { 10, 0, 0, 2 };
static const uint8_t A6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t B6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };

#define DATAGRAM 64 /* UDP header + 56 bytes */

static struct reassembly r; /* 64 KiB of output buffer: not on the stack */
static uint8_t payload[DATAGRAM];

static int setup(void **state)
{
    (void)state;
    reassembly_init(&r);
    /* The IP payload: UDP 5000 -> 53, then a counting pattern. */
    struct pkt p;
    uint8_t data[DATAGRAM - 8];
    for (uint32_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)i;
    pkt_payload(&p, data, sizeof(data));
    put_udp(&p, 5000, 53);
    memcpy(payload, pkt_data(&p), DATAGRAM);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    reassembly_clear(&r);
    return 0;
}

/* Decodes fragment [off, off + len) of the datagram `id`, and adds it. */
static bool add_v4(uint16_t id, uint32_t off, uint32_t len, bool more, uint64_t ts_ms,
                   struct reassembled *out)
{
    static struct pkt p; /* its bytes must outlive the call: the view points into them */
    struct packet_view pv;

    pkt_payload(&p, payload + off, len);
    put_ipv4(&p, 17, A, B, id, (uint16_t)((more ? 0x2000 : 0) | off / 8));
    assert_int_equal(packet_decode(pkt_data(&p), p.len, DLT_RAW, &pv), DECODE_OK);
    assert_true(pv.fragment);
    return reassembly_add(&r, &pv, 0, ts_ms, p.len + 14, out);
}

static void assert_whole_v4(const struct reassembled *out, uint32_t fragments)
{
    struct packet_view pv;

    assert_int_equal(out->len, 20 + DATAGRAM);
    assert_memory_equal(out->data + 20, payload, DATAGRAM);
    assert_int_equal(packet_decode(out->data, out->len, DLT_RAW, &pv), DECODE_OK);
    assert_false(pv.fragment);
    assert_int_equal(pv.src_port, 5000);
    assert_int_equal(pv.dst_port, 53);
    assert_memory_equal(pv.src_ip, A, 4);
    assert_int_equal(out->fragments, fragments);
}

static void test_in_order(void **state)
{
    (void)state;
    struct reassembled out;

    assert_false(add_v4(1, 0, 24, true, 1000, &out));
    assert_false(add_v4(1, 24, 24, true, 1000, &out));
    assert_int_equal(r.count, 1);
    assert_true(add_v4(1, 48, 16, false, 1000, &out));
    assert_whole_v4(&out, 3);
    assert_int_equal(r.count, 0);
    assert_int_equal(r.bytes, 0);
    assert_int_equal(out.wire_bytes, (14 + 20 + 24) * 2 + 14 + 20 + 16);
    assert_int_equal(r.counters.reassembled, 1);
}

static void test_out_of_order_and_duplicate(void **state)
{
    (void)state;
    struct reassembled out;

    assert_false(add_v4(2, 48, 16, false, 1000, &out)); /* last first */
    assert_false(add_v4(2, 24, 24, true, 1001, &out));
    assert_false(add_v4(2, 24, 24, true, 1002, &out)); /* the same again: first wins */
    assert_int_equal(r.counters.duplicates, 1);
    assert_true(add_v4(2, 0, 24, true, 1003, &out));
    assert_whole_v4(&out, 4);
}

static void test_ipv6_out_of_order(void **state)
{
    (void)state;
    static struct pkt p[2];
    struct packet_view pv;
    struct reassembled out;

    /* Second half first: its view must carry the fragment header's fields. */
    for (int i = 1; i >= 0; i--) {
        pkt_payload(&p[i], payload + 32 * i, 32);
        put_ipv6_fragment(&p[i], 17, (uint32_t)(32 * i), i == 0, 0xdeadbeef);
        put_ipv6(&p[i], 44, A6, B6);
        assert_int_equal(packet_decode(pkt_data(&p[i]), p[i].len, DLT_RAW, &pv), DECODE_OK);
        assert_true(pv.fragment);
        assert_int_equal(pv.frag_id, 0xdeadbeef);
        assert_int_equal(reassembly_add(&r, &pv, 0, 5, p[i].len, &out), i == 0);
    }
    assert_int_equal(out.len, 40 + DATAGRAM);
    assert_memory_equal(out.data + 40, payload, DATAGRAM);
    assert_int_equal(packet_decode(out.data, out.len, DLT_RAW, &pv), DECODE_OK);
    assert_int_equal(pv.ip_version, 6);
    assert_int_equal(pv.ip_proto, 17);
    assert_int_equal(pv.dst_port, 53);
    assert_memory_equal(pv.dst_ip, B6, 16);
}

static void test_overlap_drops_the_datagram(void **state)
{
    (void)state;
    struct reassembled out;

    assert_false(add_v4(3, 0, 24, true, 1000, &out));
    assert_false(add_v4(3, 16, 24, true, 1000, &out)); /* bytes 16..23 twice */
    assert_int_equal(r.counters.overlaps, 1);
    assert_int_equal(r.count, 0);
    /* What follows starts a new datagram, which cannot complete alone. */
    assert_false(add_v4(3, 48, 16, false, 1000, &out));
    assert_int_equal(r.counters.reassembled, 0);
}

static void test_timeout(void **state)
{
    (void)state;
    struct reassembled out;

    assert_false(add_v4(4, 0, 24, true, 1000, &out));
    reassembly_expire(&r, 1000 + REASSEMBLY_TIMEOUT_MS - 1);
    assert_int_equal(r.count, 1);
    reassembly_expire(&r, 1000 + REASSEMBLY_TIMEOUT_MS);
    assert_int_equal(r.count, 0);
    assert_int_equal(r.counters.timeouts, 1);
    /* A late fragment finds no datagram to complete. */
    assert_false(add_v4(4, 24, 40, false, 1000 + REASSEMBLY_TIMEOUT_MS, &out));
    assert_int_equal(r.count, 1);
    /* Within the time, out of order, it works. */
    assert_false(add_v4(5, 24, 40, false, 40000, &out));
    assert_true(add_v4(5, 0, 24, true, 40000 + REASSEMBLY_TIMEOUT_MS - 1, &out));
    assert_whole_v4(&out, 2);
}

static void test_datagram_count_limit(void **state)
{
    (void)state;
    struct reassembled out;

    for (uint32_t id = 0; id < REASSEMBLY_MAX_DATAGRAMS + 10; id++)
        assert_false(add_v4((uint16_t)id, 0, 24, true, 1000, &out));
    assert_int_equal(r.count, REASSEMBLY_MAX_DATAGRAMS);
    assert_int_equal(r.counters.dropped_memory, 10);
    /* The oldest gave way: datagram 0 cannot complete, the newest can. */
    assert_false(add_v4(0, 24, 40, false, 1000, &out));
    assert_true(add_v4(REASSEMBLY_MAX_DATAGRAMS + 9, 24, 40, false, 1000, &out));
    assert_whole_v4(&out, 2);
}

static void test_byte_limit(void **state)
{
    (void)state;
    static struct pkt p;
    struct packet_view pv;
    struct reassembled out;

    /* A fragment near the end of the largest datagram needs a 64 KiB buffer. */
    for (uint16_t id = 0; id < 100; id++) {
        pkt_payload(&p, payload, 8);
        put_ipv4(&p, 17, A, B, id, 0x2000 | 8000);
        assert_int_equal(packet_decode(pkt_data(&p), p.len, DLT_RAW, &pv), DECODE_OK);
        assert_false(reassembly_add(&r, &pv, 0, 1000, p.len, &out));
        assert_true(r.bytes <= REASSEMBLY_MAX_BYTES);
    }
    assert_true(r.counters.dropped_memory > 0);
    assert_true(r.count < 100);
}

static void test_too_large_and_bad_offsets(void **state)
{
    (void)state;
    static struct pkt p;
    struct packet_view pv;
    struct reassembled out;

    /* Ends past 65535 bytes of datagram. */
    pkt_payload(&p, payload, 16);
    put_ipv4(&p, 17, A, B, 9, 8190);
    assert_int_equal(packet_decode(pkt_data(&p), p.len, DLT_RAW, &pv), DECODE_OK);
    assert_false(reassembly_add(&r, &pv, 0, 1000, p.len, &out));
    assert_int_equal(r.counters.too_large, 1);
    /* Not a multiple of 8, though more fragments follow. */
    assert_false(add_v4(10, 0, 20, true, 1000, &out));
    assert_int_equal(r.counters.bad_offset, 1);
    /* Past the end the last fragment gave. */
    assert_false(add_v4(11, 8, 8, false, 1000, &out));
    assert_false(add_v4(11, 16, 8, true, 1000, &out));
    assert_int_equal(r.counters.bad_offset, 2);
    assert_int_equal(r.count, 0);
}

static void test_snap_length_cut(void **state)
{
    (void)state;
    static struct pkt p;
    struct packet_view pv;
    struct reassembled out;

    pkt_payload(&p, payload, 24);
    put_ipv4(&p, 17, A, B, 12, 0x2000);
    assert_int_equal(packet_decode(pkt_data(&p), p.len - 4, DLT_RAW, &pv), DECODE_OK);
    assert_false(reassembly_add(&r, &pv, 0, 1000, p.len, &out));
    assert_int_equal(r.counters.truncated, 1);
    assert_int_equal(r.count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_order_and_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6_out_of_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overlap_drops_the_datagram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_datagram_count_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_byte_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_large_and_bad_offsets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snap_length_cut, setup, teardown),
    };
    return cmocka_run_group_tests_name("reassembly", tests, NULL, NULL);
}
