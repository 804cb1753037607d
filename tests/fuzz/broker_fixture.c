#include "broker_fixture.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* One listening socket for the life of the process, in the abstract
 * namespace (nothing on disk to clean up). */
static int listener = -1;
static struct sockaddr_un listen_addr;
static socklen_t listen_addr_len;

static int open_listener(void)
{
    if (listener >= 0)
        return 0;
    listener = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listener < 0) {
        log_warn("fuzz fixture: socket");
        return -1;
    }
    listen_addr.sun_family = AF_UNIX;
    int n = snprintf(listen_addr.sun_path + 1, sizeof(listen_addr.sun_path) - 1,
                     "flowsense-fuzz-%d", (int)getpid());
    listen_addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    if (bind(listener, (struct sockaddr *)&listen_addr, listen_addr_len) != 0 ||
        listen(listener, FIXTURE_CLIENTS * 4) != 0) {
        log_warn("fuzz fixture: listening socket");
        close(listener);
        listener = -1;
        return -1;
    }
    return 0;
}

static int channel_pair(int *broker_end, int *our_end)
{
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
        log_warn("fuzz fixture: socketpair");
        return -1;
    }
    *broker_end = sv[0];
    *our_end = sv[1];
    return 0;
}

int fixture_open(struct broker_fixture *fx, const struct broker_options *opt)
{
    struct broker_options o = *opt;

    memset(fx, 0, sizeof(*fx));
    fx->control_peer = -1;
    for (unsigned i = 0; i < FIXTURE_WORKERS; i++)
        fx->worker_peer[i] = -1;
    if (open_listener() != 0)
        return -1;
    o.workers = FIXTURE_WORKERS;
    o.listeners = 1;
    o.to_stdout = false;
    broker_init(&fx->b, &o);
    fx->b.listen_fd[0] = listener;
    int rc = channel_pair(&fx->b.control.fd, &fx->control_peer);
    for (unsigned i = 0; i < FIXTURE_WORKERS && rc == 0; i++)
        rc = channel_pair(&fx->b.worker[i].fd, &fx->worker_peer[i]);
    fx->b.control_out.fd = fx->b.control.fd;
    /* client_connected notices must never block the fuzzer. */
    channel_set_max_wait(&fx->b.control_out, 0);
    return rc;
}

static void drain(int fd, size_t *bytes)
{
    char buf[65536];
    ssize_t n;

    while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
        *bytes += (size_t)n;
}

struct client *fixture_connect(struct broker_fixture *fx, const char *line, size_t len)
{
    if (fx->clients == FIXTURE_CLIENTS)
        return NULL;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&listen_addr, listen_addr_len) != 0) {
        log_warn("fuzz fixture: connecting a client");
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    /* What the client sends is there before it is accepted, as usual. */
    if (len > 0 && send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        log_warn("fuzz fixture: client send");
    if (fcntl(fd, F_SETFL, O_NONBLOCK) != 0)
        log_warn("fuzz fixture: O_NONBLOCK");
    struct client *c = client_accept(&fx->b.clients, listener);
    if (c == NULL) {
        close(fd);
        return NULL;
    }
    fx->client[fx->clients] = c;
    fx->client_peer[fx->clients++] = fd;
    /* As accept_clients() in loop.c does. */
    broker_greet(&fx->b, c);
    if (c->fd >= 0)
        broker_client_input(&fx->b, c);
    broker_replay_begin(&fx->b, c);
    fixture_pump(fx);
    return c;
}

void fixture_pump(struct broker_fixture *fx)
{
    broker_replay_fill(&fx->b);
    for (unsigned i = 0; i < fx->clients; i++) {
        struct client *c = fx->client[i];
        /* Input the client sent after its first line (refused, or
         * taken as more of the command when there was no newline yet). */
        if (c->fd >= 0 && client_takes_records(c) && !c->input_closed)
            broker_client_input(&fx->b, c);
        if (c->fd >= 0 && client_has_output(c))
            client_flush(&fx->b.clients, c);
        drain(fx->client_peer[i], &fx->client_bytes);
    }
    drain(fx->control_peer, &fx->client_bytes);
}

void fixture_deliver(struct broker_fixture *fx, unsigned channel, const void *msg, size_t len)
{
    struct broker_channel *ch =
        channel < FIXTURE_WORKERS ? &fx->b.worker[channel] : &fx->b.control;
    int peer = channel < FIXTURE_WORKERS ? fx->worker_peer[channel] : fx->control_peer;

    if (!ch->open)
        return;
    if (send(peer, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
        log_warn("fuzz fixture: channel send of %zu bytes", len);
        return;
    }
    /* A full client makes the broker stop reading workers: let it drain. */
    for (int round = 0; round < 4; round++) {
        broker_read_channel(&fx->b, ch);
        fixture_pump(fx);
        if (fx->b.clients.full == 0)
            break;
    }
}

void fixture_close(struct broker_fixture *fx)
{
    struct broker *b = &fx->b;

    log_debug("fuzz fixture: %llu events taken, %llu malformed, %zu bytes sent",
              (unsigned long long)b->events_received, (unsigned long long)b->events_malformed,
              fx->client_bytes);
    client_set_close_all(&b->clients);
    for (unsigned i = 0; i < fx->clients; i++)
        close(fx->client_peer[i]);
    for (unsigned i = 0; i < FIXTURE_WORKERS; i++) {
        if (b->worker[i].open)
            close(b->worker[i].fd);
        if (fx->worker_peer[i] >= 0)
            close(fx->worker_peer[i]);
    }
    if (b->control.open)
        close(b->control.fd);
    if (fx->control_peer >= 0)
        close(fx->control_peer);
    /* What broker_init set up (the broker itself frees it all at exit). */
    established_destroy(&b->replay.store);
    agent_destroy(&b->agent);
    json_out_destroy(&b->json);
    channel_writer_destroy(&b->control_out);
    msgpack_unpacked_destroy(&b->unpacked);
    msgpack_sbuffer_destroy(&b->record);
    free(b->message);
}
