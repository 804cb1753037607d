#define _GNU_SOURCE /* accept4 */

#include "clients.h"

#include "log.h"
#include "subscription.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define QUEUE_INITIAL (64u << 10)
#define READ_CHUNK 4096
/* What a refused client may still have sent is read before close(), so
 * the close does not reset the connection and lose its error record;
 * a client that keeps sending gets a reset after this much. */
#define REFUSED_DRAIN_READS 16
#define TEXT_OF(x) #x
#define NUMBER_TEXT(x) TEXT_OF(x)

int64_t client_clock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void client_set_init(struct client_set *cs, size_t queue_limit, int64_t stall_ms)
{
    memset(cs, 0, sizeof(*cs));
    cs->queue_limit = queue_limit;
    cs->stall_ms = stall_ms;
    for (unsigned i = 0; i < CLIENT_MAX; i++)
        cs->slot[i].fd = -1;
}

static struct client *free_slot(struct client_set *cs)
{
    for (unsigned i = 0; i < CLIENT_MAX; i++)
        if (cs->slot[i].fd < 0)
            return &cs->slot[i];
    return NULL;
}

/* A connection over CLIENT_MAX gets one error record, if its socket
 * takes it at once, and is closed: it neither waits in the listen backlog
 * nor costs the broker more than this. */
static void refuse_over_limit(struct client_set *cs, int fd)
{
    static const char message[] = "{\"type\":\"error\",\"message\":\"too many clients: "
                                  "at most " NUMBER_TEXT(CLIENT_MAX) " at once\"}\n";
    char framed[sizeof(message) + 32];
    int len = snprintf(framed, sizeof(framed), "{\"length\":%zu}\n%s", sizeof(message) - 1,
                       message);

    cs->refused++;
    /* one line for the first refusal, then one each time the count doubles */
    if ((cs->refused & (cs->refused - 1)) == 0)
        log_warnx("client refused: %d already connected (%llu refused so far)", CLIENT_MAX,
                  (unsigned long long)cs->refused);
    if (len > 0 && (size_t)len < sizeof(framed) &&
        send(fd, framed, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        log_debug("refused client: error record not sent: %s", strerror(errno));
    if (shutdown(fd, SHUT_WR) != 0 && errno != ENOTCONN)
        log_warn("shutting down a refused client (fd %d)", fd);
    if (close(fd) != 0)
        log_warn("closing a refused client (fd %d)", fd);
}

struct client *client_accept(struct client_set *cs, int listen_fd)
{
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
            log_warn("accept on listener fd %d", listen_fd);
        return NULL;
    }
    struct client *c = free_slot(cs);
    if (c == NULL) {
        refuse_over_limit(cs, fd);
        errno = 0;
        return NULL;
    }
    *c = (struct client){ .fd = fd, .id = ++cs->accepted };
    cs->connected++;
    log_debug("client %llu connected (fd %d)", (unsigned long long)c->id, fd);
    return c;
}

static void set_full(struct client_set *cs, struct client *c, bool full)
{
    if (full == (c->full_since_ms != 0))
        return;
    c->full_since_ms = full ? client_clock_ms() : 0;
    if (full)
        cs->full++;
    else
        cs->full--;
}

static void release(struct client_set *cs, struct client *c)
{
    set_full(cs, c, false);
    free(c->queue);
    free(c->command);
    free(c->sub);
    *c = (struct client){ .fd = -1 };
}

void client_close(struct client_set *cs, struct client *c, const char *why)
{
    if (c->fd < 0)
        return;
    log_debug("client %llu closed: %s", (unsigned long long)c->id, why);
    if (close(c->fd) != 0)
        log_warn("closing client %llu", (unsigned long long)c->id);
    release(cs, c);
    cs->connected--;
}

static int discard_input(struct client *c);

/* The error record is out: end the stream, then close. */
static void finish_refused(struct client_set *cs, struct client *c)
{
    for (int i = 0; i < REFUSED_DRAIN_READS && discard_input(c) > 0; i++)
        ;
    if (shutdown(c->fd, SHUT_WR) != 0 && errno != ENOTCONN)
        log_warn("shutting down refused client %llu (fd %d)", (unsigned long long)c->id, c->fd);
    client_close(cs, c, "command refused");
}

void client_refuse(struct client_set *cs, struct client *c)
{
    if (c->fd < 0)
        return;
    c->closing = true;
    if (!client_has_output(c))
        finish_refused(cs, c);
}

int client_flush(struct client_set *cs, struct client *c)
{
    while (client_has_output(c)) {
        ssize_t n = send(c->fd, c->queue + c->head, c->tail - c->head, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            client_close(cs, c, strerror(errno));
            return -1;
        }
        c->head += (size_t)n;
        cs->bytes_sent += (size_t)n;
        if (c->tail - c->head < cs->queue_limit / 2)
            set_full(cs, c, false);
    }
    c->head = c->tail = 0;
    if (c->closing) {
        finish_refused(cs, c);
        return -1;
    }
    return 0;
}

/* The most a queue may hold: its bound plus what one event adds. */
static size_t hard_limit(const struct client_set *cs)
{
    return 2 * cs->queue_limit;
}

/* Makes room for need more bytes, within the hard limit. */
static int reserve(struct client_set *cs, struct client *c, size_t need)
{
    size_t used = c->tail - c->head;

    if (used + need > hard_limit(cs))
        return -1;
    if (c->tail + need <= c->cap)
        return 0;
    if (c->head > 0) {
        memmove(c->queue, c->queue + c->head, used);
        c->head = 0;
        c->tail = used;
        if (used + need <= c->cap)
            return 0;
    }
    size_t cap = c->cap ? c->cap : QUEUE_INITIAL;
    while (cap < used + need)
        cap *= 2;
    char *p = realloc(c->queue, cap);
    if (p == NULL)
        return -1;
    c->queue = p;
    c->cap = cap;
    return 0;
}

static void drop_slow(struct client_set *cs, struct client *c, const char *why)
{
    log_warnx("client %llu %s with %zu bytes queued: disconnected", (unsigned long long)c->id, why,
              c->tail - c->head);
    cs->dropped_slow++;
    client_close(cs, c, "too slow");
}

int client_queue(struct client_set *cs, struct client *c, const char *data, size_t len)
{
    if (reserve(cs, c, len) != 0) {
        drop_slow(cs, c, "cannot queue more");
        return -1;
    }
    memcpy(c->queue + c->tail, data, len);
    c->tail += len;
    cs->records_queued++;
    if (c->tail - c->head >= cs->queue_limit)
        set_full(cs, c, true);
    return 0;
}

void client_set_drop_stalled(struct client_set *cs)
{
    if (cs->full == 0)
        return;
    int64_t now = client_clock_ms();
    for (unsigned i = 0; i < CLIENT_MAX; i++) {
        struct client *c = &cs->slot[i];
        if (c->fd >= 0 && c->full_since_ms != 0 && now - c->full_since_ms >= cs->stall_ms)
            drop_slow(cs, c, "stayed behind");
    }
}

void client_set_broadcast(struct client_set *cs, const char *data, size_t len)
{
    for (unsigned i = 0; i < CLIENT_MAX; i++)
        if (client_takes_records(&cs->slot[i]))
            client_queue(cs, &cs->slot[i], data, len);
}

/* Returns 1 while more may be read, 0 when drained, -1 at end or error. */
static int discard_input(struct client *c)
{
    char buf[READ_CHUNK];
    ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

    if (n > 0)
        return 1;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    return -1;
}

ssize_t client_recv(struct client *c, char *buf, size_t cap, bool *eof)
{
    ssize_t n;

    *eof = false;
    do {
        n = recv(c->fd, buf, cap, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n > 0)
        return n;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    /* A reset is how many clients leave (and a hostile one can connect and
     * reset in a loop): not worth a warning each. */
    if (n < 0 && errno == ECONNRESET)
        log_debug("client %llu (fd %d) reset its connection", (unsigned long long)c->id, c->fd);
    else if (n < 0)
        log_warn("reading from client %llu (fd %d)", (unsigned long long)c->id, c->fd);
    *eof = n == 0;
    return -1;
}

void client_read(struct client_set *cs, struct client *c)
{
    int rc = discard_input(c);

    if (rc < 0)
        client_close(cs, c, "peer closed or read failed");
}

void client_set_close_all(struct client_set *cs)
{
    for (unsigned i = 0; i < CLIENT_MAX; i++) {
        struct client *c = &cs->slot[i];
        if (c->fd < 0)
            continue;
        while (discard_input(c) > 0)
            ;
        if (shutdown(c->fd, SHUT_WR) != 0 && errno != ENOTCONN)
            log_warn("shutting down client %llu", (unsigned long long)c->id);
        client_close(cs, c, "broker stopping");
    }
}
