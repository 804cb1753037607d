#include "dns_hints.h"

#include "channel.h"
#include "locality.h"

#include <arpa/inet.h>
#include <ndpi_protocol_ids.h>
#include <string.h>

#define UDP_HEADER_SIZE 8

int dns_hints_init(struct dns_hints *h, uint32_t capacity)
{
    memset(h, 0, sizeof(*h));
    return dns_hint_cache_init(&h->cache, capacity);
}

void dns_hints_destroy(struct dns_hints *h)
{
    dns_hint_cache_destroy(&h->cache);
}

/* The UDP payload of pv, as far as it was captured and the UDP length
 * says; false when the UDP header itself is cut or contradicts itself. */
static bool udp_payload(const struct packet_view *pv, const uint8_t **payload, size_t *len)
{
    if (pv->l4_off > pv->l3_len || pv->l3_len - pv->l4_off < UDP_HEADER_SIZE)
        return false;
    const uint8_t *udp = pv->l3 + pv->l4_off;
    size_t captured = pv->l3_len - pv->l4_off;
    size_t udp_len = (size_t)(udp[4] << 8 | udp[5]);
    if (udp_len < UDP_HEADER_SIZE)
        return false;
    /* A snap length shorter than the datagram leaves the end out: the
     * parser then finds the message truncated. */
    *payload = udp + UDP_HEADER_SIZE;
    *len = (udp_len < captured ? udp_len : captured) - UDP_HEADER_SIZE;
    return true;
}

void dns_hints_learn(struct dns_hints *h, const struct packet_view *pv, uint64_t ts_ms)
{
    static struct dns_answer answer; /* 1.7 KiB: kept off the stack */
    const uint8_t *msg;
    size_t len;

    if (!packet_is_dns_answer(pv))
        return;
    h->answers++;
    if (!udp_payload(pv, &msg, &len)) {
        h->status[DNS_ANSWER_TRUNCATED]++;
        return;
    }
    enum dns_answer_status st = dns_answer_parse(msg, len, &answer);
    h->status[st]++;
    if (st != DNS_ANSWER_OK)
        return;
    for (unsigned i = 0; i < answer.n_addresses; i++) {
        const struct dns_answer_address *a = &answer.addresses[i];
        dns_hint_cache_insert(&h->cache, a->ip, a->ip_version, answer.qname, a->ttl, ts_ms);
        h->addresses++;
    }
}

static bool is_address_literal(const char *s)
{
    uint8_t buf[16];

    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

void dns_hints_apply(struct flow_metadata *m, const char *name)
{
    if (name == NULL)
        return;
    m->dhc_hit = true;
    m->dns_host_name = name;
    m->host_from_dns = m->host_server_name == NULL || is_address_literal(m->host_server_name);
}

void dns_hints_annotate(struct dns_hints *h, const struct worker_options *o, const struct flow *f,
                        struct flow_metadata *m, uint64_t at_ms)
{
    struct flow_sides s;

    if (f->detected_protocol == NDPI_PROTOCOL_DNS || f->detected_application == NDPI_PROTOCOL_DNS)
        return;
    flow_sides(o, f, &s);
    if (strcmp(s.other_type, "multicast") == 0 || strcmp(s.other_type, "broadcast") == 0)
        return;
    const uint8_t *other = s.local == FROM_LOWER ? f->key.upper_ip : f->key.lower_ip;
    dns_hints_apply(m, dns_hint_cache_lookup(&h->cache, other, f->key.ip_version, at_ms));
}

void dns_hints_pack_stats(msgpack_packer *pk, const struct dns_hints *h)
{
    const struct dns_hint_cache_counters *c = &h->cache.counters;

    pk_kv_u64(pk, "dhc_size", h->cache.count);
    pk_key(pk, "dns_hints");
    msgpack_pack_map(pk, 14);
    pk_kv_u64(pk, "entries", h->cache.count);
    pk_kv_u64(pk, "capacity", h->cache.capacity);
    pk_kv_u64(pk, "hint_records", h->hint_records);
    pk_kv_u64(pk, "answers", h->answers);
    pk_kv_u64(pk, "learned", h->status[DNS_ANSWER_OK]);
    pk_kv_u64(pk, "addresses", h->addresses);
    pk_kv_u64(pk, "inserts", c->inserts);
    pk_kv_u64(pk, "updates", c->updates);
    pk_kv_u64(pk, "evictions", c->evictions);
    pk_kv_u64(pk, "expired", c->expired);
    pk_kv_u64(pk, "hits", c->hits);
    pk_kv_u64(pk, "misses", c->misses);
    pk_key(pk, "ignored");
    msgpack_pack_map(pk, DNS_ANSWER_FIRST_MALFORMED - 1);
    for (int i = 1; i < DNS_ANSWER_FIRST_MALFORMED; i++)
        pk_kv_u64(pk, dns_answer_status_name((enum dns_answer_status)i), h->status[i]);
    pk_key(pk, "malformed");
    msgpack_pack_map(pk, DNS_ANSWER_STATUS_COUNT - DNS_ANSWER_FIRST_MALFORMED);
    for (int i = DNS_ANSWER_FIRST_MALFORMED; i < DNS_ANSWER_STATUS_COUNT; i++)
        pk_kv_u64(pk, dns_answer_status_name((enum dns_answer_status)i), h->status[i]);
}
