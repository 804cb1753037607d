/* flowsense-cat: connects to a flowsense (or netifyd) stream, optionally
 * subscribes, and prints the records as NDJSON or one human line each.
 *
 * Exit status: 0 the stream ended (or --count records were read), 1 the
 * sensor is not there or the stream broke, 2 the broker sent an error
 * record, 64 bad command line. */
#include "cat.h"
#include "number.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define EXIT_BROKEN 1
#define EXIT_REFUSED 2
#define EXIT_USAGE 64

static const char usage[] =
    "usage: flowsense-cat [--type T]... [--protocol P]... [--app A]... [--interface I]...\n"
    "                     [--pretty] [--count N] unix:PATH | tcp:HOST:PORT\n"
    "Prints the flowsense stream as NDJSON (one record per line) or, with --pretty,\n"
    "one short line per record.  Filters are sent as a subscription; each may repeat.\n";

struct cat_options {
    struct cat_filters filters;
    bool pretty;
    unsigned long count; /* 0: until the stream ends */
    const char *address;
};

static void usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "flowsense-cat: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", usage);
    exit(EXIT_USAGE);
}

static void add_filter(struct cat_filters *f, enum filter_kind k, const char *value)
{
    if (f->n[k] == CAT_MAX_FILTERS)
        usage_error("too many filters of one kind (at most 32): '%s'", value);
    if (*value == '\0')
        usage_error("empty filter value%s", "");
    f->value[k][f->n[k]++] = value;
}

static void parse_options(int argc, char **argv, struct cat_options *o)
{
    static const struct option longopts[] = {
        { "type", required_argument, NULL, 't' },     { "protocol", required_argument, NULL, 'p' },
        { "app", required_argument, NULL, 'a' },      { "interface", required_argument, NULL, 'i' },
        { "pretty", no_argument, NULL, 'P' },         { "count", required_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 },
    };
    int c;

    memset(o, 0, sizeof(*o));
    while ((c = getopt_long(argc, argv, "t:p:a:i:n:h", longopts, NULL)) != -1) {
        switch (c) {
        case 't':
            add_filter(&o->filters, FILTER_TYPES, optarg);
            break;
        case 'p':
            add_filter(&o->filters, FILTER_PROTOCOLS, optarg);
            break;
        case 'a':
            add_filter(&o->filters, FILTER_APPLICATIONS, optarg);
            break;
        case 'i':
            add_filter(&o->filters, FILTER_INTERFACES, optarg);
            break;
        case 'P':
            o->pretty = true;
            break;
        case 'n':
            if (parse_unsigned(optarg, 1, ULONG_MAX, &o->count) != 0)
                usage_error("--count: '%s' is not a number above 0", optarg);
            break;
        case 'h':
            fputs(usage, stdout);
            exit(0);
        default:
            fputs(usage, stderr);
            exit(EXIT_USAGE);
        }
    }
    if (optind != argc - 1)
        usage_error("expected one address, unix:PATH or tcp:HOST:PORT%s", "");
    o->address = argv[optind];
}

static int send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Prints one record; returns 0, or EXIT_REFUSED for an error record. */
static int print_record(const struct cat_options *o, const char *payload, size_t len)
{
    char perr[128];
    char *text = malloc(len + 1); /* yajl_tree_parse wants a C string */

    if (text == NULL) {
        fprintf(stderr, "flowsense-cat: out of memory\n");
        return EXIT_BROKEN;
    }
    memcpy(text, payload, len);
    text[len] = '\0';
    yajl_val r = yajl_tree_parse(text, perr, sizeof(perr));
    free(text);
    const char *type_path[] = { "type", NULL }, *msg_path[] = { "message", NULL };
    const char *type = r ? YAJL_GET_STRING(yajl_tree_get(r, type_path, yajl_t_string)) : NULL;
    int rc = 0;

    if (type != NULL && strcmp(type, "error") == 0) {
        const char *msg = YAJL_GET_STRING(yajl_tree_get(r, msg_path, yajl_t_string));
        fprintf(stderr, "flowsense-cat: the sensor refused the subscription: %s\n",
                msg ? msg : "(no message)");
        rc = EXIT_REFUSED;
    } else if (o->pretty && r != NULL) {
        pretty_print(r);
    } else {
        fwrite(payload, 1, len, stdout);
    }
    if (r != NULL)
        yajl_tree_free(r);
    return rc;
}

static int stream(const struct cat_options *o, int fd)
{
    struct frame_reader fr;
    char err[256];
    unsigned long seen = 0;
    int rc = 0;

    if (frame_reader_init(&fr, fd) != 0) {
        fprintf(stderr, "flowsense-cat: out of memory\n");
        return EXIT_BROKEN;
    }
    while (rc == 0 && (o->count == 0 || seen < o->count)) {
        const char *payload;
        size_t len;
        int got = frame_next(&fr, &payload, &len, err, sizeof(err));
        if (got == 0)
            break;
        if (got < 0) {
            fprintf(stderr, "flowsense-cat: %s: %s\n", o->address, err);
            rc = EXIT_BROKEN;
            break;
        }
        rc = print_record(o, payload, len);
        seen++;
        if (fflush(stdout) != 0) {
            perror("flowsense-cat: writing to stdout");
            rc = EXIT_BROKEN;
        }
    }
    frame_reader_destroy(&fr);
    return rc;
}

int main(int argc, char **argv)
{
    struct cat_options o;
    char err[512];
    bool failed;

    parse_options(argc, argv, &o);
    char *sub = cat_subscription(&o.filters, &failed);
    if (failed) {
        fprintf(stderr, "flowsense-cat: cannot build the subscription (out of memory)\n");
        return EXIT_BROKEN;
    }
    int fd = cat_connect(o.address, err, sizeof(err));
    if (fd < 0) {
        fprintf(stderr, "flowsense-cat: %s\n", err);
        free(sub);
        return EXIT_BROKEN;
    }
    if (sub != NULL && send_all(fd, sub, strlen(sub)) != 0) {
        perror("flowsense-cat: sending the subscription");
        free(sub);
        close(fd);
        return EXIT_BROKEN;
    }
    free(sub);
    int rc = stream(&o, fd);
    if (close(fd) != 0 && rc == 0)
        rc = EXIT_BROKEN;
    return rc;
}
