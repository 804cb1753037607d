/* Fuzz target (c): what a stream client sends before anything else, its
 * subscription line.  The input goes to subscription_parse() as one
 * line, then, through a socket, to the broker's reading of client input
 * (client_input.c: line framing, binary and length checks, refusal with
 * an error record); a subscription taken is then matched against a few
 * records, as the broker routes them. */
#include "broker_fixture.h"
#include "log.h"
#include "subscription.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_init("fuzz_subscription", getenv("FUZZ_DEBUG") != NULL);
    return 0;
}

static struct field_ref ref(const char *s)
{
    return (struct field_ref){ s, s ? strlen(s) : 0 };
}

static unsigned match_some(const struct subscription *sub)
{
    static const char *names[][3] = {
        { "eth0", "TLS", "TLS.Google" },
        { "wlan0", "DNS", "142.netify.whatsapp" },
        { "eth0", "HTTP", NULL },
        { NULL, NULL, NULL },
    };
    unsigned matched = 0;

    for (int t = 0; t < RECORD_TYPES; t++)
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            struct record_view v = { .type = (enum record_type)t,
                                     .interface = ref(names[i][0]),
                                     .protocol = ref(names[i][1]),
                                     .application = ref(names[i][2]) };
            matched += subscription_matches(sub, &v);
        }
    return matched;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct broker_fixture fx;
    struct subscription sub;
    char err[256];
    struct broker_options opt = { .update_interval = 15,
                                  .client_queue = BROKER_MIN_CLIENT_QUEUE,
                                  .user = "nobody" };

    /* The parser proper, on the whole input as one line. */
    if (subscription_parse((const char *)data, size, &sub, err, sizeof(err)) == 0 &&
        match_some(&sub) > RECORD_TYPES * 4)
        abort();

    /* The same bytes as a client sends them. */
    if (fixture_open(&fx, &opt) != 0)
        abort();
    struct client *c = fixture_connect(&fx, (const char *)data, size);
    if (c != NULL && c->fd >= 0 && c->sub != NULL && match_some(c->sub) > RECORD_TYPES * 4)
        abort();
    fixture_pump(&fx);
    fixture_close(&fx);
    return 0;
}
