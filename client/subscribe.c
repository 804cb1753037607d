#include "cat.h"

#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

static const char *const keys[FILTERS] = { "types", "protocols", "applications", "interfaces" };

static bool gen_str(yajl_gen g, const char *s)
{
    return yajl_gen_string(g, (const unsigned char *)s, strlen(s)) == yajl_gen_status_ok;
}

/* yajl escapes the values, so a name with quotes still makes valid JSON. */
static bool gen_subscription(yajl_gen g, const struct cat_filters *f)
{
    bool ok = yajl_gen_map_open(g) == yajl_gen_status_ok && gen_str(g, "subscribe") &&
              yajl_gen_map_open(g) == yajl_gen_status_ok;
    for (int k = 0; k < FILTERS && ok; k++) {
        if (f->n[k] == 0)
            continue;
        ok = gen_str(g, keys[k]) && yajl_gen_array_open(g) == yajl_gen_status_ok;
        for (unsigned i = 0; i < f->n[k] && ok; i++)
            ok = gen_str(g, f->value[k][i]);
        ok = ok && yajl_gen_array_close(g) == yajl_gen_status_ok;
    }
    return ok && yajl_gen_map_close(g) == yajl_gen_status_ok &&
           yajl_gen_map_close(g) == yajl_gen_status_ok;
}

char *cat_subscription(const struct cat_filters *f, bool *failed)
{
    const unsigned char *json;
    size_t len;
    char *line = NULL;

    *failed = false;
    if (f->n[FILTER_TYPES] + f->n[FILTER_PROTOCOLS] + f->n[FILTER_APPLICATIONS] +
            f->n[FILTER_INTERFACES] ==
        0)
        return NULL;
    yajl_gen g = yajl_gen_alloc(NULL);
    if (g == NULL || !gen_subscription(g, f) || yajl_gen_get_buf(g, &json, &len) != yajl_gen_status_ok ||
        (line = malloc(len + 2)) == NULL) {
        *failed = true;
    } else {
        memcpy(line, json, len);
        line[len] = '\n';
        line[len + 1] = '\0';
    }
    if (g != NULL)
        yajl_gen_free(g);
    return line;
}
