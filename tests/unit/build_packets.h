/* Hand-built packets for the decoding and reassembly tests, built from
 * the inside out: each builder puts its header in front of what the
 * packet holds so far, so layers nest by calling builders in turn. */
#ifndef FLOWSENSE_TEST_BUILD_PACKETS_H
#define FLOWSENSE_TEST_BUILD_PACKETS_H

#include <stdint.h>
#include <string.h>

struct pkt {
    uint8_t buf[2048];
    uint32_t start, len; /* the packet is buf[start, start + len) */
};

static inline void pkt_payload(struct pkt *p, const void *data, uint32_t len)
{
    p->start = sizeof(p->buf) - len;
    p->len = len;
    memcpy(p->buf + p->start, data, len);
}

static inline uint8_t *pkt_data(struct pkt *p) { return p->buf + p->start; }

/* Room for an n-byte header in front; returns where it goes. */
static inline uint8_t *pkt_front(struct pkt *p, uint32_t n)
{
    p->start -= n;
    p->len += n;
    memset(p->buf + p->start, 0, n);
    return p->buf + p->start;
}

static inline void wr16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
    wr16(p, v >> 16);
    wr16(p + 2, v & 0xffff);
}

static inline void put_ipv4(struct pkt *p, uint8_t proto, const uint8_t src[4],
                            const uint8_t dst[4], uint16_t id, uint16_t frag)
{
    uint8_t *h = pkt_front(p, 20);
    h[0] = 0x45;
    wr16(h + 2, p->len);
    wr16(h + 4, id);
    wr16(h + 6, frag);
    h[8] = 64;
    h[9] = proto;
    memcpy(h + 12, src, 4);
    memcpy(h + 16, dst, 4);
}

static inline void put_ipv6(struct pkt *p, uint8_t next, const uint8_t src[16],
                            const uint8_t dst[16])
{
    uint8_t *h = pkt_front(p, 40);
    h[0] = 0x60;
    wr16(h + 4, p->len - 40);
    h[6] = next;
    h[7] = 64;
    memcpy(h + 8, src, 16);
    memcpy(h + 24, dst, 16);
}

/* IPv6 fragment header; offset in bytes (a multiple of 8). */
static inline void put_ipv6_fragment(struct pkt *p, uint8_t next, uint32_t offset, int more,
                                     uint32_t id)
{
    uint8_t *h = pkt_front(p, 8);
    h[0] = next;
    wr16(h + 2, offset | (more ? 1u : 0u));
    wr32(h + 4, id);
}

static inline void put_udp(struct pkt *p, uint16_t sport, uint16_t dport)
{
    uint8_t *h = pkt_front(p, 8);
    wr16(h, sport);
    wr16(h + 2, dport);
    wr16(h + 4, p->len);
}

static inline void put_ethernet(struct pkt *p, uint16_t ethertype)
{
    uint8_t *h = pkt_front(p, 14);
    memcpy(h, "\x02\x00\x00\x00\x00\x0b\x02\x00\x00\x00\x00\x0a", 12);
    wr16(h + 12, ethertype);
}

#endif
