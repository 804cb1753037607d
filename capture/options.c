#include "options.h"

#include "config.h"
#include "local_networks.h"
#include "log.h"
#include "number.h"
#include "ring.h"

#define STR_(x) #x
#define STR(x) STR_(x)

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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
    OPT_TTL_IDLE_FLOW,
    OPT_TTL_IDLE_TCP_FLOW,
    OPT_DHC_MAX_ENTRIES,
    OPT_CHECK_CONFIG,
    OPT_DUMP_ESTABLISHED_FLOWS,
    OPT_DUMP_UNKNOWN_FLOWS,
    OPT_LOCAL_NET,
    OPT_LOCAL_DEFAULTS,
    OPT_COUNT_ONLY,
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: flowsensed [-i IFACE]... [-I IFACE]... [-E IFACE]... [-r FILE]...\n"
            "                  [-w WORKERS] [--listen unix:PATH|tcp:HOST:PORT]... [--stdout]\n"
            "                  [--wait-for-client] [-u USER] [-f BPF] [-d] [-V]\n"
            "                  [--update-interval SEC] [--max-detection-pkts N]\n"
            "                  [--max-flows N] [--ring-size BYTES] [--client-queue BYTES]\n"
            "                  [--ttl-idle-flow SEC] [--ttl-idle-tcp-flow SEC]\n"
            "                  [--dhc-max-entries N]\n"
            "                  [--dump-established-flows[=yes|no]]\n"
            "                  [--dump-unknown-flows[=yes|no]]\n"
            "                  [-c FILE] [--check-config]\n"
            "                  [--local-net CIDR]... [--local-defaults yes|no] [-A CIDR]...\n"
            "  -i/-I IFACE   capture live on IFACE (LAN role); -E: WAN role\n"
            "  -r FILE       replay a pcap or pcapng file (lossless, packet time)\n"
            "  -w WORKERS    DPI worker processes (default: cores - 1, at least 1)\n"
            "  --listen ADDR serve the stream (default " DEFAULT_LISTEN
            " unless --stdout)\n"
            "  --stdout      write records as NDJSON to standard output\n"
            "  --dump-established-flows  a new client first gets every active flow\n"
            "  --dump-unknown-flows      ... those of no known protocol included\n"
            "  -u USER       unprivileged user for all processes (default " DEFAULT_USER ")\n"
            "  -c FILE       configuration file (default " DEFAULT_CONFIG
            ", if present);\n"
            "                the command line overrides it\n"
            "  --check-config  validate the configuration and the command line, then exit\n"
            "  --local-net CIDR  a local network for every source (repeatable; replaces\n"
            "                the file's [local-networks] network[N])\n"
            "  --local-defaults yes|no  count the private networks as local (default yes)\n"
            "  -A, --address CIDR  a network of the -i/-I/-E/-r just before (repeatable)\n"
            "  --count-only  benchmark the packet transport: workers count packets and do\n"
            "                no DPI (no flow records); a replay reports its time\n");
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

const char *options_add_source(struct options *o, const char *name, bool live, bool internal)
{
    if (o->n_sources == FLOWSENSE_MAX_INTERFACES)
        return "too many interfaces and files (at most " STR(FLOWSENSE_MAX_INTERFACES) ")";
    if (*name == '\0')
        return "empty interface or file name";
    struct source_spec *s = &o->sources[o->n_sources++];
    const char *slash = strrchr(name, '/');
    *s = (struct source_spec){ .name = name, .live = live, .internal = internal };
    s->label = live || slash == NULL || slash[1] == '\0' ? name : slash + 1;
    return NULL;
}

const char *options_add_listen(struct options *o, const char *address)
{
    if (o->n_listen == FLOWSENSE_MAX_LISTENERS)
        return "too many listening addresses (at most " STR(FLOWSENSE_MAX_LISTENERS) ")";
    o->listen[o->n_listen++] = address;
    return NULL;
}

int options_parse_bool(const char *text, bool *value)
{
    if (strcasecmp(text, "yes") != 0 && strcasecmp(text, "no") != 0)
        return -1;
    *value = strcasecmp(text, "yes") == 0;
    return 0;
}

/* --flag (yes) or --flag=yes|no. */
static bool parse_flag(const char *opt, const char *value)
{
    bool on = true;

    if (value != NULL && options_parse_bool(value, &on) != 0) {
        fprintf(stderr, "flowsensed: %s: '%s' is not yes or no\n", opt, value);
        exit(2);
    }
    return on;
}

/* --local-net and -A: CIDR text into a list, or exit 2. */
static void add_network(const char *opt, const char *text, struct ip_prefix_list *l)
{
    struct ip_prefix p;
    const char *why = ip_prefix_parse(text, &p);

    if (why) {
        fprintf(stderr,
                "flowsensed: %s: '%s' is not a network: %s (write ADDRESS/LENGTH, e.g. "
                "192.168.0.0/16 or fd00::/8)\n",
                opt, text, why);
        exit(2);
    }
    if (ip_prefix_list_add(l, &p) < 0) {
        fprintf(stderr, "flowsensed: %s: more than %d networks\n", opt, IP_PREFIX_LIST_MAX);
        exit(2);
    }
}

static void add_source(struct options *o, const char *name, bool live, bool internal)
{
    const char *why = options_add_source(o, name, live, internal);

    if (why) {
        fprintf(stderr, "flowsensed: %s\n", why);
        exit(2);
    }
}

/* -c FILE / --config=FILE and --check-config, found before getopt runs:
 * the file is applied first so that every option given overrides it. */
static void find_config(int argc, char **argv, const char **path, bool *explicit_path,
                        bool *check)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
            *path = argv[++i];
            *explicit_path = true;
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            *path = argv[i] + 9;
            *explicit_path = true;
        } else if (strncmp(argv[i], "-c", 2) == 0 && argv[i][2] != '\0') {
            *path = argv[i] + 2;
            *explicit_path = true;
        } else if (strcmp(argv[i], "--check-config") == 0) {
            *check = true;
        }
    }
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
        { "ttl-idle-flow", required_argument, NULL, OPT_TTL_IDLE_FLOW },
        { "ttl-idle-tcp-flow", required_argument, NULL, OPT_TTL_IDLE_TCP_FLOW },
        { "dhc-max-entries", required_argument, NULL, OPT_DHC_MAX_ENTRIES },
        { "config", required_argument, NULL, 'c' },
        { "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
        { "dump-established-flows", optional_argument, NULL, OPT_DUMP_ESTABLISHED_FLOWS },
        { "dump-unknown-flows", optional_argument, NULL, OPT_DUMP_UNKNOWN_FLOWS },
        { "local-net", required_argument, NULL, OPT_LOCAL_NET },
        { "local-defaults", required_argument, NULL, OPT_LOCAL_DEFAULTS },
        { "address", required_argument, NULL, 'A' },
        { "count-only", no_argument, NULL, OPT_COUNT_ONLY },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool have_live = false, have_file = false, cli_sources = false, cli_listen = false;
    bool explicit_config = false, check = false, cli_local_nets = false;
    const char *config_path = DEFAULT_CONFIG;
    char err[512];
    int c;

    memset(o, 0, sizeof(*o));
    o->workers = default_workers();
    o->user = DEFAULT_USER;
    o->update_interval = 15;
    o->max_detection_pkts = 32;
    o->max_flows = 1000000;
    o->dhc_max_entries = 65536; /* DNS_HINTS_DEFAULT_ENTRIES, dpi-worker/dns_hints.h */
    o->ring_size = RING_DEFAULT_SIZE;
    o->client_queue = 4u << 20;
    o->ttl_idle_flow = 30;
    o->ttl_idle_tcp_flow = 300;

    find_config(argc, argv, &config_path, &explicit_config, &check);
    if (config_load(o, config_path, explicit_config, err, sizeof(err)) != 0) {
        fprintf(stderr, "flowsensed: %s\n", err);
        exit(2);
    }
    if (explicit_config || access(config_path, F_OK) == 0)
        o->config_path = config_path;
    for (int i = 0; i < o->n_sources; i++)
        have_live |= o->sources[i].live;

    while ((c = getopt_long(argc, argv, "i:I:E:r:w:u:f:c:dVhA:", longopts, NULL)) != -1) {
        /* Sources and listeners on the command line replace the file's. */
        if ((c == 'i' || c == 'I' || c == 'E' || c == 'r') && !cli_sources) {
            cli_sources = true;
            for (int i = 0; i < o->n_sources; i++)
                ip_prefix_list_clear(&o->sources[i].addresses);
            o->n_sources = 0;
            have_live = false;
        }
        if (c == OPT_LOCAL_NET && !cli_local_nets) {
            cli_local_nets = true;
            ip_prefix_list_clear(&o->local_nets);
        }
        if (c == OPT_LISTEN && !cli_listen) {
            cli_listen = true;
            o->n_listen = 0;
        }
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
        case 'A':
            if (!cli_sources) {
                fprintf(stderr, "flowsensed: -A %s: give it after the -i, -I, -E or -r it "
                                "belongs to\n", optarg);
                exit(2);
            }
            add_network("-A", optarg, &o->sources[o->n_sources - 1].addresses);
            break;
        case OPT_LOCAL_NET:
            add_network("--local-net", optarg, &o->local_nets);
            break;
        case OPT_LOCAL_DEFAULTS:
            o->no_default_local_nets = !parse_flag("--local-defaults", optarg);
            break;
        case 'c':
        case OPT_CHECK_CONFIG:
            break; /* taken by find_config() */
        case 'w':
            o->workers = (int)parse_number("-w", optarg, 1, FLOWSENSE_MAX_WORKERS);
            break;
        case OPT_LISTEN:
            if (options_add_listen(o, optarg) != NULL) {
                fprintf(stderr, "flowsensed: at most %d --listen addresses\n",
                        FLOWSENSE_MAX_LISTENERS);
                exit(2);
            }
            break;
        case OPT_STDOUT: o->to_stdout = true; break;
        case OPT_WAIT_FOR_CLIENT: o->wait_for_client = true; break;
        case OPT_COUNT_ONLY: o->count_only = true; break;
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
        case OPT_DUMP_ESTABLISHED_FLOWS:
            o->dump_established_flows = parse_flag("--dump-established-flows", optarg);
            break;
        case OPT_DUMP_UNKNOWN_FLOWS:
            o->dump_unknown_flows = parse_flag("--dump-unknown-flows", optarg);
            break;
        case OPT_TTL_IDLE_FLOW:
            o->ttl_idle_flow = (unsigned)parse_number("--ttl-idle-flow", optarg, 1, 86400);
            break;
        case OPT_TTL_IDLE_TCP_FLOW:
            o->ttl_idle_tcp_flow =
                (unsigned)parse_number("--ttl-idle-tcp-flow", optarg, 1, 86400);
            break;
        case OPT_DHC_MAX_ENTRIES:
            o->dhc_max_entries =
                (unsigned)parse_number("--dhc-max-entries", optarg, 16, 16777216);
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
    if (local_networks_resolve(o, err, sizeof(err)) != 0) {
        fprintf(stderr, "flowsensed: %s\n", err);
        exit(2);
    }
    if (check) {
        printf("flowsensed: %s: configuration ok: %d source(s), %d listener(s), %d worker(s)\n",
               o->config_path ? o->config_path : "(no configuration file)", o->n_sources,
               o->n_listen, o->workers);
        local_networks_print(o, stdout);
        exit(0);
    }
}
