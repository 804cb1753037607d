#define _GNU_SOURCE /* struct ucred, SCM_CREDENTIALS */
#include "events.h"

#include "json_out.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

struct event_name {
    const char *name;
    enum event_kind kind;
    enum event_source from;
    int max_depth; /* statistics end up two levels down in agent_status */
};

static const struct event_name event_names[] = {
    { "flow", EVENT_FLOW, EVENT_FROM_WORKER, JSON_OUT_MAX_DEPTH },
    { "flow_status", EVENT_FLOW_STATUS, EVENT_FROM_WORKER, JSON_OUT_MAX_DEPTH },
    { "flow_purge", EVENT_FLOW_PURGE, EVENT_FROM_WORKER, JSON_OUT_MAX_DEPTH },
    { "worker_stats", EVENT_WORKER_STATS, EVENT_FROM_WORKER, JSON_OUT_MAX_DEPTH - 2 },
    { "capture_stats", EVENT_CAPTURE_STATS, EVENT_FROM_CONTROL, JSON_OUT_MAX_DEPTH - 1 },
    { "capture_done", EVENT_CAPTURE_DONE, EVENT_FROM_CONTROL, JSON_OUT_MAX_DEPTH },
    { "worker_exit", EVENT_WORKER_EXIT, EVENT_FROM_CONTROL, JSON_OUT_MAX_DEPTH },
    { "listener_replaced", EVENT_LISTENER_REPLACED, EVENT_FROM_CONTROL, JSON_OUT_MAX_DEPTH },
    { "listener_unavailable", EVENT_LISTENER_UNAVAILABLE, EVENT_FROM_CONTROL, JSON_OUT_MAX_DEPTH },
};

static bool str_is(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);

    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, s, n) == 0;
}

/* The value of the single "type" key, or NULL (none, or more than one). */
static const msgpack_object *find_type(const msgpack_object_map *m)
{
    const msgpack_object *type = NULL;

    for (uint32_t i = 0; i < m->size; i++) {
        if (!str_is(&m->ptr[i].key, "type"))
            continue;
        if (type != NULL)
            return NULL;
        type = &m->ptr[i].val;
    }
    return type;
}

static const struct event_name *lookup(const msgpack_object *type)
{
    for (size_t i = 0; i < sizeof(event_names) / sizeof(event_names[0]); i++)
        if (str_is(type, event_names[i].name))
            return &event_names[i];
    return NULL;
}

enum event_kind broker_event_classify(const msgpack_object *obj, enum event_source from,
                                      const char **why)
{
    if (obj->type != MSGPACK_OBJECT_MAP) {
        *why = "event is not a map";
        return EVENT_INVALID;
    }
    const msgpack_object *type = find_type(&obj->via.map);
    if (type == NULL) {
        *why = "no \"type\", or more than one";
        return EVENT_INVALID;
    }
    if (type->type != MSGPACK_OBJECT_STR) {
        *why = "\"type\" is not a string";
        return EVENT_INVALID;
    }
    const struct event_name *event = lookup(type);
    if (event == NULL) {
        *why = "unknown event type";
        return EVENT_INVALID;
    }
    if (event->from != from) {
        *why = "event type not allowed on this channel";
        return EVENT_INVALID;
    }
    if (json_out_check(obj, event->max_depth, why) != 0)
        return EVENT_INVALID;
    return event->kind;
}

static uint64_t read_be(const unsigned char *p, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Width of the big-endian length field after a str/bin/ext/array/map
 * header byte, or 0 for any other byte. */
static size_t length_width(unsigned b)
{
    switch (b) {
    case 0xc4:
    case 0xc7:
    case 0xd9: /* bin8, ext8, str8 */
        return 1;
    case 0xc5:
    case 0xc8:
    case 0xda:
    case 0xdc:
    case 0xde: /* ...16, array16, map16 */
        return 2;
    case 0xc6:
    case 0xc9:
    case 0xdb:
    case 0xdd:
    case 0xdf: /* ...32, array32, map32 */
        return 4;
    default:
        return 0;
    }
}

/* msgpack-c allocates a container's elements before reading them, so a
 * header claiming four billion entries makes it try to allocate hundreds
 * of gigabytes.  Every element takes at least one byte: a message is
 * plausible only if each container fits in the bytes after its header.
 * This scans the headers without building anything; a message cut short
 * inside a string or number is left for msgpack-c to report. */
static bool containers_fit(const unsigned char *p, size_t len)
{
    static const unsigned char number_size[] = { 4, 8, 1, 2, 4, 8, 1, 2, 4, 8 }; /* 0xca.. */
    size_t i = 0;

    while (i < len) {
        unsigned b = p[i++];
        uint64_t elements = 0, payload = 0;
        size_t width = length_width(b);

        if (width > 0) {
            if (width > len - i)
                return true; /* cut short */
            uint64_t n = read_be(p + i, width);
            i += width;
            if (b == 0xdc || b == 0xdd)
                elements = n;
            else if (b == 0xde || b == 0xdf)
                elements = 2 * n;
            else
                payload = n + (b >= 0xc7 && b <= 0xc9); /* ext: type byte */
        } else if (b >= 0x80 && b <= 0x8f) {
            elements = 2 * (b & 0x0f); /* fixmap */
        } else if (b >= 0x90 && b <= 0x9f) {
            elements = b & 0x0f; /* fixarray */
        } else if (b >= 0xa0 && b <= 0xbf) {
            payload = b & 0x1f; /* fixstr */
        } else if (b >= 0xca && b <= 0xd3) {
            payload = number_size[b - 0xca];
        } else if (b >= 0xd4 && b <= 0xd8) {
            payload = 1 + (1u << (b - 0xd4)); /* fixext: type byte + 1..16 */
        }
        if (elements > len - i)
            return false;
        if (payload > len - i)
            return true; /* cut short */
        i += payload;
    }
    return true;
}

void broker_event_walk(const char *msg, size_t len, enum event_source from,
                       msgpack_unpacked *unpacked, broker_event_fn *fn, void *ctx)
{
    size_t off = 0;

    if (!containers_fit((const unsigned char *)msg, len)) {
        fn(ctx, EVENT_INVALID, NULL, msg, len, "container larger than the message");
        return;
    }
    while (off < len) {
        size_t start = off;
        msgpack_unpack_return rc = msgpack_unpack_next(unpacked, msg, len, &off);
        if (rc != MSGPACK_UNPACK_SUCCESS && rc != MSGPACK_UNPACK_EXTRA_BYTES) {
            const char *why = rc == MSGPACK_UNPACK_CONTINUE      ? "message ends inside an event"
                              : rc == MSGPACK_UNPACK_NOMEM_ERROR ? "out of memory unpacking"
                                                                 : "not msgpack";
            fn(ctx, EVENT_INVALID, NULL, msg + start, len - start, why);
            return;
        }
        const char *why = NULL;
        enum event_kind kind = broker_event_classify(&unpacked->data, from, &why);
        fn(ctx, kind, &unpacked->data, msg + start, off - start, why);
    }
}

ssize_t broker_channel_recv(int fd, char *buf, size_t cap, bool *truncated)
{
    struct iovec iov = { .iov_base = buf, .iov_len = cap };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    ssize_t n;

    do {
        n = recvmsg(fd, &mh, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    *truncated = n > 0 && (mh.msg_flags & MSG_TRUNC);
    return n;
}

/* Takes the descriptors of one SCM_RIGHTS block: the first single one
 * becomes *passed, any other is closed and refused. */
static void take_rights(const struct cmsghdr *cm, int *passed, bool *refused)
{
    size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const unsigned char *data = CMSG_DATA(cm);

    for (size_t k = 0; k < count; k++) {
        int fd;
        memcpy(&fd, data + k * sizeof(int), sizeof(int));
        if (count == 1 && *passed < 0) {
            *passed = fd;
        } else {
            close(fd);
            *refused = true;
        }
    }
}

ssize_t broker_control_recv(int fd, char *buf, size_t cap, bool *truncated, int *passed,
                            bool *refused, pid_t *sender)
{
    struct iovec iov = { .iov_base = buf, .iov_len = cap };
    union {
        struct cmsghdr align;
        char space[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct ucred))];
    } cbuf;
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    ssize_t n;

    *passed = -1;
    *refused = false;
    *sender = 0;
    do {
        mh.msg_control = cbuf.space;
        mh.msg_controllen = sizeof(cbuf.space);
        n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    *truncated = n > 0 && (mh.msg_flags & MSG_TRUNC);
    if (n < 0)
        return n;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            take_rights(cm, passed, refused);
        } else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS &&
                   cm->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
            struct ucred uc;
            memcpy(&uc, CMSG_DATA(cm), sizeof(uc));
            *sender = uc.pid;
        } else
            *refused = true;
    }
    /* More than the buffer holds: the kernel dropped the rest. */
    if (mh.msg_flags & MSG_CTRUNC)
        *refused = true;
    if (*refused && *passed >= 0) {
        close(*passed);
        *passed = -1;
    }
    return n;
}
