/* flowsense-top: a live console of the flowsense stream (top applications,
 * protocols, hosts and flows by bytes). */
#ifndef FLOWSENSE_TOP_H
#define FLOWSENSE_TOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>

#define TOP_FLOW_MAX 65536u    /* flows held at once */
#define TOP_TALLY_MAX 8192u    /* names per tally; later ones count as "(other)" */
#define TOP_PURGED_LINGER 60.0 /* seconds a purged flow stays in the flows view */
#define TOP_LABEL 128          /* a name, cut to fit */

/* tally.c: bytes and flows per name (an application, protocol or host).
 * Names are never removed, so an index stays valid. */
struct tally_entry {
    char name[TOP_LABEL];
    uint64_t bytes, flows;
};

struct tally {
    struct tally_entry *entries;
    uint32_t *slots; /* open addressing: entry index + 1, 0 = empty */
    uint32_t n;
};

int tally_init(struct tally *t);
void tally_destroy(struct tally *t);
/* The index of name's entry, added when new. */
uint32_t tally_find(struct tally *t, const char *name);

/* flows.c: the flows seen, by digest, at most TOP_FLOW_MAX. */
struct top_flow {
    char digest[41];
    char app[TOP_LABEL], proto[TOP_LABEL], host[TOP_LABEL];
    char local_ip[48], other_ip[48];
    unsigned local_port, other_port, ip_protocol;
    uint64_t bytes, packets;
    uint32_t tally[4]; /* its entries in apps, protos, hosts (local), hosts (remote) */
    uint32_t generation; /* bumped on every reuse of the slot */
    bool used, purged;
    double purged_at; /* monotonic seconds */
};

struct flow_table {
    struct top_flow *flows;
    uint32_t *bucket, *next; /* chains of index + 1 */
    uint32_t free_head;      /* index + 1 of a free slot, chained by next */
    uint32_t n;
    struct { uint32_t index, generation; } *purged; /* purged flows, oldest first */
    uint32_t purged_head, purged_n;
};

int flow_table_init(struct flow_table *ft);
void flow_table_destroy(struct flow_table *ft);
struct top_flow *flow_find(struct flow_table *ft, const char *digest);
/* A cleared flow for digest; makes room by evicting the oldest purged
 * flow when full; NULL when every flow is still active. */
struct top_flow *flow_add(struct flow_table *ft, const char *digest);
void flow_mark_purged(struct flow_table *ft, struct top_flow *f, double now);
/* Forgets the flows purged more than TOP_PURGED_LINGER before now. */
void flow_expire(struct flow_table *ft, double now);

/* The latest agent_status, as the status line shows it. */
struct agent_summary {
    bool seen;
    uint64_t packets, drops, flows, clients;
};

/* records.c: everything the console knows. */
enum top_tally { TALLY_APPS, TALLY_PROTOS, TALLY_HOSTS, TALLIES };

struct top_state {
    struct flow_table flows;
    struct tally tally[TALLIES];
    struct agent_summary status;
    uint64_t records, untracked, unjoined;
};

int top_state_init(struct top_state *s);
void top_state_destroy(struct top_state *s);
/* Applies one record (a parsed JSON object) at monotonic time now. */
void top_apply(struct top_state *s, yajl_val record, double now);

/* rows.c: the rows of a view, sorted by bytes (then name). */
enum top_view { VIEW_APPS, VIEW_PROTOS, VIEW_HOSTS, VIEW_FLOWS, VIEWS };

struct top_row {
    char label[3 * TOP_LABEL + 2 * 48 + 64]; /* a flow: names, addresses, ports */
    uint64_t bytes, count;
};

extern const char *const top_view_title[VIEWS];
extern const char *const top_view_count[VIEWS]; /* what the count column is */
/* Fills at most max rows of view; returns how many. */
size_t top_rows(const struct top_state *s, enum top_view v, struct top_row *rows, size_t max);
/* The status line's text, without a newline. */
void top_status_line(const struct top_state *s, char *buf, size_t len);

/* text.c: --batch output. */
int top_print_text(const struct top_state *s, const char *address, const char *end, size_t max_rows);

/* screen.c: the ncurses console. */
struct top_screen {
    enum top_view view;
    const char *address;
    const char *state; /* "live", "stream ended (q quits)", ... */
};
int screen_open(void);
void screen_draw(const struct top_screen *scr, const struct top_state *s);
void screen_close(void);

#endif
