/* flowsense-cat: a command-line client of the flowsense stream. */
#ifndef FLOWSENSE_CAT_H
#define FLOWSENSE_CAT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <yajl/yajl_tree.h>

#define CAT_MAX_FILTERS 32 /* per kind, as the broker accepts */

/* The filters given on the command line, by subscription key. */
enum filter_kind { FILTER_TYPES, FILTER_PROTOCOLS, FILTER_APPLICATIONS, FILTER_INTERFACES, FILTERS };

struct cat_filters {
    const char *value[FILTERS][CAT_MAX_FILTERS];
    unsigned n[FILTERS];
};

/* connect.c: connects to unix:PATH or tcp:HOST:PORT (the syntax of
 * flowsensed --listen).  Returns the socket, or -1 with a message in err. */
int cat_connect(const char *address, char *err, size_t errlen);

/* subscribe.c: the subscription line for filters, newline included;
 * NULL when no filter is given (then nothing is sent) or memory is short
 * (*failed set).  Free it with free(). */
char *cat_subscription(const struct cat_filters *f, bool *failed);

/* frames.c: reads the netifyd framing ({"length":N}\n, then N bytes). */
struct frame_reader {
    int fd;
    char *buf;
    size_t cap, start, end; /* bytes [start, end) are read, not yet taken */
};

int frame_reader_init(struct frame_reader *r, int fd);
void frame_reader_destroy(struct frame_reader *r);
/* Returns 1 with the payload (its final newline included) in *payload,
 * valid until the next call; 0 at end of stream between records; -1
 * with a message in err when the stream breaks. */
int frame_next(struct frame_reader *r, const char **payload, size_t *len, char *err,
               size_t errlen);

/* pretty.c: one human line for a parsed record, newline included. */
void pretty_print(yajl_val record);

#endif
