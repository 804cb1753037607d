/* flowsense-worker: a DPI worker.  Attaches to its ring and event
 * channel (descriptors from flowsensed, see fdmap.h), sheds every
 * privilege, loads nDPI, then classifies flows until the input ends. */
#include "detect.h"
#include "fdmap.h"
#include "flow_table.h"
#include "log.h"
#include "options.h"
#include "sandbox.h"
#include "worker_loop.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static struct worker_options opts;
static struct worker worker;

static void on_term(int sig)
{
    (void)sig;
    worker_stop_requested = 1;
}

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) != 0)
        fatal("sigaction(SIGTERM)");
    /* Ctrl-C reaches the whole process group; flowsensed drives the stop. */
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
    char name[32];

    worker_options_parse(&opts, argc, argv);
    snprintf(name, sizeof(name), "flowsense-worker/%d", opts.id);
    log_init(strdup(name), opts.debug);
    install_signals();

    if (ring_attach(&worker.ring, FD_WORKER_RING, FD_WORKER_DATA_EVENT,
                    FD_WORKER_SPACE_EVENT) != 0)
        fatal("cannot attach the packet ring on fd %d", FD_WORKER_RING);
    channel_writer_init(&worker.events, FD_WORKER_CHANNEL);
    worker.opts = &opts;

    /* nDPI reads libgcrypt's files here, before the sandbox forbids
     * opening any. */
    if (detector_init(&worker.detector, opts.max_detection_pkts) != 0)
        fatalx("cannot initialise nDPI");
    if (flow_table_init(&worker.flows, opts.max_flows) != 0)
        fatal("cannot allocate the flow table for %u flows", opts.max_flows);
    reassembly_init(&worker.reassembly);
    if (dns_hints_init(&worker.dns_hints, opts.dhc_max_entries) != 0)
        fatal("cannot allocate the DNS hint cache for %u entries", opts.dhc_max_entries);
    /* nDPI reads certificate dates with localtime(), whose first call
     * opens /etc/localtime: load the time zone while files may be opened. */
    tzset();
    sandbox_enter(opts.user, "policy/worker.policy", worker_policy);

    worker_run(&worker);

    dns_hints_destroy(&worker.dns_hints);
    reassembly_clear(&worker.reassembly);
    flow_table_destroy(&worker.flows);
    detector_destroy(&worker.detector);
    channel_writer_destroy(&worker.events);
    return 0;
}
