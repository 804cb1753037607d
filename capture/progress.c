#include "progress.h"

#include "supervisor.h"

#include <stdio.h>
#include <unistd.h>

#define PROGRESS_INTERVAL_MS 1000

void progress_init(struct progress *p, bool replay)
{
    *p = (struct progress){ .on = replay && isatty(STDERR_FILENO) };
    p->started_ms = p->last_ms = monotonic_ms();
}

void progress_file(struct progress *p, const char *name, pcap_t *pcap, uint64_t file_size)
{
    p->name = name;
    p->pcap = pcap;
    p->file_size = file_size;
    p->packets = 0;
}

static void show(struct progress *p, bool done, uint64_t now)
{
    FILE *f = done ? NULL : pcap_file(p->pcap);
    long pos = f && p->file_size > 0 ? ftell(f) : -1;
    double secs = (double)(now - p->started_ms) / 1000.0;
    char percent[16] = "";

    if (p->file_size > 0 && pos >= 0)
        snprintf(percent, sizeof(percent), ", %3.0f%%",
                 100.0 * (double)pos / (double)p->file_size);
    fprintf(stderr, "\rflowsensed: %s: %llu packets%s, %.0f packets/s%s", p->name,
            (unsigned long long)p->packets, percent,
            secs > 0 ? (double)p->packets / secs : 0.0, done ? ", done\n" : "   ");
}

void progress_update(struct progress *p)
{
    uint64_t now;

    if (!p->on || p->pcap == NULL || (now = monotonic_ms()) - p->last_ms < PROGRESS_INTERVAL_MS)
        return;
    p->last_ms = now;
    show(p, false, now);
}

void progress_done(struct progress *p)
{
    if (p->on && p->pcap)
        show(p, true, monotonic_ms());
    p->pcap = NULL;
}
