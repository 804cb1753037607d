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

/* Sends the rendered record to one client, or to stdout and every client
 * in want[] (CLIENT_MAX entries). */
static void send_rendered(struct broker *b, struct client *only, const bool *want)
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
    if (b->clients.connected == 0)
        return; /* want[] was not filled in: see select_clients() */
    p = json_out_framed(&b->json, &len);
    for (unsigned i = 0; i < CLIENT_MAX; i++)
        if (want[i] && client_takes_records(&b->clients.slot[i]))
            client_queue(&b->clients, &b->clients.slot[i], p, len);
}

/* Decides once per record which clients take it; returns how many. */
static unsigned select_clients(struct broker *b, const struct record_view *view, bool *want)
{
    unsigned n = 0;

    /* Without clients (--stdout alone) the slots need no look per record. */
    if (b->clients.connected == 0)
        return 0;
    for (unsigned i = 0; i < CLIENT_MAX; i++) {
        const struct client *c = &b->clients.slot[i];
        want[i] = client_takes_records(c) && subscription_matches(c->sub, view) &&
                  !replay_withholds(&b->replay, i, c);
        n += want[i];
    }
    return n;
}

void broker_publish(struct broker *b, enum record_type type, const msgpack_object *record)
{
    static bool want[CLIENT_MAX];
    struct record_view view;
    msgpack_object shown;

    if (b->clients.connected == 0 && !b->stdout_open)
        return; /* nobody to read it */
    record_view_from_event(&view, type, record);
    if (select_clients(b, &view, want) == 0 && !b->stdout_open)
        return;
    if (json_out_render(&b->json, record_view_shown(&view, record, &shown)) != 0) {
        b->events_unrendered++;
        log_warnx("record not rendered: %s", b->json.error);
        return;
    }
    send_rendered(b, NULL, want);
}

/* Renders the record packed in b->record, then sends it to one client,
 * or to stdout and every client whose subscription takes type. */
static void send_packed(struct broker *b, struct client *only, enum record_type type)
{
    static bool want[CLIENT_MAX];
    struct record_view view = { .type = type };
    msgpack_unpacked u;
    size_t off = 0;

    if (only == NULL)
        select_clients(b, &view, want);
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, b->record.data, b->record.size, &off) != MSGPACK_UNPACK_SUCCESS)
        log_warnx("cannot unpack the broker's own record");
    else if (json_out_render(&b->json, &u.data) != 0)
        log_warnx("cannot render the broker's own record: %s", b->json.error);
    else
        send_rendered(b, only, want);
    msgpack_unpacked_destroy(&u);
}

void broker_send_error(struct broker *b, struct client *c, const char *message)
{
    msgpack_sbuffer_clear(&b->record);
    msgpack_pack_map(&b->record_packer, 2);
    pk_kv_str(&b->record_packer, "type", "error");
    pk_kv_str(&b->record_packer, "message", message);
    send_packed(b, c, RECORD_AGENT_HELLO);
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
    send_packed(b, c, RECORD_AGENT_HELLO);
    if (c != NULL && c->fd < 0)
        return; /* dropped already */
    pack_status(b, false);
    send_packed(b, c, RECORD_AGENT_STATUS);
}

void broker_publish_status(struct broker *b)
{
    pack_status(b, true);
    send_packed(b, NULL, RECORD_AGENT_STATUS);
}
