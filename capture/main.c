/* flowsensed: opens what needs privilege (capture handles, listening
 * sockets), builds the process graph, drops every privilege, then starts
 * the broker, the workers and the capture process and supervises them
 * until the input ends. */
#include "capture_loop.h"
#include "listen.h"
#include "log.h"
#include "options.h"
#include "pipeline.h"
#include "privdrop.h"
#include "sandbox.h"
#include "source.h"
#include "supervisor.h"
#include "supervisor_loop.h"

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
        source_open(&cap.sources[i], &opts.sources[i],
                    opts.sources[i].bpf ? opts.sources[i].bpf : opts.bpf);
    pipeline_create(&pipeline, &opts, uid, gid);
    supervisor_init(&supervisor, &opts, &pipeline);
    capture_install_signals();

    /* Every handle is open: nothing below needs privilege. */
    sandbox_enter_supervisor(opts.user);
    supervisor_start_all(&supervisor);
    cap.pipeline = &pipeline;
    cap.counts = supervisor.counts;
    supervisor.capture_pid = capture_start(&cap);
    int status = supervisor_run(&supervisor, &pipeline);

    for (int i = 0; i < opts.n_listen; i++)
        listen_cleanup(opts.listen[i]);
    for (int i = 0; i < cap.n_sources; i++)
        source_close(&cap.sources[i]);
    pipeline_close_all(&pipeline);
    return status;
}
