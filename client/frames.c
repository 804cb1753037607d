#include "cat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEADER_MAX 64          /* {"length":N}\n with room for netifyd 4's space */
#define PAYLOAD_MAX (64u << 20) /* far above any record: a bigger one is a broken stream */
#define READ_MIN 65536

int frame_reader_init(struct frame_reader *r, int fd)
{
    *r = (struct frame_reader){ .fd = fd, .cap = 2 * READ_MIN };
    r->buf = malloc(r->cap);
    return r->buf != NULL ? 0 : -1;
}

void frame_reader_destroy(struct frame_reader *r)
{
    free(r->buf);
    r->buf = NULL;
}

/* Reads more, keeping room for want bytes from start.  Returns the bytes
 * read, 0 at end of file, -1 on error (errno set). */
static ssize_t fill(struct frame_reader *r, size_t want)
{
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (want + READ_MIN > r->cap) {
        char *p = realloc(r->buf, want + READ_MIN);
        if (p == NULL) {
            errno = ENOMEM;
            return -1;
        }
        r->buf = p;
        r->cap = want + READ_MIN;
    }
    ssize_t n;
    do {
        n = read(r->fd, r->buf + r->end, r->cap - r->end);
    } while (n < 0 && errno == EINTR);
    if (n > 0)
        r->end += (size_t)n;
    return n;
}

/* Parses {"length":N} (spaces allowed where netifyd 4 put one). */
static int parse_header(const char *h, size_t len, size_t *n)
{
    static const char prefix[] = "{\"length\":";
    size_t i = sizeof(prefix) - 1, v = 0, digits = 0;

    if (len < i || memcmp(h, prefix, i) != 0)
        return -1;
    while (i < len && h[i] == ' ')
        i++;
    for (; i < len && h[i] >= '0' && h[i] <= '9' && digits < 10; i++, digits++)
        v = v * 10 + (size_t)(h[i] - '0');
    while (i < len && h[i] == ' ')
        i++;
    if (digits == 0 || i + 1 != len || h[i] != '}' || v < 2 || v > PAYLOAD_MAX)
        return -1;
    *n = v;
    return 0;
}

static int broken(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "stream broken: %s", what);
    return -1;
}

int frame_next(struct frame_reader *r, const char **payload, size_t *len, char *err,
               size_t errlen)
{
    char *nl;
    size_t n;

    while ((nl = memchr(r->buf + r->start, '\n', r->end - r->start)) == NULL) {
        if (r->end - r->start > HEADER_MAX)
            return broken(err, errlen, "a header line longer than 64 bytes");
        ssize_t got = fill(r, HEADER_MAX);
        if (got < 0) {
            snprintf(err, errlen, "stream broken: read: %s", strerror(errno));
            return -1;
        }
        if (got == 0)
            return r->end == r->start ? 0 : broken(err, errlen, "it ended inside a header");
    }
    size_t header_len = (size_t)(nl - (r->buf + r->start));
    if (parse_header(r->buf + r->start, header_len, &n) != 0)
        return broken(err, errlen, "a header is not {\"length\":N}");
    r->start += header_len + 1;
    while (r->end - r->start < n) {
        ssize_t got = fill(r, n);
        if (got < 0) {
            snprintf(err, errlen, "stream broken: read: %s", strerror(errno));
            return -1;
        }
        if (got == 0)
            return broken(err, errlen, "it ended inside a record");
    }
    *payload = r->buf + r->start;
    *len = n;
    r->start += n;
    if ((*payload)[n - 1] != '\n' || memchr(*payload, '\n', n - 1) != NULL)
        return broken(err, errlen, "a record is not one line of the announced length");
    return 1;
}
