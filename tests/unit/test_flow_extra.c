/* What a flow keeps while nDPI dissects it: the GTP-U tunnel per side,
 * and the digest that decides whether a detection_updated record goes out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "flow_extra.h"
#include "record_digest.h"

static const uint8_t ENB[4] = { 10, 0, 0, 1 }, SGW[4] = { 10, 0, 0, 2 };

static void gtp_packet(struct packet_view *pv, const uint8_t *src, const uint8_t *dst,
                       uint32_t teid)
{
    memset(pv, 0, sizeof(*pv));
    pv->gtp_ip_version = 4;
    memcpy(pv->gtp_src_ip, src, 4);
    memcpy(pv->gtp_dst_ip, dst, 4);
    pv->gtp_src_port = pv->gtp_dst_port = 2152;
    pv->gtp_teid = teid;
}

static void test_gtp_sides_and_teids(void **state)
{
    (void)state;
    struct flow f = { 0 };
    struct packet_view pv;

    /* Uplink from the lower side: the eNodeB sends to the SGW's TEID. */
    gtp_packet(&pv, ENB, SGW, 0x1111);
    flow_extra_note_gtp(&f, &pv, FROM_LOWER);
    assert_non_null(f.extra);
    const struct gtp_tunnel *g = &f.extra->gtp;
    assert_memory_equal(g->ip[FROM_LOWER], ENB, 4);
    assert_memory_equal(g->ip[FROM_UPPER], SGW, 4);
    assert_int_equal(g->teid[FROM_UPPER], 0x1111);
    assert_int_equal(g->teid_seen, 1u << FROM_UPPER);
    /* Downlink: the SGW sends to the eNodeB's TEID. */
    gtp_packet(&pv, SGW, ENB, 0x2222);
    flow_extra_note_gtp(&f, &pv, FROM_UPPER);
    assert_int_equal(g->teid[FROM_LOWER], 0x2222);
    assert_int_equal(g->teid_seen, 3);
    /* A side's endpoint comes from its own packets, not from what the
     * other side's packets are addressed to. */
    static const uint8_t OTHER[4] = { 10, 9, 9, 9 };
    gtp_packet(&pv, ENB, OTHER, 0x1111);
    flow_extra_note_gtp(&f, &pv, FROM_LOWER);
    assert_memory_equal(g->ip[FROM_UPPER], SGW, 4);
    flow_extra_free(&f);
    assert_null(f.extra);
}

static void test_digest_sees_every_change(void **state)
{
    (void)state;
    struct flow f = { 0 };
    struct flow_metadata m = { 0 };
    struct packet_view pv;

    f.detected_protocol = 91;
    m.client_sni = "www.example.com";
    uint64_t first = record_digest(&f, &m);
    assert_true(record_digest(&f, &m) == first);
    m.issuer_dn = "CN=Example CA";
    uint64_t with_cert = record_digest(&f, &m);
    assert_true(with_cert != first);
    /* The same bytes split differently between two strings differ too. */
    m.client_sni = "www.example.comCN=Example";
    m.issuer_dn = " CA";
    assert_true(record_digest(&f, &m) != with_cert);
    m.client_sni = "www.example.com";
    m.issuer_dn = "CN=Example CA";
    f.detected_application = 126;
    assert_true(record_digest(&f, &m) != with_cert);
    /* A TEID first seen after the first record is news. */
    gtp_packet(&pv, ENB, SGW, 7);
    flow_extra_note_gtp(&f, &pv, FROM_LOWER);
    m.gtp = &f.extra->gtp;
    uint64_t one_teid = record_digest(&f, &m);
    gtp_packet(&pv, SGW, ENB, 8);
    flow_extra_note_gtp(&f, &pv, FROM_UPPER);
    assert_true(record_digest(&f, &m) != one_teid);
    flow_extra_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gtp_sides_and_teids),
        cmocka_unit_test(test_digest_sees_every_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
