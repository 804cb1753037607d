/* flowsense-broker: turns the workers' msgpack events into the Netify
 * JSON stream and serves it.  Started by flowsensed with its descriptors
 * at the numbers fdmap.h lists; see broker.h for its life cycle. */
#include "broker.h"

#include "log.h"
#include "sandbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void parse_command_line(int argc, char **argv, struct broker_options *opt)
{
    char err[160];
    int rc = broker_options_parse(argc, argv, opt, err, sizeof(err));

    if (rc > 0) {
        fputs(broker_usage, stdout);
        exit(0);
    }
    if (rc < 0) {
        fprintf(stderr, "flowsense-broker: %s\n%s", err, broker_usage);
        exit(2);
    }
}

int main(int argc, char **argv)
{
    static struct broker broker;
    struct broker_options opt;

    log_init("flowsense-broker", 0);
    parse_command_line(argc, argv, &opt);
    log_init("flowsense-broker", opt.debug);
    broker_check_descriptors(&opt);
    broker_signals_init();
    broker_init(&broker, &opt);
    /* Here, not in broker_init(): only a broker flowsensed started has it
     * (in a test or fuzz fixture that descriptor number may be anything). */
    broker.progress = broker_map_progress(&opt);
    /* flowsensed, which started this broker, binds listeners again. */
    if (broker_trust_descriptors_from(&broker, getppid()) != 0)
        fatal("SO_PASSCRED on the control channel (fd %d)", broker.control.fd);
    sandbox_enter(opt.user, "policy/broker.policy", broker_policy);
    log_debug("serving %u worker(s) on %u listener(s)%s", opt.workers, opt.listeners,
              opt.to_stdout ? " and stdout" : "");
    return broker_run(&broker);
}
