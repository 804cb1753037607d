#include "options.h"

#include "log.h"
#include "dns_hints.h"
#include "number.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    OPT_ID = 256, OPT_UPDATE, OPT_MAXDET, OPT_MAXFLOWS, OPT_IFACE, OPT_TTL, OPT_TTL_TCP, OPT_LIVE,
    OPT_ADDRESS, OPT_LOCAL_NET, OPT_DHC, OPT_COUNT_ONLY,
};

static unsigned number(const char *opt, const char *v, unsigned min, unsigned max)
{
    unsigned long n;

    if (parse_unsigned(v, min, max, &n) != 0)
        fatalx("%s: '%s' is not a number from %u to %u", opt, v, min, max);
    return (unsigned)n;
}

static void network(const char *opt, const char *text, struct ip_prefix_list *l)
{
    struct ip_prefix p;
    const char *why = ip_prefix_parse(text, &p);

    if (why)
        fatalx("%s: '%s': %s", opt, text, why);
    if (ip_prefix_list_add(l, &p) < 0)
        fatalx("%s: more than %d networks", opt, IP_PREFIX_LIST_MAX);
}

void worker_options_parse(struct worker_options *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "id", required_argument, NULL, OPT_ID },
        { "update-interval", required_argument, NULL, OPT_UPDATE },
        { "max-detection-pkts", required_argument, NULL, OPT_MAXDET },
        { "max-flows", required_argument, NULL, OPT_MAXFLOWS },
        { "ttl-idle-flow", required_argument, NULL, OPT_TTL },
        { "ttl-idle-tcp-flow", required_argument, NULL, OPT_TTL_TCP },
        { "interface", required_argument, NULL, OPT_IFACE },
        { "live", no_argument, NULL, OPT_LIVE },
        { "address", required_argument, NULL, OPT_ADDRESS },
        { "local-net", required_argument, NULL, OPT_LOCAL_NET },
        { "dhc-max-entries", required_argument, NULL, OPT_DHC },
        { "count-only", no_argument, NULL, OPT_COUNT_ONLY },
        { NULL, 0, NULL, 0 },
    };
    int c;

    memset(o, 0, sizeof(*o));
    o->pid = (int)getpid();
    o->user = "flowsense";
    o->update_interval = 15;
    o->max_detection_pkts = 32;
    o->max_flows = 1000000;
    o->dhc_max_entries = DNS_HINTS_DEFAULT_ENTRIES;
    o->ttl_idle_flow = 30;
    o->ttl_idle_tcp_flow = 300;
    while ((c = getopt_long(argc, argv, "u:d", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_ID: o->id = (int)number("--id", optarg, 0, FLOWSENSE_MAX_WORKERS - 1); break;
        case OPT_UPDATE: o->update_interval = number("--update-interval", optarg, 1, 3600); break;
        case OPT_MAXDET: o->max_detection_pkts = number("--max-detection-pkts", optarg, 1, 1000); break;
        case OPT_MAXFLOWS: o->max_flows = number("--max-flows", optarg, 16, 100000000); break;
        case OPT_TTL: o->ttl_idle_flow = number("--ttl-idle-flow", optarg, 1, 86400); break;
        case OPT_TTL_TCP: o->ttl_idle_tcp_flow = number("--ttl-idle-tcp-flow", optarg, 1, 86400); break;
        case OPT_LIVE: o->live = true; break;
        case OPT_DHC: o->dhc_max_entries = number("--dhc-max-entries", optarg, 16, 16777216); break;
        case OPT_COUNT_ONLY: o->count_only = true; break;
        case OPT_IFACE:
            /* --interface NAME ROLE: the role is the next argument. */
            if (o->n_interfaces == FLOWSENSE_MAX_INTERFACES || optind >= argc)
                fatalx("--interface NAME lan|wan: too many or missing role");
            o->interfaces[o->n_interfaces].name = optarg;
            o->interfaces[o->n_interfaces].internal = strcmp(argv[optind], "wan") != 0;
            o->n_interfaces++;
            optind++;
            break;
        case OPT_ADDRESS:
            /* --address CIDR: a network of the --interface before it. */
            if (o->n_interfaces == 0)
                fatalx("--address before any --interface");
            network("--address", optarg, &o->interfaces[o->n_interfaces - 1].own_nets);
            break;
        case OPT_LOCAL_NET: network("--local-net", optarg, &o->local_nets); break;
        case 'u': o->user = optarg; break;
        case 'd': o->debug = true; break;
        default: fatalx("bad command line (this program is started by flowsensed)");
        }
    }
    if (o->n_interfaces == 0)
        fatalx("no --interface given (this program is started by flowsensed)");
}
