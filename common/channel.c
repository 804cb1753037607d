#include "channel.h"

#include "log.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_STRING 4096

void channel_writer_init(struct channel_writer *w, int fd)
{
    memset(w, 0, sizeof(*w));
    w->fd = fd;
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

int channel_flush(struct channel_writer *w)
{
    if (w->batch.size == 0)
        return 0;
    ssize_t n;
    do {
        n = send(w->fd, w->batch.data, w->batch.size, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    int rc = 0;
    if (n != (ssize_t)w->batch.size) {
        if (n < 0)
            log_warn("event channel fd %d: send of %zu bytes", w->fd, w->batch.size);
        w->events_dropped += w->batch_events;
        rc = -1;
    } else {
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
