/* The time a replayed packet is steered at.  A capture file's stamps are
 * its clock: the workers expire flows and send flow_status by them.  One
 * bogus stamp far ahead (a corrupt record, a badly merged file) would move
 * that clock at once: every flow idle by that time would expire, and the
 * flows that follow, stamped earlier again, would wait for that time
 * before any expiry.  A jump shorter than the shortest idle timeout
 * expires no flow that was active just before it, so only longer ones are
 * looked at: a packet stamped more than jump_ns ahead of the file's clock
 * (or the file's first packet) is held until the next one is read; if the
 * next one comes back more than jump_ns earlier, the held packet is an
 * outlier, steered at the clock's time and counted; otherwise time really
 * moved (a pause in the capture) and it keeps its own stamp.  Time going
 * backwards is left as it is: the workers do not turn their clock back. */
#ifndef FLOWSENSE_REPLAY_CLOCK_H
#define FLOWSENSE_REPLAY_CLOCK_H

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct replay_clock {
    uint64_t jump_ns;   /* the shortest idle timeout */
    uint64_t clock_ns;  /* the latest stamp taken */
    bool started;       /* a stamp was taken: clock_ns holds one */
    uint64_t outliers;  /* packets steered at the clock instead of their stamp */
    bool holding;       /* a packet waits for the next one */
    uint64_t held_ns;
    struct pcap_pkthdr held;
    uint8_t *held_data;
    size_t held_capacity;
};

/* Forgets the clock (a new file starts); keeps jump_ns, the count and the buffer. */
void replay_clock_reset(struct replay_clock *c);
void replay_clock_free(struct replay_clock *c);

/* Whether a packet stamped ts_ns must wait for the next one. */
bool replay_clock_must_hold(const struct replay_clock *c, uint64_t ts_ns);

/* Keeps a copy of the packet; false (nothing held) when memory is short. */
bool replay_clock_hold(struct replay_clock *c, const struct pcap_pkthdr *h,
                       const uint8_t *data, uint64_t ts_ns);

/* The time to steer the held packet at, now that the next packet's stamp
 * is known (has_next false: the file ended, nothing contradicts it);
 * nothing is held afterwards.  *outlier says whether it was one. */
uint64_t replay_clock_release(struct replay_clock *c, bool has_next, uint64_t next_ns,
                              bool *outlier);

/* A packet steered at its own stamp. */
void replay_clock_take(struct replay_clock *c, uint64_t ts_ns);

#endif
