#include "replay_clock.h"

#include <stdlib.h>
#include <string.h>

void replay_clock_reset(struct replay_clock *c)
{
    c->clock_ns = 0;
    c->started = false;
    c->holding = false;
}

void replay_clock_free(struct replay_clock *c)
{
    free(c->held_data);
    c->held_data = NULL;
    c->held_capacity = 0;
}

/* Whether `later` is more than jump_ns after `earlier`; stamps near 2^64
 * ns (pcapng allows them) must not wrap the sum. */
static bool jumps_ahead(const struct replay_clock *c, uint64_t earlier, uint64_t later)
{
    return later > earlier && later - earlier > c->jump_ns;
}

bool replay_clock_must_hold(const struct replay_clock *c, uint64_t ts_ns)
{
    return !c->started || jumps_ahead(c, c->clock_ns, ts_ns);
}

bool replay_clock_hold(struct replay_clock *c, const struct pcap_pkthdr *h,
                       const uint8_t *data, uint64_t ts_ns)
{
    if (h->caplen > c->held_capacity) {
        uint8_t *grown = realloc(c->held_data, h->caplen);
        if (grown == NULL)
            return false;
        c->held_data = grown;
        c->held_capacity = h->caplen;
    }
    memcpy(c->held_data, data, h->caplen);
    c->held = *h;
    c->held_ns = ts_ns;
    c->holding = true;
    return true;
}

uint64_t replay_clock_release(struct replay_clock *c, bool has_next, uint64_t next_ns,
                              bool *outlier)
{
    c->holding = false;
    /* The first packet of a file has no clock to jump from: only its
     * successor says whether it belongs. */
    *outlier = has_next && jumps_ahead(c, next_ns, c->held_ns);
    if (*outlier && c->started) {
        c->outliers++;
        return c->clock_ns;
    }
    if (*outlier) {
        /* No clock yet: the first packet takes its successor's time. */
        c->outliers++;
        replay_clock_take(c, next_ns);
        return next_ns;
    }
    replay_clock_take(c, c->held_ns);
    return c->held_ns;
}

void replay_clock_take(struct replay_clock *c, uint64_t ts_ns)
{
    if (!c->started || ts_ns > c->clock_ns)
        c->clock_ns = ts_ns;
    c->started = true;
}
