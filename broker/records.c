#include "broker.h"

#include "log.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

/* Blocking is fine on stdout: it is a pipe to the user's consumer.
 * SIGTERM interrupts a write that waits for a consumer that is stuck. */
static void write_stdout(struct broker *b, const char *p, size_t len)
{
    while (len > 0 && b->stdout_open && !broker_terminating()) {
        ssize_t n = write(STDOUT_FILENO, p, len);
        if (n >= 0) {
            p += n;
            len -= (size_t)n;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            /* stdout was inherited non-blocking: wait until it drains */
            struct pollfd pfd = { .fd = STDOUT_FILENO, .events = POLLOUT };
            if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
                b->stdout_open = false;
        } else if (errno != EINTR) {
            log_warn("writing to stdout; no more output there");
            b->stdout_open = false;
        }
    }
}

static void send_rendered(struct broker *b, struct client *only)
{
    const char *p;
    size_t len;

    if (only != NULL) {
        p = json_out_framed(&b->json, &len);
        client_queue(&b->clients, only, p, len);
        return;
    }
    if (b->stdout_open) {
        p = json_out_line(&b->json, &len);
        write_stdout(b, p, len);
    }
    p = json_out_framed(&b->json, &len);
    client_set_broadcast(&b->clients, p, len);
}

void broker_publish(struct broker *b, const msgpack_object *record)
{
    if (b->clients.connected == 0 && !b->stdout_open)
        return; /* nobody to read it */
    if (json_out_render(&b->json, record) != 0) {
        b->events_unrendered++;
        log_warnx("record not rendered: %s", b->json.error);
        return;
    }
    send_rendered(b, NULL);
}

/* Renders the record packed in b->record, then sends it to one client,
 * or to every client and stdout. */
static void send_packed(struct broker *b, struct client *only)
{
    msgpack_unpacked u;
    size_t off = 0;

    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, b->record.data, b->record.size, &off) != MSGPACK_UNPACK_SUCCESS)
        log_warnx("cannot unpack the broker's own record");
    else if (json_out_render(&b->json, &u.data) != 0)
        log_warnx("cannot render the broker's own record: %s", b->json.error);
    else
        send_rendered(b, only);
    msgpack_unpacked_destroy(&u);
}

static void pack_status(struct broker *b, bool periodic)
{
    struct agent_self self;
    struct agent_counters counters;

    agent_measure_self(&b->agent, &self);
    broker_counters(b, &counters);
    msgpack_sbuffer_clear(&b->record);
    agent_status_pack(&b->agent, &b->record_packer, &self, &counters, periodic);
}

void broker_greet(struct broker *b, struct client *c)
{
    msgpack_sbuffer_clear(&b->record);
    agent_hello_pack(&b->agent, &b->record_packer);
    send_packed(b, c);
    if (c != NULL && c->fd < 0)
        return; /* dropped already */
    pack_status(b, false);
    send_packed(b, c);
}

void broker_publish_status(struct broker *b)
{
    pack_status(b, true);
    send_packed(b, NULL);
}
