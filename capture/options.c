#include "options.h"

#include "log.h"
#include "number.h"
#include "ring.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    OPT_LISTEN = 256,
    OPT_STDOUT,
    OPT_WAIT_FOR_CLIENT,
    OPT_UPDATE_INTERVAL,
    OPT_MAX_DETECTION_PKTS,
    OPT_MAX_FLOWS,
    OPT_RING_SIZE,
    OPT_CLIENT_QUEUE,
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: flowsensed [-i IFACE]... [-I IFACE]... [-E IFACE]... [-r FILE]...\n"
            "                  [-w WORKERS] [--listen unix:PATH|tcp:HOST:PORT]... [--stdout]\n"
            "                  [--wait-for-client] [-u USER] [-f BPF] [-d] [-V]\n"
            "                  [--update-interval SEC] [--max-detection-pkts N]\n"
            "                  [--max-flows N] [--ring-size BYTES] [--client-queue BYTES]\n"
            "  -i/-I IFACE   capture live on IFACE (LAN role); -E: WAN role\n"
            "  -r FILE       replay a pcap or pcapng file (lossless, packet time)\n"
            "  -w WORKERS    DPI worker processes (default: cores - 1, at least 1)\n"
            "  --listen ADDR serve the stream (default " DEFAULT_LISTEN
            " unless --stdout)\n"
            "  --stdout      write records as NDJSON to standard output\n"
            "  -u USER       unprivileged user for all processes (default " DEFAULT_USER ")\n");
}

static unsigned long parse_number(const char *opt, const char *value, unsigned long min,
                                  unsigned long max)
{
    unsigned long n;

    if (parse_unsigned(value, min, max, &n) != 0) {
        fprintf(stderr, "flowsensed: %s: '%s' is not a number from %lu to %lu\n", opt, value,
                min, max);
        exit(2);
    }
    return n;
}

static void add_source(struct options *o, const char *name, bool live, bool internal)
{
    if (o->n_sources == FLOWSENSE_MAX_INTERFACES) {
        fprintf(stderr, "flowsensed: at most %d interfaces and files\n",
                FLOWSENSE_MAX_INTERFACES);
        exit(2);
    }
    if (*name == '\0') {
        fprintf(stderr, "flowsensed: empty interface or file name\n");
        exit(2);
    }
    struct source_spec *s = &o->sources[o->n_sources++];
    const char *slash = strrchr(name, '/');
    s->name = name;
    s->label = live || slash == NULL || slash[1] == '\0' ? name : slash + 1;
    s->live = live;
    s->internal = internal;
}

static int default_workers(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    return cores > 2 ? (int)cores - 1 : 1;
}

void options_parse(struct options *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "listen", required_argument, NULL, OPT_LISTEN },
        { "stdout", no_argument, NULL, OPT_STDOUT },
        { "wait-for-client", no_argument, NULL, OPT_WAIT_FOR_CLIENT },
        { "update-interval", required_argument, NULL, OPT_UPDATE_INTERVAL },
        { "max-detection-pkts", required_argument, NULL, OPT_MAX_DETECTION_PKTS },
        { "max-flows", required_argument, NULL, OPT_MAX_FLOWS },
        { "ring-size", required_argument, NULL, OPT_RING_SIZE },
        { "client-queue", required_argument, NULL, OPT_CLIENT_QUEUE },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool have_live = false, have_file = false;
    int c;

    memset(o, 0, sizeof(*o));
    o->workers = default_workers();
    o->user = DEFAULT_USER;
    o->update_interval = 15;
    o->max_detection_pkts = 32;
    o->max_flows = 1000000;
    o->ring_size = RING_DEFAULT_SIZE;
    o->client_queue = 16u << 20;

    while ((c = getopt_long(argc, argv, "i:I:E:r:w:u:f:dVh", longopts, NULL)) != -1) {
        switch (c) {
        case 'i':
        case 'I':
            add_source(o, optarg, true, true);
            have_live = true;
            break;
        case 'E':
            add_source(o, optarg, true, false);
            have_live = true;
            break;
        case 'r':
            add_source(o, optarg, false, true);
            have_file = true;
            break;
        case 'w':
            o->workers = (int)parse_number("-w", optarg, 1, FLOWSENSE_MAX_WORKERS);
            break;
        case OPT_LISTEN:
            if (o->n_listen == FLOWSENSE_MAX_LISTENERS) {
                fprintf(stderr, "flowsensed: at most %d --listen addresses\n",
                        FLOWSENSE_MAX_LISTENERS);
                exit(2);
            }
            o->listen[o->n_listen++] = optarg;
            break;
        case OPT_STDOUT: o->to_stdout = true; break;
        case OPT_WAIT_FOR_CLIENT: o->wait_for_client = true; break;
        case 'u': o->user = optarg; break;
        case 'f': o->bpf = optarg; break;
        case 'd': o->debug = true; break;
        case OPT_UPDATE_INTERVAL:
            o->update_interval = (unsigned)parse_number("--update-interval", optarg, 1, 3600);
            break;
        case OPT_MAX_DETECTION_PKTS:
            o->max_detection_pkts =
                (unsigned)parse_number("--max-detection-pkts", optarg, 1, 1000);
            break;
        case OPT_MAX_FLOWS:
            o->max_flows = (unsigned)parse_number("--max-flows", optarg, 16, 100000000);
            break;
        case OPT_RING_SIZE:
            o->ring_size = (uint32_t)parse_number("--ring-size", optarg, RING_MIN_SIZE,
                                                  RING_MAX_SIZE);
            break;
        case OPT_CLIENT_QUEUE:
            o->client_queue =
                (unsigned)parse_number("--client-queue", optarg, 64 << 10, 1 << 30);
            break;
        case 'V':
            printf("flowsensed %s\n", FLOWSENSE_VERSION);
            exit(0);
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "flowsensed: unexpected argument '%s'\n", argv[optind]);
        exit(2);
    }
    if (o->n_sources == 0) {
        fprintf(stderr, "flowsensed: nothing to capture: give -i IFACE or -r FILE\n");
        usage(stderr);
        exit(2);
    }
    if (have_live && have_file) {
        fprintf(stderr, "flowsensed: -r (replay) and -i (live) cannot be mixed\n");
        exit(2);
    }
    o->live = have_live;
    if (o->n_listen == 0 && !o->to_stdout)
        o->listen[o->n_listen++] = DEFAULT_LISTEN;
    if (o->wait_for_client && o->n_listen == 0) {
        fprintf(stderr, "flowsensed: --wait-for-client needs a --listen address\n");
        exit(2);
    }
}
