#include "established.h"

#include "msgpack_map.h"

#include <stdlib.h>
#include <string.h>

#define BUCKETS_INITIAL 256

int established_init(struct established_store *s, size_t limit, uint64_t seed,
                     established_remove_fn *on_remove, void *ctx)
{
    memset(s, 0, sizeof(*s));
    s->limit = limit;
    s->next_seq = 1;
    s->seed = seed;
    s->on_remove = on_remove;
    s->on_remove_ctx = ctx;
    if (limit == 0)
        return 0;
    s->bucket = calloc(BUCKETS_INITIAL, sizeof(*s->bucket));
    if (s->bucket == NULL)
        return -1;
    s->n_buckets = BUCKETS_INITIAL;
    msgpack_sbuffer_init(&s->scratch);
    msgpack_packer_init(&s->packer, &s->scratch, msgpack_sbuffer_write);
    msgpack_unpacked_init(&s->unpacked);
    return 0;
}

static void free_entry(struct established_entry *e)
{
    free(e->raw);
    free(e);
}

void established_destroy(struct established_store *s)
{
    if (s->limit == 0)
        return;
    for (struct established_entry *e = s->oldest, *next; e != NULL; e = next) {
        next = e->next;
        free_entry(e);
    }
    free(s->bucket);
    msgpack_sbuffer_destroy(&s->scratch);
    msgpack_unpacked_destroy(&s->unpacked);
    memset(s, 0, sizeof(*s));
}

/* FNV-1a over the digest, started from the seed. */
static size_t bucket_of(const struct established_store *s, const uint8_t *digest)
{
    uint64_t h = 0xcbf29ce484222325ull ^ s->seed;

    for (int i = 0; i < ESTABLISHED_DIGEST_BYTES; i++)
        h = (h ^ digest[i]) * 0x100000001b3ull;
    return (size_t)(h ^ h >> 29) & (s->n_buckets - 1);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* flow.digest of an event as 20 bytes; false when it has none that is
 * 40 hex digits. */
static bool digest_of(const msgpack_object *event, uint8_t *digest)
{
    const msgpack_object *flow = mp_map_get(event, "flow");
    const msgpack_object *d = flow ? mp_map_get(flow, "digest") : NULL;

    if (d == NULL || d->type != MSGPACK_OBJECT_STR || d->via.str.size != 2 * ESTABLISHED_DIGEST_BYTES)
        return false;
    for (int i = 0; i < ESTABLISHED_DIGEST_BYTES; i++) {
        int hi = hex_value(d->via.str.ptr[2 * i]), lo = hex_value(d->via.str.ptr[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        digest[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static struct established_entry *lookup(const struct established_store *s, const uint8_t *digest)
{
    for (struct established_entry *e = s->bucket[bucket_of(s, digest)]; e; e = e->hash_next)
        if (memcmp(e->digest, digest, ESTABLISHED_DIGEST_BYTES) == 0)
            return e;
    return NULL;
}

struct established_entry *established_find(const struct established_store *s,
                                           const msgpack_object *event)
{
    uint8_t digest[ESTABLISHED_DIGEST_BYTES];

    if (s->count == 0 || !digest_of(event, digest))
        return NULL;
    return lookup(s, digest);
}

/* The flow map with the values of status_flow's keys (but digest) in
 * place of its own. */
static void pack_flow_overlaid(msgpack_packer *pk, const msgpack_object *flow,
                               const msgpack_object *status_flow)
{
    const msgpack_object_map *m = &flow->via.map;

    msgpack_pack_map(pk, m->size);
    for (uint32_t i = 0; i < m->size; i++) {
        const msgpack_object *key = &m->ptr[i].key, *val = &m->ptr[i].val;
        const msgpack_object *now = NULL;
        if (key->type == MSGPACK_OBJECT_STR && !mp_key_is(key, "digest"))
            now = mp_map_get_n(status_flow, key->via.str.ptr, key->via.str.size);
        msgpack_pack_object(pk, *key);
        msgpack_pack_object(pk, now ? *now : *val);
    }
}

/* Packs into the scratch buffer the record to replay: event with
 * "established" true and, given status_flow, that status's counters. */
static void pack_record(struct established_store *s, const msgpack_object *event,
                        const msgpack_object *status_flow)
{
    const msgpack_object_map *m = &event->via.map;
    bool has_flag = mp_map_get(event, "established") != NULL;
    msgpack_packer *pk = &s->packer;

    msgpack_sbuffer_clear(&s->scratch);
    msgpack_pack_map(pk, m->size + !has_flag);
    for (uint32_t i = 0; i < m->size; i++) {
        const msgpack_object *key = &m->ptr[i].key, *val = &m->ptr[i].val;
        msgpack_pack_object(pk, *key);
        if (mp_key_is(key, "established"))
            msgpack_pack_true(pk);
        else if (status_flow && mp_key_is(key, "flow") && val->type == MSGPACK_OBJECT_MAP)
            pack_flow_overlaid(pk, val, status_flow);
        else
            msgpack_pack_object(pk, *val);
    }
    if (!has_flag) {
        msgpack_pack_str_with_body(pk, "established", 11);
        msgpack_pack_true(pk);
    }
}

/* Gives the entry the scratch buffer's record; false when memory is short. */
static bool take_record(struct established_store *s, struct established_entry *e)
{
    char *raw = realloc(e->raw, s->scratch.size);

    if (raw == NULL)
        return false;
    memcpy(raw, s->scratch.data, s->scratch.size);
    e->raw = raw;
    e->raw_len = s->scratch.size;
    return true;
}

static bool is_unknown(const msgpack_object *event)
{
    const msgpack_object *flow = mp_map_get(event, "flow");
    const msgpack_object *p = flow ? mp_map_get(flow, "detected_protocol") : NULL;

    return p != NULL && p->type == MSGPACK_OBJECT_POSITIVE_INTEGER && p->via.u64 == 0;
}

/* Doubles the buckets while they are fewer than the entries; stays as it
 * is when memory is short (chains just grow longer). */
static void grow(struct established_store *s)
{
    if (s->count < s->n_buckets)
        return;
    size_t n = s->n_buckets * 2;
    struct established_entry **bucket = calloc(n, sizeof(*bucket));
    if (bucket == NULL)
        return;
    free(s->bucket);
    s->bucket = bucket;
    s->n_buckets = n;
    for (struct established_entry *e = s->oldest; e != NULL; e = e->next) {
        size_t b = bucket_of(s, e->digest);
        e->hash_next = bucket[b];
        bucket[b] = e;
    }
}

static struct established_entry *add(struct established_store *s, const uint8_t *digest)
{
    struct established_entry *e = calloc(1, sizeof(*e));

    if (e == NULL)
        return NULL;
    memcpy(e->digest, digest, ESTABLISHED_DIGEST_BYTES);
    e->seq = s->next_seq++;
    e->prev = s->newest;
    if (s->newest)
        s->newest->next = e;
    else
        s->oldest = e;
    s->newest = e;
    size_t b = bucket_of(s, digest);
    e->hash_next = s->bucket[b];
    s->bucket[b] = e;
    s->count++;
    grow(s);
    return e;
}

void established_put(struct established_store *s, struct established_entry *e, unsigned worker,
                     const msgpack_object *event)
{
    uint8_t digest[ESTABLISHED_DIGEST_BYTES];

    if (e == NULL) {
        if (!digest_of(event, digest)) {
            s->unkeyed++;
            return;
        }
        if (s->count >= s->limit) {
            s->refused++;
            return;
        }
    }
    pack_record(s, event, NULL);
    if (e == NULL && (e = add(s, digest)) == NULL) {
        s->refused++;
        return;
    }
    if (!take_record(s, e)) {
        s->refused++;
        established_remove(s, e);
        return;
    }
    e->worker = worker;
    e->unknown = is_unknown(event);
}

void established_update(struct established_store *s, struct established_entry *e,
                        const msgpack_object *event)
{
    const msgpack_object *status_flow = mp_map_get(event, "flow");
    size_t off = 0;

    if (status_flow == NULL || status_flow->type != MSGPACK_OBJECT_MAP)
        return;
    if (msgpack_unpack_next(&s->unpacked, e->raw, e->raw_len, &off) != MSGPACK_UNPACK_SUCCESS)
        return; /* cannot happen: we packed it */
    pack_record(s, &s->unpacked.data, status_flow);
    /* Out of memory: the entry keeps its older counters. */
    (void)take_record(s, e);
}

void established_remove(struct established_store *s, struct established_entry *e)
{
    if (s->on_remove)
        s->on_remove(s->on_remove_ctx, e);
    struct established_entry **p = &s->bucket[bucket_of(s, e->digest)];
    while (*p != e)
        p = &(*p)->hash_next;
    *p = e->hash_next;
    if (e->prev)
        e->prev->next = e->next;
    else
        s->oldest = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        s->newest = e->prev;
    s->count--;
    free_entry(e);
}

size_t established_drop_worker(struct established_store *s, unsigned worker)
{
    size_t n = 0;

    for (struct established_entry *e = s->oldest, *next; e != NULL; e = next) {
        next = e->next;
        if (e->worker == worker) {
            established_remove(s, e);
            n++;
        }
    }
    s->lost += n;
    return n;
}
