#include "ssdp.h"

#include <string.h>
#include <strings.h>

static bool blank(uint8_t c) { return c == ' ' || c == '\t'; }

/* The value of line [p, end) when its name is `name`, else NULL. */
static const uint8_t *header_value(const uint8_t *p, const uint8_t *end, const char *name)
{
    size_t n = strlen(name);

    if ((size_t)(end - p) <= n || p[n] != ':' || strncasecmp((const char *)p, name, n) != 0)
        return NULL;
    p += n + 1;
    while (p < end && blank(*p))
        p++;
    return p;
}

static void copy_value(char *out, size_t cap, const uint8_t *v, const uint8_t *end)
{
    while (end > v && blank(end[-1]))
        end--;
    size_t n = (size_t)(end - v);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, v, n);
    out[n] = '\0';
}

bool ssdp_headers(const uint8_t *payload, size_t len, char *user_agent, char *server,
                  size_t cap)
{
    const uint8_t *p = payload, *end = payload + len;
    bool start_line = true;

    user_agent[0] = server[0] = '\0';
    while (p < end) {
        const uint8_t *cr = memchr(p, '\r', (size_t)(end - p));
        if (cr == NULL || cr + 1 >= end || cr[1] != '\n')
            return !start_line; /* a line cut short ends the headers */
        if (cr == p)
            break; /* the empty line */
        const uint8_t *v;
        if (start_line)
            start_line = false;
        else if ((v = header_value(p, cr, "USER-AGENT")) != NULL && !user_agent[0])
            copy_value(user_agent, cap, v, cr);
        else if ((v = header_value(p, cr, "SERVER")) != NULL && !server[0])
            copy_value(server, cap, v, cr);
        p = cr + 2;
    }
    return !start_line;
}
