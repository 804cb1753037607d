/* Replay progress on standard error, when it is a terminal: packets, how
 * much of the file is read, and the rate, rewritten in place about once a
 * second; nothing at all when standard error is a file or a pipe. */
#ifndef FLOWSENSE_CAPTURE_PROGRESS_H
#define FLOWSENSE_CAPTURE_PROGRESS_H

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>

struct progress {
    bool on;
    uint64_t file_size;     /* of the file being read, 0 if unknown */
    uint64_t started_ms;
    uint64_t last_ms;
    /* the file being read */
    const char *name;
    pcap_t *pcap;
    uint64_t packets;
};

/* Before the sandbox: decides whether to show progress at all. */
void progress_init(struct progress *p, bool replay);
/* Each file as it starts, with its size (0: unknown, no percentage). */
void progress_file(struct progress *p, const char *name, pcap_t *pcap, uint64_t file_size);
/* Shows p->packets of the current file; cheap unless a second has passed,
 * so it is called from the read loop and while waiting for ring space. */
void progress_update(struct progress *p);
/* Ends the line, with the file's total. */
void progress_done(struct progress *p);

#endif
