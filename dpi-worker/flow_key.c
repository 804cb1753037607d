#include "flow.h"

#include <ndpi_api.h>
#include <string.h>

void flow_key_from_packet(struct flow_key *key, const struct packet_view *pv,
                          uint16_t interface, int *direction)
{
    int n = pv->ip_version == 6 ? 16 : 4;
    int cmp = memcmp(pv->src_ip, pv->dst_ip, (size_t)n);
    bool src_is_lower = cmp < 0 || (cmp == 0 && pv->src_port <= pv->dst_port);

    memset(key, 0, sizeof(*key));
    memcpy(key->lower_ip, src_is_lower ? pv->src_ip : pv->dst_ip, (size_t)n);
    memcpy(key->upper_ip, src_is_lower ? pv->dst_ip : pv->src_ip, (size_t)n);
    key->lower_port = src_is_lower ? pv->src_port : pv->dst_port;
    key->upper_port = src_is_lower ? pv->dst_port : pv->src_port;
    key->vlan_id = pv->vlan_id;
    key->interface = interface;
    key->ip_version = pv->ip_version;
    key->ip_protocol = pv->ip_proto;
    *direction = src_is_lower ? FROM_LOWER : FROM_UPPER;
}

static uint8_t *put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return p + 2;
}

void flow_digest(uint8_t digest[20], const struct flow_key *key, const char *interface_name)
{
    uint8_t buf[64 + 1 + 1 + 2 + 32 + 4];
    size_t name_len = strnlen(interface_name, 64);
    int n = key->ip_version == 6 ? 16 : 4;
    uint8_t *p = buf;

    memcpy(p, interface_name, name_len);
    p += name_len;
    *p++ = key->ip_version;
    *p++ = key->ip_protocol;
    p = put16(p, key->vlan_id);
    memcpy(p, key->lower_ip, (size_t)n);
    p += n;
    memcpy(p, key->upper_ip, (size_t)n);
    p += n;
    p = put16(p, key->lower_port);
    p = put16(p, key->upper_port);
    ndpi_string_sha1_hash(buf, (size_t)(p - buf), digest);
}

uint32_t flow_key_hash(const struct flow_key *key)
{
    /* Word at a time over the key, which has no uninitialised padding
     * (flow_key_from_packet zeroes it); runs once per packet. */
    _Static_assert(sizeof(struct flow_key) % 4 == 0, "flow key is whole 32-bit words");
    const uint8_t *p = (const uint8_t *)key;
    uint64_t h = 0x9e3779b97f4a7c15ull;
    size_t i = 0;

    for (; i + 8 <= sizeof(*key); i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    for (; i < sizeof(*key); i += 4) {
        uint32_t w;
        memcpy(&w, p + i, 4);
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
        h ^= h >> 29;
    }
    return (uint32_t)(h ^ (h >> 32));
}
