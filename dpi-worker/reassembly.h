/* IPv4 and IPv6 fragment reassembly for one worker, on packet time.
 * Bounded: at most REASSEMBLY_MAX_DATAGRAMS datagrams and
 * REASSEMBLY_MAX_BYTES of memory in reassembly at once (the oldest
 * datagram gives way), and a datagram not whole REASSEMBLY_TIMEOUT_MS
 * after its first fragment is dropped (Linux's ipfrag_time).  Overlapping
 * fragments drop their datagram; a fragment whose bytes are all held
 * already is ignored (the first copy wins).  Every drop is counted. */
#ifndef FLOWSENSE_REASSEMBLY_H
#define FLOWSENSE_REASSEMBLY_H

#include "packet.h"

#include <stddef.h>
#include <stdint.h>

#define REASSEMBLY_MAX_DATAGRAMS 1024
#define REASSEMBLY_MAX_BYTES (4u << 20)
#define REASSEMBLY_TIMEOUT_MS 30000
#define REASSEMBLY_BUCKETS 2048
#define IP_MAX_LENGTH 65535

struct reassembly_counters {
    uint64_t fragments;      /* fragments taken in */
    uint64_t reassembled;    /* datagrams made whole */
    uint64_t timeouts;       /* datagrams dropped: not whole in time */
    uint64_t dropped_memory; /* datagrams dropped for room (count or byte limit) */
    uint64_t overlaps;       /* datagrams dropped: fragments partly overlapping */
    uint64_t duplicates;     /* fragments ignored: every byte held already */
    uint64_t too_large;      /* datagrams dropped: longer than an IP datagram may be */
    uint64_t bad_offset;     /* datagrams dropped: misaligned, empty or past the end */
    uint64_t truncated;      /* fragments ignored: cut by the capture's snap length */
};

struct frag_datagram;

struct reassembly {
    struct frag_datagram *buckets[REASSEMBLY_BUCKETS];
    struct frag_datagram *oldest, *newest; /* in order of first fragment seen */
    uint32_t count;                        /* datagrams held */
    size_t bytes;                          /* memory they hold */
    struct reassembly_counters counters;
    /* The last datagram made whole: IP header of at most 60 bytes + data. */
    uint8_t whole[IP_MAX_LENGTH + 40];
};

struct reassembled {
    const uint8_t *data; /* an IP datagram; valid until the next reassembly_add */
    uint32_t len;
    uint64_t wire_bytes; /* its fragments' frames on the wire */
    uint32_t fragments;  /* fragments it was made of (duplicates included) */
};

void reassembly_init(struct reassembly *r);

/* Frees every datagram held, uncounted (the input has ended). */
void reassembly_clear(struct reassembly *r);

/* Drops (and counts) the datagrams whose time is up at now_ms. */
void reassembly_expire(struct reassembly *r, uint64_t now_ms);

/* Takes the fragment pv (pv->fragment set) of a frame of wire_len bytes
 * seen on `interface` at ts_ms.  Returns true when it made its datagram
 * whole, described then by *out. */
bool reassembly_add(struct reassembly *r, const struct packet_view *pv, uint16_t interface,
                    uint64_t ts_ms, uint32_t wire_len, struct reassembled *out);

#endif
