/* flowsense-top: connects to a flowsense (or netifyd) stream and shows,
 * once a second, the top applications, protocols, hosts and flows by
 * bytes, with the sensor's status line; --batch prints them as text.
 *
 * Exit status: 0 quit (q, SIGTERM/SIGINT) or --batch/--once done, 1 the
 * sensor is not there or the stream broke, 64 bad command line. */
#include "../cat.h"
#include "top.h"
#include "number.h"

#include <curses.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_BROKEN 1
#define EXIT_USAGE 64
#define DEFAULT_ADDRESS "unix:/run/flowsense/flowsense.sock"
#define BURST 4096 /* records taken between two looks at the clock and keys */

static const char usage[] =
    "usage: flowsense-top [--batch SECONDS [--rows N]] [--once] [unix:PATH | tcp:HOST:PORT]\n"
    "A live console of the flowsense stream: top applications, protocols, hosts and\n"
    "flows by bytes, refreshed once a second (keys: a p h f choose the view, q quits).\n"
    "--batch prints the tables as text after SECONDS or at the end of the stream.\n"
    "The address defaults to " DEFAULT_ADDRESS ".\n";

struct top_options {
    unsigned long batch; /* seconds; 0: interactive */
    unsigned long rows;  /* per table, in --batch */
    bool once;
    const char *address;
};

/* The stream and what was learnt from it. */
struct session {
    struct frame_reader fr;
    struct top_state st;
    char *text; /* the payload as a C string, for yajl */
    size_t text_cap;
    bool ended, broken;
    char err[256];
};

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
    stop_signal = sig;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail with this clock */
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned long number_arg(const char *opt, const char *arg)
{
    unsigned long v;

    if (parse_unsigned(arg, 1, 1000000, &v) != 0) {
        fprintf(stderr, "flowsense-top: %s: '%s' is not a number from 1 to 1000000\n%s", opt, arg, usage);
        exit(EXIT_USAGE);
    }
    return v;
}

static void parse_options(int argc, char **argv, struct top_options *o)
{
    static const struct option longopts[] = {
        { "batch", required_argument, NULL, 'b' }, { "rows", required_argument, NULL, 'r' },
        { "once", no_argument, NULL, '1' },        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    *o = (struct top_options){ .rows = 10, .address = DEFAULT_ADDRESS };
    while ((c = getopt_long(argc, argv, "b:r:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'b':
            o->batch = number_arg("--batch", optarg);
            break;
        case 'r':
            o->rows = number_arg("--rows", optarg);
            break;
        case '1':
            o->once = true;
            break;
        case 'h':
            fputs(usage, stdout);
            exit(0);
        default:
            fputs(usage, stderr);
            exit(EXIT_USAGE);
        }
    }
    if (optind < argc - 1) {
        fprintf(stderr, "flowsense-top: expected at most one address\n%s", usage);
        exit(EXIT_USAGE);
    }
    if (optind == argc - 1)
        o->address = argv[optind];
}

/* Parses and applies one record; a payload that is not JSON is skipped. */
static int apply_payload(struct session *ss, const char *payload, size_t len)
{
    char perr[128];

    if (len + 1 > ss->text_cap) {
        char *p = realloc(ss->text, len + 1);
        if (p == NULL)
            return -1;
        ss->text = p;
        ss->text_cap = len + 1;
    }
    memcpy(ss->text, payload, len);
    ss->text[len] = '\0';
    yajl_val r = yajl_tree_parse(ss->text, perr, sizeof(perr));
    if (r != NULL) {
        top_apply(&ss->st, r, now());
        yajl_tree_free(r);
    }
    return 0;
}

/* Called when the socket is readable: takes one read's worth of records
 * (a record cut by the read is waited for: the sensor writes whole ones). */
static void take_records(struct session *ss)
{
    for (int i = 0; i < BURST && !ss->ended; i++) {
        const char *payload;
        size_t len;
        int got = frame_next(&ss->fr, &payload, &len, ss->err, sizeof(ss->err));
        if (got <= 0) {
            ss->ended = true;
            ss->broken = got < 0;
        } else if (apply_payload(ss, payload, len) != 0) {
            snprintf(ss->err, sizeof(ss->err), "out of memory");
            ss->ended = ss->broken = true;
        }
        if (ss->fr.start == ss->fr.end) /* nothing buffered: the next read would block */
            break;
    }
}

static const char *end_text(const struct session *ss, char *buf, size_t len)
{
    if (ss->broken)
        snprintf(buf, len, "%s", ss->err);
    else
        snprintf(buf, len, "%s", ss->ended ? "stream ended" : "live");
    return buf;
}

static int run_batch(const struct top_options *o, struct session *ss)
{
    double deadline = now() + (double)o->batch;
    char end[300];

    while (!ss->ended && !stop_signal) {
        double left = deadline - now();
        if (left <= 0)
            break;
        struct pollfd p = { .fd = ss->fr.fd, .events = POLLIN };
        int n = poll(&p, 1, (int)(left * 1000) + 1);
        if (n < 0 && errno != EINTR) {
            perror("flowsense-top: poll");
            return EXIT_BROKEN;
        }
        if (n > 0)
            take_records(ss);
    }
    if (!ss->ended)
        snprintf(end, sizeof(end), "after %lu s, stream still live", o->batch);
    else
        end_text(ss, end, sizeof(end));
    if (top_print_text(&ss->st, o->address, end, o->rows) != 0) {
        perror("flowsense-top: writing to stdout");
        return EXIT_BROKEN;
    }
    if (ss->broken)
        fprintf(stderr, "flowsense-top: %s: %s\n", o->address, ss->err);
    return ss->broken ? EXIT_BROKEN : 0;
}

/* Reads the keys waiting; returns false on q. */
static bool take_keys(struct top_screen *scr, bool *redraw)
{
    int ch;
    while ((ch = getch()) != ERR) {
        switch (ch) {
        case 'q':
        case 'Q':
            return false;
        case 'a':
            scr->view = VIEW_APPS;
            break;
        case 'p':
            scr->view = VIEW_PROTOS;
            break;
        case 'h':
            scr->view = VIEW_HOSTS;
            break;
        case 'f':
            scr->view = VIEW_FLOWS;
            break;
        default: /* KEY_RESIZE among them: curses has resized, redraw */
            break;
        }
        *redraw = true;
    }
    return true;
}

static int run_console(const struct top_options *o, struct session *ss)
{
    struct top_screen scr = { .view = VIEW_APPS, .address = o->address, .state = "live" };
    char state[300];
    double next_draw = 0;

    if (screen_open() != 0) {
        fprintf(stderr, "flowsense-top: cannot start the terminal (is TERM set?); try --batch\n");
        return EXIT_BROKEN;
    }
    bool running = true;
    while (running && !stop_signal) {
        bool redraw = false;
        if (now() >= next_draw) {
            flow_expire(&ss->st.flows, now());
            redraw = true;
        }
        if (ss->ended && scr.state != state) { /* show the end at once */
            char why[sizeof(state) - 16];
            snprintf(state, sizeof(state), "%s%s", end_text(ss, why, sizeof(why)),
                     o->once ? "" : " (q quits)");
            scr.state = state;
            redraw = true;
        }
        if (redraw) {
            screen_draw(&scr, &ss->st);
            next_draw = now() + 1.0;
            if (ss->ended && o->once)
                break;
        }
        struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN },
                               { .fd = ss->ended ? -1 : ss->fr.fd, .events = POLLIN } };
        double left = next_draw - now();
        int n = poll(p, 2, left > 0 ? (int)(left * 1000) + 1 : 0);
        if (n < 0 && errno != EINTR) {
            screen_close();
            perror("flowsense-top: poll");
            return EXIT_BROKEN;
        }
        /* A resize interrupts poll; getch then returns KEY_RESIZE. */
        running = take_keys(&scr, &redraw);
        if (n > 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
            take_records(ss);
        if (redraw && running)
            next_draw = 0;
    }
    screen_close();
    if (ss->broken)
        fprintf(stderr, "flowsense-top: %s: %s\n", o->address, ss->err);
    return o->once && ss->broken ? EXIT_BROKEN : 0;
}

int main(int argc, char **argv)
{
    struct top_options o;
    struct session ss = { 0 };
    char err[512];

    parse_options(argc, argv, &o);
    struct sigaction sa = { .sa_handler = on_stop }; /* no SA_RESTART: poll returns */
    if (sigemptyset(&sa.sa_mask) != 0 || sigaction(SIGTERM, &sa, NULL) != 0 ||
        sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGHUP, &sa, NULL) != 0) {
        perror("flowsense-top: sigaction");
        return EXIT_BROKEN;
    }
    int fd = cat_connect(o.address, err, sizeof(err));
    if (fd < 0) {
        fprintf(stderr, "flowsense-top: %s\n", err);
        return EXIT_BROKEN;
    }
    if (frame_reader_init(&ss.fr, fd) != 0 || top_state_init(&ss.st) != 0) {
        fprintf(stderr, "flowsense-top: out of memory\n");
        close(fd);
        return EXIT_BROKEN;
    }
    int rc = o.batch > 0 ? run_batch(&o, &ss) : run_console(&o, &ss);
    frame_reader_destroy(&ss.fr);
    top_state_destroy(&ss.st);
    free(ss.text);
    if (close(fd) != 0 && rc == 0)
        rc = EXIT_BROKEN;
    return rc;
}
