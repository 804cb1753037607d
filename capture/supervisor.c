#define _GNU_SOURCE
#include "supervisor.h"

#include "fdmap.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Restart policy.
 *
 * Every child that dies is started again on the same ring and channels:
 * at once after its first death (or the first after a run of
 * STABLE_RUN_MS), then after 100, 200, 400, 800 ms for deaths in quick
 * succession, and never later than BACKOFF_MAX_MS.  A hostile packet that
 * kills worker after worker thus costs at most a second per death, and the
 * ring starts each new worker after the record that killed the last one.
 *
 * flowsensed gives up (exit 1, "giving up") only for a child that can never
 * start: MAX_START_FAILURES deaths in a row before it was ready.  A worker
 * is ready once its sandbox is up and nDPI loaded (it flags its ring); any
 * death before that is a failure to start: exec failed (126/127), bad user,
 * unreadable nDPI tables, a sandbox policy that kills it at start-up.  The
 * broker has no ring: its start-up errors are exits with a non-zero status,
 * so a failure to start is such an exit within QUICK_DEATH_MS of starting.
 * A broker killed by a signal crashed while serving and is always
 * restarted, so no client can make flowsensed give up.  Giving up is right
 * then because capture cannot go on: without that worker its share of the
 * traffic has nowhere to go (a replay would wait for ever), and without a
 * broker no record reaches anyone. */
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 1000
#define STABLE_RUN_MS 10000
#define QUICK_DEATH_MS 1000
#define MAX_START_FAILURES 5
#define MAX_ARGS 32
/* Temporary descriptors while arranging the child's layout. */
#define FD_SCRATCH_BASE 100

volatile int supervisor_child_exited;

void sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

uint64_t monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void find_program(char *out, size_t len, const char *name)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

    if (n > 0) {
        self[n] = '\0';
        snprintf(out, len, "%s/%s", dirname(self), name);
        if (access(out, X_OK) == 0)
            return;
    }
    snprintf(out, len, "%s/%s", FLOWSENSE_LIBEXECDIR, name);
    if (access(out, X_OK) != 0)
        fatal("cannot find %s next to flowsensed nor at %s", name, out);
}

static char *network_arg(const char *opt, const struct ip_prefix *p)
{
    char text[IP_PREFIX_TEXT_MAX], *arg;

    ip_prefix_format(p, text);
    if (asprintf(&arg, "%s=%s", opt, text) < 0)
        fatalx("out of memory for the workers' command line");
    return arg;
}

/* What every worker is told about the sources: "--interface NAME ROLE"
 * each, with its own networks ("--address=CIDR") after it, then the
 * networks local for all ("--local-net=CIDR").  Made once, for every
 * start and restart. */
static void worker_sources_args(struct supervisor *s)
{
    const struct options *o = s->opts;
    size_t n = 0, max = o->local_nets.n + (size_t)o->n_sources * 3;

    for (int j = 0; j < o->n_sources; j++)
        max += o->sources[j].addresses.n;
    s->worker_sources = calloc(max, sizeof(*s->worker_sources));
    s->worker_argv = calloc(MAX_ARGS + max + 1, sizeof(*s->worker_argv));
    if (s->worker_sources == NULL || s->worker_argv == NULL)
        fatalx("out of memory for the workers' command line");
    for (int j = 0; j < o->n_sources; j++) {
        const struct source_spec *src = &o->sources[j];
        s->worker_sources[n++] = "--interface";
        s->worker_sources[n++] = (char *)src->label;
        s->worker_sources[n++] = src->internal ? "lan" : "wan";
        for (unsigned k = 0; k < src->addresses.n; k++)
            s->worker_sources[n++] = network_arg("--address", &src->addresses.items[k]);
    }
    for (unsigned k = 0; k < o->local_nets.n; k++)
        s->worker_sources[n++] = network_arg("--local-net", &o->local_nets.items[k]);
    s->n_worker_sources = n;
}

void supervisor_init(struct supervisor *s, const struct options *opts, struct pipeline *p)
{
    memset(s, 0, sizeof(*s));
    s->opts = opts;
    s->pipeline = p;
    find_program(s->worker_path, sizeof(s->worker_path), "flowsense-worker");
    find_program(s->broker_path, sizeof(s->broker_path), "flowsense-broker");
    worker_sources_args(s);
    for (int i = 0; i < p->n_workers; i++) {
        s->workers[i].role = "worker";
        s->workers[i].index = i;
    }
    s->broker.role = "broker";
    s->counts = mmap(NULL, sizeof(*s->counts), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (s->counts == MAP_FAILED)
        fatal("mmap of the supervisor's counters");
}

struct fd_plan {
    int from[FD_SCRATCH_BASE];
    int n;
};

/* In the child: move each planned descriptor to 3, 4, ... in order and
 * close everything else, then reset signal handling and exec. */
static void __attribute__((noreturn)) exec_child(const char *path, char *const argv[],
                                                 const struct fd_plan *plan)
{
    int scratch[FD_SCRATCH_BASE];
    sigset_t none;

    for (int i = 0; i < plan->n; i++) {
        scratch[i] = fcntl(plan->from[i], F_DUPFD_CLOEXEC, FD_SCRATCH_BASE);
        if (scratch[i] < 0)
            _exit(126);
    }
    for (int i = 0; i < plan->n; i++)
        if (dup2(scratch[i], 3 + i) < 0) /* dup2 clears FD_CLOEXEC */
            _exit(126);
    close_range((unsigned)(3 + plan->n), ~0u, 0);
    /* A child must not outlive flowsensed: it holds the rings' other end. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1)
        _exit(126);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execv(path, argv);
    fprintf(stderr, "flowsensed: cannot execute %s: %s\n", path, strerror(errno));
    _exit(127);
}

static int worker_argv(struct supervisor *s, int i, char *argv[], char store[][96])
{
    const struct options *o = s->opts;
    int n = 0, k = 0;

#define ARG(...) (snprintf(store[k], 96, __VA_ARGS__), argv[n++] = store[k++])
    argv[n++] = s->worker_path;
    ARG("--id=%d", i);
    ARG("--update-interval=%u", o->update_interval);
    ARG("--max-detection-pkts=%u", o->max_detection_pkts);
    ARG("--max-flows=%u", o->max_flows);
    ARG("--ttl-idle-flow=%u", o->ttl_idle_flow);
    ARG("--ttl-idle-tcp-flow=%u", o->ttl_idle_tcp_flow);
    ARG("--dhc-max-entries=%u", o->dhc_max_entries);
    argv[n++] = "-u";
    argv[n++] = (char *)o->user;
    if (o->debug)
        argv[n++] = "-d";
    if (o->live)
        argv[n++] = "--live";
    if (o->count_only)
        argv[n++] = "--count-only";
    for (size_t j = 0; j < s->n_worker_sources; j++)
        argv[n++] = s->worker_sources[j];
#undef ARG
    argv[n] = NULL;
    return n;
}

static void start_child(struct supervisor *s, struct child *c)
{
    struct pipeline *p = s->pipeline;
    const struct options *o = s->opts;
    char *broker_argv[MAX_ARGS], **argv = broker_argv;
    char store[16][96];
    struct fd_plan plan = { .n = 0 };
    const char *path;

    if (c == &s->broker) {
        int n = 0;
        path = s->broker_path;
        argv[n++] = s->broker_path;
        snprintf(store[0], 96, "--workers=%d", p->n_workers);
        snprintf(store[1], 96, "--listeners=%d", p->n_listen);
        snprintf(store[2], 96, "--update-interval=%u", o->update_interval);
        snprintf(store[3], 96, "--client-queue=%u", o->client_queue);
        argv[n++] = store[0];
        argv[n++] = store[1];
        argv[n++] = store[2];
        argv[n++] = store[3];
        if (o->dump_established_flows) {
            /* an entry for every flow the workers may hold */
            snprintf(store[4], 96, "--established-flows=%lu",
                     (unsigned long)o->max_flows * (unsigned long)p->n_workers);
            argv[n++] = store[4];
            if (o->dump_unknown_flows)
                argv[n++] = "--dump-unknown-flows";
        }
        argv[n++] = "-u";
        argv[n++] = (char *)o->user;
        if (o->to_stdout)
            argv[n++] = "--stdout";
        if (o->live)
            argv[n++] = "--live";
        else if (o->wait_for_client)
            argv[n++] = "--wait-for-client";
        if (o->debug)
            argv[n++] = "-d";
        argv[n] = NULL;
        plan.from[plan.n++] = p->control_peer_fd;
        for (int i = 0; i < p->n_workers; i++)
            plan.from[plan.n++] = p->workers[i].broker_channel_fd;
        for (int i = 0; i < p->n_listen; i++)
            plan.from[plan.n++] = p->listen_fds[i];
        plan.from[plan.n++] = p->broker_progress_fd;
    } else {
        struct worker_link *w = &p->workers[c->index];
        path = s->worker_path;
        argv = s->worker_argv;
        worker_argv(s, c->index, argv, store);
        ring_consumer_reset(&w->ring); /* no consumer runs: it is ours to write */
        plan.from[plan.n++] = w->ring_fd;
        plan.from[plan.n++] = w->ring.data_event_fd;
        plan.from[plan.n++] = w->ring.space_event_fd;
        plan.from[plan.n++] = w->worker_channel_fd;
    }
    pid_t pid = fork();
    if (pid < 0) {
        log_warn("cannot fork %s %d; retrying", c->role, c->index);
        c->restart_at_ms = monotonic_ms() + BACKOFF_MAX_MS;
        return;
    }
    if (pid == 0)
        exec_child(path, argv, &plan);
    c->pid = pid;
    c->started_ms = monotonic_ms();
    c->restart_at_ms = 0;
    log_debug("started %s %d (pid %d)", c->role, c->index, (int)pid);
}

void supervisor_start_all(struct supervisor *s)
{
    start_child(s, &s->broker);
    for (int i = 0; i < s->pipeline->n_workers; i++)
        start_child(s, &s->workers[i]);
}

static struct child *child_by_pid(struct supervisor *s, pid_t pid)
{
    if (s->broker.pid == pid)
        return &s->broker;
    for (int i = 0; i < s->pipeline->n_workers; i++)
        if (s->workers[i].pid == pid)
            return &s->workers[i];
    return NULL;
}

static void describe_death(char *out, size_t len, int status)
{
    if (WIFSIGNALED(status))
        snprintf(out, len, "died from signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(out, len, "exited with status %d", WEXITSTATUS(status));
}

static bool failed_to_start(struct supervisor *s, const struct child *c, int status,
                            uint64_t ran_ms)
{
    if (c != &s->broker)
        return !ring_consumer_was_ready(&s->pipeline->workers[c->index].ring);
    return WIFEXITED(status) && WEXITSTATUS(status) != 0 && ran_ms < QUICK_DEATH_MS;
}

/* Counts what a worker's death cost and tells the capture loop. */
static void account_worker_death(struct supervisor *s, const struct child *c, pid_t pid,
                                 int status, const char *how)
{
    struct worker_exit e = {
        .worker = c->index,
        .pid = pid,
        .signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0,
        .status = WIFEXITED(status) ? WEXITSTATUS(status) : 0,
        .flows_lost = ring_take_flows(&s->pipeline->workers[c->index].ring),
    };

    atomic_fetch_add_explicit(&s->counts->flows_lost, e.flows_lost, memory_order_relaxed);
    if (e.signal >= 0 && e.signal < SUPERVISOR_DEATH_CAUSES)
        atomic_fetch_add_explicit(&s->counts->worker_deaths[e.signal], 1, memory_order_relaxed);
    log_warnx("worker %d (pid %d) %s; %llu flows lost with it", c->index, (int)pid, how,
              (unsigned long long)e.flows_lost);
    if (s->on_worker_exit)
        s->on_worker_exit(s->on_worker_exit_ctx, &e);
}

static void child_exited(struct supervisor *s, struct child *c, int status)
{
    uint64_t now = monotonic_ms(), ran_ms = now - c->started_ms;
    pid_t pid = c->pid;
    bool worker = c != &s->broker;
    char how[96];

    c->pid = 0;
    bool ending = s->shutting_down ||
                  atomic_load_explicit(&s->counts->capture_ending, memory_order_acquire);

    if (ending && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        c->finished = true;
        return;
    }
    describe_death(how, sizeof(how), status);
    if (worker)
        account_worker_death(s, c, pid, status, how);
    else
        log_warnx("broker (pid %d) %s", (int)pid, how);
    if (failed_to_start(s, c, status, ran_ms)) {
        if (++c->start_failures >= MAX_START_FAILURES)
            fatalx("%s %d cannot start: it %s, %u times in a row before it was ready; giving up",
                   c->role, c->index, how, c->start_failures);
    } else {
        c->start_failures = 0;
    }
    /* Capture is over and the worker had taken everything, its end marker
     * included: a new one would wait for ever.  Its flows are counted lost. */
    if (worker && ending && ring_drained(&s->pipeline->workers[c->index].ring)) {
        c->finished = true;
        return;
    }
    if (ran_ms >= STABLE_RUN_MS)
        c->quick_deaths = 0;
    if (c->quick_deaths == 0)
        c->backoff_ms = 0;
    else if (c->backoff_ms == 0)
        c->backoff_ms = BACKOFF_FIRST_MS;
    else if (c->backoff_ms < BACKOFF_MAX_MS)
        c->backoff_ms = 2 * c->backoff_ms < BACKOFF_MAX_MS ? 2 * c->backoff_ms : BACKOFF_MAX_MS;
    c->quick_deaths++;
    c->restart_at_ms = now + c->backoff_ms;
    atomic_fetch_add_explicit(worker ? &s->counts->worker_restarts : &s->counts->broker_restarts,
                              1, memory_order_relaxed);
    log_warnx("restarting %s %d in %u ms", c->role, c->index, c->backoff_ms);
}

void supervisor_poll(struct supervisor *s)
{
    int status;
    pid_t pid;

    if (supervisor_child_exited) {
        supervisor_child_exited = 0;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            struct child *c = child_by_pid(s, pid);
            if (c) {
                child_exited(s, c, status);
            } else if (pid == s->capture_pid) {
                s->capture_pid = 0;
                s->capture_status = status;
            }
        }
    }
    uint64_t now = 0;
    struct child *all[FLOWSENSE_MAX_WORKERS + 1];
    int n = 0;
    all[n++] = &s->broker;
    for (int i = 0; i < s->pipeline->n_workers; i++)
        all[n++] = &s->workers[i];
    for (int i = 0; i < n; i++) {
        struct child *c = all[i];
        if (c->restart_at_ms == 0)
            continue;
        if (now == 0)
            now = monotonic_ms();
        if (now >= c->restart_at_ms) {
            start_child(s, c);
            if (c->pid > 0)
                log_info("restarted %s %d (pid %d)", c->role, c->index, (int)c->pid);
        }
    }
}

void supervisor_begin_shutdown(struct supervisor *s)
{
    s->shutting_down = true;
}

bool supervisor_workers_finished(const struct supervisor *s)
{
    for (int i = 0; i < s->pipeline->n_workers; i++)
        if (!s->workers[i].finished)
            return false;
    return true;
}

bool supervisor_broker_finished(const struct supervisor *s)
{
    return s->broker.finished;
}

void supervisor_signal_all(struct supervisor *s, int sig)
{
    if (s->broker.pid > 0)
        kill(s->broker.pid, sig);
    for (int i = 0; i < s->pipeline->n_workers; i++)
        if (s->workers[i].pid > 0)
            kill(s->workers[i].pid, sig);
}
