#include "broker.h"

#include "log.h"
#include "msgpack_map.h"

#include <sys/socket.h>
#include <unistd.h>

int broker_trust_descriptors_from(struct broker *b, pid_t pid)
{
    int one = 1;

    if (setsockopt(b->control.fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0)
        return -1;
    b->descriptor_sender = pid;
    return 0;
}

/* The "listener" index of an event, checked against --listeners. */
static bool listener_index(const struct broker *b, const msgpack_object *obj, unsigned *out)
{
    const msgpack_object *o = mp_map_get(obj, "listener");

    if (o == NULL || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 >= b->opt.listeners)
        return false;
    *out = (unsigned)o->via.u64;
    return true;
}

int broker_listener_replaced(struct broker *b, const msgpack_object *obj, int *fd, const char **why)
{
    int new_fd = *fd;
    unsigned i;

    if (new_fd < 0) {
        *why = "listener_replaced without a descriptor";
        return -1;
    }
    *fd = -1;
    if (!listener_index(b, obj, &i)) {
        close(new_fd);
        *why = "listener_replaced without a valid \"listener\" index";
        return -1;
    }
    /* The loop polls b->listen_fd afresh each round and skips an entry
     * whose descriptor changed since (loop.c). */
    if (close(b->listen_fd[i]) != 0)
        log_warn("closing the replaced socket of listener %u", i);
    b->listen_fd[i] = new_fd;
    b->listeners_recreated++;
    b->listener_unavailable[i] = false;
    log_info("listener %u: accepting on the socket flowsensed bound again at its path", i);
    return 0;
}

int broker_listener_unavailable(struct broker *b, const msgpack_object *obj, const char **why)
{
    unsigned i;

    if (!listener_index(b, obj, &i)) {
        *why = "listener_unavailable without a valid \"listener\" index";
        return -1;
    }
    if (!b->listener_unavailable[i])
        log_info("listener %u: its path no longer leads to it (connected clients go on)", i);
    b->listener_unavailable[i] = true;
    return 0;
}

unsigned broker_listeners_unavailable(const struct broker *b)
{
    unsigned n = 0;

    for (unsigned i = 0; i < b->opt.listeners && i < FLOWSENSE_MAX_LISTENERS; i++)
        n += b->listener_unavailable[i];
    return n;
}
