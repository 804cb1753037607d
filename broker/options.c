#include "options.h"

#include "fdmap.h"
#include "number.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

const char broker_usage[] =
    "usage: flowsense-broker --workers W --listeners L [--stdout] [--live | --wait-for-client]\n"
    "                        [--client-queue BYTES] [--update-interval SEC]\n"
    "                        [--established-flows N [--dump-unknown-flows]] [-u USER] [-d]\n"
    "Started by flowsensed, which passes its descriptors at fixed numbers (see fdmap.h).\n";

enum {
    OPT_WORKERS = 256,
    OPT_LISTENERS,
    OPT_STDOUT,
    OPT_UPDATE_INTERVAL,
    OPT_LIVE,
    OPT_CLIENT_QUEUE,
    OPT_WAIT_FOR_CLIENT,
    OPT_ESTABLISHED_FLOWS,
    OPT_DUMP_UNKNOWN_FLOWS,
};

static const struct option long_options[] = {
    { "workers", required_argument, NULL, OPT_WORKERS },
    { "listeners", required_argument, NULL, OPT_LISTENERS },
    { "stdout", no_argument, NULL, OPT_STDOUT },
    { "live", no_argument, NULL, OPT_LIVE },
    { "wait-for-client", no_argument, NULL, OPT_WAIT_FOR_CLIENT },
    { "client-queue", required_argument, NULL, OPT_CLIENT_QUEUE },
    { "update-interval", required_argument, NULL, OPT_UPDATE_INTERVAL },
    { "established-flows", required_argument, NULL, OPT_ESTABLISHED_FLOWS },
    { "dump-unknown-flows", no_argument, NULL, OPT_DUMP_UNKNOWN_FLOWS },
    { "user", required_argument, NULL, 'u' },
    { "debug", no_argument, NULL, 'd' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* Parses a whole decimal number within [min, max]. */
static int parse_range(const char *name, const char *text, unsigned min, unsigned max,
                       unsigned *value, char *err, size_t errlen)
{
    unsigned long v;

    if (parse_unsigned(text, min, max, &v) != 0) {
        snprintf(err, errlen, "--%s: '%s' is not a number from %u to %u", name, text, min, max);
        return -1;
    }
    *value = (unsigned)v;
    return 0;
}

int broker_options_parse(int argc, char **argv, struct broker_options *opt, char *err,
                         size_t errlen)
{
    bool have_workers = false, have_listeners = false;
    int c;

    *opt = (struct broker_options){
        .update_interval = BROKER_DEFAULT_UPDATE_INTERVAL,
        .user = BROKER_DEFAULT_USER,
        .client_queue = BROKER_DEFAULT_CLIENT_QUEUE,
    };
    err[0] = '\0';
    opterr = 0;
    optind = 0; /* full re-initialisation, so tests can parse repeatedly */
    while ((c = getopt_long(argc, argv, ":u:dh", long_options, NULL)) != -1) {
        switch (c) {
        case OPT_WORKERS:
            if (parse_range("workers", optarg, 1, FLOWSENSE_MAX_WORKERS, &opt->workers, err,
                            errlen) != 0)
                return -1;
            have_workers = true;
            break;
        case OPT_LISTENERS:
            if (parse_range("listeners", optarg, 0, FLOWSENSE_MAX_LISTENERS, &opt->listeners, err,
                            errlen) != 0)
                return -1;
            have_listeners = true;
            break;
        case OPT_LIVE:
            opt->live = true;
            break;
        case OPT_WAIT_FOR_CLIENT:
            opt->wait_for_client = true;
            break;
        case OPT_CLIENT_QUEUE:
            if (parse_range("client-queue", optarg, BROKER_MIN_CLIENT_QUEUE,
                            BROKER_MAX_CLIENT_QUEUE, &opt->client_queue, err, errlen) != 0)
                return -1;
            break;
        case OPT_STDOUT:
            opt->to_stdout = true;
            break;
        case OPT_UPDATE_INTERVAL:
            if (parse_range("update-interval", optarg, 1, BROKER_MAX_UPDATE_INTERVAL,
                            &opt->update_interval, err, errlen) != 0)
                return -1;
            break;
        case OPT_ESTABLISHED_FLOWS:
            if (parse_unsigned(optarg, 1, BROKER_MAX_ESTABLISHED_FLOWS,
                               &opt->established_flows) != 0) {
                snprintf(err, errlen, "--established-flows: '%s' is not a number from 1 to %lu",
                         optarg, BROKER_MAX_ESTABLISHED_FLOWS);
                return -1;
            }
            break;
        case OPT_DUMP_UNKNOWN_FLOWS:
            opt->dump_unknown_flows = true;
            break;
        case 'u':
            if (optarg[0] == '\0') {
                snprintf(err, errlen, "-u: empty user name");
                return -1;
            }
            opt->user = optarg;
            break;
        case 'd':
            opt->debug = true;
            break;
        case 'h':
            return 1;
        case ':':
            snprintf(err, errlen, "%s needs a value", argv[optind - 1]);
            return -1;
        default:
            snprintf(err, errlen, "unknown option '%s'", argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
        return -1;
    }
    if (!have_workers || !have_listeners) {
        snprintf(err, errlen, "--workers and --listeners are required");
        return -1;
    }
    if (opt->listeners == 0 && !opt->to_stdout) {
        snprintf(err, errlen, "nothing to serve: give --listeners 1 or more, or --stdout");
        return -1;
    }
    if (opt->wait_for_client && (opt->live || opt->listeners == 0)) {
        snprintf(err, errlen, "--wait-for-client needs --listeners 1 or more, and no --live");
        return -1;
    }
    return 0;
}
