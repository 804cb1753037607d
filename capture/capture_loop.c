#define _GNU_SOURCE /* sigabbrev_np */

#include "capture_loop.h"

#include "log.h"
#include "sandbox.h"
#include "transport_timer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define STATS_INTERVAL_MS 1000
#define HOUSEKEEPING_EVERY 1024   /* packets between housekeeping in replay */
#define LIVE_DISPATCH_BATCH 256
#define WORKER_EXIT_TIMEOUT_MS 60000
#define BROKER_EXIT_TIMEOUT_MS 30000

volatile int capture_stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    capture_stop_requested = 1;
}

static void on_child(int sig)
{
    (void)sig;
    supervisor_child_exited = 1;
}

void capture_install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        fatal("sigaction");
    sa.sa_handler = on_child;
    sa.sa_flags = SA_NOCLDSTOP;
    if (sigaction(SIGCHLD, &sa, NULL) != 0)
        fatal("sigaction(SIGCHLD)");
    signal(SIGPIPE, SIG_IGN);
}

static double timeval_seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* "SIGKILL" for 9; "exit" for the exits (index 0). */
static void death_cause_name(char *out, size_t len, int cause)
{
    const char *abbrev = cause > 0 ? sigabbrev_np(cause) : NULL;

    if (cause == 0)
        snprintf(out, len, "exit");
    else if (abbrev)
        snprintf(out, len, "SIG%s", abbrev);
    else
        snprintf(out, len, "signal %d", cause);
}

/* worker_deaths: {"SIGKILL": 2, "exit": 1}, the causes seen so far. */
static void pack_worker_deaths(msgpack_packer *pk, const struct supervisor_counts *c)
{
    uint64_t deaths[SUPERVISOR_DEATH_CAUSES];
    char name[32];
    uint32_t seen = 0;

    /* One snapshot: the map's size must match the entries packed. */
    for (int i = 0; i < SUPERVISOR_DEATH_CAUSES; i++) {
        deaths[i] = atomic_load_explicit(&c->worker_deaths[i], memory_order_relaxed);
        seen += deaths[i] > 0;
    }
    pk_key(pk, "worker_deaths");
    msgpack_pack_map(pk, seen);
    for (int i = 0; i < SUPERVISOR_DEATH_CAUSES; i++) {
        if (deaths[i] == 0)
            continue;
        death_cause_name(name, sizeof(name), i);
        pk_kv_u64(pk, name, deaths[i]);
    }
}

static void send_stats(struct capture *cap)
{
    uint64_t recv = 0, drop = 0, ifdrop = 0;
    struct rusage ru;
    const struct pipeline *p = cap->pipeline;

    for (int i = 0; i < cap->n_sources; i++)
        source_add_stats(&cap->sources[i], &recv, &drop, &ifdrop);
    getrusage(RUSAGE_SELF, &ru);
    msgpack_packer *pk = channel_event_begin(&cap->control);
    msgpack_pack_map(pk, 21);
    pk_kv_str(pk, "type", "capture_stats");
    pk_kv_u64(pk, "packets", cap->steer.stats.packets);
    pk_kv_u64(pk, "bytes", cap->steer.stats.bytes);
    pk_kv_u64(pk, "pcap_recv", recv);
    pk_kv_u64(pk, "pcap_drop", drop);
    pk_kv_u64(pk, "pcap_ifdrop", ifdrop);
    pk_kv_u64(pk, "read_errors", cap->read_errors);
    pk_kv_u64(pk, "oversized_drops", cap->steer.stats.oversized);
    pk_kv_u64(pk, "truncated_packets", cap->steer.stats.truncated);
    pk_kv_u64(pk, "time_outliers", cap->replay_clock.outliers);
    pk_kv_u64(pk, "dns_hint_copies", cap->steer.stats.dns_hint_copies);
    pk_kv_u64(pk, "dns_hint_drops", cap->steer.stats.dns_hint_drops);
    pk_key(pk, "ring_drops");
    msgpack_pack_array(pk, (size_t)p->n_workers);
    for (int i = 0; i < p->n_workers; i++)
        msgpack_pack_uint64(pk, atomic_load_explicit(&p->workers[i].ring.sh->records_dropped,
                                                      memory_order_relaxed));
    pk_kv_u64(pk, "worker_restarts",
              atomic_load_explicit(&cap->counts->worker_restarts, memory_order_relaxed));
    pk_kv_u64(pk, "broker_restarts",
              atomic_load_explicit(&cap->counts->broker_restarts, memory_order_relaxed));
    pk_kv_u64(pk, "flows_lost",
              atomic_load_explicit(&cap->counts->flows_lost, memory_order_relaxed));
    pack_worker_deaths(pk, cap->counts);
    pk_kv_double(pk, "cpu_user", timeval_seconds(ru.ru_utime));
    pk_kv_double(pk, "cpu_system", timeval_seconds(ru.ru_stime));
    pk_kv_u64(pk, "maxrss_kb", (uint64_t)ru.ru_maxrss);
    pk_kv_u64(pk, "events_dropped", cap->control.events_dropped);
    channel_event_end(&cap->control);
    channel_flush(&cap->control);
}

static bool is_client_connected(const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return false;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == 4 &&
            memcmp(k->via.str.ptr, "type", 4) == 0 && v->type == MSGPACK_OBJECT_STR &&
            v->via.str.size == 16 && memcmp(v->via.str.ptr, "client_connected", 16) == 0)
            return true;
    }
    return false;
}

/* The broker tells us when clients connect (for --wait-for-client). */
static void read_control(struct capture *cap)
{
    static char buf[CHANNEL_MAX_MESSAGE];
    msgpack_unpacked msg;
    ssize_t n;

    msgpack_unpacked_init(&msg);
    while ((n = recv(cap->pipeline->control_fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
        size_t off = 0;
        while (msgpack_unpack_next(&msg, buf, (size_t)n, &off) == MSGPACK_UNPACK_SUCCESS)
            if (is_client_connected(&msg.data))
                cap->client_connected = true;
    }
    msgpack_unpacked_destroy(&msg);
}

static void housekeeping(struct capture *cap)
{
    uint64_t now = monotonic_ms();

    read_control(cap);
    if (now - cap->last_stats_ms >= STATS_INTERVAL_MS) {
        cap->last_stats_ms = now;
        send_stats(cap);
    }
}

static bool wait_hook(void *ctx)
{
    struct capture *cap = ctx;

    housekeeping(cap);
    progress_update(&cap->progress);
    return !capture_stop_requested;
}

static uint64_t packet_ns(const struct pcap_pkthdr *h, bool nano)
{
    return (uint64_t)h->ts.tv_sec * 1000000000ull +
           (uint64_t)h->ts.tv_usec * (nano ? 1u : 1000u);
}

static void wait_for_client(struct capture *cap)
{
    log_info("waiting for a client to connect");
    while (!cap->client_connected && !capture_stop_requested) {
        housekeeping(cap);
        struct pollfd pfd = { .fd = cap->pipeline->control_fd, .events = POLLIN };
        poll(&pfd, 1, 100);
    }
}

/* Steers the packet replay_clock held, now that the next packet's stamp
 * (if any) says whether its own stamp is to be believed. */
static void steer_held(struct capture *cap, int index, bool has_next, uint64_t next_ns,
                       uint64_t number)
{
    struct source *s = &cap->sources[index];
    struct replay_clock *c = &cap->replay_clock;
    uint64_t stamp = c->held_ns;
    bool outlier;
    uint64_t ts = replay_clock_release(c, has_next, next_ns, &outlier);

    if (outlier && c->outliers == 1)
        log_warnx("%s: packet %llu is stamped %.3f s away from the packets around it: taken "
                  "at their time (this and any more are counted in capture.time_outliers)",
                  s->spec->name, (unsigned long long)number,
                  ((double)stamp - (double)ts) / 1e9);
    steer_packet(&cap->steer, (uint16_t)index, s->link_type, ts, c->held.len, c->held.caplen,
                 c->held_data);
    steer_tick(&cap->steer, ts);
}

static void replay_source(struct capture *cap, int index)
{
    struct source *s = &cap->sources[index];
    bool nano = pcap_get_tstamp_precision(s->pcap) == PCAP_TSTAMP_PRECISION_NANO;
    struct pcap_pkthdr *h;
    const u_char *data;
    uint64_t n = 0;
    int rc = 0;

    progress_file(&cap->progress, s->spec->label, s->pcap, s->file_size);
    replay_clock_reset(&cap->replay_clock);
    while (!capture_stop_requested && (rc = pcap_next_ex(s->pcap, &h, &data)) == 1) {
        uint64_t ts = packet_ns(h, nano);
        cap->progress.packets = ++n;
        if (cap->replay_clock.holding)
            steer_held(cap, index, true, ts, n - 1);
        if (!replay_clock_must_hold(&cap->replay_clock, ts) ||
            !replay_clock_hold(&cap->replay_clock, h, data, ts)) {
            replay_clock_take(&cap->replay_clock, ts);
            steer_packet(&cap->steer, (uint16_t)index, s->link_type, ts, h->len, h->caplen,
                         data);
            steer_tick(&cap->steer, ts);
        }
        if (n % HOUSEKEEPING_EVERY == 0) {
            housekeeping(cap);
            progress_update(&cap->progress);
        }
    }
    if (cap->replay_clock.holding)
        steer_held(cap, index, false, 0, n);
    progress_done(&cap->progress);
    if (!capture_stop_requested && rc == PCAP_ERROR) {
        cap->read_errors++;
        log_warnx("%s: read error after %llu packets: %s (the rest of the file is skipped)",
                  s->spec->name, (unsigned long long)n, pcap_geterr(s->pcap));
    }
    steer_publish_all(&cap->steer);
    log_debug("%s: %llu packets", s->spec->name, (unsigned long long)n);
}

struct live_ctx {
    struct capture *cap;
    int index;
    bool nano;
};

static void live_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    struct live_ctx *lc = (struct live_ctx *)user;
    struct source *s = &lc->cap->sources[lc->index];

    steer_packet(&lc->cap->steer, (uint16_t)lc->index, s->link_type, packet_ns(h, lc->nano),
                 h->len, h->caplen, data);
}

static uint64_t realtime_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Returns 0, or 1 when every capture handle failed. */
static int capture_live(struct capture *cap)
{
    struct pollfd pfds[FLOWSENSE_MAX_INTERFACES];
    struct live_ctx lcs[FLOWSENSE_MAX_INTERFACES];
    int open_sources = cap->n_sources;

    for (int i = 0; i < cap->n_sources; i++) {
        pfds[i].fd = cap->sources[i].selectable_fd;
        pfds[i].events = POLLIN;
        lcs[i].cap = cap;
        lcs[i].index = i;
        lcs[i].nano =
            pcap_get_tstamp_precision(cap->sources[i].pcap) == PCAP_TSTAMP_PRECISION_NANO;
    }
    while (!capture_stop_requested && open_sources > 0) {
        int rc = poll(pfds, (nfds_t)cap->n_sources, 100);
        if (rc < 0 && errno != EINTR)
            fatal("poll on capture handles");
        for (int i = 0; rc > 0 && i < cap->n_sources; i++) {
            struct source *s = &cap->sources[i];
            if (s->eof || !(pfds[i].revents & (POLLIN | POLLERR | POLLHUP)))
                continue;
            if (pcap_dispatch(s->pcap, LIVE_DISPATCH_BATCH, live_packet,
                              (u_char *)&lcs[i]) == PCAP_ERROR) {
                log_warnx("%s: capture failed: %s", s->spec->name, pcap_geterr(s->pcap));
                s->eof = true;
                pfds[i].fd = -1;
                open_sources--;
            }
        }
        steer_publish_all(&cap->steer);
        steer_tick(&cap->steer, realtime_ns());
        housekeeping(cap);
    }
    if (open_sources == 0) {
        log_warnx("no capture handle left: stopping");
        return 1;
    }
    return 0;
}

static void send_done(struct capture *cap)
{
    send_stats(cap);
    msgpack_packer *pk = channel_event_begin(&cap->control);
    msgpack_pack_map(pk, 1);
    pk_kv_str(pk, "type", "capture_done");
    channel_event_end(&cap->control);
    for (int tries = 0; channel_flush(&cap->control) != 0 && tries < 100; tries++)
        sleep_ms(100);
}

int capture_run(struct capture *cap)
{
    int status = 0;
    bool timed = cap->opts->count_only && !cap->opts->live;
    struct transport_timer timer;

    channel_writer_init(&cap->control, cap->pipeline->control_fd);
    steer_init(&cap->steer, cap->pipeline, !cap->opts->live, wait_hook, cap);
    if (cap->opts->wait_for_client)
        wait_for_client(cap);
    if (timed)
        transport_timer_start(&timer, cap->pipeline, &capture_stop_requested);
    if (cap->opts->live) {
        status = capture_live(cap);
    } else {
        unsigned shortest = cap->opts->ttl_idle_flow < cap->opts->ttl_idle_tcp_flow
                                ? cap->opts->ttl_idle_flow
                                : cap->opts->ttl_idle_tcp_flow;
        cap->replay_clock.jump_ns = (uint64_t)shortest * 1000000000ull;
        for (int i = 0; i < cap->n_sources && !capture_stop_requested; i++)
            replay_source(cap, i);
        replay_clock_free(&cap->replay_clock);
    }
    if (capture_stop_requested)
        log_info("stop requested: shutting down");
    /* The broker learns first that no packet will come, so it delivers the
     * tail (every open flow's purge) to its clients whole, even live; then
     * each worker finds the end marker on its ring. */
    send_done(cap);
    atomic_store_explicit(&cap->counts->capture_ending, 1, memory_order_release);
    steer_end(&cap->steer);
    if (timed)
        transport_timer_report(&timer, cap->pipeline, cap->steer.stats.packets,
                               &capture_stop_requested);
    channel_writer_destroy(&cap->control);
    return status;
}

/* The capture process keeps only what it uses: its sources, the rings'
 * producer side and its end of the control channel.  Listening sockets,
 * the children's channel ends and the ring memfds stay with the
 * supervisor, which hands them to restarted children. */
static void close_supervisor_descriptors(struct pipeline *p)
{
    for (int i = 0; i < p->n_workers; i++) {
        close(p->workers[i].ring_fd);
        close(p->workers[i].worker_channel_fd);
        close(p->workers[i].broker_channel_fd);
    }
    close(p->control_peer_fd);
    close(p->broker_progress_fd);
    for (int i = 0; i < p->n_listen; i++)
        close(p->listen_fds[i]);
}

pid_t capture_start(struct capture *cap)
{
    pid_t pid = fork();

    if (pid < 0)
        fatal("cannot fork the capture process");
    if (pid > 0)
        return pid;
    /* The supervisor owns the workers and the broker: without it the
     * capture has nobody to hand packets to. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1)
        _exit(1);
    signal(SIGCHLD, SIG_DFL);
    close_supervisor_descriptors(cap->pipeline);
    if (fcntl(cap->pipeline->control_fd, F_SETFL, O_NONBLOCK) != 0)
        fatal("fcntl(O_NONBLOCK) on the control channel");
    progress_init(&cap->progress, !cap->opts->live);
    sandbox_enter(cap->opts->user, "policy/capture.policy", capture_policy);
    exit(capture_run(cap));
}
