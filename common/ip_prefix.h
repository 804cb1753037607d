/* IP networks in CIDR notation (192.168.0.0/16, fd00::/8) and bounded
 * lists of them.  flowsensed parses them from its configuration and the
 * interfaces' own addresses, hands them to the workers as text on their
 * command line, and the workers match flow addresses against them. */
#ifndef FLOWSENSE_IP_PREFIX_H
#define FLOWSENSE_IP_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* INET6_ADDRSTRLEN (46, with its NUL) and "/128". */
#define IP_PREFIX_TEXT_MAX 50
/* The most networks a list holds. */
#define IP_PREFIX_LIST_MAX 256

struct ip_prefix {
    uint8_t addr[16]; /* network order, host bits zero; IPv4 in addr[0..3] */
    uint8_t version;  /* 4 or 6 */
    uint8_t length;   /* leading bits that name the network */
};

struct ip_prefix_list {
    struct ip_prefix *items;
    unsigned n, cap;
};

/* "ADDRESS/LENGTH", or a bare ADDRESS for that one host.  Host bits are
 * ignored, so an interface's address with its length (192.168.1.7/24)
 * names its network.  Returns NULL, or why the text is not a network. */
const char *ip_prefix_parse(const char *text, struct ip_prefix *p);
/* The network of an address and its netmask (4 or 16 bytes each); the
 * length is the mask's leading one bits. */
void ip_prefix_from_mask(struct ip_prefix *p, int version, const uint8_t *addr,
                         const uint8_t *mask);
/* "NETWORK/LENGTH", as ip_prefix_parse reads it back. */
void ip_prefix_format(const struct ip_prefix *p, char buf[IP_PREFIX_TEXT_MAX]);
bool ip_prefix_contains(const struct ip_prefix *p, const uint8_t *addr, int version);
/* addr is the directed broadcast of p: an IPv4 network of /30 or wider
 * whose host bits in addr are all ones. */
bool ip_prefix_is_broadcast(const struct ip_prefix *p, const uint8_t *addr, int version);

/* Adds p unless the list already holds it.  Returns 1 when added, 0 when
 * already there, -1 when the list is full (IP_PREFIX_LIST_MAX) or memory
 * ran out. */
int ip_prefix_list_add(struct ip_prefix_list *l, const struct ip_prefix *p);
bool ip_prefix_list_has(const struct ip_prefix_list *l, const struct ip_prefix *p);
/* Some network of the list holds addr. */
bool ip_prefix_list_contains(const struct ip_prefix_list *l, const uint8_t *addr, int version);
bool ip_prefix_list_is_broadcast(const struct ip_prefix_list *l, const uint8_t *addr,
                                 int version);
void ip_prefix_list_clear(struct ip_prefix_list *l);

#endif
