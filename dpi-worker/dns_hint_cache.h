/* The DNS hint cache: address -> the name a DNS answer gave it, with an
 * expiry in packet time.  Fixed capacity, allocated once; no allocation
 * per packet.
 *
 * Every worker learns every DNS answer in capture order (see dns_hints.h),
 * and a replay must give the same records with any number of workers, so
 * the cache's content depends only on the sequence of inserts: lookups
 * (which only the flow's owner makes) change nothing but counters.  Hence
 * no refresh on lookup (netifyd refreshes), and eviction by a clock over
 * inserts: a re-learned address gets a second chance, an expired entry
 * goes first.  Each insert also checks two entries for expiry, so expired
 * entries leave without a lookup having to find them.
 *
 * Expiry: the address record's TTL, clamped to [DNS_HINT_TTL_MIN_S,
 * DNS_HINT_TTL_MAX_S].  The floor keeps a hint for the flows that start
 * just after a short-lived answer (TTLs of 0 to 30 s are common with CDNs,
 * and stub resolvers and browsers keep answers about a minute anyway);
 * the ceiling is the usual resolver cap of one day. */
#ifndef FLOWSENSE_WORKER_DNS_HINT_CACHE_H
#define FLOWSENSE_WORKER_DNS_HINT_CACHE_H

#include "dns_answer.h"

#include <stdbool.h>
#include <stdint.h>

#define DNS_HINT_TTL_MIN_S 60u
#define DNS_HINT_TTL_MAX_S 86400u

struct dns_hint_entry {
    uint8_t ip[16];
    uint64_t expires_ms;        /* packet time */
    uint32_t hash_next;         /* index + 1 of the next entry in the bucket, 0 ends */
    uint8_t ip_version;         /* 4 or 6; 0 = free */
    uint8_t referenced;         /* clock bit: re-learned since the hand last passed */
    char name[DNS_NAME_MAX + 1];
};

struct dns_hint_cache_counters {
    uint64_t inserts;    /* new addresses */
    uint64_t updates;    /* addresses learned again (name and expiry replaced) */
    uint64_t evictions;  /* live entries pushed out by a new address when full */
    uint64_t expired;    /* entries removed at or past their expiry */
    uint64_t hits, misses;
};

struct dns_hint_cache {
    struct dns_hint_entry *entries;
    uint32_t *buckets;          /* index + 1 of the first entry, 0 = empty */
    uint32_t *free_stack;       /* indices of free entries */
    uint32_t capacity, bucket_mask, n_free, count;
    uint32_t hand;              /* clock hand: next entry eviction considers */
    uint32_t sweep;             /* next entry checked for expiry on insert */
    struct dns_hint_cache_counters counters;
};

/* Returns 0, or -1 when memory is short (capacity >= 1). */
int dns_hint_cache_init(struct dns_hint_cache *c, uint32_t capacity);
void dns_hint_cache_destroy(struct dns_hint_cache *c);

/* Learns that ip (version 4 or 6) is name (at most DNS_NAME_MAX chars),
 * at packet time now_ms, for ttl_s seconds (clamped). */
void dns_hint_cache_insert(struct dns_hint_cache *c, const uint8_t *ip, int ip_version,
                           const char *name, uint32_t ttl_s, uint64_t now_ms);

/* The name of ip at packet time now_ms, or NULL (absent or expired).
 * Changes nothing but the hit and miss counters. */
const char *dns_hint_cache_lookup(struct dns_hint_cache *c, const uint8_t *ip, int ip_version,
                                  uint64_t now_ms);

#endif
