/* Packet sources: live interfaces and capture files, opened while
 * flowsensed still holds CAP_NET_RAW. */
#ifndef FLOWSENSE_CAPTURE_SOURCE_H
#define FLOWSENSE_CAPTURE_SOURCE_H

#include "options.h"

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>

struct source {
    const struct source_spec *spec;
    pcap_t *pcap;
    int link_type;
    int selectable_fd;   /* live only */
    bool eof;            /* file fully read, or a live handle that failed */
    /* Live: the interface's sysfs drop counters, opened before the sandbox
     * (which forbids opening files), and their values at start. */
    int ifdrop_fd[2];
    uint64_t ifdrop_base;
    uint64_t read_errors;
    uint64_t file_size;  /* replay: the file's size, 0 if not a regular file */
    char *file_buffer;   /* replay: stdio buffer of the file (see source_open) */
};

/* Opens and activates; fatal with the libpcap message on failure. */
void source_open(struct source *s, const struct source_spec *spec, const char *bpf);
void source_close(struct source *s);
/* Adds this source's kernel counters (live only). */
void source_add_stats(struct source *s, uint64_t *recv, uint64_t *drop, uint64_t *ifdrop);

#endif
