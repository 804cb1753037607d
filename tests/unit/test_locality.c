/* Local networks: CIDR parsing, prefix matching (checked against a
 * bit-by-bit reference over every prefix length), the bounded list, and
 * how a worker picks a flow's local side and other_type from them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ip_prefix.h"
#include "locality.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct ip_prefix parsed(const char *text)
{
    struct ip_prefix p;
    const char *why = ip_prefix_parse(text, &p);

    if (why)
        fail_msg("'%s' refused: %s", text, why);
    return p;
}

static void address(const char *text, uint8_t out[16], int *version)
{
    memset(out, 0, 16);
    *version = strchr(text, ':') ? 6 : 4;
    assert_int_equal(inet_pton(*version == 6 ? AF_INET6 : AF_INET, text, out), 1);
}

static bool holds(const char *prefix, const char *addr)
{
    struct ip_prefix p = parsed(prefix);
    uint8_t a[16];
    int v;

    address(addr, a, &v);
    return ip_prefix_contains(&p, a, v);
}

static void test_parse_and_format(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        { "192.168.0.0/16", "192.168.0.0/16" },
        { "192.168.1.7/24", "192.168.1.0/24" }, /* an interface address names its network */
        { "10.1.2.3", "10.1.2.3/32" },          /* a bare address is one host */
        { "172.31.255.255/12", "172.16.0.0/12" },
        { "1.2.3.5/31", "1.2.3.4/31" },
        { "0.0.0.0/0", "0.0.0.0/0" },
        { "8.8.8.8/0", "0.0.0.0/0" },
        { "10.0.0.1/024", "10.0.0.0/24" },
        { "fd00::1/8", "fd00::/8" },
        { "fe80::1:2:3:4/64", "fe80::/64" },
        { "fdff:ffff::/7", "fc00::/7" },
        { "2001:db8::1", "2001:db8::1/128" },
        { "::/0", "::/0" },
        { "::1/128", "::1/128" },
    };
    char text[IP_PREFIX_TEXT_MAX];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ip_prefix p = parsed(cases[i][0]);
        ip_prefix_format(&p, text);
        assert_string_equal(text, cases[i][1]);
        /* What format writes, parse reads back as the same network. */
        struct ip_prefix again = parsed(text);
        assert_memory_equal(&again, &p, sizeof(p));
    }
}

static void test_parse_refuses(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "/24", "1.2.3/24", "1.2.3.4/", "1.2.3.4/33", "1.2.3.4/-1", "1.2.3.4/+8",
        "1.2.3.4/ 8", "1.2.3.4/8x", "1.2.3.4/24/8", " 1.2.3.4/8", "1.2.3.4 /8", "256.1.1.1/8",
        "example.com/8", "::/129", "fe80::/1000", "fe80::%eth0/64", "1.2.3.4/99999999999999999999",
        "1111:2222:3333:4444:5555:6666:7777:8888:9999/64",
        "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255.255/8",
    };
    struct ip_prefix p = { .version = 9 };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ip_prefix_parse(bad[i], &p) == NULL)
            fail_msg("'%s' was accepted", bad[i]);
    }
    assert_int_equal(p.version, 9); /* untouched on failure */
    assert_string_equal(ip_prefix_parse("1.2.3.4/33", &p), "the length after / is not 0 to 32");
    assert_string_equal(ip_prefix_parse("::/129", &p), "the length after / is not 0 to 128");
}

/* The reference: bit i of an address, most significant first. */
static int bit(const uint8_t *a, unsigned i)
{
    return (a[i / 8] >> (7 - i % 8)) & 1;
}

static bool reference_contains(const uint8_t *net, unsigned length, const uint8_t *a)
{
    for (unsigned i = 0; i < length; i++)
        if (bit(net, i) != bit(a, i))
            return false;
    return true;
}

/* Every length of both versions, against addresses that differ from the
 * network in exactly one bit, before and after the prefix's end. */
static void test_contains_matches_reference(void **state)
{
    (void)state;
    uint8_t base[16] = { 0xfd, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde,
                         0xf0, 0x0f, 0x55, 0xaa, 0x01, 0x80, 0x7f, 0xfe };
    unsigned checked = 0;

    for (int v = 4; v <= 6; v += 2) {
        unsigned bits = v == 6 ? 128 : 32;
        for (unsigned length = 0; length <= bits; length++) {
            char text[80], addr[INET6_ADDRSTRLEN];
            inet_ntop(v == 6 ? AF_INET6 : AF_INET, base, addr, sizeof(addr));
            snprintf(text, sizeof(text), "%s/%u", addr, length);
            struct ip_prefix p = parsed(text);
            assert_int_equal(p.length, length);
            assert_true(ip_prefix_contains(&p, base, v));
            for (unsigned flip = 0; flip < bits; flip++) {
                uint8_t a[16];
                memcpy(a, base, 16);
                a[flip / 8] ^= (uint8_t)(0x80u >> (flip % 8));
                assert_int_equal(ip_prefix_contains(&p, a, v), reference_contains(base, length, a));
                assert_int_equal(ip_prefix_contains(&p, a, v), flip >= length);
                checked++;
            }
            /* Never across versions, even where the bytes agree. */
            assert_false(ip_prefix_contains(&p, base, v == 6 ? 4 : 6));
        }
    }
    assert_int_equal(checked, 33 * 32 + 129 * 128);
}

static void test_contains_edges(void **state)
{
    (void)state;
    assert_true(holds("172.16.0.0/12", "172.16.0.0"));
    assert_true(holds("172.16.0.0/12", "172.31.255.255"));
    assert_false(holds("172.16.0.0/12", "172.32.0.0"));
    assert_false(holds("172.16.0.0/12", "172.15.255.255"));
    assert_true(holds("fc00::/7", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
    assert_false(holds("fc00::/7", "fe00::"));
    assert_true(holds("fe80::/10", "febf::1"));
    assert_false(holds("fe80::/10", "fec0::1"));
    assert_true(holds("0.0.0.0/0", "255.255.255.255"));
    assert_false(holds("0.0.0.0/0", "::1"));
    assert_true(holds("::/0", "2001:db8::1"));
    assert_false(holds("::/0", "1.2.3.4"));
    assert_true(holds("10.1.2.3", "10.1.2.3"));
    assert_false(holds("10.1.2.3", "10.1.2.2"));
    assert_false(holds("::1/128", "::2"));
}

static void test_from_mask(void **state)
{
    (void)state;
    static const struct {
        const char *addr, *mask, *want;
    } cases[] = {
        { "192.168.1.7", "255.255.255.0", "192.168.1.0/24" },
        { "10.9.8.7", "255.255.255.255", "10.9.8.7/32" },
        { "10.9.8.7", "255.240.0.0", "10.0.0.0/12" },
        { "10.9.8.7", "0.0.0.0", "0.0.0.0/0" },
        { "10.9.8.7", "255.0.255.0", "10.0.0.0/8" }, /* leading ones only */
        { "2001:db8:1:2::5", "ffff:ffff:ffff:ffff::", "2001:db8:1:2::/64" },
        { "fe80::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::1/128" },
    };
    char text[IP_PREFIX_TEXT_MAX];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t a[16], m[16];
        int v, mv;
        struct ip_prefix p;
        address(cases[i].addr, a, &v);
        address(cases[i].mask, m, &mv);
        ip_prefix_from_mask(&p, v, a, m);
        ip_prefix_format(&p, text);
        assert_string_equal(text, cases[i].want);
    }
}

static void test_directed_broadcast(void **state)
{
    (void)state;
    struct ip_prefix p = parsed("192.168.1.0/24");
    uint8_t a[16];
    int v;

    address("192.168.1.255", a, &v);
    assert_true(ip_prefix_is_broadcast(&p, a, v));
    address("192.168.1.254", a, &v);
    assert_false(ip_prefix_is_broadcast(&p, a, v));
    address("192.168.2.255", a, &v);
    assert_false(ip_prefix_is_broadcast(&p, a, v));
    p = parsed("10.0.0.0/8");
    address("10.255.255.255", a, &v);
    assert_true(ip_prefix_is_broadcast(&p, a, v));
    /* /31 and /32 have no broadcast address (RFC 3021); IPv6 none at all. */
    p = parsed("10.0.0.0/31");
    address("10.0.0.1", a, &v);
    assert_false(ip_prefix_is_broadcast(&p, a, v));
    p = parsed("10.0.0.3/32");
    address("10.0.0.3", a, &v);
    assert_false(ip_prefix_is_broadcast(&p, a, v));
    p = parsed("fd00::/64");
    address("fd00::ffff:ffff:ffff:ffff", a, &v);
    assert_false(ip_prefix_is_broadcast(&p, a, v));
}

static void test_list_bound_and_dedup(void **state)
{
    (void)state;
    struct ip_prefix_list l = { 0 };
    uint8_t a[16];
    int v;

    assert_int_equal(ip_prefix_list_add(&l, &(struct ip_prefix){ 0 }), 1);
    ip_prefix_list_clear(&l);
    for (unsigned i = 0; i < IP_PREFIX_LIST_MAX; i++) {
        char text[32];
        snprintf(text, sizeof(text), "10.%u.%u.0/24", i / 256, i % 256);
        struct ip_prefix p = parsed(text);
        assert_int_equal(ip_prefix_list_add(&l, &p), 1);
        assert_int_equal(ip_prefix_list_add(&l, &p), 0); /* already there */
    }
    struct ip_prefix one_more = parsed("192.0.2.0/24");
    assert_int_equal(ip_prefix_list_add(&l, &one_more), -1);
    struct ip_prefix again = parsed("10.0.7.0/24");
    assert_int_equal(ip_prefix_list_add(&l, &again), 0); /* full, but held */
    assert_int_equal(l.n, IP_PREFIX_LIST_MAX);
    address("10.0.255.9", a, &v);
    assert_true(ip_prefix_list_contains(&l, a, v));
    address("10.1.0.9", a, &v);
    assert_false(ip_prefix_list_contains(&l, a, v));
    ip_prefix_list_clear(&l);
    assert_int_equal(l.n, 0);
    assert_false(ip_prefix_list_contains(&l, a, v));
}

/* ---- flow_sides over a worker's options ---- */

static struct worker_options opts;

static void add_net(struct ip_prefix_list *l, const char *text)
{
    struct ip_prefix p = parsed(text);
    assert_int_equal(ip_prefix_list_add(l, &p), 1);
}

static int setup_opts(void **state)
{
    (void)state;
    static const char *const builtin[] = { "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                           "169.254.0.0/16", "127.0.0.0/8", "fc00::/7",
                                           "fe80::/10", "::1/128" };
    memset(&opts, 0, sizeof(opts));
    for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
        add_net(&opts.local_nets, builtin[i]);
    opts.n_interfaces = 2;
    opts.interfaces[0] = (struct worker_interface){ .name = "eth0", .internal = true };
    opts.interfaces[1] = (struct worker_interface){ .name = "eth1", .internal = false };
    add_net(&opts.interfaces[1].own_nets, "203.0.113.0/24");
    add_net(&opts.interfaces[1].own_nets, "192.168.7.0/24");
    return 0;
}

static int teardown_opts(void **state)
{
    (void)state;
    ip_prefix_list_clear(&opts.local_nets);
    for (int i = 0; i < opts.n_interfaces; i++)
        ip_prefix_list_clear(&opts.interfaces[i].own_nets);
    return 0;
}

/* The flow of a first packet from src to dst on interface itf. */
static struct flow_sides sides_of(uint16_t itf, const char *src, const char *dst)
{
    struct packet_view pv;
    struct flow f;
    struct flow_sides s;
    int dir, v;

    memset(&pv, 0, sizeof(pv));
    memset(&f, 0, sizeof(f));
    address(src, pv.src_ip, &v);
    address(dst, pv.dst_ip, &v);
    pv.ip_version = (uint8_t)v;
    pv.ip_proto = 17;
    pv.src_port = 40000;
    pv.dst_port = 53;
    flow_key_from_packet(&f.key, &pv, itf, &dir);
    f.origin = (uint8_t)dir;
    flow_sides(&opts, &f, &s);
    return s;
}

static const char *local_ip(uint16_t itf, const char *src, const char *dst)
{
    struct flow_sides s = sides_of(itf, src, dst);
    uint8_t a[16], b[16];
    int v;

    address(src, a, &v);
    address(dst, b, &v);
    /* lower = smaller address, as the key orders them */
    bool src_lower = memcmp(a, b, v == 6 ? 16 : 4) < 0;
    return (s.local == FROM_LOWER) == src_lower ? src : dst;
}

static void check(uint16_t itf, const char *src, const char *dst, const char *want_local,
                  const char *want_type, bool want_origin)
{
    struct flow_sides s = sides_of(itf, src, dst);
    const char *got = local_ip(itf, src, dst);

    if (strcmp(got, want_local) != 0 || strcmp(s.other_type, want_type) != 0 ||
        s.local_origin != want_origin)
        fail_msg("%s -> %s on %u: local %s, other_type %s, local_origin %d; want %s %s %d", src,
                 dst, itf, got, s.other_type, s.local_origin, want_local, want_type,
                 want_origin);
}

static void test_flow_sides(void **state)
{
    (void)state;
    /* one local side: it is local, whoever spoke first */
    check(0, "192.168.1.10", "93.184.216.34", "192.168.1.10", "remote", true);
    check(0, "93.184.216.34", "192.168.1.10", "192.168.1.10", "remote", false);
    check(0, "2001:db8::1", "fe80::1", "fe80::1", "remote", false);
    /* both or neither local: the first speaker */
    check(0, "10.0.0.2", "10.0.0.1", "10.0.0.2", "local", true);
    check(0, "fd00::2", "fd00::1", "fd00::2", "local", true);
    check(0, "8.8.8.8", "1.1.1.1", "8.8.8.8", "remote", true);
    /* a group address is never the local side */
    check(0, "8.8.8.8", "224.0.0.251", "8.8.8.8", "multicast", true);
    check(0, "fe80::1", "ff02::fb", "fe80::1", "multicast", true);
    check(0, "0.0.0.0", "255.255.255.255", "0.0.0.0", "broadcast", true);
    /* without an own network, x.x.x.255 is an ordinary (private) host */
    check(0, "192.168.7.5", "192.168.7.255", "192.168.7.5", "local", true);
    /* eth1's own networks: local there (and their directed broadcast is
     * broadcast), not on eth0 */
    check(1, "192.168.7.5", "192.168.7.255", "192.168.7.5", "broadcast", true);
    check(1, "198.51.100.1", "203.0.113.9", "203.0.113.9", "remote", false);
    check(0, "198.51.100.1", "203.0.113.9", "198.51.100.1", "remote", true);
    check(1, "203.0.113.9", "203.0.113.255", "203.0.113.9", "broadcast", true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_format),
        cmocka_unit_test(test_parse_refuses),
        cmocka_unit_test(test_contains_matches_reference),
        cmocka_unit_test(test_contains_edges),
        cmocka_unit_test(test_from_mask),
        cmocka_unit_test(test_directed_broadcast),
        cmocka_unit_test(test_list_bound_and_dedup),
        cmocka_unit_test_setup_teardown(test_flow_sides, setup_opts, teardown_opts),
    };
    return cmocka_run_group_tests_name("locality", tests, NULL, NULL);
}
