#include "dns_hint_cache.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define SWEEP_PER_INSERT 2

static uint32_t address_hash(const uint8_t *ip, int ip_version)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    int n = ip_version == 6 ? 16 : 4;

    for (int i = 0; i < n; i++)
        h = (h ^ ip[i]) * 16777619u;
    return h ^ (uint32_t)ip_version;
}

int dns_hint_cache_init(struct dns_hint_cache *c, uint32_t capacity)
{
    uint32_t buckets = 1;

    memset(c, 0, sizeof(*c));
    if (capacity == 0 || capacity > (1u << 24))
        return -1;
    while (buckets < capacity)
        buckets <<= 1;
    c->entries = calloc(capacity, sizeof(*c->entries));
    c->buckets = calloc(buckets, sizeof(*c->buckets));
    c->free_stack = malloc(capacity * sizeof(*c->free_stack));
    if (c->entries == NULL || c->buckets == NULL || c->free_stack == NULL) {
        dns_hint_cache_destroy(c);
        return -1;
    }
    c->capacity = capacity;
    c->bucket_mask = buckets - 1;
    /* Entries are handed out from index 0 up. */
    for (uint32_t i = 0; i < capacity; i++)
        c->free_stack[i] = capacity - 1 - i;
    c->n_free = capacity;
    return 0;
}

void dns_hint_cache_destroy(struct dns_hint_cache *c)
{
    free(c->entries);
    free(c->buckets);
    free(c->free_stack);
    memset(c, 0, sizeof(*c));
}

static bool same_address(const struct dns_hint_entry *e, const uint8_t *ip, int ip_version)
{
    return e->ip_version == ip_version && memcmp(e->ip, ip, ip_version == 6 ? 16 : 4) == 0;
}

static struct dns_hint_entry *find(const struct dns_hint_cache *c, const uint8_t *ip,
                                   int ip_version)
{
    uint32_t i = c->buckets[address_hash(ip, ip_version) & c->bucket_mask];

    while (i != 0) {
        struct dns_hint_entry *e = &c->entries[i - 1];
        if (same_address(e, ip, ip_version))
            return e;
        i = e->hash_next;
    }
    return NULL;
}

/* Unlinks entry index from its bucket and frees it. */
static void remove_entry(struct dns_hint_cache *c, uint32_t index)
{
    struct dns_hint_entry *e = &c->entries[index];
    uint32_t *link = &c->buckets[address_hash(e->ip, e->ip_version) & c->bucket_mask];

    while (*link != index + 1)
        link = &c->entries[*link - 1].hash_next;
    *link = e->hash_next;
    memset(e, 0, offsetof(struct dns_hint_entry, name) + 1);
    c->free_stack[c->n_free++] = index;
    c->count--;
}

static void sweep_expired(struct dns_hint_cache *c, uint64_t now_ms)
{
    for (int k = 0; k < SWEEP_PER_INSERT; k++) {
        uint32_t i = c->sweep;
        c->sweep = (c->sweep + 1) % c->capacity;
        if (c->entries[i].ip_version != 0 && c->entries[i].expires_ms <= now_ms) {
            remove_entry(c, i);
            c->counters.expired++;
        }
    }
}

/* Called when no entry is free: every entry is in use, so within one
 * turn of the hand an entry without its bit is found (bits are cleared
 * on the way), at most capacity + 1 steps. */
static void evict_one(struct dns_hint_cache *c, uint64_t now_ms)
{
    for (;;) {
        uint32_t i = c->hand;
        struct dns_hint_entry *e = &c->entries[i];
        c->hand = (c->hand + 1) % c->capacity;
        if (e->expires_ms <= now_ms) {
            remove_entry(c, i);
            c->counters.expired++;
            return;
        }
        if (e->referenced) {
            e->referenced = 0;
            continue;
        }
        remove_entry(c, i);
        c->counters.evictions++;
        return;
    }
}

static uint64_t expiry(uint32_t ttl_s, uint64_t now_ms)
{
    if (ttl_s < DNS_HINT_TTL_MIN_S)
        ttl_s = DNS_HINT_TTL_MIN_S;
    if (ttl_s > DNS_HINT_TTL_MAX_S)
        ttl_s = DNS_HINT_TTL_MAX_S;
    return now_ms + (uint64_t)ttl_s * 1000;
}

static void set_name(struct dns_hint_entry *e, const char *name)
{
    size_t n = strnlen(name, DNS_NAME_MAX);

    memcpy(e->name, name, n);
    e->name[n] = '\0';
}

void dns_hint_cache_insert(struct dns_hint_cache *c, const uint8_t *ip, int ip_version,
                           const char *name, uint32_t ttl_s, uint64_t now_ms)
{
    if (ip_version != 4 && ip_version != 6)
        return;
    sweep_expired(c, now_ms);
    struct dns_hint_entry *e = find(c, ip, ip_version);
    if (e != NULL) {
        set_name(e, name);
        e->expires_ms = expiry(ttl_s, now_ms);
        e->referenced = 1;
        c->counters.updates++;
        return;
    }
    if (c->n_free == 0)
        evict_one(c, now_ms);
    uint32_t index = c->free_stack[--c->n_free];
    e = &c->entries[index];
    memset(e->ip, 0, sizeof(e->ip));
    memcpy(e->ip, ip, ip_version == 6 ? 16 : 4);
    e->ip_version = (uint8_t)ip_version;
    e->referenced = 0;
    e->expires_ms = expiry(ttl_s, now_ms);
    set_name(e, name);
    uint32_t *bucket = &c->buckets[address_hash(ip, ip_version) & c->bucket_mask];
    e->hash_next = *bucket;
    *bucket = index + 1;
    c->count++;
    c->counters.inserts++;
}

const char *dns_hint_cache_lookup(struct dns_hint_cache *c, const uint8_t *ip, int ip_version,
                                  uint64_t now_ms)
{
    const struct dns_hint_entry *e = find(c, ip, ip_version);

    if (e == NULL || e->expires_ms <= now_ms) {
        c->counters.misses++;
        return NULL;
    }
    c->counters.hits++;
    return e->name;
}
