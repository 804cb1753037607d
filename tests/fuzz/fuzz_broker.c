/* Fuzz target (b): what a compromised worker (or a broken flowsensed)
 * can send the broker.  Messages go through the broker's own reading of
 * its channels (broker_read_channel): msgpack decoding, the checks of
 * events.c, worker_stats and capture_stats kept for agent_status,
 * worker_exit, listener_replaced and listener_unavailable (a plain send
 * passes no descriptor: listener_replaced is always refused here; the
 * descriptor path is tests/unit/test_broker_listeners.c), the
 * established-flow store and its connect-time replay,
 * subscription routing, and the JSON rendering sent to clients.
 *
 * Input:  flags byte, then the first client's command line (a chunk),
 *         then steps: a selector byte and a chunk each.  Selector % 4:
 *         0, 1: a message on that worker's channel; 2: on the control
 *         channel; 3: a second client connects, sending the chunk.
 * Flags:  1 dump_unknown_flows, 2 live, 4 no established-flow store,
 *         8 agent_status after every step.
 * A chunk is a 2-byte big-endian length and its bytes (fuzz_input.h). */
#include "broker_fixture.h"
#include "fuzz_input.h"
#include "log.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_init("fuzz_broker", getenv("FUZZ_DEBUG") != NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    static struct broker_fixture fx;
    uint8_t flags = fuzz_take_u8(&in);
    struct broker_options opt = {
        .update_interval = 15,
        .client_queue = BROKER_MIN_CLIENT_QUEUE,
        .live = flags & 2,
        .established_flows = flags & 4 ? 0 : 16,
        .dump_unknown_flows = flags & 1,
        .user = "nobody",
    };
    size_t len;
    const uint8_t *chunk;

    if (fixture_open(&fx, &opt) != 0)
        abort();
    chunk = fuzz_take_chunk(&in, &len);
    fixture_connect(&fx, (const char *)chunk, len);
    while (in.left > 0) {
        uint8_t selector = fuzz_take_u8(&in);
        chunk = fuzz_take_chunk(&in, &len);
        if (selector % 4 == 3)
            fixture_connect(&fx, (const char *)chunk, len);
        else
            fixture_deliver(&fx, selector % 4, chunk, len);
        if (flags & 8)
            broker_publish_status(&fx.b);
    }
    broker_publish_status(&fx.b);
    fixture_pump(&fx);
    fixture_close(&fx);
    return 0;
}
