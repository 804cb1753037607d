#include "reassembly.h"

#include <stdlib.h>
#include <string.h>

/* Payload bytes a datagram can carry, in 8-byte blocks (fragment offsets
 * count in those): one bit per block records what is held. */
#define MAX_PAYLOAD 65536u
#define BLOCKS (MAX_PAYLOAD / 8)
/* Buffers grow by doubling from this: small datagrams stay small. */
#define BUFFER_STEP 512u

struct frag_datagram {
    struct frag_datagram *hash_next, *older, *newer;
    uint32_t bucket;
    uint64_t first_ms;   /* packet time of its first fragment seen */
    uint64_t wire_bytes;
    uint32_t fragments;
    /* Identity: what RFC 791 and RFC 8200 name, plus where it was seen. */
    uint32_t id;
    uint16_t interface, vlan_id;
    uint8_t version, proto;
    uint8_t src[16], dst[16];
    uint32_t total;      /* payload length, known from the last fragment; 0 before */
    uint32_t max_end;    /* end of the furthest payload bytes held */
    uint32_t received;   /* payload bytes held (none twice: overlaps are refused) */
    uint32_t capacity;   /* of data */
    uint8_t *data;
    uint32_t header_len; /* 0 until the fragment at offset 0 came */
    uint8_t header[60];
    uint8_t held[BLOCKS / 8];
};

void reassembly_init(struct reassembly *r)
{
    memset(r, 0, offsetof(struct reassembly, whole));
}

static uint32_t mix(uint32_t h, uint32_t v)
{
    h ^= v;
    h *= 0x9e3779b1u;
    return h ^ (h >> 15);
}

static uint32_t bucket_of(const struct packet_view *pv, uint16_t interface)
{
    uint32_t h = mix(pv->frag_id, interface);

    for (int i = 0; i < 16; i += 4) {
        uint32_t s, d;
        memcpy(&s, pv->src_ip + i, 4);
        memcpy(&d, pv->dst_ip + i, 4);
        h = mix(mix(h, s), d);
    }
    return h % REASSEMBLY_BUCKETS;
}

static bool same_datagram(const struct frag_datagram *d, const struct packet_view *pv,
                          uint16_t interface)
{
    return d->id == pv->frag_id && d->version == pv->ip_version && d->proto == pv->frag_proto &&
           d->interface == interface && d->vlan_id == pv->vlan_id &&
           memcmp(d->src, pv->src_ip, 16) == 0 && memcmp(d->dst, pv->dst_ip, 16) == 0;
}

static void drop(struct reassembly *r, struct frag_datagram *d, uint64_t *reason)
{
    struct frag_datagram **p = &r->buckets[d->bucket];

    while (*p != d)
        p = &(*p)->hash_next;
    *p = d->hash_next;
    if (d->older)
        d->older->newer = d->newer;
    else
        r->oldest = d->newer;
    if (d->newer)
        d->newer->older = d->older;
    else
        r->newest = d->older;
    r->count--;
    r->bytes -= sizeof(*d) + d->capacity;
    if (reason)
        (*reason)++;
    free(d->data);
    free(d);
}

void reassembly_clear(struct reassembly *r)
{
    while (r->oldest)
        drop(r, r->oldest, NULL);
}

void reassembly_expire(struct reassembly *r, uint64_t now_ms)
{
    while (r->oldest && r->oldest->first_ms + REASSEMBLY_TIMEOUT_MS <= now_ms)
        drop(r, r->oldest, &r->counters.timeouts);
}

/* Makes room for `more` bytes by dropping the oldest datagrams other
 * than `keep`; false when even that is not enough. */
static bool make_room(struct reassembly *r, size_t more, bool new_datagram,
                      const struct frag_datagram *keep)
{
    while (r->bytes + more > REASSEMBLY_MAX_BYTES ||
           (new_datagram && r->count >= REASSEMBLY_MAX_DATAGRAMS)) {
        struct frag_datagram *victim = r->oldest;
        if (victim == keep)
            victim = victim->newer;
        if (victim == NULL)
            return false;
        drop(r, victim, &r->counters.dropped_memory);
    }
    return true;
}

static struct frag_datagram *find_or_start(struct reassembly *r, const struct packet_view *pv,
                                           uint16_t interface, uint64_t ts_ms)
{
    uint32_t b = bucket_of(pv, interface);

    for (struct frag_datagram *d = r->buckets[b]; d; d = d->hash_next) {
        if (!same_datagram(d, pv, interface))
            continue;
        /* Time may run backwards in a capture: the sweep by the oldest
         * first fragment can miss this one. */
        if (d->first_ms + REASSEMBLY_TIMEOUT_MS > ts_ms)
            return d;
        drop(r, d, &r->counters.timeouts);
        break;
    }
    if (!make_room(r, sizeof(struct frag_datagram), true, NULL)) {
        r->counters.dropped_memory++;
        return NULL;
    }
    struct frag_datagram *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        r->counters.dropped_memory++;
        return NULL;
    }
    d->bucket = b;
    d->first_ms = ts_ms;
    d->id = pv->frag_id;
    d->interface = interface;
    d->vlan_id = pv->vlan_id;
    d->version = pv->ip_version;
    d->proto = pv->frag_proto;
    memcpy(d->src, pv->src_ip, 16);
    memcpy(d->dst, pv->dst_ip, 16);
    d->hash_next = r->buckets[b];
    r->buckets[b] = d;
    d->older = r->newest;
    if (r->newest)
        r->newest->newer = d;
    else
        r->oldest = d;
    r->newest = d;
    r->count++;
    r->bytes += sizeof(*d);
    return d;
}

/* Grows d's buffer to hold `end` bytes; false (d dropped) when the
 * memory limit or the allocator says no. */
static bool reserve(struct reassembly *r, struct frag_datagram *d, uint32_t end)
{
    if (end <= d->capacity)
        return true;
    uint32_t want = (end + BUFFER_STEP - 1) / BUFFER_STEP * BUFFER_STEP;
    if (want < 2 * d->capacity)
        want = 2 * d->capacity;
    if (want > MAX_PAYLOAD)
        want = MAX_PAYLOAD;
    uint8_t *grown = NULL;
    if (make_room(r, want - d->capacity, false, d))
        grown = realloc(d->data, want);
    if (grown == NULL) {
        drop(r, d, &r->counters.dropped_memory);
        return false;
    }
    r->bytes += want - d->capacity;
    d->data = grown;
    d->capacity = want;
    return true;
}

/* How many of the blocks [first, last) are held. */
static uint32_t held_blocks(const struct frag_datagram *d, uint32_t first, uint32_t last)
{
    uint32_t n = 0;

    for (uint32_t b = first; b < last; b++)
        n += (d->held[b / 8] >> (b % 8)) & 1;
    return n;
}

static void mark_held(struct frag_datagram *d, uint32_t first, uint32_t last)
{
    for (uint32_t b = first; b < last; b++)
        d->held[b / 8] |= (uint8_t)(1u << (b % 8));
}

static void keep_header(struct frag_datagram *d, const struct packet_view *pv)
{
    /* IPv6: the fixed header only; extension headers before the fragment
     * header (hop-by-hop, routing, destination options) say nothing about
     * the flow and are left out of the whole datagram. */
    d->header_len = pv->ip_version == 4 ? pv->frag_data : 40;
    memcpy(d->header, pv->l3, d->header_len);
}

static uint16_t ipv4_checksum(const uint8_t *h, uint32_t len)
{
    uint32_t sum = 0;

    for (uint32_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(h[i] << 8 | h[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Writes the whole datagram into r->whole and frees d. */
static void complete(struct reassembly *r, struct frag_datagram *d, struct reassembled *out)
{
    uint8_t *w = r->whole;
    uint32_t h = d->header_len;

    memcpy(w, d->header, h);
    memcpy(w + h, d->data, d->total);
    if (d->version == 4) {
        put16(w + 2, h + d->total);
        w[6] &= 0x40; /* keep DF; no more fragments, offset 0 */
        w[7] = 0;
        put16(w + 10, 0);
        put16(w + 10, ipv4_checksum(w, h));
    } else {
        put16(w + 4, d->total);
        w[6] = d->proto;
    }
    out->data = w;
    out->len = h + d->total;
    out->wire_bytes = d->wire_bytes;
    out->fragments = d->fragments;
    r->counters.reassembled++;
    drop(r, d, NULL);
}

bool reassembly_add(struct reassembly *r, const struct packet_view *pv, uint16_t interface,
                    uint64_t ts_ms, uint32_t wire_len, struct reassembled *out)
{
    r->counters.fragments++;
    reassembly_expire(r, ts_ms);
    /* The IP header's own length: captured bytes short of it mean the
     * capture's snap length cut the fragment. */
    uint32_t ip_len = pv->ip_version == 4 ? (uint32_t)(pv->l3[2] << 8 | pv->l3[3])
                                          : 40u + (uint32_t)(pv->l3[4] << 8 | pv->l3[5]);
    if (pv->l3_len < ip_len || pv->frag_data > ip_len) {
        r->counters.truncated++;
        return false;
    }
    uint32_t off = pv->frag_offset, len = ip_len - pv->frag_data, end = off + len;
    /* An IPv6 datagram's payload length counts its extension headers,
     * not its fixed 40 bytes: both limits are 65535 in IP_MAX_LENGTH terms. */
    uint32_t limit = IP_MAX_LENGTH + (pv->ip_version == 6 ? 40u : 0u) - pv->frag_data;

    struct frag_datagram *d = find_or_start(r, pv, interface, ts_ms);
    if (d == NULL)
        return false;
    d->fragments++;
    d->wire_bytes += wire_len;
    if (end > limit) {
        drop(r, d, &r->counters.too_large);
        return false;
    }
    /* Only the last fragment may end off an 8-byte boundary; nothing may
     * lie past the end the last fragment gave. */
    if (len == 0 || (pv->frag_more && len % 8 != 0) || (d->total && end > d->total) ||
        (!pv->frag_more && (d->total ? end != d->total : d->max_end > end))) {
        drop(r, d, &r->counters.bad_offset);
        return false;
    }
    uint32_t first = off / 8, last = (end + 7) / 8;
    uint32_t held = held_blocks(d, first, last);
    if (held == last - first) {
        r->counters.duplicates++;
        return false;
    }
    if (held != 0) {
        drop(r, d, &r->counters.overlaps);
        return false;
    }
    if (!reserve(r, d, end))
        return false;
    memcpy(d->data + off, pv->l3 + pv->frag_data, len);
    mark_held(d, first, last);
    d->received += len;
    if (end > d->max_end)
        d->max_end = end;
    if (!pv->frag_more)
        d->total = end;
    if (off == 0)
        keep_header(d, pv);
    if (d->total == 0 || d->received != d->total)
        return false;
    complete(r, d, out);
    return true;
}
