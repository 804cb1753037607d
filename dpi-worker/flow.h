/* A flow as a worker keeps it.  While nDPI works on it, it owns an
 * nDPI flow state (and, when needed, a flow_extra); once nDPI has
 * nothing more to extract both are freed and only this compact record
 * stays. */
#ifndef FLOWSENSE_WORKER_FLOW_H
#define FLOWSENSE_WORKER_FLOW_H

#include "packet.h"

#include <stdbool.h>
#include <stdint.h>

struct ndpi_flow_struct;

/* Both directions of a flow give the same key: "lower" is the smaller
 * address by memcmp (network order); equal addresses: the smaller port. */
struct flow_key {
    uint8_t lower_ip[16];
    uint8_t upper_ip[16];
    uint16_t lower_port;
    uint16_t upper_port;
    uint16_t vlan_id;
    uint16_t interface;
    uint8_t ip_version;
    uint8_t ip_protocol;
    uint8_t pad[2];
};

/* Index 0 is traffic sent by the lower side, 1 by the upper side. */
enum { FROM_LOWER = 0, FROM_UPPER = 1 };

enum flow_state {
    FLOW_DETECTING,  /* nDPI state attached, no `flow` record yet */
    FLOW_DISSECTING, /* `flow` record sent; nDPI still extracts metadata */
    FLOW_DETECTED,   /* nDPI done, its state freed */
};

struct flow_extra;

struct flow {
    struct flow *hash_next;
    struct flow *idle_prev, *idle_next;  /* idle list, least recently seen first */
    struct flow_key key;
    uint8_t digest[20];
    uint8_t mac[2][6];                   /* source MAC of each side */
    uint64_t first_seen_ms, last_seen_ms;
    uint64_t bytes[2], packets[2];
    uint64_t status_packets;             /* total packets at the last flow_status */
    struct ndpi_flow_struct *ndpi;
    struct flow_extra *extra;            /* see flow_extra.h; NULL until needed */
    uint16_t detected_protocol, detected_application;
    uint16_t detection_packets;
    uint8_t state;                       /* enum flow_state */
    uint8_t origin;                      /* FROM_LOWER/FROM_UPPER: who sent first */
    uint8_t fin_seen;                    /* bit per side */
    bool rst_seen;
    bool closed;                         /* FIN both ways or RST: on the closed list */
    bool guessed;
    uint8_t ssh_banner_from;             /* 1 + side that sent the first SSH banner, or 0 */
    uint16_t category;
};

/* Builds the key of a decoded packet; *direction says which side sent it. */
void flow_key_from_packet(struct flow_key *key, const struct packet_view *pv,
                          uint16_t interface, int *direction);
/* SHA1 over interface name, IP version, protocol, VLAN, lower and upper
 * address, lower and upper port (network order), as netifyd computes it. */
void flow_digest(uint8_t digest[20], const struct flow_key *key, const char *interface_name);
uint32_t flow_key_hash(const struct flow_key *key);

#endif
