/* flowsensed: the capture process.  Opens what needs privilege, builds
 * the process graph, drops every privilege, starts the workers and the
 * broker, then moves packets onto the rings until the input ends. */
#include "capture_loop.h"
#include "listen.h"
#include "log.h"
#include "options.h"
#include "pipeline.h"
#include "privdrop.h"
#include "source.h"
#include "supervisor.h"

#include <stdlib.h>
#include <string.h>

static struct options opts;
static struct pipeline pipeline;
static struct supervisor supervisor;
static struct capture cap;

int main(int argc, char **argv)
{
    uid_t uid;
    gid_t gid;

    options_parse(&opts, argc, argv);
    log_init("flowsensed", opts.debug);
    priv_lookup_user(opts.user, &uid, &gid);

    cap.opts = &opts;
    cap.n_sources = opts.n_sources;
    for (int i = 0; i < opts.n_sources; i++)
        source_open(&cap.sources[i], &opts.sources[i], opts.bpf);
    pipeline_create(&pipeline, &opts, uid, gid);
    supervisor_init(&supervisor, &opts, &pipeline);

    /* Every handle is open: nothing below needs privilege. */
    priv_drop(uid, gid);
    capture_install_signals();
    supervisor_start_all(&supervisor);

    cap.pipeline = &pipeline;
    cap.supervisor = &supervisor;
    int status = capture_run(&cap);

    for (int i = 0; i < opts.n_listen; i++)
        listen_cleanup(opts.listen[i]);
    for (int i = 0; i < cap.n_sources; i++)
        source_close(&cap.sources[i]);
    pipeline_close_all(&pipeline);
    return status;
}
