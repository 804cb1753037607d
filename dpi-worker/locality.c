#include "locality.h"

#include <string.h>

bool address_is_local(const uint8_t *ip, int ip_version)
{
    if (ip_version == 4)
        return ip[0] == 10 || ip[0] == 127 || (ip[0] == 172 && (ip[1] & 0xf0) == 16) ||
               (ip[0] == 192 && ip[1] == 168) || (ip[0] == 169 && ip[1] == 254);
    static const uint8_t loopback6[16] = { [15] = 1 };
    return (ip[0] & 0xfe) == 0xfc ||                  /* fc00::/7 unique local */
           (ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80) || /* fe80::/10 link local */
           memcmp(ip, loopback6, 16) == 0;
}

static bool is_multicast(const uint8_t *ip, int v)
{
    return v == 4 ? (ip[0] & 0xf0) == 0xe0 : ip[0] == 0xff;
}

static bool is_broadcast(const uint8_t *ip, int v)
{
    return v == 4 && ip[0] == 255 && ip[1] == 255 && ip[2] == 255 && ip[3] == 255;
}

void flow_sides(const struct flow *f, struct flow_sides *s)
{
    const struct flow_key *k = &f->key;
    int v = k->ip_version;
    const uint8_t *ip[2] = { k->lower_ip, k->upper_ip };
    bool local[2] = { address_is_local(ip[0], v), address_is_local(ip[1], v) };
    bool group[2] = { is_multicast(ip[0], v) || is_broadcast(ip[0], v),
                      is_multicast(ip[1], v) || is_broadcast(ip[1], v) };

    /* A group address is never the local end; otherwise the one local
     * address, and when both or neither are local, whoever spoke first. */
    if (group[0] != group[1])
        s->local = group[0] ? FROM_UPPER : FROM_LOWER;
    else if (local[0] != local[1])
        s->local = local[0] ? FROM_LOWER : FROM_UPPER;
    else
        s->local = f->origin;
    int other = !s->local;
    if (is_broadcast(ip[other], v))
        s->other_type = "broadcast";
    else if (is_multicast(ip[other], v))
        s->other_type = "multicast";
    else if (local[other])
        s->other_type = "local";
    else
        s->other_type = "remote";
    s->local_origin = f->origin == s->local;
}
