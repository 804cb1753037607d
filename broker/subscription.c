#include "subscription.h"

#include "channel.h"

#include <string.h>
#include <strings.h>

static bool equal_nocase(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && strncasecmp(a, b, alen) == 0;
}

bool subscription_name_matches(const char *pattern, const char *name, size_t name_len)
{
    size_t plen = strlen(pattern);

    /* Each start is the name's beginning or just after a dot: the tail
     * from there, and the part up to the next dot, are both candidates. */
    for (size_t start = 0; start <= name_len;) {
        const char *part = name + start;
        size_t tail = name_len - start;
        const char *dot = memchr(part, '.', tail);
        size_t part_len = dot ? (size_t)(dot - part) : tail;
        if (equal_nocase(pattern, plen, part, tail) || equal_nocase(pattern, plen, part, part_len))
            return true;
        if (dot == NULL)
            break;
        start += part_len + 1;
    }
    return false;
}

/* A list given matches a field the record has if one of its names does;
 * a record without the field is not selected by that list. */
static bool list_matches(const struct name_list *list, const struct field_ref *field, bool exact)
{
    if (list->n == 0 || field->ptr == NULL)
        return true;
    for (unsigned i = 0; i < list->n; i++) {
        const char *v = list->value[i];
        if (exact ? (strlen(v) == field->len && memcmp(v, field->ptr, field->len) == 0)
                  : subscription_name_matches(v, field->ptr, field->len))
            return true;
    }
    return false;
}

bool subscription_matches(const struct subscription *sub, const struct record_view *view)
{
    if (sub == NULL || view->type == RECORD_AGENT_HELLO)
        return true;
    if (sub->types != 0 && !(sub->types & (1u << view->type)))
        return false;
    return list_matches(&sub->interfaces, &view->interface, true) &&
           list_matches(&sub->protocols, &view->protocol, false) &&
           list_matches(&sub->applications, &view->application, false);
}

static bool key_is(const msgpack_object *key, const char *s)
{
    size_t n = strlen(s);

    return key->type == MSGPACK_OBJECT_STR && key->via.str.size == n &&
           memcmp(key->via.str.ptr, s, n) == 0;
}

static void take_str(struct field_ref *ref, const msgpack_object *val)
{
    if (val->type == MSGPACK_OBJECT_STR)
        *ref = (struct field_ref){ .ptr = val->via.str.ptr, .len = val->via.str.size };
}

static void take_names(struct record_view *view, const msgpack_object_map *names)
{
    for (uint32_t j = 0; j < names->size; j++) {
        if (key_is(&names->ptr[j].key, "detected_protocol_name"))
            take_str(&view->protocol, &names->ptr[j].val);
        else if (key_is(&names->ptr[j].key, "detected_application_name"))
            take_str(&view->application, &names->ptr[j].val);
    }
}

void record_view_from_event(struct record_view *view, enum record_type type,
                            const msgpack_object *event)
{
    *view = (struct record_view){ .type = type };
    if (event->type != MSGPACK_OBJECT_MAP)
        return;
    const msgpack_object_map *m = &event->via.map;
    bool counters = type == RECORD_FLOW_STATUS || type == RECORD_FLOW_PURGE;
    for (uint32_t i = 0; i < m->size; i++) {
        const msgpack_object *key = &m->ptr[i].key, *val = &m->ptr[i].val;
        if (key_is(key, "interface")) {
            take_str(&view->interface, val);
        } else if (type == RECORD_FLOW && key_is(key, "flow") && val->type == MSGPACK_OBJECT_MAP) {
            take_names(view, &val->via.map);
        } else if (counters && i + 1 == m->size && key_is(key, FLOW_ROUTE_KEY) &&
                   val->type == MSGPACK_OBJECT_MAP) {
            take_names(view, &val->via.map);
            view->routed = true;
        }
    }
}

const msgpack_object *record_view_shown(const struct record_view *view,
                                        const msgpack_object *event, msgpack_object *scratch)
{
    if (!view->routed)
        return event;
    *scratch = *event;
    scratch->via.map.size--; /* the route is the last key */
    return scratch;
}
