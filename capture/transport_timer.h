/* The clock of `flowsensed --count-only` (a benchmark of the packet
 * transport): from the moment every worker takes records to the moment
 * the last record of a replay has been taken off the rings.  Start-up
 * (exec, nDPI's tables) and shutdown are left out, as the bare libpcap
 * loop it is compared with leaves out opening the file. */
#ifndef FLOWSENSE_CAPTURE_TRANSPORT_TIMER_H
#define FLOWSENSE_CAPTURE_TRANSPORT_TIMER_H

#include "pipeline.h"

#include <stdint.h>

struct transport_timer {
    uint64_t started_ns;
    uint64_t started_cpu_ns;  /* this process's CPU time then */
};

/* Waits (bounded) until every worker is ready, then starts the clock. */
void transport_timer_start(struct transport_timer *t, const struct pipeline *p,
                           const volatile int *stop);
/* After the end markers: waits (bounded) until every ring is drained,
 * then logs "transport: N packets in S s (P packets/s), capture CPU C s". */
void transport_timer_report(const struct transport_timer *t, const struct pipeline *p,
                            uint64_t packets, const volatile int *stop);

#endif
