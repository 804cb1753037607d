/* SSDP header lines for flow records' ssdp{user_agent, server}: what is
 * taken, and that hostile messages are cut, never overrun. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "ssdp.h"

#define CAP 32

static bool parse(const char *msg, char *ua, char *server)
{
    return ssdp_headers((const uint8_t *)msg, strlen(msg), ua, server, CAP);
}

static void test_takes_user_agent_and_server(void **state)
{
    (void)state;
    char ua[CAP], server[CAP];

    assert_true(parse("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
                      "USER-AGENT: Android/13 UPnP/1.1 \t\r\nMAN: \"ssdp:discover\"\r\n\r\n",
                      ua, server));
    assert_string_equal(ua, "Android/13 UPnP/1.1");
    assert_string_equal(server, "");
    /* Names are case-insensitive; the first of a repeated header wins. */
    assert_true(parse("NOTIFY * HTTP/1.1\r\nServer:Linux UPnP/1.0\r\nSERVER: second\r\n\r\n",
                      ua, server));
    assert_string_equal(ua, "");
    assert_string_equal(server, "Linux UPnP/1.0");
    /* The start line is no header, even when it looks like one. */
    assert_true(parse("SERVER: x\r\n\r\n", ua, server));
    assert_string_equal(server, "");
    /* Headers after the empty line are the body's. */
    assert_true(parse("HTTP/1.1 200 OK\r\n\r\nSERVER: body\r\n", ua, server));
    assert_string_equal(server, "");
}

static void test_hostile_messages(void **state)
{
    (void)state;
    char ua[CAP], server[CAP];
    char long_value[200] = "NOTIFY * HTTP/1.1\r\nSERVER: ";

    memset(long_value + strlen(long_value), 'x', 100);
    strcat(long_value, "\r\n\r\n");
    assert_true(parse(long_value, ua, server));
    assert_int_equal(strlen(server), CAP - 1);
    /* No CRLF at all, a bare LF, a line cut short: nothing or what came before. */
    assert_false(parse("M-SEARCH * HTTP/1.1", ua, server));
    assert_false(parse("M-SEARCH * HTTP/1.1\nSERVER: a\n\n", ua, server));
    assert_true(parse("NOTIFY * HTTP/1.1\r\nSERVER: a\r\nUSER-AGENT: cut", ua, server));
    assert_string_equal(server, "a");
    assert_string_equal(ua, "");
    assert_false(ssdp_headers((const uint8_t *)"", 0, ua, server, CAP));
    /* A name with nothing after it, and the colon as the last byte. */
    assert_true(parse("NOTIFY * HTTP/1.1\r\nSERVER\r\nSERVER:\r\n\r\n", ua, server));
    assert_string_equal(server, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_takes_user_agent_and_server),
        cmocka_unit_test(test_hostile_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
