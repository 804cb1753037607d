/* Client subscriptions: the command parser refuses every shape but the
 * documented one, and the name rule matches what the README promises. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "channel.h"
#include "subscription.h"

#include <string.h>

static int parse(const char *line, struct subscription *sub, char *err, size_t errlen)
{
    return subscription_parse(line, strlen(line), sub, err, errlen);
}

static struct field_ref ref(const char *s)
{
    return (struct field_ref){ s, s ? strlen(s) : 0 };
}

static void test_name_rule(void **state)
{
    (void)state;
    const char *app = "142.netify.whatsapp";

    assert_true(subscription_name_matches("whatsapp", app, strlen(app)));
    assert_true(subscription_name_matches("WhatsApp", app, strlen(app)));
    assert_true(subscription_name_matches("netify.whatsapp", app, strlen(app)));
    assert_true(subscription_name_matches("142", app, strlen(app)));
    assert_true(subscription_name_matches(app, app, strlen(app)));
    assert_false(subscription_name_matches("whats", app, strlen(app)));
    assert_true(subscription_name_matches("netify", app, strlen(app))); /* a middle part */
    assert_false(subscription_name_matches("netif", app, strlen(app)));
    assert_false(subscription_name_matches("app", app, strlen(app)));
    assert_true(subscription_name_matches("TLS", "TLS.Google", 10));
    assert_false(subscription_name_matches("TLS", "DTLS", 4));
    /* The name is not NUL-terminated: only name_len bytes count. */
    assert_false(subscription_name_matches("whatsapp", "142.netify.whatsapp", 10));
}

static void test_matching_by_every_key(void **state)
{
    (void)state;
    struct subscription sub;
    char err[256] = "";
    struct record_view flow = { .type = RECORD_FLOW, .interface = ref("eth0"),
                                .protocol = ref("TLS"), .application = ref("10119.netflix") };
    struct record_view purge = { .type = RECORD_FLOW_PURGE, .interface = ref("eth0") };
    struct record_view status = { .type = RECORD_AGENT_STATUS };

    assert_true(subscription_matches(NULL, &flow));
    assert_int_equal(parse("{\"subscribe\":{}}", &sub, err, sizeof(err)), 0);
    assert_true(subscription_matches(&sub, &flow) && subscription_matches(&sub, &status));

    assert_int_equal(parse("{\"subscribe\":{\"types\":[\"flow\",\"flow_purge\"],"
                           "\"protocols\":[\"tls\"],\"interfaces\":[\"eth0\"]}}",
                           &sub, err, sizeof(err)),
                     0);
    assert_true(subscription_matches(&sub, &flow));
    assert_true(subscription_matches(&sub, &purge)); /* no route: no protocol to filter on */
    assert_false(subscription_matches(&sub, &status));
    flow.interface = ref("eth1");
    assert_false(subscription_matches(&sub, &flow));
    flow.interface = ref("eth0");
    flow.protocol = ref("HTTP");
    assert_false(subscription_matches(&sub, &flow));

    assert_int_equal(parse("{\"subscribe\":{\"applications\":[\"netflix\",\"youtube\"]}}", &sub,
                           err, sizeof(err)),
                     0);
    assert_true(subscription_matches(&sub, &flow));
    flow.application = ref("Unknown");
    assert_false(subscription_matches(&sub, &flow));
}

static void test_status_routed_by_its_flow(void **state)
{
    (void)state;
    struct subscription tls, stun;
    char err[256];
    msgpack_sbuffer buf;
    msgpack_packer pk;
    msgpack_unpacked u;
    struct record_view view;
    msgpack_object shown;

    assert_int_equal(parse("{\"subscribe\":{\"protocols\":[\"tls\"],\"applications\":"
                           "[\"teams\"]}}", &tls, err, sizeof(err)), 0);
    assert_int_equal(parse("{\"subscribe\":{\"protocols\":[\"stun\"]}}", &stun, err,
                           sizeof(err)), 0);
    msgpack_sbuffer_init(&buf);
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_unpacked_init(&u);

    /* The route last: read, and left out of what is shown. */
    msgpack_pack_map(&pk, 5);
    pk_kv_str(&pk, "type", "flow_status");
    pk_kv_str(&pk, "interface", "eth0");
    pk_kv_bool(&pk, "internal", false);
    pk_key(&pk, "flow");
    msgpack_pack_map(&pk, 1);
    pk_kv_str(&pk, "digest", "00");
    pk_key(&pk, FLOW_ROUTE_KEY);
    msgpack_pack_map(&pk, 2);
    pk_kv_str(&pk, "detected_protocol_name", "TLS");
    pk_kv_str(&pk, "detected_application_name", "250.teams");
    assert_int_equal(msgpack_unpack_next(&u, buf.data, buf.size, NULL), MSGPACK_UNPACK_SUCCESS);
    record_view_from_event(&view, RECORD_FLOW_STATUS, &u.data);
    assert_true(view.routed);
    assert_true(view.protocol.len == 3 && memcmp(view.protocol.ptr, "TLS", 3) == 0);
    assert_true(subscription_matches(&tls, &view));
    assert_false(subscription_matches(&stun, &view));
    const msgpack_object *o = record_view_shown(&view, &u.data, &shown);
    assert_int_equal(o->via.map.size, 4);
    assert_int_equal(u.data.via.map.size, 5); /* the event itself is untouched */
    assert_true(o->via.map.ptr[3].key.via.str.size == 4);

    /* A flow record's names come from its flow map, never from a route. */
    record_view_from_event(&view, RECORD_FLOW, &u.data);
    assert_false(view.routed);
    assert_null(view.protocol.ptr);
    assert_ptr_equal(record_view_shown(&view, &u.data, &shown), &u.data);

    /* A route anywhere but last is no route: shown as it is (only a
     * broken worker sends that). */
    msgpack_sbuffer_clear(&buf);
    msgpack_pack_map(&pk, 2);
    pk_key(&pk, FLOW_ROUTE_KEY);
    msgpack_pack_map(&pk, 1);
    pk_kv_str(&pk, "detected_protocol_name", "TLS");
    pk_kv_str(&pk, "type", "flow_purge");
    assert_int_equal(msgpack_unpack_next(&u, buf.data, buf.size, NULL), MSGPACK_UNPACK_SUCCESS);
    record_view_from_event(&view, RECORD_FLOW_PURGE, &u.data);
    assert_false(view.routed);
    assert_null(view.protocol.ptr);
    assert_ptr_equal(record_view_shown(&view, &u.data, &shown), &u.data);

    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&buf);
}

static void test_refusals_name_the_problem(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        const char *message;
    } bad[] = {
        { "", "" },
        { "not json", "" },
        { "[]", "" },
        { "{\"subscribe\":[]}", "" },
        { "{\"subscribe\":{\"colour\":[\"red\"]}}", "colour" },
        { "{\"subscribe\":{\"types\":\"flow\"}}", "types" },
        { "{\"subscribe\":{\"types\":[]}}", "types" },
        { "{\"subscribe\":{\"types\":[\"flows\"]}}", "flows" },
        { "{\"subscribe\":{\"protocols\":[1]}}", "protocols" },
        { "{\"subscribe\":{\"protocols\":[\"\"]}}", "protocols" },
        { "{\"subscribe\":{}, \"extra\":1}", "" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct subscription sub;
        char err[256] = "";
        if (parse(bad[i].line, &sub, err, sizeof(err)) != -1)
            fail_msg("accepted: %s", bad[i].line);
        if (err[0] == '\0' || strstr(err, bad[i].message) == NULL)
            fail_msg("%s: message \"%s\" does not name \"%s\"", bad[i].line, err,
                     bad[i].message);
    }
}

static void test_bounds(void **state)
{
    (void)state;
    char line[4096], err[256];
    struct subscription sub;
    int n = snprintf(line, sizeof(line), "{\"subscribe\":{\"protocols\":[");

    /* 33 names: one more than the limit. */
    for (int i = 0; i <= SUBSCRIPTION_MAX_VALUES; i++)
        n += snprintf(line + n, sizeof(line) - (size_t)n, "%s\"p%d\"", i ? "," : "", i);
    snprintf(line + n, sizeof(line) - (size_t)n, "]}}");
    assert_int_equal(parse(line, &sub, err, sizeof(err)), -1);

    char name[SUBSCRIPTION_VALUE_MAX + 2];
    memset(name, 'a', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    snprintf(line, sizeof(line), "{\"subscribe\":{\"protocols\":[\"%s\"]}}", name);
    assert_int_equal(parse(line, &sub, err, sizeof(err)), -1);
    name[SUBSCRIPTION_VALUE_MAX - 1] = '\0'; /* 63 bytes: the longest allowed */
    snprintf(line, sizeof(line), "{\"subscribe\":{\"protocols\":[\"%s\"]}}", name);
    assert_int_equal(parse(line, &sub, err, sizeof(err)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_rule),
        cmocka_unit_test(test_matching_by_every_key),
        cmocka_unit_test(test_status_routed_by_its_flow),
        cmocka_unit_test(test_refusals_name_the_problem),
        cmocka_unit_test(test_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
