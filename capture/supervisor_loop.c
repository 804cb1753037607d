#include "supervisor_loop.h"

#include "capture_loop.h"
#include "channel.h"
#include "listener_handoff.h"
#include "log.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#define POLL_INTERVAL_MS 20
/* How often the unix sockets' paths are looked at (handoff_check). */
#define PATH_CHECK_POLLS 50
/* At shutdown a child is waited for as long as it makes progress (see
 * progress_shm.h): how long it needs depends on how much it has to send,
 * to how many clients, on how loaded a machine.  One that shows none for
 * this long is stuck, and killed.  Tests shorten it with the environment
 * variable FLOWSENSE_STALL_MS. */
#define CHILD_STALL_MS 15000

/* The supervisor's own writer on the control channel (the capture process
 * has another; each message is one SEQPACKET datagram, so they never mix). */
static struct channel_writer control;

/* The broker drops the dead worker's statistics at once; the counters
 * follow in the capture's next capture_stats. */
static void report_worker_exit(void *ctx, const struct worker_exit *e)
{
    (void)ctx;
    msgpack_packer *pk = channel_event_begin(&control);
    msgpack_pack_map(pk, 6);
    pk_kv_str(pk, "type", "worker_exit");
    pk_kv_u64(pk, "worker", (uint64_t)e->worker);
    pk_kv_u64(pk, "pid", (uint64_t)e->pid);
    pk_kv_u64(pk, "signal", (uint64_t)e->signal);
    pk_kv_u64(pk, "status", (uint64_t)e->status);
    pk_kv_u64(pk, "flows_lost", e->flows_lost);
    channel_event_end(&control);
    if (channel_flush(&control) != 0)
        log_warnx("worker_exit of worker %d not delivered: the broker will count its flows "
                  "until the new worker reports", e->worker);
}

static unsigned stall_ms(void)
{
    const char *env = getenv("FLOWSENSE_STALL_MS");
    char *end;
    unsigned long ms = env ? strtoul(env, &end, 10) : 0;

    if (env == NULL || *env == '\0' || *end != '\0' || ms < 100 || ms > 3600000)
        return CHILD_STALL_MS;
    return (unsigned)ms;
}

/* What the workers have done: records taken and messages sent. */
static uint64_t workers_progress(const struct supervisor *s)
{
    uint64_t sum = 0;

    for (int i = 0; i < s->pipeline->n_workers; i++)
        sum += ring_consumer_progress(&s->pipeline->workers[i].ring);
    return sum;
}

/* What the broker has done: bytes sent and events received. */
static uint64_t broker_progress(const struct supervisor *s)
{
    return progress_read(s->pipeline->broker_progress);
}

/* Waits until done, killing every child once progress has not moved for
 * the stall time. */
static void wait_children(struct supervisor *s, bool (*done)(const struct supervisor *),
                          uint64_t (*progress)(const struct supervisor *), const char *what)
{
    unsigned stall = stall_ms();
    uint64_t start = monotonic_ms(), moved = start, seen = progress(s);

    while (!done(s)) {
        uint64_t now = monotonic_ms(), p = progress(s);
        if (p != seen) {
            seen = p;
            moved = now;
        } else if (now - moved > stall) {
            log_warnx("%s made no progress for %u ms (%.1f s after shutdown began): killing",
                      what, stall, (double)(now - start) / 1000);
            supervisor_signal_all(s, SIGKILL);
            sleep_ms(100);
            supervisor_poll(s);
            return;
        }
        sleep_ms(POLL_INTERVAL_MS);
        supervisor_poll(s);
    }
    log_debug("%s finished %.1f s after shutdown began", what,
              (double)(monotonic_ms() - start) / 1000);
}

/* Until the capture process ends: restart children that die, and pass a
 * stop request on to the capture, which ends the rings. */
static void supervise_capture(struct supervisor *s)
{
    bool stop_sent = false;
    unsigned polls = 0;
    pid_t broker_seen = s->broker.pid;

    while (s->capture_pid > 0) {
        if (++polls % PATH_CHECK_POLLS == 0)
            handoff_check();
        if (capture_stop_requested && !stop_sent) {
            kill(s->capture_pid, SIGTERM);
            stop_sent = true;
        }
        supervisor_poll(s);
        if (s->broker.pid != broker_seen) {
            broker_seen = s->broker.pid;
            if (broker_seen > 0)
                handoff_broker_started();
        }
        if (s->capture_pid > 0)
            sleep_ms(POLL_INTERVAL_MS);
    }
}

static int capture_exit_status(const struct supervisor *s)
{
    int st = s->capture_status;

    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    if (WIFEXITED(st)) {
        log_warnx("the capture process exited with status %d: capture cannot go on",
                  WEXITSTATUS(st));
        return 1;
    }
    log_warnx("the capture process died from signal %d (%s): capture cannot go on",
              WTERMSIG(st), strsignal(WTERMSIG(st)));
    return 1;
}

int supervisor_run(struct supervisor *s, struct pipeline *p)
{
    channel_writer_init(&control, p->control_fd);
    handoff_init(p, p->control_fd);
    s->on_worker_exit = report_worker_exit;
    supervise_capture(s);
    int status = capture_exit_status(s);

    supervisor_begin_shutdown(s);
    /* A capture that ended normally put the end marker on every ring; one
     * that died did not, so the workers are told to stop instead. */
    if (status != 0)
        supervisor_signal_all(s, SIGTERM);
    wait_children(s, supervisor_workers_finished, workers_progress, "workers");
    /* Now the broker sees end-of-file on each event channel once drained. */
    pipeline_close_worker_side(p);
    wait_children(s, supervisor_broker_finished, broker_progress, "broker");
    s->on_worker_exit = NULL;
    channel_writer_destroy(&control);
    return status;
}
