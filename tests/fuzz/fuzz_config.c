/* Fuzz target (d): the configuration file, a hostile file like any
 * other input: config_load() (libinih and every value check) reads the
 * input through a memfd, as it reads /etc/flowsense/flowsense.conf. */
#define _GNU_SOURCE /* memfd_create */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int memfd = -1;
static const char default_user[] = DEFAULT_USER;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    memfd = memfd_create("flowsense-fuzz-config", MFD_CLOEXEC);
    if (memfd < 0) {
        perror("memfd_create");
        abort();
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
    return 0;
}

/* The defaults options_parse() starts from. */
static void defaults(struct options *o)
{
    memset(o, 0, sizeof(*o));
    o->workers = 1;
    o->user = default_user;
    o->update_interval = 15;
    o->max_detection_pkts = 32;
    o->max_flows = 1000000;
}

/* What config_load() keeps lives as long as flowsensed; freed here so
 * millions of inputs do not add up. */
static void release(struct options *o)
{
    if (o->user != default_user)
        free((char *)o->user);
    for (int i = 0; i < o->n_listen; i++)
        free((char *)o->listen[i]);
    for (int i = 0; i < o->n_sources; i++) {
        free((char *)o->sources[i].name);
        free((char *)o->sources[i].bpf);
        ip_prefix_list_clear(&o->sources[i].addresses);
    }
    ip_prefix_list_clear(&o->local_nets);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct options o;
    char err[512];

    if (ftruncate(memfd, 0) != 0 || pwrite(memfd, data, size, 0) != (ssize_t)size)
        abort();
    defaults(&o);
    if (config_load(&o, path, true, err, sizeof(err)) != 0 && err[0] == '\0')
        abort(); /* every failure says why */
    release(&o);
    return 0;
}
