#include "agent_status.h"

#include "channel.h"
#include "msgpack_map.h"

#include <math.h>
#include <ndpi/ndpi_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int agent_init(struct agent *a, unsigned n_workers, unsigned update_interval)
{
    memset(a, 0, sizeof(*a));
    a->workers = calloc(n_workers, sizeof(*a->workers));
    if (a->workers == NULL)
        return -1;
    a->n_workers = n_workers;
    a->update_interval = update_interval;
    a->cpu_cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (a->cpu_cores < 1)
        a->cpu_cores = 1;
    clock_gettime(CLOCK_MONOTONIC, &a->started);
    snprintf(a->build_version, sizeof(a->build_version), "flowsense/%s (Linux; nDPI %s; json %.1f)",
             FLOWSENSE_VERSION, ndpi_revision(), AGENT_JSON_VERSION);
    return 0;
}

void agent_destroy(struct agent *a)
{
    free(a->capture.raw);
    for (unsigned i = 0; i < a->n_workers; i++)
        free(a->workers[i].raw);
    free(a->workers);
    memset(a, 0, sizeof(*a));
}

/* A peer's figure; anything that is not a number counts as 0. */
static double seconds_of(const msgpack_object *map, const char *key)
{
    const msgpack_object *o = mp_map_get(map, key);

    if (o == NULL)
        return 0;
    switch (o->type) {
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return o->via.f64 > 0 ? o->via.f64 : 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return (double)o->via.u64;
    default:
        return 0;
    }
}

static uint64_t count_of(const msgpack_object *map, const char *key)
{
    const msgpack_object *o = mp_map_get(map, key);

    return o != NULL && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? o->via.u64 : 0;
}

/* A whole number in [min, max] under key, or false. */
static bool bounded_count(const msgpack_object *map, const char *key, uint64_t min, uint64_t max,
                          uint64_t *out)
{
    const msgpack_object *o = mp_map_get(map, key);

    if (o == NULL || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 < min ||
        o->via.u64 > max)
        return false;
    *out = o->via.u64;
    return true;
}

static int store(struct agent_stats_slot *s, const msgpack_object *obj, const char *raw,
                 size_t raw_len)
{
    if (raw_len > s->raw_cap) {
        char *p = realloc(s->raw, raw_len);
        if (p == NULL)
            return -1;
        s->raw = p;
        s->raw_cap = raw_len;
    }
    memcpy(s->raw, raw, raw_len);
    s->raw_len = raw_len;
    s->cpu_user = seconds_of(obj, "cpu_user");
    s->cpu_system = seconds_of(obj, "cpu_system");
    s->maxrss_kb = count_of(obj, "maxrss_kb");
    s->flows = count_of(obj, "flows");
    s->dhc_size = count_of(obj, "dhc_size");
    s->events_dropped = count_of(obj, "events_dropped");
    s->pid = count_of(obj, "pid");
    return 0;
}

int agent_store_capture(struct agent *a, const msgpack_object *obj, const char *raw, size_t raw_len)
{
    return store(&a->capture, obj, raw, raw_len);
}

int agent_store_worker(struct agent *a, unsigned worker, const msgpack_object *obj, const char *raw,
                       size_t raw_len)
{
    if (worker >= a->n_workers)
        return -1;
    struct agent_stats_slot *s = &a->workers[worker];
    /* Sent before its worker died, read after we heard of the death. */
    if (s->dead_pid != 0 && count_of(obj, "pid") == s->dead_pid)
        return 0;
    return store(s, obj, raw, raw_len);
}

int agent_worker_exit(struct agent *a, const msgpack_object *obj, const char **why)
{
    uint64_t worker, pid;

    if (!bounded_count(obj, "worker", 0, a->n_workers - 1, &worker)) {
        *why = "worker_exit without a valid \"worker\" index";
        return -1;
    }
    if (!bounded_count(obj, "pid", 1, INT32_MAX, &pid)) {
        *why = "worker_exit without a valid \"pid\"";
        return -1;
    }
    struct agent_stats_slot *s = &a->workers[worker];
    s->dead_pid = pid;
    if (s->pid != pid) /* it never reported, or its successor already has */
        return 0;
    a->retired_cpu_user += s->cpu_user;
    a->retired_cpu_system += s->cpu_system;
    a->retired_events_dropped += s->events_dropped;
    uint64_t dead_pid = s->dead_pid;
    char *raw = s->raw;
    size_t raw_cap = s->raw_cap;
    *s = (struct agent_stats_slot){ .raw = raw, .raw_cap = raw_cap, .dead_pid = dead_pid };
    return 0;
}

uint64_t agent_worker_events_dropped(const struct agent *a)
{
    uint64_t n = a->retired_events_dropped;

    for (unsigned i = 0; i < a->n_workers; i++)
        n += a->workers[i].events_dropped;
    return n;
}

void agent_measure_self(const struct agent *a, struct agent_self *self)
{
    struct rusage ru;
    struct timespec now;

    memset(self, 0, sizeof(*self));
    self->timestamp = (int64_t)time(NULL);
    clock_gettime(CLOCK_MONOTONIC, &now);
    self->uptime = (uint64_t)(now.tv_sec - a->started.tv_sec);
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        self->cpu_user = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
        self->cpu_system = (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
        self->maxrss_kb = (uint64_t)ru.ru_maxrss; /* Linux reports kilobytes */
    }
}

void agent_hello_pack(const struct agent *a, msgpack_packer *pk)
{
    msgpack_pack_map(pk, 4);
    pk_kv_str(pk, "type", "agent_hello");
    pk_kv_str(pk, "build_version", a->build_version);
    pk_kv_double(pk, "agent_version", strtod(FLOWSENSE_VERSION, NULL)); /* "0.1.0" -> 0.1 */
    pk_kv_double(pk, "json_version", AGENT_JSON_VERSION);
}

static void add_slot(struct agent_totals *t, const struct agent_stats_slot *s)
{
    t->cpu_user += s->cpu_user;
    t->cpu_system += s->cpu_system;
    t->maxrss_kb += s->maxrss_kb;
    t->flows += s->flows;
}

static bool is_type_key(const msgpack_object *k)
{
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == 4 &&
           memcmp(k->via.str.ptr, "type", 4) == 0;
}

/* Packs a stored statistics event without its "type". */
static void pack_slot(msgpack_packer *pk, const struct agent_stats_slot *s)
{
    msgpack_unpacked u;
    size_t off = 0;

    msgpack_unpacked_init(&u);
    if (s->raw_len == 0 ||
        msgpack_unpack_next(&u, s->raw, s->raw_len, &off) != MSGPACK_UNPACK_SUCCESS ||
        u.data.type != MSGPACK_OBJECT_MAP) {
        msgpack_pack_map(pk, 0);
        msgpack_unpacked_destroy(&u);
        return;
    }
    const msgpack_object_map *m = &u.data.via.map;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < m->size; i++)
        kept += !is_type_key(&m->ptr[i].key);
    msgpack_pack_map(pk, kept);
    for (uint32_t i = 0; i < m->size; i++) {
        if (is_type_key(&m->ptr[i].key))
            continue;
        msgpack_pack_object(pk, m->ptr[i].key);
        msgpack_pack_object(pk, m->ptr[i].val);
    }
    msgpack_unpacked_destroy(&u);
}

static void pack_workers(msgpack_packer *pk, const struct agent *a)
{
    uint32_t reported = 0;

    for (unsigned i = 0; i < a->n_workers; i++)
        reported += a->workers[i].raw_len > 0;
    msgpack_pack_array(pk, reported);
    for (unsigned i = 0; i < a->n_workers; i++)
        if (a->workers[i].raw_len > 0)
            pack_slot(pk, &a->workers[i]);
}

static void pack_counters(msgpack_packer *pk, const struct agent_counters *c)
{
    pk_key(pk, "clients");
    msgpack_pack_map(pk, 9);
    pk_kv_u64(pk, "connected", c->clients_connected);
    pk_kv_u64(pk, "accepted", c->clients_accepted);
    pk_kv_u64(pk, "refused", c->clients_refused);
    pk_kv_u64(pk, "dropped_slow", c->clients_dropped_slow);
    pk_kv_u64(pk, "records_sent", c->clients_records_sent);
    pk_kv_u64(pk, "bytes_sent", c->clients_bytes_sent);
    pk_kv_u64(pk, "subscribed", c->clients_subscribed);
    pk_kv_u64(pk, "rejected_commands", c->clients_rejected_commands);
    pk_kv_u64(pk, "command_timeouts", c->clients_command_timeouts);
    pk_key(pk, "events");
    msgpack_pack_map(pk, 3);
    pk_kv_u64(pk, "received", c->events_received);
    pk_kv_u64(pk, "malformed", c->events_malformed);
    pk_kv_u64(pk, "dropped", c->events_dropped);
    pk_key(pk, "established_flows");
    msgpack_pack_map(pk, 6);
    pk_kv_u64(pk, "stored", c->established_stored);
    pk_kv_u64(pk, "limit", c->established_limit);
    pk_kv_u64(pk, "refused", c->established_refused);
    pk_kv_u64(pk, "unkeyed", c->established_unkeyed);
    pk_kv_u64(pk, "lost", c->established_lost);
    pk_kv_u64(pk, "replayed", c->established_replayed);
    pk_key(pk, "listeners");
    msgpack_pack_map(pk, 2);
    pk_kv_u64(pk, "recreated", c->listeners_recreated);
    pk_kv_u64(pk, "unavailable", c->listeners_unavailable);
}

/* Every worker learns every DNS answer, so their caches hold the same
 * entries (a live ring that was full may have cost one a copy): the
 * largest is the cache's size, not the sum. */
static uint64_t dhc_size(const struct agent *a)
{
    uint64_t n = 0;

    for (unsigned i = 0; i < a->n_workers; i++)
        if (a->workers[i].dhc_size > n)
            n = a->workers[i].dhc_size;
    return n;
}

/* Sums of CPU seconds to the microsecond getrusage() measures, so that
 * 0.5 + 0.25 + 0.001759 reads 0.751759 and not 0.7517590000000001. */
static double to_microseconds(double seconds)
{
    return round(seconds * 1e6) / 1e6;
}

void agent_status_pack(struct agent *a, msgpack_packer *pk, const struct agent_self *self,
                       const struct agent_counters *counters, bool periodic)
{
    struct agent_totals now = {
        .cpu_user = self->cpu_user + a->retired_cpu_user,
        .cpu_system = self->cpu_system + a->retired_cpu_system,
        .maxrss_kb = self->maxrss_kb,
    };
    add_slot(&now, &a->capture);
    for (unsigned i = 0; i < a->n_workers; i++)
        add_slot(&now, &a->workers[i]);
    now.cpu_user = to_microseconds(now.cpu_user);
    now.cpu_system = to_microseconds(now.cpu_system);

    msgpack_pack_map(pk, 23);
    pk_kv_str(pk, "type", "agent_status");
    pk_kv_i64(pk, "timestamp", self->timestamp);
    pk_kv_u64(pk, "update_interval", a->update_interval);
    pk_kv_u64(pk, "uptime", self->uptime);
    pk_kv_i64(pk, "cpu_cores", a->cpu_cores);
    pk_kv_double(pk, "cpu_user", now.cpu_user);
    pk_kv_double(pk, "cpu_user_prev", a->prev.cpu_user);
    pk_kv_double(pk, "cpu_system", now.cpu_system);
    pk_kv_double(pk, "cpu_system_prev", a->prev.cpu_system);
    pk_kv_u64(pk, "maxrss_kb", now.maxrss_kb);
    pk_kv_u64(pk, "maxrss_kb_prev", a->prev.maxrss_kb);
    pk_kv_u64(pk, "flow_count", now.flows);
    pk_kv_u64(pk, "flow_count_prev", a->prev.flows);
    pk_kv_u64(pk, "flows", now.flows);
    pk_kv_u64(pk, "flows_prev", a->prev.flows);
    pk_kv_bool(pk, "dhc_status", true);
    pk_kv_u64(pk, "dhc_size", dhc_size(a));
    pk_key(pk, "capture");
    pack_slot(pk, &a->capture);
    pk_key(pk, "workers");
    pack_workers(pk, a);
    pack_counters(pk, counters);
    if (periodic)
        a->prev = now;
}
