#include "locality.h"

#include <string.h>

enum address_kind { ADDRESS_REMOTE, ADDRESS_LOCAL, ADDRESS_MULTICAST, ADDRESS_BROADCAST };

static enum address_kind address_kind(const struct worker_options *o,
                                      const struct worker_interface *itf, const uint8_t *ip,
                                      int v)
{
    static const uint8_t all_ones[4] = { 255, 255, 255, 255 };

    if (v == 4 ? (ip[0] & 0xf0) == 0xe0 : ip[0] == 0xff)
        return ADDRESS_MULTICAST;
    /* The limited broadcast, or the directed one of a network of the
     * interface itself (192.168.1.255 on a 192.168.1.0/24 LAN). */
    if ((v == 4 && memcmp(ip, all_ones, 4) == 0) ||
        ip_prefix_list_is_broadcast(&itf->own_nets, ip, v))
        return ADDRESS_BROADCAST;
    if (ip_prefix_list_contains(&o->local_nets, ip, v) ||
        ip_prefix_list_contains(&itf->own_nets, ip, v))
        return ADDRESS_LOCAL;
    return ADDRESS_REMOTE;
}

static const char *const other_types[] = {
    [ADDRESS_REMOTE] = "remote",
    [ADDRESS_LOCAL] = "local",
    [ADDRESS_MULTICAST] = "multicast",
    [ADDRESS_BROADCAST] = "broadcast",
};

void flow_sides(const struct worker_options *o, const struct flow *f, struct flow_sides *s)
{
    const struct flow_key *k = &f->key;
    const struct worker_interface *itf = &o->interfaces[k->interface];
    enum address_kind kind[2] = { address_kind(o, itf, k->lower_ip, k->ip_version),
                                  address_kind(o, itf, k->upper_ip, k->ip_version) };
    bool group[2] = { kind[0] >= ADDRESS_MULTICAST, kind[1] >= ADDRESS_MULTICAST };
    bool local[2] = { kind[0] == ADDRESS_LOCAL, kind[1] == ADDRESS_LOCAL };

    /* A group address is never the local end; otherwise the one local
     * address, and when both or neither are local, whoever spoke first. */
    if (group[0] != group[1])
        s->local = group[0] ? FROM_UPPER : FROM_LOWER;
    else if (local[0] != local[1])
        s->local = local[0] ? FROM_LOWER : FROM_UPPER;
    else
        s->local = f->origin;
    s->other_type = other_types[kind[!s->local]];
    s->local_origin = f->origin == s->local;
}
