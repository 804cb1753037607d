#include "config.h"

#include "number.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define INTERFACE_SECTION "capture-interface-"
#define LOCAL_NETWORKS_SECTION "local-networks"
#define MAX_INDEX 99

struct config_parse {
    struct options *o;
    const char *path;
    FILE *file;
    unsigned line;          /* of the line inih handed to the handler last */
    unsigned long_line;     /* first line longer than inih's buffer, 0 if none */
    char *err;
    size_t errlen;
    bool failed;
    unsigned failed_line;
    /* [socket] listen_address[N] and listen_port[N] are paired by N. */
    const char *tcp_address[MAX_INDEX + 1];
    const char *tcp_port[MAX_INDEX + 1];
    unsigned tcp_line[MAX_INDEX + 1];
    /* Indexes given, so none is given twice: [local-networks] network[N],
     * and address[N] of each source. */
    bool network_seen[MAX_INDEX + 1];
    bool address_seen[FLOWSENSE_MAX_INTERFACES][MAX_INDEX + 1];
    bool user_kept; /* o->user is a copy of ours (a key given twice frees the first) */
};

static int reject(struct config_parse *c, const char *section, const char *key,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Keeps the first error; inih goes on, but nothing more is applied. */
static int reject(struct config_parse *c, const char *section, const char *key,
                  const char *fmt, ...)
{
    va_list ap;
    int n;

    if (c->failed)
        return 0;
    c->failed = true;
    c->failed_line = c->line;
    n = snprintf(c->err, c->errlen, "%s:%u: [%s] %s: ", c->path, c->line, section, key);
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < c->errlen)
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return 0;
}

/* Reads one line for inih, counting lines so errors can name theirs, and
 * refusing a line longer than inih's buffer instead of letting it split. */
static char *read_line(char *buf, int size, void *stream)
{
    struct config_parse *c = stream;

    if (fgets(buf, size, c->file) == NULL)
        return NULL;
    c->line++;
    size_t len = strlen(buf);
    if (len == (size_t)size - 1 && buf[len - 1] != '\n' && !feof(c->file)) {
        int ch;
        while ((ch = fgetc(c->file)) != EOF && ch != '\n')
            ;
        if (c->long_line == 0)
            c->long_line = c->line;
        buf[0] = '\0';
    }
    return buf;
}

static char *keep(const char *value)
{
    char *copy = strdup(value);

    if (copy == NULL) {
        fprintf(stderr, "flowsensed: out of memory reading the configuration\n");
        exit(1);
    }
    return copy;
}

/* "listen_path[3]" -> base "listen_path", index 3; no brackets: index 0. */
static bool split_index(const char *key, char *base, size_t base_len, unsigned *index)
{
    const char *open = strchr(key, '[');
    unsigned long n;

    if (open == NULL) {
        snprintf(base, base_len, "%s", key);
        *index = 0;
        return true;
    }
    size_t len = strlen(open);
    if (len < 3 || open[len - 1] != ']' || (size_t)(open - key) >= base_len)
        return false;
    char digits[8];
    if (len - 2 >= sizeof(digits))
        return false;
    memcpy(digits, open + 1, len - 2);
    digits[len - 2] = '\0';
    if (strcmp(digits, "0") == 0)
        n = 0;
    else if (parse_unsigned(digits, 1, MAX_INDEX, &n) != 0)
        return false;
    memcpy(base, key, (size_t)(open - key));
    base[open - key] = '\0';
    *index = (unsigned)n;
    return true;
}

static int number(struct config_parse *c, const char *section, const char *key,
                  const char *value, unsigned long min, unsigned long max, unsigned long *out)
{
    if (parse_unsigned(value, min, max, out) != 0)
        return reject(c, section, key, "'%s' is not a whole number from %lu to %lu", value, min,
                      max);
    return 1;
}

static int flowsense_key(struct config_parse *c, const char *key, const char *value)
{
    static const struct {
        const char *key;
        unsigned long min, max;
        size_t offset;
    } numbers[] = {
        { "update_interval", 1, 3600, offsetof(struct options, update_interval) },
        { "max_detection_pkts", 1, 1000, offsetof(struct options, max_detection_pkts) },
        { "ttl_idle_flow", 1, 86400, offsetof(struct options, ttl_idle_flow) },
        { "ttl_idle_tcp_flow", 1, 86400, offsetof(struct options, ttl_idle_tcp_flow) },
        { "max_flows", 16, 100000000, offsetof(struct options, max_flows) },
        { "dhc_max_entries", 16, 16777216, offsetof(struct options, dhc_max_entries) },
    };
    unsigned long n;

    for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
        if (strcmp(key, numbers[i].key) != 0)
            continue;
        if (!number(c, "flowsense", key, value, numbers[i].min, numbers[i].max, &n))
            return 0;
        *(unsigned *)((char *)c->o + numbers[i].offset) = (unsigned)n;
        return 1;
    }
    if (strcmp(key, "workers") == 0) {
        if (!number(c, "flowsense", key, value, 1, FLOWSENSE_MAX_WORKERS, &n))
            return 0;
        c->o->workers = (int)n;
        return 1;
    }
    if (strcmp(key, "user") == 0) {
        if (*value == '\0' || strlen(value) > 32 || strpbrk(value, ":/ \t") != NULL)
            return reject(c, "flowsense", key, "'%s' is not a user name", value);
        if (c->user_kept)
            free((char *)c->o->user);
        c->o->user = keep(value);
        c->user_kept = true;
        return 1;
    }
    return reject(c, "flowsense", key,
                  "unknown key (known: update_interval, max_detection_pkts, ttl_idle_flow, "
                  "ttl_idle_tcp_flow, max_flows, dhc_max_entries, workers, user)");
}

/* A copy of address becomes a listener; 1, or 0 when refused. */
static int add_listen(struct config_parse *c, const char *key, const char *address)
{
    char *copy = keep(address);
    const char *why = options_add_listen(c->o, copy);

    if (why == NULL)
        return 1;
    free(copy);
    return reject(c, "socket", key, "%s", why);
}

static int socket_key(struct config_parse *c, const char *key, const char *value)
{
    char base[32], address[600];
    unsigned index;
    unsigned long n;

    if (strcmp(key, "client_queue_kb") == 0) {
        if (!number(c, "socket", key, value, 64, 1u << 20, &n))
            return 0;
        c->o->client_queue = (unsigned)(n << 10);
        return 1;
    }
    if (strcmp(key, "dump_established_flows") == 0 || strcmp(key, "dump_unknown_flows") == 0) {
        bool *flag = strcmp(key, "dump_unknown_flows") == 0 ? &c->o->dump_unknown_flows
                                                            : &c->o->dump_established_flows;
        if (options_parse_bool(value, flag) != 0)
            return reject(c, "socket", key, "'%s' is not yes or no", value);
        return 1;
    }
    if (!split_index(key, base, sizeof(base), &index))
        return reject(c, "socket", key, "an index is written [0] to [%d]", MAX_INDEX);
    if (strcmp(base, "listen_path") == 0) {
        if (value[0] != '/')
            return reject(c, "socket", key, "'%s' is not an absolute path", value);
        snprintf(address, sizeof(address), "unix:%s", value);
        return add_listen(c, key, address);
    }
    if (strcmp(base, "listen_address") == 0 || strcmp(base, "listen_port") == 0) {
        bool is_port = base[7] == 'p';
        if (is_port && !number(c, "socket", key, value, 1, 65535, &n))
            return 0;
        if (!is_port && (*value == '\0' || strchr(value, ' ') != NULL))
            return reject(c, "socket", key, "'%s' is not an address", value);
        const char **slot = is_port ? &c->tcp_port[index] : &c->tcp_address[index];
        if (*slot != NULL)
            return reject(c, "socket", key, "given twice");
        *slot = keep(value);
        c->tcp_line[index] = c->line;
        return 1;
    }
    return reject(c, "socket", key,
                  "unknown key (known: listen_path[N], listen_address[N], listen_port[N], "
                  "client_queue_kb, dump_established_flows, dump_unknown_flows)");
}

/* network[N] or address[N] = CIDR, into list; seen[] catches an index
 * given twice. */
static int network_value(struct config_parse *c, const char *section, const char *key,
                         const char *value, bool seen[MAX_INDEX + 1],
                         struct ip_prefix_list *list)
{
    char base[32];
    unsigned index;
    struct ip_prefix p;

    if (!split_index(key, base, sizeof(base), &index))
        return reject(c, section, key, "an index is written [0] to [%d]", MAX_INDEX);
    if (seen[index])
        return reject(c, section, key, "given twice");
    seen[index] = true;
    const char *why = ip_prefix_parse(value, &p);
    if (why)
        return reject(c, section, key,
                      "'%s' is not a network: %s (write ADDRESS/LENGTH, e.g. 192.168.0.0/16 or "
                      "fd00::/8)",
                      value, why);
    if (ip_prefix_list_add(list, &p) < 0)
        return reject(c, section, key, "more than %d networks", IP_PREFIX_LIST_MAX);
    return 1;
}

static bool is_indexed(const char *key, const char *base)
{
    size_t n = strlen(base);

    return strncmp(key, base, n) == 0 && (key[n] == '\0' || key[n] == '[');
}

/* [local-networks]: defaults = yes|no, network[N] = CIDR. */
static int local_networks_key(struct config_parse *c, const char *key, const char *value)
{
    if (strcmp(key, "defaults") == 0) {
        bool yes;
        if (options_parse_bool(value, &yes) != 0)
            return reject(c, LOCAL_NETWORKS_SECTION, key, "'%s' is not yes or no", value);
        c->o->no_default_local_nets = !yes;
        return 1;
    }
    if (is_indexed(key, "network"))
        return network_value(c, LOCAL_NETWORKS_SECTION, key, value, c->network_seen,
                             &c->o->local_nets);
    return reject(c, LOCAL_NETWORKS_SECTION, key, "unknown key (known: defaults, network[N])");
}

static int interface_key(struct config_parse *c, const char *section, const char *key,
                         const char *value)
{
    const char *name = section + strlen(INTERFACE_SECTION);
    struct source_spec *s = NULL;

    for (int i = 0; i < c->o->n_sources; i++)
        if (c->o->sources[i].live && strcmp(c->o->sources[i].name, name) == 0)
            s = &c->o->sources[i];
    if (s == NULL) {
        char *copy = keep(name);
        const char *why = options_add_source(c->o, copy, true, true);
        if (why) {
            free(copy);
            return reject(c, section, key, "%s", why);
        }
        s = &c->o->sources[c->o->n_sources - 1];
    }
    if (strcmp(key, "role") == 0) {
        if (strcasecmp(value, "LAN") == 0)
            s->internal = true;
        else if (strcasecmp(value, "WAN") == 0)
            s->internal = false;
        else
            return reject(c, section, key, "'%s' is not LAN or WAN", value);
        return 1;
    }
    if (strcmp(key, "filter") == 0) {
        if (*value == '\0')
            return reject(c, section, key, "empty filter");
        /* Sources of the file are made here: an earlier filter is ours. */
        free((char *)s->bpf);
        s->bpf = keep(value);
        return 1;
    }
    if (is_indexed(key, "address"))
        return network_value(c, section, key, value, c->address_seen[s - c->o->sources],
                             &s->addresses);
    return reject(c, section, key, "unknown key (known: role, filter, address[N])");
}

static int on_value(void *user, const char *section, const char *key, const char *value)
{
    struct config_parse *c = user;

    if (c->failed)
        return 0;
    if (strcmp(section, "flowsense") == 0)
        return flowsense_key(c, key, value);
    if (strcmp(section, "socket") == 0)
        return socket_key(c, key, value);
    if (strncmp(section, INTERFACE_SECTION, strlen(INTERFACE_SECTION)) == 0 &&
        section[strlen(INTERFACE_SECTION)] != '\0')
        return interface_key(c, section, key, value);
    if (strcmp(section, LOCAL_NETWORKS_SECTION) == 0)
        return local_networks_key(c, key, value);
    return reject(c, section, key,
                  "unknown section (known: [flowsense], [socket], [capture-interface-NAME], "
                  "[local-networks])");
}

/* listen_address[N] with listen_port[N] -> "tcp:ADDRESS:PORT". */
static int pair_tcp_listeners(struct config_parse *c)
{
    for (unsigned i = 0; i <= MAX_INDEX && !c->failed; i++) {
        char address[600];
        if (c->tcp_address[i] == NULL && c->tcp_port[i] == NULL)
            continue;
        c->line = c->tcp_line[i];
        if (c->tcp_address[i] == NULL || c->tcp_port[i] == NULL) {
            char key[32];
            snprintf(key, sizeof(key), "%s[%u]", c->tcp_port[i] ? "listen_port" : "listen_address",
                     i);
            reject(c, "socket", key, "needs its %s[%u] as well",
                   c->tcp_port[i] ? "listen_address" : "listen_port", i);
            return -1;
        }
        snprintf(address, sizeof(address), "tcp:%s:%s", c->tcp_address[i], c->tcp_port[i]);
        if (!add_listen(c, "listen_address", address))
            return -1;
    }
    return c->failed ? -1 : 0;
}

/* What inih returned (rc), and the file's first problem, into a status. */
static int finish(struct config_parse *c, int rc)
{
    const char *path = c->path;
    char *err = c->err;
    size_t errlen = c->errlen;

    /* The first problem in the file is the one reported. */
    if (c->long_line != 0 && (!c->failed || c->long_line < c->failed_line)) {
        snprintf(err, errlen, "%s:%u: line too long", path, c->long_line);
        return -1;
    }
    /* inih's result is the first line with any error, ours included. */
    if (rc > 0 && (!c->failed || (unsigned)rc < c->failed_line)) {
        snprintf(err, errlen, "%s:%d: syntax error (expected [section], key = value, or a comment)",
                 path, rc);
        return -1;
    }
    if (c->failed)
        return -1;
    if (rc < 0) {
        snprintf(err, errlen, "%s: cannot read the file", path);
        return -1;
    }
    return pair_tcp_listeners(c);
}

int config_load(struct options *o, const char *path, bool must_exist, char *err,
                size_t errlen)
{
    struct config_parse c = { .o = o, .path = path, .err = err, .errlen = errlen };

    c.file = fopen(path, "r");
    if (c.file == NULL) {
        if (errno == ENOENT && !must_exist)
            return 0;
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return -1;
    }
    int rc = ini_parse_stream(read_line, &c, on_value, &c);
    fclose(c.file);
    rc = finish(&c, rc);
    /* The pairs became listen addresses of their own (or an error). */
    for (unsigned i = 0; i <= MAX_INDEX; i++) {
        free((char *)c.tcp_address[i]);
        free((char *)c.tcp_port[i]);
    }
    return rc;
}
