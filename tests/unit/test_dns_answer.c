/* The DNS answer parser of the hint cache: valid answers (CNAME chains,
 * compression, case) and hostile ones (pointer loops, truncation at every
 * byte, oversized names, wrong counts, bad record data).  Each message is
 * parsed from a heap copy of exactly its length, so an ASan build catches
 * any read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dns_answer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct msg {
    uint8_t b[2048];
    size_t n;
};

static void put(struct msg *m, const void *p, size_t n)
{
    assert_true(m->n + n <= sizeof(m->b));
    memcpy(m->b + m->n, p, n);
    m->n += n;
}

static void put8(struct msg *m, uint8_t v) { put(m, &v, 1); }

static void put16(struct msg *m, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
    put(m, b, 2);
}

static void put32(struct msg *m, uint32_t v)
{
    put16(m, (uint16_t)(v >> 16));
    put16(m, (uint16_t)v);
}

#define RESPONSE 0x8180 /* QR, RD, RA, NOERROR */

static void header(struct msg *m, uint16_t flags, uint16_t qd, uint16_t an)
{
    m->n = 0;
    put16(m, 0x1234);
    put16(m, flags);
    put16(m, qd);
    put16(m, an);
    put16(m, 0);
    put16(m, 0);
}

/* A dotted name as labels, ending with the root label. */
static void name(struct msg *m, const char *dotted)
{
    while (*dotted) {
        const char *dot = strchr(dotted, '.');
        size_t n = dot ? (size_t)(dot - dotted) : strlen(dotted);
        put8(m, (uint8_t)n);
        put(m, dotted, n);
        dotted += n + (dot != NULL);
    }
    put8(m, 0);
}

static void pointer(struct msg *m, uint16_t offset) { put16(m, (uint16_t)(0xc000 | offset)); }

static void question(struct msg *m, const char *qname, uint16_t qtype)
{
    name(m, qname);
    put16(m, qtype);
    put16(m, 1);
}

/* Type, class IN, TTL and record data, after an owner name. */
static void rr_tail(struct msg *m, uint16_t type, uint32_t ttl, const void *rdata, uint16_t len)
{
    put16(m, type);
    put16(m, 1);
    put32(m, ttl);
    put16(m, len);
    put(m, rdata, len);
}

static enum dns_answer_status parse(const struct msg *m, struct dns_answer *a)
{
    uint8_t *copy = malloc(m->n ? m->n : 1);

    assert_non_null(copy);
    memcpy(copy, m->b, m->n);
    enum dns_answer_status st = dns_answer_parse(copy, m->n, a);
    free(copy);
    return st;
}

static const uint8_t V4[4] = { 192, 0, 2, 1 };
static const uint8_t V6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

/* www.example.com A 192.0.2.1, the owner compressed to the question. */
static void simple_answer(struct msg *m)
{
    header(m, RESPONSE, 1, 1);
    question(m, "www.example.com", 1);
    pointer(m, 12);
    rr_tail(m, 1, 300, V4, 4);
}

static void test_simple_a(void **state)
{
    (void)state;
    struct msg m;
    struct dns_answer a;

    simple_answer(&m);
    assert_int_equal(parse(&m, &a), DNS_ANSWER_OK);
    assert_string_equal(a.qname, "www.example.com");
    assert_int_equal(a.n_addresses, 1);
    assert_int_equal(a.addresses[0].ip_version, 4);
    assert_memory_equal(a.addresses[0].ip, V4, 4);
    assert_int_equal(a.addresses[0].ttl, 300);
}

/* www.example.com CNAME cdn.example.net CNAME edge.cdn.net, whose A and
 * AAAA come before the CNAMEs; an unrelated A is left out. */
static void test_cname_chain_maps_to_question(void **state)
{
    (void)state;
    struct msg m;
    struct dns_answer a;
    static const uint8_t other[4] = { 203, 0, 113, 9 };

    header(&m, RESPONSE, 1, 5);
    question(&m, "WWW.Example.COM", 1);
    size_t edge = m.n;
    name(&m, "edge.cdn.net");
    rr_tail(&m, 1, 20, V4, 4);
    pointer(&m, (uint16_t)edge);
    rr_tail(&m, 28, 40, V6, 16);
    name(&m, "unrelated.example.org");
    rr_tail(&m, 1, 20, other, 4);
    /* cdn.example.net CNAME edge.cdn.net (target compressed) */
    size_t cdn = m.n;
    name(&m, "cdn.example.net");
    put16(&m, 5); put16(&m, 1); put32(&m, 60); put16(&m, 2);
    pointer(&m, (uint16_t)edge);
    /* www.example.com CNAME cdn.example.net */
    pointer(&m, 12);
    put16(&m, 5); put16(&m, 1); put32(&m, 60); put16(&m, 2);
    pointer(&m, (uint16_t)cdn);

    assert_int_equal(parse(&m, &a), DNS_ANSWER_OK);
    assert_string_equal(a.qname, "www.example.com");
    assert_int_equal(a.n_addresses, 2);
    assert_memory_equal(a.addresses[0].ip, V4, 4);
    assert_int_equal(a.addresses[0].ttl, 20);
    assert_int_equal(a.addresses[1].ip_version, 6);
    assert_memory_equal(a.addresses[1].ip, V6, 16);
}

static void test_not_learned(void **state)
{
    (void)state;
    struct msg m;
    struct dns_answer a;

    simple_answer(&m);
    m.b[2] = 0x01; /* QR clear: a query */
    assert_int_equal(parse(&m, &a), DNS_ANSWER_NOT_RESPONSE);
    simple_answer(&m);
    m.b[2] = 0x80 | (2 << 3); /* opcode STATUS */
    assert_int_equal(parse(&m, &a), DNS_ANSWER_NOT_QUERY);
    simple_answer(&m);
    m.b[3] = 0x83; /* NXDOMAIN */
    assert_int_equal(parse(&m, &a), DNS_ANSWER_ERROR_RCODE);
    header(&m, RESPONSE, 1, 0);
    question(&m, "www.example.com", 1);
    assert_int_equal(parse(&m, &a), DNS_ANSWER_NO_ADDRESS);
    /* A CNAME loop ends; without an address there is nothing to learn. */
    header(&m, RESPONSE, 1, 2);
    question(&m, "a.test", 1);
    pointer(&m, 12);
    put16(&m, 5); put16(&m, 1); put32(&m, 60); put16(&m, 8);
    name(&m, "b.test");
    size_t b = m.n - 8;
    pointer(&m, (uint16_t)b);
    put16(&m, 5); put16(&m, 1); put32(&m, 60); put16(&m, 2);
    pointer(&m, 12);
    assert_int_equal(parse(&m, &a), DNS_ANSWER_NO_ADDRESS);
}

static void test_truncated_at_every_byte(void **state)
{
    (void)state;
    struct msg m, cut;
    struct dns_answer a;

    simple_answer(&m);
    for (size_t n = 0; n < m.n; n++) {
        cut = m;
        cut.n = n;
        assert_int_equal(parse(&cut, &a), DNS_ANSWER_TRUNCATED);
    }
}

static void test_pointer_loops(void **state)
{
    (void)state;
    struct msg m;
    struct dns_answer a;

    /* The question name points at itself. */
    header(&m, RESPONSE, 1, 0);
    pointer(&m, 12);
    put16(&m, 1); put16(&m, 1);
    assert_int_equal(parse(&m, &a), DNS_ANSWER_BAD_POINTER);
    /* Forward: a label, then a pointer to a later pointer back to it. */
    header(&m, RESPONSE, 1, 0);
    put8(&m, 1); put8(&m, 'a');
    pointer(&m, 20);
    put16(&m, 1); put16(&m, 1);
    pointer(&m, 12);
    assert_int_equal(parse(&m, &a), DNS_ANSWER_BAD_POINTER);
    /* Into the header. */
    header(&m, RESPONSE, 1, 0);
    pointer(&m, 2);
    put16(&m, 1); put16(&m, 1);
    assert_int_equal(parse(&m, &a), DNS_ANSWER_BAD_POINTER);
    /* An answer owner that points back into its own labels. */
    simple_answer(&m);
    size_t owner = m.n - 16;
    m.b[owner] = 0xc0;
    m.b[owner + 1] = (uint8_t)owner;
    assert_int_equal(parse(&m, &a), DNS_ANSWER_BAD_POINTER);
}

static void test_oversized_names(void **state)
{
    (void)state;
    struct msg m;
    struct dns_answer a;
    char label[64], longest[254];

    /* A 64-byte label has type bits 01. */
    memset(label, 'x', 64);
    header(&m, RESPONSE, 1, 0);
    put8(&m, 64);
    put(&m, label, 64);
    put8(&m, 0);
    put16(&m, 1); put16(&m, 1);
    assert_int_equal(parse(&m, &a), DNS_ANSWER_BAD_LABEL);
    /* 253 characters (255 bytes on the wire) is the longest name. */
    memset(longest, 'a', 253);
    for (int i = 63; i < 253; i += 64)
        longest[i] = '.';
    longest[253] = '\0';
    header(&m, RESPONSE, 1, 1);
    question(&m, longest, 1);
    pointer(&m, 12);
    rr_tail(&m, 1, 300, V4, 4);
    assert_int_equal(parse(&m, &a), DNS_ANSWER_OK);
    assert_int_equal(strlen(a.qname), 253);
    /* One more byte is too long, however it is put together: */
    header(&m, RESPONSE, 1, 0);
    put8(&m, 1); put8(&m, 'b');
    name(&m, longest);
    put16(&m, 1); put16(&m, 1);
    assert_int_equal(parse(&m, &a), DNS_ANSWER_NAME_TOO_LONG);
    /* ...or through a pointer to a long name. */
    header(&m, RESPONSE, 1, 1);
    question(&m, longest, 1);
    put8(&m, 1); put8(&m, 'b');
    pointer(&m, 12);
    rr_tail(&m, 1, 300, V4, 4);
    assert_int_equal(parse(&m, &a), DNS_ANSWER_NAME_TOO_LONG);
}

static void test_bad_name_bytes(void **state)
{
    (void)state;
    static const char bad[] = { ' ', '.', 0x7f, (char)0x80, 0 };
    struct msg m;
    struct dns_answer a;

    for (size_t i = 0; i < sizeof(bad); i++) {
        header(&m, RESPONSE, 1, 1);
        put8(&m, 3); put8(&m, 'a'); put8(&m, (uint8_t)bad[i]); put8(&m, 'b');
        put8(&m, 0);
        put16(&m, 1); put16(&m, 1);
        pointer(&m, 12);
        rr_tail(&m, 1, 300, V4, 4);
        assert_int_equal(parse(&m, &a), DNS_ANSWER_BAD_NAME_CHAR);
    }
}

static void test_wrong_counts(void **state)
{
    (void)state;
    struct msg m;
    struct dns_answer a;

    simple_answer(&m);
    m.b[5] = 0; /* qdcount 0 */
    assert_int_equal(parse(&m, &a), DNS_ANSWER_BAD_QUESTION_COUNT);
    m.b[5] = 2;
    assert_int_equal(parse(&m, &a), DNS_ANSWER_BAD_QUESTION_COUNT);
    simple_answer(&m);
    m.b[7] = 3; /* three answers announced, one present */
    assert_int_equal(parse(&m, &a), DNS_ANSWER_TRUNCATED);
    m.b[7] = DNS_ANSWER_MAX_RECORDS + 1;
    assert_int_equal(parse(&m, &a), DNS_ANSWER_TOO_MANY_RECORDS);
    m.b[6] = 0xff;
    assert_int_equal(parse(&m, &a), DNS_ANSWER_TOO_MANY_RECORDS);
}

static void test_bad_rdata(void **state)
{
    (void)state;
    static const uint8_t five[5] = { 1, 2, 3, 4, 5 };
    struct msg m;
    struct dns_answer a;

    header(&m, RESPONSE, 1, 1);
    question(&m, "x.test", 1);
    pointer(&m, 12);
    rr_tail(&m, 1, 60, five, 5); /* A of 5 bytes */
    assert_int_equal(parse(&m, &a), DNS_ANSWER_BAD_RDATA);
    header(&m, RESPONSE, 1, 1);
    question(&m, "x.test", 28);
    pointer(&m, 12);
    rr_tail(&m, 28, 60, V4, 4); /* AAAA of 4 bytes */
    assert_int_equal(parse(&m, &a), DNS_ANSWER_BAD_RDATA);
    /* A CNAME whose name ends before its record data does. */
    header(&m, RESPONSE, 1, 1);
    question(&m, "x.test", 1);
    pointer(&m, 12);
    put16(&m, 5); put16(&m, 1); put32(&m, 60); put16(&m, 4);
    pointer(&m, 12);
    put16(&m, 0);
    assert_int_equal(parse(&m, &a), DNS_ANSWER_BAD_RDATA);
    /* ...and one whose name runs past it. */
    header(&m, RESPONSE, 1, 1);
    question(&m, "x.test", 1);
    pointer(&m, 12);
    put16(&m, 5); put16(&m, 1); put32(&m, 60); put16(&m, 3);
    name(&m, "y.test");
    assert_int_equal(parse(&m, &a), DNS_ANSWER_BAD_RDATA);
}

static void test_chain_too_long(void **state)
{
    (void)state;
    struct msg m;
    struct dns_answer a;
    char owner[24], target[24];

    header(&m, RESPONSE, 1, DNS_CNAME_CHAIN_MAX + 2);
    question(&m, "c0.test", 1);
    for (int i = 0; i < DNS_CNAME_CHAIN_MAX + 1; i++) {
        snprintf(owner, sizeof(owner), "c%d.test", i);
        snprintf(target, sizeof(target), "c%d.test", i + 1);
        name(&m, owner);
        put16(&m, 5); put16(&m, 1); put32(&m, 60); put16(&m, (uint16_t)(strlen(target) + 2));
        name(&m, target);
    }
    name(&m, target);
    rr_tail(&m, 1, 60, V4, 4);
    assert_int_equal(parse(&m, &a), DNS_ANSWER_CHAIN_TOO_LONG);
}

/* Random corruption of a valid answer never crashes, and what parses is
 * well formed. */
static void test_mutations(void **state)
{
    (void)state;
    struct msg base, m;
    struct dns_answer a;
    uint32_t seed = 12345;

    simple_answer(&base);
    for (int round = 0; round < 50000; round++) {
        m = base;
        for (int k = 0; k < 3; k++) {
            seed = seed * 1103515245u + 12345u;
            m.b[(seed >> 8) % m.n] = (uint8_t)(seed >> 20);
        }
        seed = seed * 1103515245u + 12345u;
        if ((seed >> 16) % 4 == 0)
            m.n = (seed >> 4) % (m.n + 1);
        enum dns_answer_status st = parse(&m, &a);
        assert_true(st < DNS_ANSWER_STATUS_COUNT);
        if (st == DNS_ANSWER_OK) {
            assert_true(a.n_addresses >= 1 && a.n_addresses <= DNS_ANSWER_MAX_RECORDS);
            assert_true(strlen(a.qname) >= 1 && strlen(a.qname) <= DNS_NAME_MAX);
        }
    }
}

static void test_status_names(void **state)
{
    (void)state;
    for (int i = 0; i < DNS_ANSWER_STATUS_COUNT; i++)
        assert_non_null(dns_answer_status_name((enum dns_answer_status)i));
    assert_string_equal(dns_answer_status_name(DNS_ANSWER_BAD_POINTER), "bad_pointer");
    assert_string_equal(dns_answer_status_name(DNS_ANSWER_STATUS_COUNT), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_a),
        cmocka_unit_test(test_cname_chain_maps_to_question),
        cmocka_unit_test(test_not_learned),
        cmocka_unit_test(test_truncated_at_every_byte),
        cmocka_unit_test(test_pointer_loops),
        cmocka_unit_test(test_oversized_names),
        cmocka_unit_test(test_bad_name_bytes),
        cmocka_unit_test(test_wrong_counts),
        cmocka_unit_test(test_bad_rdata),
        cmocka_unit_test(test_chain_too_long),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_status_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
