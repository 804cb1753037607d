#include "channel.h"

#include "log.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define MAX_STRING 4096

void channel_writer_init(struct channel_writer *w, int fd)
{
    memset(w, 0, sizeof(*w));
    w->fd = fd;
    w->max_wait_ms = -1;
    msgpack_sbuffer_init(&w->batch);
    msgpack_sbuffer_init(&w->event);
    msgpack_packer_init(&w->packer, &w->event, msgpack_sbuffer_write);
}

void channel_writer_destroy(struct channel_writer *w)
{
    msgpack_sbuffer_destroy(&w->batch);
    msgpack_sbuffer_destroy(&w->event);
}

msgpack_packer *channel_event_begin(struct channel_writer *w)
{
    msgpack_sbuffer_clear(&w->event);
    return &w->packer;
}

void channel_event_end(struct channel_writer *w)
{
    if (w->event.size > CHANNEL_MAX_EVENT) {
        w->events_dropped++;
        log_warnx("event of %zu bytes exceeds the channel limit; dropped", w->event.size);
        return;
    }
    if (w->batch.size + w->event.size > CHANNEL_MAX_MESSAGE)
        channel_flush(w);
    msgpack_sbuffer_write(&w->batch, w->event.data, w->event.size);
    w->batch_events++;
}

void channel_set_max_wait(struct channel_writer *w, int ms)
{
    w->max_wait_ms = ms;
    w->peer_stalled = false;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One send of the batch, waiting for room as max_wait_ms allows.  Returns
 * what send() returned; EAGAIN when the wait ran out. */
static ssize_t send_batch(struct channel_writer *w)
{
    bool bounded = w->max_wait_ms >= 0;
    int flags = MSG_NOSIGNAL | (bounded ? MSG_DONTWAIT : 0);
    int64_t deadline = bounded ? now_ms() + w->max_wait_ms : 0;

    for (;;) {
        ssize_t n = send(w->fd, w->batch.data, w->batch.size, flags);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN || !bounded || w->peer_stalled)
            return n;
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            errno = EAGAIN;
            return -1;
        }
        struct pollfd pfd = { .fd = w->fd, .events = POLLOUT };
        if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
            return -1;
    }
}

int channel_flush(struct channel_writer *w)
{
    if (w->batch.size == 0)
        return 0;
    ssize_t n = send_batch(w);
    int rc = 0;
    if (n != (ssize_t)w->batch.size) {
        if (n < 0 && errno == EAGAIN) {
            if (!w->peer_stalled)
                log_warnx("event channel fd %d: peer not reading; dropping events until it "
                          "does", w->fd);
            w->peer_stalled = true;
        } else if (n < 0) {
            log_warn("event channel fd %d: send of %zu bytes", w->fd, w->batch.size);
        }
        w->events_dropped += w->batch_events;
        rc = -1;
    } else {
        if (w->peer_stalled)
            log_warnx("event channel fd %d: peer reading again (%llu events dropped so far)",
                      w->fd, (unsigned long long)w->events_dropped);
        w->peer_stalled = false;
        w->events_sent += w->batch_events;
        w->messages_sent++;
    }
    msgpack_sbuffer_clear(&w->batch);
    w->batch_events = 0;
    return rc;
}

void pk_str(msgpack_packer *pk, const char *s)
{
    size_t n = strnlen(s, MAX_STRING);

    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

void pk_key(msgpack_packer *pk, const char *key)
{
    pk_str(pk, key);
}

void pk_kv_str(msgpack_packer *pk, const char *key, const char *value)
{
    pk_key(pk, key);
    pk_str(pk, value);
}

void pk_kv_u64(msgpack_packer *pk, const char *key, uint64_t value)
{
    pk_key(pk, key);
    msgpack_pack_uint64(pk, value);
}

void pk_kv_i64(msgpack_packer *pk, const char *key, int64_t value)
{
    pk_key(pk, key);
    msgpack_pack_int64(pk, value);
}

void pk_kv_bool(msgpack_packer *pk, const char *key, bool value)
{
    pk_key(pk, key);
    if (value)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

void pk_kv_double(msgpack_packer *pk, const char *key, double value)
{
    pk_key(pk, key);
    msgpack_pack_double(pk, value);
}
