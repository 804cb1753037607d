#include "transport_timer.h"

#include "log.h"
#include "supervisor.h"

#include <time.h>

#define WAIT_LIMIT_MS 60000

static uint64_t clock_ns(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool all_ready(const struct pipeline *p)
{
    for (int i = 0; i < p->n_workers; i++)
        if (!ring_consumer_was_ready(&p->workers[i].ring))
            return false;
    return true;
}

static bool all_drained(const struct pipeline *p)
{
    for (int i = 0; i < p->n_workers; i++)
        if (!ring_drained(&p->workers[i].ring))
            return false;
    return true;
}

/* Polls cond every 100 us (no wake-up exists for it) up to the limit. */
static bool wait_for(bool (*cond)(const struct pipeline *), const struct pipeline *p,
                     const volatile int *stop)
{
    struct timespec slice = { 0, 100000 };
    uint64_t deadline = monotonic_ms() + WAIT_LIMIT_MS;

    while (!cond(p)) {
        if (*stop || monotonic_ms() > deadline)
            return false;
        nanosleep(&slice, NULL);
    }
    return true;
}

void transport_timer_start(struct transport_timer *t, const struct pipeline *p,
                           const volatile int *stop)
{
    if (!wait_for(all_ready, p, stop))
        log_warnx("transport timer: not every worker got ready; timing anyway");
    t->started_ns = clock_ns(CLOCK_MONOTONIC);
    t->started_cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}

void transport_timer_report(const struct transport_timer *t, const struct pipeline *p,
                            uint64_t packets, const volatile int *stop)
{
    /* The CPU time is taken before the drain wait, which only sleeps. */
    double cpu = (double)(clock_ns(CLOCK_PROCESS_CPUTIME_ID) - t->started_cpu_ns) / 1e9;
    if (!wait_for(all_drained, p, stop)) {
        log_warnx("transport timer: the rings were not drained; no time to report");
        return;
    }
    double secs = (double)(clock_ns(CLOCK_MONOTONIC) - t->started_ns) / 1e9;
    log_info("transport: %llu packets in %.6f s (%.0f packets/s), capture CPU %.6f s",
             (unsigned long long)packets, secs, secs > 0 ? (double)packets / secs : 0.0, cpu);
}
