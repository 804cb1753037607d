/* msgpack → JSON for clients: escaping, the ASCII-only rewrite against
 * hostile UTF-8, every record type rendered to its exact text, framing,
 * and the rejection of hostile events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../broker/agent_status.h"
#include "../../broker/events.h"
#include "../../broker/json_out.h"
#include "channel.h"

#include <errno.h>
#include <math.h>
#include <ndpi/ndpi_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

struct fixture {
    struct json_out out;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_unpacked unpacked;
    char line[8192]; /* the last rendered line, NUL-terminated */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_int_equal(json_out_init(&f->out), 0);
    msgpack_sbuffer_init(&f->sb);
    msgpack_packer_init(&f->pk, &f->sb, msgpack_sbuffer_write);
    msgpack_unpacked_init(&f->unpacked);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    json_out_destroy(&f->out);
    msgpack_sbuffer_destroy(&f->sb);
    msgpack_unpacked_destroy(&f->unpacked);
    free(f);
    return 0;
}

/* Unpacks what the fixture's packer holds (exactly one object). */
static const msgpack_object *packed(struct fixture *f)
{
    size_t off = 0;

    assert_int_equal(msgpack_unpack_next(&f->unpacked, f->sb.data, f->sb.size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    return &f->unpacked.data;
}

/* Renders what was packed; returns the line (with its newline). */
static const char *render(struct fixture *f)
{
    size_t len;

    if (json_out_render(&f->out, packed(f)) != 0)
        fail_msg("render failed: %s", f->out.error);
    const char *line = json_out_line(&f->out, &len);
    assert_true(len < sizeof(f->line));
    memcpy(f->line, line, len);
    f->line[len] = '\0';
    return f->line;
}

/* Renders {"type":"flow","s":<bytes>}. */
static const char *render_string(struct fixture *f, const char *bytes, size_t len)
{
    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_map(&f->pk, 2);
    pk_kv_str(&f->pk, "type", "flow");
    pk_key(&f->pk, "s");
    msgpack_pack_str(&f->pk, len);
    msgpack_pack_str_body(&f->pk, bytes, len);
    return render(f);
}

#define assert_string_renders(f, bytes, expected)                                                  \
    assert_string_equal(render_string(f, bytes, sizeof(bytes) - 1),                                \
                        "{\"type\":\"flow\",\"s\":\"" expected "\"}\n")

static void assert_ascii(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80)
            fail_msg("byte %zu is 0x%02x", i, (unsigned char)s[i]);
}

/* ---- escaping ---- */

static void test_escapes_quote_backslash_and_controls(void **state)
{
    struct fixture *f = *state;

    assert_string_renders(f, "say \"hi\"", "say \\\"hi\\\"");
    assert_string_renders(f, "C:\\dir\\", "C:\\\\dir\\\\");
    assert_string_renders(f, "a\nb\tc\rd\be\ff", "a\\nb\\tc\\rd\\be\\ff");
    assert_string_renders(f, "\x01\x1f", "\\u0001\\u001F");
    assert_string_renders(f, "nul\0here", "nul\\u0000here");
    /* neither is escaped: '/' needs no escape and DEL is ASCII */
    assert_string_renders(f, "a/b\x7f", "a/b\x7f");
}

/* ---- ASCII-only output ---- */

static void test_ascii_multibyte_utf8(void **state)
{
    struct fixture *f = *state;

    assert_string_renders(f, "caf\xc3\xa9", "caf\\u00e9");          /* 2 bytes */
    assert_string_renders(f, "\xe2\x82\xac!", "\\u20ac!");          /* 3 bytes */
    assert_string_renders(f, "\xef\xbf\xbd", "\\ufffd");            /* U+FFFD itself */
    assert_string_renders(f, "\xf0\x9f\x98\x80", "\\ud83d\\ude00"); /* emoji: surrogate pair */
    assert_string_renders(f, "\xf4\x8f\xbf\xbf", "\\udbff\\udfff"); /* U+10FFFF */
    assert_string_renders(f, "\xf0\x90\x80\x80", "\\ud800\\udc00"); /* U+10000 */
    assert_string_renders(f, "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d", "\\u05e9\\u05dc\\u05d5\\u05dd");
}

static void test_ascii_invalid_bytes(void **state)
{
    struct fixture *f = *state;

    assert_string_renders(f, "a\xffz", "a\\ufffdz");
    assert_string_renders(f, "\xfe\xf5\xf8", "\\ufffd\\ufffd\\ufffd");
    /* lone continuation bytes, one replacement each */
    assert_string_renders(f, "\x80", "\\ufffd");
    assert_string_renders(f, "x\xbf\xbfy", "x\\ufffd\\ufffdy");
}

static void test_ascii_overlong_encodings(void **state)
{
    struct fixture *f = *state;

    /* '/' as C0 AF, E0 80 AF, F0 80 80 AF: no lead byte accepts them */
    assert_string_renders(f, "\xc0\xaf", "\\ufffd\\ufffd");
    assert_string_renders(f, "\xc1\xbf", "\\ufffd\\ufffd");
    assert_string_renders(f, "\xe0\x80\xaf", "\\ufffd\\ufffd\\ufffd");
    assert_string_renders(f, "\xf0\x80\x80\xaf", "\\ufffd\\ufffd\\ufffd\\ufffd");
    /* a quote hidden in an overlong form must not end the string */
    assert_string_renders(f, "\xc0\xa2", "\\ufffd\\ufffd");
}

static void test_ascii_truncated_sequences(void **state)
{
    struct fixture *f = *state;

    /* a cut sequence is one replacement, and the next byte survives */
    assert_string_renders(f, "\xe2\x82x", "\\ufffdx");
    assert_string_renders(f, "\xf0\x9f\x98", "\\ufffd");
    assert_string_renders(f, "\xf0\x9f\x98\"", "\\ufffd\\\"");
    assert_string_renders(f, "\xc3", "\\ufffd");
    assert_string_renders(f, "\xe2\xe2\x82\xac", "\\ufffd\\u20ac");
}

static void test_ascii_surrogates_and_out_of_range(void **state)
{
    struct fixture *f = *state;

    /* UTF-16 surrogates encoded in UTF-8 (CESU) are not UTF-8 */
    assert_string_renders(f, "\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd");
    assert_string_renders(f, "\xed\xbf\xbf", "\\ufffd\\ufffd\\ufffd");
    assert_string_renders(f, "\xed\xa0\xbd\xed\xb8\x80",
                          "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd");
    assert_string_renders(f, "\xed\x9f\xbf", "\\ud7ff"); /* the last code point before them */
    /* above U+10FFFF */
    assert_string_renders(f, "\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd");
}

static void test_ascii_hostile_keys(void **state)
{
    struct fixture *f = *state;

    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_map(&f->pk, 2);
    pk_kv_str(&f->pk, "type", "flow");
    pk_kv_u64(&f->pk, "k\xc3\xa9y\xff", 1);
    assert_string_equal(render(f), "{\"type\":\"flow\",\"k\\u00e9y\\ufffd\":1}\n");
}

static void test_ascii_rewrite_edges(void **state)
{
    (void)state;
    char out[64];

    assert_int_equal(json_ascii_rewrite(out, "", 0), 0);
    /* invalid at the very end of the buffer */
    size_t n = json_ascii_rewrite(out, "ab\xe2", 3);
    assert_int_equal(n, 8);
    assert_memory_equal(out, "ab\\ufffd", 8);
    /* the bound: six bytes out for every byte in */
    n = json_ascii_rewrite(out, "\xff\xff\xff", 3);
    assert_int_equal(n, 3 * JSON_ASCII_MAX_GROWTH);
}

/* Every valid code point sampled survives render + a JSON parser. */
static void test_ascii_round_trips_through_a_parser(void **state)
{
    struct fixture *f = *state;
    unsigned checked = 0;

    for (uint32_t cp = 0x80; cp <= 0x10FFFF; cp += (cp < 0x3000 ? 1 : 61)) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        char s[5];
        size_t len;
        if (cp < 0x800) {
            s[0] = (char)(0xC0 | cp >> 6);
            s[1] = (char)(0x80 | (cp & 0x3F));
            len = 2;
        } else if (cp < 0x10000) {
            s[0] = (char)(0xE0 | cp >> 12);
            s[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
            s[2] = (char)(0x80 | (cp & 0x3F));
            len = 3;
        } else {
            s[0] = (char)(0xF0 | cp >> 18);
            s[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
            s[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
            s[3] = (char)(0x80 | (cp & 0x3F));
            len = 4;
        }
        s[len] = '\0';
        const char *line = render_string(f, s, len);
        assert_ascii(line, strlen(line));

        char err[128];
        yajl_val tree = yajl_tree_parse(line, err, sizeof(err));
        if (tree == NULL)
            fail_msg("U+%04X: %s", cp, err);
        const char *path[] = { "s", NULL };
        yajl_val v = yajl_tree_get(tree, path, yajl_t_string);
        assert_non_null(v);
        const char *got = YAJL_GET_STRING(v);
        assert_non_null(got);
        if (strcmp(got, s) != 0)
            fail_msg("U+%04X did not round-trip", cp);
        yajl_tree_free(tree);
        checked++;
    }
    assert_true(checked > 20000);
}

/* Every two-byte sequence whose first byte is not ASCII: pure ASCII out. */
static void test_ascii_all_byte_pairs(void **state)
{
    struct fixture *f = *state;

    for (unsigned a = 0x80; a <= 0xFF; a++) {
        for (unsigned b = 0; b <= 0xFF; b++) {
            char s[3] = { (char)a, (char)b, 'z' };
            const char *line = render_string(f, s, sizeof(s));
            assert_ascii(line, strlen(line));
            /* the string is still properly closed */
            size_t len = strlen(line);
            assert_true(len > 8);
            assert_memory_equal(line + len - 4, "z\"}\n", 4);
        }
    }
}

/* ---- numbers ---- */

static void test_numbers(void **state)
{
    struct fixture *f = *state;

    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_map(&f->pk, 10);
    pk_kv_str(&f->pk, "type", "flow");
    pk_kv_u64(&f->pk, "u", UINT64_MAX);
    pk_kv_i64(&f->pk, "i", INT64_MIN);
    pk_kv_double(&f->pk, "a", 0.1);
    pk_kv_double(&f->pk, "b", 2.0);
    pk_kv_double(&f->pk, "c", 1e300);
    pk_kv_double(&f->pk, "d", -0.75);
    pk_key(&f->pk, "e");
    msgpack_pack_float(&f->pk, 0.1f);
    pk_key(&f->pk, "n");
    msgpack_pack_nil(&f->pk);
    pk_kv_bool(&f->pk, "t", true);
    assert_string_equal(
        render(f),
        "{\"type\":\"flow\",\"u\":18446744073709551615,\"i\":-9223372036854775808,"
        "\"a\":0.1,\"b\":2.0,\"c\":1e+300,\"d\":-0.75,\"e\":0.1,\"n\":null,\"t\":true}\n");
}

/* ---- records ---- */

static void pack_flow_counters(msgpack_packer *pk)
{
    pk_kv_str(pk, "digest", "0123456789abcdef0123456789abcdef01234567");
    pk_kv_u64(pk, "last_seen_at", 1700000005000ULL);
    pk_kv_u64(pk, "local_bytes", 1200);
    pk_kv_u64(pk, "other_bytes", 5400);
    pk_kv_u64(pk, "local_packets", 10);
    pk_kv_u64(pk, "other_packets", 12);
    pk_kv_u64(pk, "total_bytes", 6600);
    pk_kv_u64(pk, "total_packets", 22);
    pk_kv_u64(pk, "detection_packets", 6);
}

#define FLOW_COUNTERS_JSON                                                                         \
    "\"digest\":\"0123456789abcdef0123456789abcdef01234567\",\"last_seen_at\":1700000005000,"      \
    "\"local_bytes\":1200,\"other_bytes\":5400,\"local_packets\":10,\"other_packets\":12,"         \
    "\"total_bytes\":6600,\"total_packets\":22,\"detection_packets\":6"

static void test_record_flow(void **state)
{
    struct fixture *f = *state;
    msgpack_packer *pk = &f->pk;

    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_map(pk, 5);
    pk_kv_str(pk, "type", "flow");
    pk_kv_str(pk, "interface", "eth0");
    pk_kv_bool(pk, "internal", true);
    pk_kv_bool(pk, "established", false);
    pk_key(pk, "flow");
    msgpack_pack_map(pk, 26);
    pk_kv_str(pk, "digest", "0123456789abcdef0123456789abcdef01234567");
    pk_kv_u64(pk, "ip_version", 4);
    pk_kv_u64(pk, "ip_protocol", 6);
    pk_kv_u64(pk, "vlan_id", 0);
    pk_kv_str(pk, "other_type", "remote");
    pk_kv_bool(pk, "local_origin", true);
    pk_kv_str(pk, "local_mac", "aa:bb:cc:dd:ee:ff");
    pk_kv_str(pk, "other_mac", "00:00:00:00:00:00");
    pk_kv_str(pk, "local_ip", "192.168.1.2");
    pk_kv_str(pk, "other_ip", "142.250.1.1");
    pk_kv_u64(pk, "local_port", 51234);
    pk_kv_u64(pk, "other_port", 443);
    pk_kv_u64(pk, "detected_protocol", 91);
    pk_kv_str(pk, "detected_protocol_name", "TLS");
    pk_kv_u64(pk, "detected_application", 126);
    pk_kv_str(pk, "detected_application_name", "126.google");
    pk_kv_bool(pk, "detection_guessed", false);
    pk_kv_u64(pk, "category", 5);
    pk_kv_str(pk, "host_server_name", "www.google.com");
    pk_key(pk, "ssl");
    msgpack_pack_map(pk, 6);
    pk_kv_str(pk, "version", "0x0303");
    pk_kv_str(pk, "cipher_suite", "0xc02b");
    pk_kv_str(pk, "client_sni", "www.google.com");
    pk_kv_str(pk, "server_cn", "*.google.com");
    pk_kv_str(pk, "client_ja3", "b32309a26951912be7dba376398abc3b");
    pk_kv_str(pk, "server_ja3", "f4febc55ea12b31ae17cfb7e614afda8");
    pk_kv_u64(pk, "first_seen_at", 1700000000123ULL);
    pk_kv_u64(pk, "first_update_at", 1700000000123ULL);
    pk_kv_u64(pk, "last_seen_at", 1700000000456ULL);
    pk_kv_u64(pk, "local_bytes", 517);
    pk_kv_u64(pk, "other_bytes", 1460);
    pk_kv_u64(pk, "total_bytes", 1977);

    assert_string_equal(
        render(f),
        "{\"type\":\"flow\",\"interface\":\"eth0\",\"internal\":true,\"established\":false,"
        "\"flow\":{\"digest\":\"0123456789abcdef0123456789abcdef01234567\",\"ip_version\":4,"
        "\"ip_protocol\":6,\"vlan_id\":0,\"other_type\":\"remote\",\"local_origin\":true,"
        "\"local_mac\":\"aa:bb:cc:dd:ee:ff\",\"other_mac\":\"00:00:00:00:00:00\","
        "\"local_ip\":\"192.168.1.2\",\"other_ip\":\"142.250.1.1\",\"local_port\":51234,"
        "\"other_port\":443,\"detected_protocol\":91,\"detected_protocol_name\":\"TLS\","
        "\"detected_application\":126,\"detected_application_name\":\"126.google\","
        "\"detection_guessed\":false,\"category\":5,\"host_server_name\":\"www.google.com\","
        "\"ssl\":{\"version\":\"0x0303\",\"cipher_suite\":\"0xc02b\","
        "\"client_sni\":\"www.google.com\",\"server_cn\":\"*.google.com\","
        "\"client_ja3\":\"b32309a26951912be7dba376398abc3b\","
        "\"server_ja3\":\"f4febc55ea12b31ae17cfb7e614afda8\"},"
        "\"first_seen_at\":1700000000123,\"first_update_at\":1700000000123,"
        "\"last_seen_at\":1700000000456,\"local_bytes\":517,\"other_bytes\":1460,"
        "\"total_bytes\":1977}}\n");
}

static void test_record_flow_status(void **state)
{
    struct fixture *f = *state;

    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_map(&f->pk, 4);
    pk_kv_str(&f->pk, "type", "flow_status");
    pk_kv_str(&f->pk, "interface", "capture.pcap");
    pk_kv_bool(&f->pk, "internal", true);
    pk_key(&f->pk, "flow");
    msgpack_pack_map(&f->pk, 9);
    pack_flow_counters(&f->pk);
    assert_string_equal(render(f), "{\"type\":\"flow_status\",\"interface\":\"capture.pcap\","
                                   "\"internal\":true,\"flow\":{" FLOW_COUNTERS_JSON "}}\n");
}

static void test_record_flow_purge(void **state)
{
    struct fixture *f = *state;

    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_map(&f->pk, 5);
    pk_kv_str(&f->pk, "type", "flow_purge");
    pk_kv_str(&f->pk, "reason", "closed");
    pk_kv_str(&f->pk, "interface", "eth1");
    pk_kv_bool(&f->pk, "internal", false);
    pk_key(&f->pk, "flow");
    msgpack_pack_map(&f->pk, 9);
    pack_flow_counters(&f->pk);
    assert_string_equal(render(f), "{\"type\":\"flow_purge\",\"reason\":\"closed\","
                                   "\"interface\":\"eth1\",\"internal\":false,"
                                   "\"flow\":{" FLOW_COUNTERS_JSON "}}\n");
}

static void test_record_agent_hello(void **state)
{
    struct fixture *f = *state;
    struct agent a;
    char expected[512], major_minor[16];

    assert_int_equal(agent_init(&a, 1, 15), 0);
    msgpack_sbuffer_clear(&f->sb);
    agent_hello_pack(&a, &f->pk);

    /* agent_version is the version's major.minor as a number */
    snprintf(major_minor, sizeof(major_minor), "%s", FLOWSENSE_VERSION);
    char *dot = strchr(strchr(major_minor, '.') + 1, '.');
    if (dot != NULL)
        *dot = '\0';
    snprintf(
        expected, sizeof(expected),
        "{\"type\":\"agent_hello\",\"build_version\":\"flowsense/%s (Linux; nDPI %s; json 1.9)\","
        "\"agent_version\":%s,\"json_version\":1.9}\n",
        FLOWSENSE_VERSION, ndpi_revision(), major_minor);
    assert_string_equal(render(f), expected);
    agent_destroy(&a);
}

/* Stores one statistics event, checked as the broker checks it. */
static void store_stats(struct fixture *f, struct agent *a, int worker)
{
    const char *why = NULL;
    const msgpack_object *obj = packed(f);

    if (worker < 0) {
        assert_int_equal(broker_event_classify(obj, EVENT_FROM_CONTROL, &why), EVENT_CAPTURE_STATS);
        assert_int_equal(agent_store_capture(a, obj, f->sb.data, f->sb.size), 0);
    } else {
        assert_int_equal(broker_event_classify(obj, EVENT_FROM_WORKER, &why), EVENT_WORKER_STATS);
        assert_int_equal(agent_store_worker(a, (unsigned)worker, obj, f->sb.data, f->sb.size), 0);
    }
}

static void pack_worker_stats(msgpack_packer *pk, unsigned worker, uint64_t flows, double cpu_user)
{
    msgpack_pack_map(pk, 8);
    pk_kv_str(pk, "type", "worker_stats");
    pk_kv_u64(pk, "worker", worker);
    pk_kv_u64(pk, "flows", flows);
    pk_kv_double(pk, "cpu_user", cpu_user);
    pk_kv_double(pk, "cpu_system", 0.5);
    pk_kv_u64(pk, "maxrss_kb", 2000);
    pk_key(pk, "decode_errors");
    msgpack_pack_map(pk, 1);
    pk_kv_u64(pk, "truncated", 3);
    pk_kv_u64(pk, "events_dropped", 7);
}

static void test_record_agent_status(void **state)
{
    struct fixture *f = *state;
    struct agent a;

    assert_int_equal(agent_init(&a, 2, 15), 0);
    a.cpu_cores = 4;

    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_map(&f->pk, 6);
    pk_kv_str(&f->pk, "type", "capture_stats");
    pk_kv_u64(&f->pk, "packets", 100);
    pk_key(&f->pk, "ring_drops");
    msgpack_pack_array(&f->pk, 2);
    msgpack_pack_uint64(&f->pk, 0);
    msgpack_pack_uint64(&f->pk, 1);
    pk_kv_double(&f->pk, "cpu_user", 1.0);
    pk_kv_double(&f->pk, "cpu_system", 0.25);
    pk_kv_u64(&f->pk, "maxrss_kb", 3000);
    store_stats(f, &a, -1);

    /* only worker 1 has reported */
    msgpack_sbuffer_clear(&f->sb);
    pack_worker_stats(&f->pk, 1, 12, 2.25);
    store_stats(f, &a, 1);
    assert_int_equal(agent_worker_events_dropped(&a), 7);

    struct agent_self self = {
        .timestamp = 1700000000,
        .uptime = 42,
        .cpu_user = 0.5,
        .cpu_system = 0.125,
        .maxrss_kb = 1000,
    };
    struct agent_counters counters = {
        .clients_connected = 1,
        .clients_accepted = 3,
        .clients_refused = 6,
        .clients_dropped_slow = 1,
        .clients_records_sent = 80,
        .clients_bytes_sent = 9000,
        .clients_subscribed = 2,
        .clients_rejected_commands = 5,
        .clients_command_timeouts = 4,
        .events_received = 500,
        .events_malformed = 2,
        .events_dropped = 7,
        .established_stored = 10,
        .established_limit = 2000,
        .established_refused = 11,
        .established_unkeyed = 12,
        .established_lost = 13,
        .established_replayed = 14,
        .listeners_recreated = 15,
        .listeners_unavailable = 1,
    };
    msgpack_sbuffer_clear(&f->sb);
    agent_status_pack(&a, &f->pk, &self, &counters, true);
    assert_string_equal(
        render(f),
        "{\"type\":\"agent_status\",\"timestamp\":1700000000,\"update_interval\":15,\"uptime\":42,"
        "\"cpu_cores\":4,\"cpu_user\":3.75,\"cpu_user_prev\":0.0,\"cpu_system\":0.875,"
        "\"cpu_system_prev\":0.0,\"maxrss_kb\":6000,\"maxrss_kb_prev\":0,\"flow_count\":12,"
        "\"flow_count_prev\":0,\"flows\":12,\"flows_prev\":0,\"dhc_status\":true,\"dhc_size\":0,"
        "\"capture\":{\"packets\":100,\"ring_drops\":[0,1],\"cpu_user\":1.0,\"cpu_system\":0.25,"
        "\"maxrss_kb\":3000},"
        "\"workers\":[{\"worker\":1,\"flows\":12,\"cpu_user\":2.25,\"cpu_system\":0.5,"
        "\"maxrss_kb\":2000,\"decode_errors\":{\"truncated\":3},\"events_dropped\":7}],"
        "\"clients\":{\"connected\":1,\"accepted\":3,\"refused\":6,\"dropped_slow\":1,"
        "\"records_sent\":80,\"bytes_sent\":9000,\"subscribed\":2,"
        "\"rejected_commands\":5,\"command_timeouts\":4},"
        "\"events\":{\"received\":500,\"malformed\":2,\"dropped\":7},"
        "\"established_flows\":{\"stored\":10,\"limit\":2000,\"refused\":11,\"unkeyed\":12,"
        "\"lost\":13,\"replayed\":14},"
        "\"listeners\":{\"recreated\":15,\"unavailable\":1}}\n");

    /* worker 0 reports; the next periodic status carries the previous totals */
    msgpack_sbuffer_clear(&f->sb);
    pack_worker_stats(&f->pk, 0, 3, 0.25);
    store_stats(f, &a, 0);
    self.timestamp += 15;
    msgpack_sbuffer_clear(&f->sb);
    agent_status_pack(&a, &f->pk, &self, &counters, true);
    const char *line = render(f);
    assert_non_null(strstr(line, "\"cpu_user\":4.0,\"cpu_user_prev\":3.75,"));
    assert_non_null(strstr(line, "\"cpu_system\":1.375,\"cpu_system_prev\":0.875,"));
    assert_non_null(strstr(line, "\"maxrss_kb\":8000,\"maxrss_kb_prev\":6000,"));
    assert_non_null(strstr(line, "\"flow_count\":15,\"flow_count_prev\":12,"
                                 "\"flows\":15,\"flows_prev\":12,"));
    assert_non_null(strstr(line, "\"workers\":[{\"worker\":0,\"flows\":3,"));
    assert_non_null(strstr(line, ",\"events_dropped\":7},{\"worker\":1,\"flows\":12,"));

    /* a status sent on connect leaves the previous totals alone */
    msgpack_sbuffer_clear(&f->sb);
    pack_worker_stats(&f->pk, 0, 3, 1.25);
    store_stats(f, &a, 0);
    msgpack_sbuffer_clear(&f->sb);
    agent_status_pack(&a, &f->pk, &self, &counters, false);
    msgpack_sbuffer_clear(&f->sb);
    agent_status_pack(&a, &f->pk, &self, &counters, false);
    assert_non_null(strstr(render(f), "\"cpu_user\":5.0,\"cpu_user_prev\":4.0,"));
    agent_destroy(&a);
}

static void pack_worker_exit(msgpack_packer *pk, uint64_t worker, uint64_t pid)
{
    msgpack_pack_map(pk, 6);
    pk_kv_str(pk, "type", "worker_exit");
    pk_kv_u64(pk, "worker", worker);
    pk_kv_u64(pk, "pid", pid);
    pk_kv_u64(pk, "signal", 9);
    pk_kv_u64(pk, "status", 0);
    pk_kv_u64(pk, "flows_lost", 12);
}

/* worker_stats of `pid` with flows and CPU seconds; stored as the broker does. */
static void store_worker_of(struct fixture *f, struct agent *a, unsigned worker, uint64_t pid,
                            uint64_t flows, double cpu)
{
    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_map(&f->pk, 7);
    pk_kv_str(&f->pk, "type", "worker_stats");
    pk_kv_u64(&f->pk, "worker", worker);
    pk_kv_u64(&f->pk, "pid", pid);
    pk_kv_u64(&f->pk, "flows", flows);
    pk_kv_double(&f->pk, "cpu_user", cpu);
    pk_kv_double(&f->pk, "cpu_system", 0);
    pk_kv_u64(&f->pk, "events_dropped", 2);
    store_stats(f, a, (int)worker);
}

static const char *status_line(struct fixture *f, struct agent *a)
{
    struct agent_self self = { .timestamp = 1 };
    struct agent_counters counters = { 0 };

    msgpack_sbuffer_clear(&f->sb);
    agent_status_pack(a, &f->pk, &self, &counters, true);
    return render(f);
}

/* A dead worker's flows leave the totals and its statistics the workers
 * array at once; its CPU time and drops stay counted; statistics it sent
 * before dying but read afterwards do not bring it back; its successor's
 * replace it. */
static void test_worker_exit_drops_the_dead_workers_stats(void **state)
{
    struct fixture *f = *state;
    struct agent a;
    const char *why = NULL;

    assert_int_equal(agent_init(&a, 2, 15), 0);
    store_worker_of(f, &a, 0, 100, 5, 1.0);
    store_worker_of(f, &a, 1, 200, 12, 2.0);
    assert_non_null(strstr(status_line(f, &a), "\"flows\":17,"));

    msgpack_sbuffer_clear(&f->sb);
    pack_worker_exit(&f->pk, 1, 200);
    assert_int_equal(broker_event_classify(packed(f), EVENT_FROM_CONTROL, &why), EVENT_WORKER_EXIT);
    assert_int_equal(agent_worker_exit(&a, packed(f), &why), 0);
    const char *line = status_line(f, &a);
    assert_non_null(strstr(line, "\"flows\":5,"));
    assert_non_null(strstr(line, "\"cpu_user\":3.0,"));
    assert_non_null(strstr(line, "\"workers\":[{\"worker\":0,\"pid\":100,"));
    assert_null(strstr(line, "\"pid\":200"));
    assert_int_equal(agent_worker_events_dropped(&a), 4);

    /* late statistics of the dead worker are ignored */
    store_worker_of(f, &a, 1, 200, 12, 2.5);
    assert_null(strstr(status_line(f, &a), "\"pid\":200"));
    /* its successor's count */
    store_worker_of(f, &a, 1, 201, 1, 0.5);
    line = status_line(f, &a);
    assert_non_null(strstr(line, "\"flows\":6,"));
    assert_non_null(strstr(line, "\"cpu_user\":3.5,"));
    assert_non_null(strstr(line, "{\"worker\":1,\"pid\":201,\"flows\":1,"));
    assert_int_equal(agent_worker_events_dropped(&a), 6);

    /* a worker that died before reporting leaves its successor's statistics alone */
    msgpack_sbuffer_clear(&f->sb);
    pack_worker_exit(&f->pk, 1, 199);
    assert_int_equal(agent_worker_exit(&a, packed(f), &why), 0);
    assert_non_null(strstr(status_line(f, &a), "{\"worker\":1,\"pid\":201,"));
    agent_destroy(&a);
}

static void test_worker_exit_is_checked(void **state)
{
    struct fixture *f = *state;
    struct agent a;
    const char *why;
    static const struct {
        int64_t worker, pid;
        const char *why;
    } bad[] = {
        { 2, 100, "worker_exit without a valid \"worker\" index" },
        { -1, 100, "worker_exit without a valid \"worker\" index" },
        { 0, 0, "worker_exit without a valid \"pid\"" },
        { 0, -5, "worker_exit without a valid \"pid\"" },
        { 0, (int64_t)1 << 40, "worker_exit without a valid \"pid\"" },
    };

    assert_int_equal(agent_init(&a, 2, 15), 0);
    store_worker_of(f, &a, 0, 100, 5, 1.0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        msgpack_sbuffer_clear(&f->sb);
        msgpack_pack_map(&f->pk, 3);
        pk_kv_str(&f->pk, "type", "worker_exit");
        pk_kv_i64(&f->pk, "worker", bad[i].worker);
        pk_kv_i64(&f->pk, "pid", bad[i].pid);
        why = NULL;
        assert_int_equal(agent_worker_exit(&a, packed(f), &why), -1);
        assert_string_equal(why, bad[i].why);
    }
    /* a string where the index should be */
    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_map(&f->pk, 3);
    pk_kv_str(&f->pk, "type", "worker_exit");
    pk_kv_str(&f->pk, "worker", "0");
    pk_kv_u64(&f->pk, "pid", 100);
    assert_int_equal(agent_worker_exit(&a, packed(f), &why), -1);
    /* nothing was dropped */
    assert_non_null(strstr(status_line(f, &a), "{\"worker\":0,\"pid\":100,\"flows\":5,"));
    agent_destroy(&a);
}

static void test_agent_status_before_any_stats(void **state)
{
    struct fixture *f = *state;
    struct agent a;
    struct agent_self self = { .timestamp = 1, .uptime = 0 };
    struct agent_counters counters = { 0 };

    assert_int_equal(agent_init(&a, 3, 60), 0);
    assert_true(a.cpu_cores >= 1);
    msgpack_sbuffer_clear(&f->sb);
    agent_status_pack(&a, &f->pk, &self, &counters, false);
    const char *line = render(f);
    assert_non_null(strstr(line, "\"update_interval\":60,"));
    assert_non_null(strstr(line, "\"capture\":{},\"workers\":[],"));
    agent_destroy(&a);
}

/* Every worker learns every DNS answer: dhc_size is the largest cache,
 * not the sum of the copies. */
static void test_agent_status_dhc_size(void **state)
{
    struct fixture *f = *state;
    struct agent a;
    struct agent_self self = { .timestamp = 1, .uptime = 0 };
    struct agent_counters counters = { 0 };
    static const uint64_t sizes[3] = { 7, 9, 8 };

    assert_int_equal(agent_init(&a, 3, 15), 0);
    for (unsigned w = 0; w < 3; w++) {
        msgpack_sbuffer_clear(&f->sb);
        msgpack_pack_map(&f->pk, 3);
        pk_kv_str(&f->pk, "type", "worker_stats");
        pk_kv_u64(&f->pk, "worker", w);
        pk_kv_u64(&f->pk, "dhc_size", sizes[w]);
        store_stats(f, &a, (int)w);
    }
    msgpack_sbuffer_clear(&f->sb);
    agent_status_pack(&a, &f->pk, &self, &counters, false);
    assert_non_null(strstr(render(f), "\"dhc_status\":true,\"dhc_size\":9,"));
    agent_destroy(&a);
}

/* ---- framing ---- */

static void test_framing_length_counts_bytes(void **state)
{
    struct fixture *f = *state;
    size_t framed_len, line_len, n = 0;
    int header_len = 0;

    static const char hostile[] = "\xf0\x9f\x98\x80 and \xff";
    render_string(f, hostile, sizeof(hostile) - 1);
    const char *framed = json_out_framed(&f->out, &framed_len);
    const char *line = json_out_line(&f->out, &line_len);

    assert_int_equal(sscanf(framed, "{\"length\":%zu}\n%n", &n, &header_len), 1);
    assert_true(header_len > 0);
    assert_memory_equal(framed, "{\"length\":", 10);
    assert_int_equal(n, line_len);
    assert_int_equal(framed_len, (size_t)header_len + n);
    assert_ptr_equal(framed + header_len, line);
    assert_int_equal(line[n - 1], '\n');
    assert_null(memchr(line, '\n', n - 1));
    assert_ascii(framed, framed_len);
    assert_int_equal(n, strlen("{\"type\":\"flow\",\"s\":\"\\ud83d\\ude00 and \\ufffd\"}\n"));
}

static void test_framing_after_a_larger_record(void **state)
{
    struct fixture *f = *state;
    char big[6000];
    size_t len;

    memset(big, 'x', sizeof(big));
    render_string(f, big, sizeof(big));
    json_out_framed(&f->out, &len);
    assert_true(len > sizeof(big));

    render_string(f, "y", 1);
    const char *framed = json_out_framed(&f->out, &len);
    const char expected[] = "{\"length\":24}\n{\"type\":\"flow\",\"s\":\"y\"}\n";
    assert_int_equal(len, sizeof(expected) - 1);
    assert_memory_equal(framed, expected, len);
}

/* ---- rejections ---- */

static enum event_kind classify_packed(struct fixture *f, enum event_source from, const char **why)
{
    *why = NULL;
    enum event_kind kind = broker_event_classify(packed(f), from, why);
    if (kind == EVENT_INVALID)
        assert_non_null(*why);
    return kind;
}

static void test_accepts_each_event_type_on_its_channel(void **state)
{
    struct fixture *f = *state;
    const char *why;
    static const struct {
        const char *type;
        enum event_source from;
        enum event_kind kind;
    } cases[] = {
        { "flow", EVENT_FROM_WORKER, EVENT_FLOW },
        { "flow_status", EVENT_FROM_WORKER, EVENT_FLOW_STATUS },
        { "flow_purge", EVENT_FROM_WORKER, EVENT_FLOW_PURGE },
        { "worker_stats", EVENT_FROM_WORKER, EVENT_WORKER_STATS },
        { "capture_stats", EVENT_FROM_CONTROL, EVENT_CAPTURE_STATS },
        { "capture_done", EVENT_FROM_CONTROL, EVENT_CAPTURE_DONE },
        { "worker_exit", EVENT_FROM_CONTROL, EVENT_WORKER_EXIT },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        msgpack_sbuffer_clear(&f->sb);
        msgpack_pack_map(&f->pk, 1);
        pk_kv_str(&f->pk, "type", cases[i].type);
        assert_int_equal(classify_packed(f, cases[i].from, &why), cases[i].kind);
        /* the other channel may not send it */
        enum event_source other =
            cases[i].from == EVENT_FROM_WORKER ? EVENT_FROM_CONTROL : EVENT_FROM_WORKER;
        assert_int_equal(classify_packed(f, other, &why), EVENT_INVALID);
        assert_string_equal(why, "event type not allowed on this channel");
    }
}

static void test_rejects_non_map(void **state)
{
    struct fixture *f = *state;
    const char *why;

    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_array(&f->pk, 1);
    pk_str(&f->pk, "flow");
    assert_int_equal(classify_packed(f, EVENT_FROM_WORKER, &why), EVENT_INVALID);
    assert_string_equal(why, "event is not a map");

    msgpack_sbuffer_clear(&f->sb);
    pk_str(&f->pk, "flow");
    assert_int_equal(classify_packed(f, EVENT_FROM_WORKER, &why), EVENT_INVALID);
    assert_int_equal(json_out_render(&f->out, packed(f)), -1);
    assert_string_equal(f->out.error, "event is not a map");
}

static void test_rejects_missing_or_bad_type(void **state)
{
    struct fixture *f = *state;
    const char *why;

    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_map(&f->pk, 1);
    pk_kv_str(&f->pk, "kind", "flow");
    assert_int_equal(classify_packed(f, EVENT_FROM_WORKER, &why), EVENT_INVALID);
    assert_string_equal(why, "no \"type\", or more than one");

    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_map(&f->pk, 1);
    pk_kv_u64(&f->pk, "type", 1);
    assert_int_equal(classify_packed(f, EVENT_FROM_WORKER, &why), EVENT_INVALID);
    assert_string_equal(why, "\"type\" is not a string");

    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_map(&f->pk, 1);
    pk_kv_str(&f->pk, "type", "agent_status"); /* ours to send, not a worker's */
    assert_int_equal(classify_packed(f, EVENT_FROM_WORKER, &why), EVENT_INVALID);
    assert_string_equal(why, "unknown event type");

    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_map(&f->pk, 1);
    pk_kv_str(&f->pk, "type", "flo"); /* a prefix is not a match */
    assert_int_equal(classify_packed(f, EVENT_FROM_WORKER, &why), EVENT_INVALID);

    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_map(&f->pk, 2);
    pk_kv_str(&f->pk, "type", "flow");
    pk_kv_str(&f->pk, "type", "capture_done");
    assert_int_equal(classify_packed(f, EVENT_FROM_WORKER, &why), EVENT_INVALID);
    assert_string_equal(why, "no \"type\", or more than one");
}

static void test_rejects_int_keys(void **state)
{
    struct fixture *f = *state;
    const char *why;

    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_map(&f->pk, 2);
    pk_kv_str(&f->pk, "type", "flow");
    msgpack_pack_int(&f->pk, 7);
    msgpack_pack_int(&f->pk, 8);
    assert_int_equal(classify_packed(f, EVENT_FROM_WORKER, &why), EVENT_INVALID);
    assert_string_equal(why, "map key is not a string");

    /* also deep inside */
    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_map(&f->pk, 2);
    pk_kv_str(&f->pk, "type", "flow");
    pk_key(&f->pk, "flow");
    msgpack_pack_map(&f->pk, 1);
    msgpack_pack_true(&f->pk);
    msgpack_pack_int(&f->pk, 8);
    assert_int_equal(classify_packed(f, EVENT_FROM_WORKER, &why), EVENT_INVALID);
    assert_string_equal(why, "map key is not a string");
    assert_int_equal(json_out_render(&f->out, packed(f)), -1);
}

/* {"type":"flow","n":{"n":...}} with maps depth deep in all. */
static void pack_nested(msgpack_packer *pk, const char *type, int depth)
{
    msgpack_pack_map(pk, 2);
    pk_kv_str(pk, "type", type);
    pk_key(pk, "n");
    for (int d = 2; d < depth; d++) {
        msgpack_pack_map(pk, 1);
        pk_key(pk, "n");
    }
    msgpack_pack_array(pk, 0); /* the innermost container */
}

static void test_rejects_deep_nesting(void **state)
{
    struct fixture *f = *state;
    const char *why;

    msgpack_sbuffer_clear(&f->sb);
    pack_nested(&f->pk, "flow", JSON_OUT_MAX_DEPTH);
    assert_int_equal(classify_packed(f, EVENT_FROM_WORKER, &why), EVENT_FLOW);
    assert_string_equal(
        render(f),
        "{\"type\":\"flow\",\"n\":{\"n\":{\"n\":{\"n\":{\"n\":{\"n\":{\"n\":[]}}}}}}}\n");

    msgpack_sbuffer_clear(&f->sb);
    pack_nested(&f->pk, "flow", JSON_OUT_MAX_DEPTH + 1);
    assert_int_equal(classify_packed(f, EVENT_FROM_WORKER, &why), EVENT_INVALID);
    assert_string_equal(why, "nested too deep");
    assert_int_equal(json_out_render(&f->out, packed(f)), -1);
    assert_string_equal(f->out.error, "nested too deep");

    /* statistics are embedded two levels down in agent_status */
    msgpack_sbuffer_clear(&f->sb);
    pack_nested(&f->pk, "worker_stats", JSON_OUT_MAX_DEPTH - 2);
    assert_int_equal(classify_packed(f, EVENT_FROM_WORKER, &why), EVENT_WORKER_STATS);
    msgpack_sbuffer_clear(&f->sb);
    pack_nested(&f->pk, "worker_stats", JSON_OUT_MAX_DEPTH - 1);
    assert_int_equal(classify_packed(f, EVENT_FROM_WORKER, &why), EVENT_INVALID);
    assert_string_equal(why, "nested too deep");
}

static void test_rejects_bin_ext_nan(void **state)
{
    struct fixture *f = *state;
    const char *why;

    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_map(&f->pk, 2);
    pk_kv_str(&f->pk, "type", "flow");
    pk_key(&f->pk, "b");
    msgpack_pack_bin(&f->pk, 2);
    msgpack_pack_bin_body(&f->pk, "\x00\x01", 2);
    assert_int_equal(classify_packed(f, EVENT_FROM_WORKER, &why), EVENT_INVALID);
    assert_string_equal(why, "bin value");
    assert_int_equal(json_out_render(&f->out, packed(f)), -1);
    assert_string_equal(f->out.error, "bin value");

    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_map(&f->pk, 2);
    pk_kv_str(&f->pk, "type", "flow");
    pk_key(&f->pk, "e");
    msgpack_pack_array(&f->pk, 1);
    msgpack_pack_ext(&f->pk, 1, 5);
    msgpack_pack_ext_body(&f->pk, "\x01", 1);
    assert_int_equal(classify_packed(f, EVENT_FROM_WORKER, &why), EVENT_INVALID);
    assert_string_equal(why, "ext value");

    const double bad[] = { NAN, INFINITY, -INFINITY };
    for (size_t i = 0; i < 3; i++) {
        msgpack_sbuffer_clear(&f->sb);
        msgpack_pack_map(&f->pk, 2);
        pk_kv_str(&f->pk, "type", "flow_status");
        pk_kv_double(&f->pk, "x", bad[i]);
        assert_int_equal(classify_packed(f, EVENT_FROM_WORKER, &why), EVENT_INVALID);
        assert_string_equal(why, "number is NaN or infinite");
    }

    /* a failed render leaves the renderer usable */
    assert_string_equal(render_string(f, "ok", 2), "{\"type\":\"flow\",\"s\":\"ok\"}\n");
}

struct walk_log {
    int n;
    enum event_kind kind[8];
    const char *why[8];
    size_t raw_len[8];
};

static void record_event(void *ctx, enum event_kind kind, const msgpack_object *obj,
                         const char *raw, size_t raw_len, const char *why)
{
    struct walk_log *log = ctx;

    (void)raw;
    assert_true(log->n < 8);
    if (kind != EVENT_INVALID)
        assert_non_null(obj);
    log->kind[log->n] = kind;
    log->why[log->n] = why;
    log->raw_len[log->n] = raw_len;
    log->n++;
}

static void test_walk_splits_a_message(void **state)
{
    struct fixture *f = *state;
    struct walk_log log = { 0 };

    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_map(&f->pk, 1);
    pk_kv_str(&f->pk, "type", "flow");
    size_t first = f->sb.size;
    msgpack_pack_map(&f->pk, 1);
    pk_kv_str(&f->pk, "type", "bogus");
    msgpack_pack_map(&f->pk, 2);
    pk_kv_str(&f->pk, "type", "worker_stats");
    pk_kv_u64(&f->pk, "flows", 1);

    broker_event_walk(f->sb.data, f->sb.size, EVENT_FROM_WORKER, &f->unpacked, record_event, &log);
    assert_int_equal(log.n, 3);
    assert_int_equal(log.kind[0], EVENT_FLOW);
    assert_int_equal(log.raw_len[0], first);
    assert_int_equal(log.kind[1], EVENT_INVALID); /* one bad event does not spoil the rest */
    assert_string_equal(log.why[1], "unknown event type");
    assert_int_equal(log.kind[2], EVENT_WORKER_STATS);
}

static void test_walk_rejects_truncated_msgpack(void **state)
{
    struct fixture *f = *state;
    struct walk_log log = { 0 };

    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_map(&f->pk, 1);
    pk_kv_str(&f->pk, "type", "flow");
    size_t first = f->sb.size;
    msgpack_pack_map(&f->pk, 2);
    pk_kv_str(&f->pk, "type", "flow_purge");
    pk_kv_str(&f->pk, "reason", "expired");

    broker_event_walk(f->sb.data, f->sb.size - 3, EVENT_FROM_WORKER, &f->unpacked, record_event,
                      &log);
    assert_int_equal(log.n, 2);
    assert_int_equal(log.kind[0], EVENT_FLOW);
    assert_int_equal(log.kind[1], EVENT_INVALID);
    assert_string_equal(log.why[1], "message ends inside an event");
    assert_int_equal(log.raw_len[1], f->sb.size - 3 - first);

    /* a map header that promises more than the message holds */
    memset(&log, 0, sizeof(log));
    broker_event_walk("\xdf\xff\xff\xff\xff", 5, EVENT_FROM_WORKER, &f->unpacked, record_event,
                      &log);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.kind[0], EVENT_INVALID);
    assert_string_equal(log.why[0], "container larger than the message");

    /* 0xc1 is never used in msgpack */
    memset(&log, 0, sizeof(log));
    broker_event_walk("\xc1\x80", 2, EVENT_FROM_CONTROL, &f->unpacked, record_event, &log);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.kind[0], EVENT_INVALID);
    assert_string_equal(log.why[0], "not msgpack");
}

/* Headers that claim more elements than the message could hold are
 * refused before msgpack-c allocates room for them. */
static void test_walk_rejects_oversized_containers(void **state)
{
    struct fixture *f = *state;
    struct walk_log log = { 0 };

    /* {"type":"flow","a":[array32 of 2^32-1]} after a string of 300 bytes */
    char big[300];
    memset(big, 's', sizeof(big));
    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_map(&f->pk, 3);
    pk_kv_str(&f->pk, "type", "flow");
    pk_key(&f->pk, "s");
    msgpack_pack_str(&f->pk, sizeof(big));
    msgpack_pack_str_body(&f->pk, big, sizeof(big));
    pk_key(&f->pk, "a");
    msgpack_sbuffer_write(&f->sb, "\xdd\xff\xff\xff\xff\x01", 6);
    broker_event_walk(f->sb.data, f->sb.size, EVENT_FROM_WORKER, &f->unpacked, record_event, &log);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.kind[0], EVENT_INVALID);
    assert_string_equal(log.why[0], "container larger than the message");

    /* map16 of 3 entries needs 6 elements; only 5 bytes follow */
    memset(&log, 0, sizeof(log));
    broker_event_walk("\xde\x00\x03\x01\x02\x03\x04\x05", 8, EVENT_FROM_WORKER, &f->unpacked,
                      record_event, &log);
    assert_int_equal(log.n, 1);
    assert_string_equal(log.why[0], "container larger than the message");

    /* the same event with a real array of 2 is fine */
    memset(&log, 0, sizeof(log));
    msgpack_sbuffer_clear(&f->sb);
    msgpack_pack_map(&f->pk, 3);
    pk_kv_str(&f->pk, "type", "flow");
    pk_key(&f->pk, "s");
    msgpack_pack_str(&f->pk, sizeof(big));
    msgpack_pack_str_body(&f->pk, big, sizeof(big));
    pk_key(&f->pk, "a");
    msgpack_sbuffer_write(&f->sb, "\xdd\x00\x00\x00\x02\x01\xcb\x3f\xf0\0\0\0\0\0\0", 15);
    broker_event_walk(f->sb.data, f->sb.size, EVENT_FROM_WORKER, &f->unpacked, record_event, &log);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.kind[0], EVENT_FLOW);
    size_t len;
    assert_int_equal(json_out_render(&f->out, &f->unpacked.data), 0);
    const char *line = json_out_line(&f->out, &len);
    assert_memory_equal(line + len - 13, "\"a\":[1,1.0]}\n", 13);
}

/* Deeper than msgpack-c's own parse stack: refused, never a crash. */
static void test_walk_rejects_very_deep_nesting(void **state)
{
    struct fixture *f = *state;
    struct walk_log log = { 0 };
    char msg[201];

    memset(msg, 0x91, 200); /* 200 nested one-element arrays */
    msg[200] = (char)0x90;
    broker_event_walk(msg, sizeof(msg), EVENT_FROM_WORKER, &f->unpacked, record_event, &log);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.kind[0], EVENT_INVALID);
}

static void test_channel_recv_detects_truncation(void **state)
{
    (void)state;
    int sv[2];
    static char big[CHANNEL_MAX_MESSAGE + 100], buf[CHANNEL_MAX_MESSAGE];
    bool truncated = true;

    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    assert_int_equal(send(sv[0], "\x80", 1, 0), 1);
    assert_int_equal(broker_channel_recv(sv[1], buf, sizeof(buf), &truncated), 1);
    assert_false(truncated);

    memset(big, 0xc0, sizeof(big));
    assert_int_equal(send(sv[0], big, sizeof(big), 0), (ssize_t)sizeof(big));
    assert_int_equal(broker_channel_recv(sv[1], buf, sizeof(buf), &truncated),
                     (ssize_t)sizeof(buf));
    assert_true(truncated);

    /* nothing left: the tail of the long message is gone, not a new one */
    assert_int_equal(broker_channel_recv(sv[1], buf, sizeof(buf), &truncated), -1);
    assert_int_equal(errno, EAGAIN);
    close(sv[0]);
    assert_int_equal(broker_channel_recv(sv[1], buf, sizeof(buf), &truncated), 0);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_escapes_quote_backslash_and_controls),
        T(test_ascii_multibyte_utf8),
        T(test_ascii_invalid_bytes),
        T(test_ascii_overlong_encodings),
        T(test_ascii_truncated_sequences),
        T(test_ascii_surrogates_and_out_of_range),
        T(test_ascii_hostile_keys),
        T(test_ascii_rewrite_edges),
        T(test_ascii_round_trips_through_a_parser),
        T(test_ascii_all_byte_pairs),
        T(test_numbers),
        T(test_record_flow),
        T(test_record_flow_status),
        T(test_record_flow_purge),
        T(test_record_agent_hello),
        T(test_record_agent_status),
        T(test_worker_exit_drops_the_dead_workers_stats),
        T(test_worker_exit_is_checked),
        T(test_agent_status_before_any_stats),
        T(test_agent_status_dhc_size),
        T(test_framing_length_counts_bytes),
        T(test_framing_after_a_larger_record),
        T(test_accepts_each_event_type_on_its_channel),
        T(test_rejects_non_map),
        T(test_rejects_missing_or_bad_type),
        T(test_rejects_int_keys),
        T(test_rejects_deep_nesting),
        T(test_rejects_bin_ext_nan),
        T(test_walk_splits_a_message),
        T(test_walk_rejects_truncated_msgpack),
        T(test_walk_rejects_oversized_containers),
        T(test_walk_rejects_very_deep_nesting),
        T(test_channel_recv_detects_truncation),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
