#include "ip_prefix.h"

#include "number.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int address_bytes(int version)
{
    return version == 6 ? 16 : 4;
}

/* Bits of addr past the first `length`: set to zero, or tested for all
 * ones. */
static void clear_host_bits(uint8_t *addr, int version, unsigned length)
{
    for (unsigned i = 0; i < (unsigned)address_bytes(version); i++) {
        if (length >= 8 * (i + 1))
            continue;
        addr[i] &= length > 8 * i ? (uint8_t)(0xff00u >> (length - 8 * i)) : 0;
    }
}

static bool host_bits_all_ones(const uint8_t *addr, int version, unsigned length)
{
    for (unsigned i = 0; i < (unsigned)address_bytes(version); i++) {
        if (length >= 8 * (i + 1))
            continue;
        uint8_t host = length > 8 * i ? (uint8_t)(0xffu >> (length - 8 * i)) : 0xff;
        if ((addr[i] & host) != host)
            return false;
    }
    return true;
}

const char *ip_prefix_parse(const char *text, struct ip_prefix *p)
{
    char address[INET6_ADDRSTRLEN];
    const char *slash = strchr(text, '/');
    size_t len = slash ? (size_t)(slash - text) : strlen(text);
    unsigned long length;
    struct ip_prefix out = { .version = 4 };

    if (len == 0 || len >= sizeof(address))
        return "not an IPv4 or IPv6 address";
    memcpy(address, text, len);
    address[len] = '\0';
    if (inet_pton(AF_INET, address, out.addr) != 1) {
        if (inet_pton(AF_INET6, address, out.addr) != 1)
            return "not an IPv4 or IPv6 address";
        out.version = 6;
    }
    unsigned max = out.version == 6 ? 128 : 32;
    length = max;
    if (slash != NULL && parse_unsigned(slash + 1, 0, max, &length) != 0)
        return out.version == 6 ? "the length after / is not 0 to 128"
                                : "the length after / is not 0 to 32";
    out.length = (uint8_t)length;
    clear_host_bits(out.addr, out.version, out.length);
    *p = out;
    return NULL;
}

void ip_prefix_from_mask(struct ip_prefix *p, int version, const uint8_t *addr,
                         const uint8_t *mask)
{
    unsigned length = 0;
    int n = address_bytes(version);

    while (length < (unsigned)(8 * n) && (mask[length / 8] & (0x80u >> (length % 8))))
        length++;
    memset(p, 0, sizeof(*p));
    memcpy(p->addr, addr, (size_t)n);
    p->version = (uint8_t)version;
    p->length = (uint8_t)length;
    clear_host_bits(p->addr, version, length);
}

void ip_prefix_format(const struct ip_prefix *p, char buf[IP_PREFIX_TEXT_MAX])
{
    char address[INET6_ADDRSTRLEN];

    if (inet_ntop(p->version == 6 ? AF_INET6 : AF_INET, p->addr, address, sizeof(address)) ==
        NULL)
        snprintf(address, sizeof(address), "?");
    snprintf(buf, IP_PREFIX_TEXT_MAX, "%s/%u", address, p->length);
}

/* Runs for both ends of a flow against every network at each event of
 * the flow: whole bytes first, then the bits of the last partial one. */
bool ip_prefix_contains(const struct ip_prefix *p, const uint8_t *addr, int version)
{
    unsigned whole = p->length / 8, rest = p->length % 8;

    if (version != p->version || memcmp(addr, p->addr, whole) != 0)
        return false;
    return rest == 0 || ((addr[whole] ^ p->addr[whole]) & (0xff00u >> rest)) == 0;
}

bool ip_prefix_is_broadcast(const struct ip_prefix *p, const uint8_t *addr, int version)
{
    return version == 4 && p->version == 4 && p->length <= 30 &&
           ip_prefix_contains(p, addr, version) && host_bits_all_ones(addr, version, p->length);
}

static bool same_prefix(const struct ip_prefix *a, const struct ip_prefix *b)
{
    return a->version == b->version && a->length == b->length &&
           memcmp(a->addr, b->addr, (size_t)address_bytes(a->version)) == 0;
}

bool ip_prefix_list_has(const struct ip_prefix_list *l, const struct ip_prefix *p)
{
    for (unsigned i = 0; i < l->n; i++)
        if (same_prefix(&l->items[i], p))
            return true;
    return false;
}

int ip_prefix_list_add(struct ip_prefix_list *l, const struct ip_prefix *p)
{
    if (ip_prefix_list_has(l, p))
        return 0;
    if (l->n == IP_PREFIX_LIST_MAX)
        return -1;
    if (l->n == l->cap) {
        unsigned cap = l->cap ? 2 * l->cap : 16;
        struct ip_prefix *items = realloc(l->items, cap * sizeof(*items));
        if (items == NULL)
            return -1;
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = *p;
    return 1;
}

bool ip_prefix_list_contains(const struct ip_prefix_list *l, const uint8_t *addr, int version)
{
    for (unsigned i = 0; i < l->n; i++)
        if (ip_prefix_contains(&l->items[i], addr, version))
            return true;
    return false;
}

bool ip_prefix_list_is_broadcast(const struct ip_prefix_list *l, const uint8_t *addr,
                                 int version)
{
    for (unsigned i = 0; i < l->n; i++)
        if (ip_prefix_is_broadcast(&l->items[i], addr, version))
            return true;
    return false;
}

void ip_prefix_list_clear(struct ip_prefix_list *l)
{
    free(l->items);
    *l = (struct ip_prefix_list){ 0 };
}
