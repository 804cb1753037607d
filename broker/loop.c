#define _GNU_SOURCE /* ppoll */

#include "broker.h"

#include "log.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>

#define POLL_MAX (1 + FLOWSENSE_MAX_WORKERS + FLOWSENSE_MAX_LISTENERS + CLIENT_MAX)
#define ACCEPTS_PER_WAKEUP 16
#define LISTEN_PAUSE_SECONDS 1 /* after running out of descriptors */
#define FULL_CHECK_MS 100      /* how often to look at full clients */
#define COMMAND_CHECK_MS 250   /* how often to look for overdue command lines */

static volatile sig_atomic_t terminate_requested;
static sigset_t term_only;

static void on_sigterm(int sig)
{
    (void)sig;
    terminate_requested = 1;
}

/* No SA_RESTART: SIGTERM interrupts a blocking write to stdout. */
void broker_signals_init(void)
{
    struct sigaction ignore = { .sa_handler = SIG_IGN };
    struct sigaction term = { .sa_handler = on_sigterm };

    sigemptyset(&term.sa_mask);
    if (sigaction(SIGINT, &ignore, NULL) != 0 || sigaction(SIGPIPE, &ignore, NULL) != 0 ||
        sigaction(SIGTERM, &term, NULL) != 0)
        fatal("sigaction");
    sigemptyset(&term_only);
    sigaddset(&term_only, SIGTERM);
}

bool broker_terminating(void)
{
    return terminate_requested;
}

/* What one pollfd entry stands for. */
struct poll_target {
    enum { TARGET_CHANNEL, TARGET_LISTENER, TARGET_CLIENT } kind;
    void *ptr;
    int fd;
};

struct poll_set {
    struct pollfd pfd[POLL_MAX];
    struct poll_target target[POLL_MAX];
    nfds_t n;
};

static void poll_add(struct poll_set *ps, int fd, short events, int kind, void *ptr)
{
    ps->pfd[ps->n] = (struct pollfd){ .fd = fd, .events = events };
    ps->target[ps->n] = (struct poll_target){ .kind = kind, .ptr = ptr, .fd = fd };
    ps->n++;
}

static int64_t ms_until(const struct timespec *when, const struct timespec *now)
{
    int64_t ms =
        (int64_t)(when->tv_sec - now->tv_sec) * 1000 + (when->tv_nsec - now->tv_nsec) / 1000000;
    return ms > 0 ? ms : 0;
}

static bool reached(const struct timespec *when, const struct timespec *now)
{
    return now->tv_sec > when->tv_sec ||
           (now->tv_sec == when->tv_sec && now->tv_nsec >= when->tv_nsec);
}

static void build_poll_set(struct broker *b, struct poll_set *ps, const struct timespec *now,
                           const struct timespec *listen_resume)
{
    ps->n = 0;
    /* Clients first: a subscription that has arrived applies before the
     * events read in the same wake-up. */
    for (unsigned i = 0; i < CLIENT_MAX; i++) {
        struct client *c = &b->clients.slot[i];
        if (c->fd < 0)
            continue;
        /* A refused or half-closed client is only written to (POLLHUP
         * and POLLERR are reported anyway). */
        short in = client_takes_records(c) && !c->input_closed ? POLLIN : 0;
        poll_add(ps, c->fd, in | (client_has_output(c) ? POLLOUT : 0), TARGET_CLIENT, c);
    }
    if (b->phase != BROKER_FLUSHING) {
        if (b->control.open)
            poll_add(ps, b->control.fd, POLLIN, TARGET_CHANNEL, &b->control);
        /* No new events while a client is full, so the workers wait;
         * but never while a live capture is running. */
        bool take_events = b->clients.full == 0 || (b->opt.live && b->phase == BROKER_RUNNING);
        /* A replay for clients has none yet: after a restart of ours, it
         * waits until its client has reconnected, as at its start. */
        if (b->opt.wait_for_client && b->phase == BROKER_RUNNING && b->clients.accepted == 0)
            take_events = false;
        for (unsigned i = 0; i < b->opt.workers && take_events; i++)
            if (b->worker[i].open)
                poll_add(ps, b->worker[i].fd, POLLIN, TARGET_CHANNEL, &b->worker[i]);
        /* Listeners stay polled at CLIENT_MAX: a client over it is
         * refused at once rather than left in the backlog. */
        if (reached(listen_resume, now))
            for (unsigned i = 0; i < b->opt.listeners; i++)
                poll_add(ps, b->listen_fd[i], POLLIN, TARGET_LISTENER, &b->listen_fd[i]);
    }
}

static void notify_client_connected(struct broker *b)
{
    if (!b->control.open)
        return;
    msgpack_packer *pk = channel_event_begin(&b->control_out);
    msgpack_pack_map(pk, 1);
    pk_kv_str(pk, "type", "client_connected");
    channel_event_end(&b->control_out);
    channel_flush(&b->control_out);
}

/* Returns false when accepting must pause (out of descriptors). */
static bool accept_clients(struct broker *b, int listen_fd)
{
    for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
        errno = 0;
        uint64_t refused = b->clients.refused;
        struct client *c = client_accept(&b->clients, listen_fd);
        if (c == NULL && b->clients.refused != refused)
            continue;
        if (c == NULL)
            return errno != EMFILE && errno != ENFILE && errno != ENOBUFS && errno != ENOMEM;
        broker_greet(b, c);
        /* Its subscription is usually there already: take it before
         * the first event reaches the client. */
        if (c->fd >= 0)
            broker_client_input(b, c);
        broker_replay_begin(b, c);
        notify_client_connected(b);
    }
    return true;
}

static void handle_ready(struct broker *b, struct poll_set *ps, struct timespec *listen_resume)
{
    for (nfds_t i = 0; i < ps->n; i++) {
        short re = ps->pfd[i].revents;
        struct poll_target *t = &ps->target[i];
        if (re == 0)
            continue;
        if (t->kind == TARGET_CHANNEL) {
            broker_read_channel(b, t->ptr);
        } else if (t->kind == TARGET_LISTENER) {
            /* replaced (listener_replaced) since poll: that fd is closed */
            if (*(const int *)t->ptr != t->fd)
                continue;
            if (!accept_clients(b, t->fd)) {
                clock_gettime(CLOCK_MONOTONIC, listen_resume);
                listen_resume->tv_sec += LISTEN_PAUSE_SECONDS;
            }
        } else {
            struct client *c = t->ptr;
            /* the slot may have been closed, even reused, since poll */
            if (c->fd != t->fd)
                continue;
            if (!client_takes_records(c) || c->input_closed) {
                if (re & (POLLHUP | POLLERR))
                    client_close(&b->clients, c, "peer gone");
            } else if (re & (POLLIN | POLLHUP | POLLERR)) {
                broker_client_input(b, c);
            }
        }
    }
}

static void flush_clients(struct broker *b)
{
    for (unsigned i = 0; i < CLIENT_MAX; i++) {
        struct client *c = &b->clients.slot[i];
        if (c->fd >= 0 && client_has_output(c))
            client_flush(&b->clients, c);
    }
}

static bool output_pending(const struct broker *b)
{
    for (unsigned i = 0; i < CLIENT_MAX; i++)
        if (b->clients.slot[i].fd >= 0 && client_has_output(&b->clients.slot[i]))
            return true;
    return false;
}

/* Moves through the phases; returns false when it is time to exit. */
/* Publishes the progress for flowsensed; a flush after a capture's end
 * goes on while bytes leave (SIGTERM's short flush does not wait). */
static void note_progress(struct broker *b, const struct timespec *now)
{
    uint64_t progress = b->clients.bytes_sent + b->events_received;

    if (progress == b->progress_seen)
        return;
    b->progress_seen = progress;
    progress_publish(b->progress, progress);
    if (b->phase == BROKER_FLUSHING && !terminate_requested) {
        b->flush_deadline = *now;
        b->flush_deadline.tv_sec += BROKER_FLUSH_SECONDS;
    }
}

static bool advance_phase(struct broker *b, const struct timespec *now)
{
    if (terminate_requested)
        broker_begin_flush(b, BROKER_TERM_FLUSH_SECONDS, "SIGTERM");
    if (b->phase == BROKER_DRAINING && b->workers_open == 0) {
        /* Every counter is final now: clients of a replay get the totals. */
        broker_publish_status(b);
        broker_begin_flush(b, BROKER_FLUSH_SECONDS, "every worker channel is at its end");
    }
    if (b->phase != BROKER_FLUSHING)
        return true;
    if (!output_pending(b))
        return false;
    if (reached(&b->flush_deadline, now)) {
        log_warnx("clients still had output queued and none was sent for the flush time; "
                  "closing them");
        return false;
    }
    return true;
}

static void status_tick(struct broker *b, const struct timespec *now)
{
    if (b->phase == BROKER_FLUSHING || !reached(&b->next_status, now))
        return;
    broker_publish_status(b);
    b->next_status.tv_sec += b->opt.update_interval;
    if (reached(&b->next_status, now)) /* we fell behind: do not burst */
        b->next_status.tv_sec = now->tv_sec + b->opt.update_interval;
}

int broker_run(struct broker *b)
{
    static struct poll_set ps;
    struct timespec now, listen_resume = { 0, 0 };

    clock_gettime(CLOCK_MONOTONIC, &now);
    b->next_status = now;
    b->next_status.tv_sec += b->opt.update_interval;
    if (b->stdout_open)
        broker_greet(b, NULL);

    for (;;) {
        /* SIGTERM stays blocked from the flag check until ppoll() waits,
         * so a request cannot slip in between and go unnoticed. */
        sigset_t wait_mask;
        if (sigprocmask(SIG_BLOCK, &term_only, &wait_mask) != 0)
            fatal("sigprocmask");
        clock_gettime(CLOCK_MONOTONIC, &now);
        note_progress(b, &now);
        if (!advance_phase(b, &now))
            break;
        build_poll_set(b, &ps, &now, &listen_resume);
        int64_t ms =
            ms_until(b->phase == BROKER_FLUSHING ? &b->flush_deadline : &b->next_status, &now);
        if (!reached(&listen_resume, &now) && ms_until(&listen_resume, &now) < ms)
            ms = ms_until(&listen_resume, &now);
        if (b->clients.full > 0 && ms > FULL_CHECK_MS)
            ms = FULL_CHECK_MS;
        if (ms > COMMAND_CHECK_MS && broker_commands_pending(b))
            ms = COMMAND_CHECK_MS;
        int64_t replay_ms = broker_replay_wait_ms(b);
        if (replay_ms >= 0 && replay_ms < ms)
            ms = replay_ms;
        struct timespec timeout = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
        int ready = ppoll(ps.pfd, ps.n, &timeout, &wait_mask);
        if (ready < 0 && errno != EINTR)
            fatal("ppoll");
        if (sigprocmask(SIG_SETMASK, &wait_mask, NULL) != 0)
            fatal("sigprocmask");
        if (ready < 0)
            continue;
        handle_ready(b, &ps, &listen_resume);
        broker_replay_fill(b);
        flush_clients(b);
        client_set_drop_stalled(&b->clients);
        broker_expire_commands(b);
        flush_clients(b); /* error records of clients cut off just now */
        clock_gettime(CLOCK_MONOTONIC, &now);
        status_tick(b, &now);
    }
    client_set_close_all(&b->clients);
    log_info("stopped: %llu events received, %llu rejected, %llu clients served, %llu refused "
             "(too many), %llu dropped as slow, %llu subscribed, %llu commands refused",
             (unsigned long long)b->events_received, (unsigned long long)b->events_malformed,
             (unsigned long long)b->clients.accepted, (unsigned long long)b->clients.refused,
             (unsigned long long)b->clients.dropped_slow,
             (unsigned long long)b->clients.subscribed,
             (unsigned long long)b->clients.rejected_commands);
    return 0;
}
