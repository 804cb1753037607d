/* The subscription command, parsed with yajl's tree API.  The line is
 * hostile: every shape other than the documented one is an error whose
 * message tells the client what was wrong. */
#include "subscription.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

static const char *const type_names[RECORD_TYPES] = {
    [RECORD_AGENT_HELLO] = "agent_hello", [RECORD_AGENT_STATUS] = "agent_status",
    [RECORD_FLOW] = "flow",               [RECORD_FLOW_STATUS] = "flow_status",
    [RECORD_FLOW_PURGE] = "flow_purge",
};

/* Key names echoed in messages are cut, so a client cannot make its
 * error record large. */
#define ECHO_MAX 64

static int type_bit(const char *name, uint32_t *bit)
{
    for (unsigned i = 0; i < RECORD_TYPES; i++) {
        if (strcmp(name, type_names[i]) == 0) {
            *bit = 1u << i;
            return 0;
        }
    }
    return -1;
}

/* A list of names: a non-empty array of non-empty, bounded strings. */
static int parse_names(const char *key, yajl_val v, struct name_list *list, char *err,
                       size_t errlen)
{
    if (!YAJL_IS_ARRAY(v)) {
        snprintf(err, errlen, "\"%s\" must be an array of strings", key);
        return -1;
    }
    size_t n = v->u.array.len;
    if (n == 0 || n > SUBSCRIPTION_MAX_VALUES) {
        snprintf(err, errlen, "\"%s\" must list 1 to %d names (leave it out to get all)", key,
                 SUBSCRIPTION_MAX_VALUES);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        yajl_val s = v->u.array.values[i];
        if (!YAJL_IS_STRING(s)) {
            snprintf(err, errlen, "\"%s\" must be an array of strings", key);
            return -1;
        }
        size_t len = strlen(s->u.string);
        if (len == 0 || len >= SUBSCRIPTION_VALUE_MAX) {
            snprintf(err, errlen, "\"%s\": names must be 1 to %d bytes long", key,
                     SUBSCRIPTION_VALUE_MAX - 1);
            return -1;
        }
        memcpy(list->value[i], s->u.string, len + 1);
    }
    list->n = (unsigned)n;
    return 0;
}

static int parse_types(const struct name_list *names, uint32_t *types, char *err, size_t errlen)
{
    for (unsigned i = 0; i < names->n; i++) {
        uint32_t bit;
        if (type_bit(names->value[i], &bit) != 0) {
            snprintf(err, errlen, "unknown record type \"%.*s\"", ECHO_MAX, names->value[i]);
            return -1;
        }
        *types |= bit;
    }
    return 0;
}

static bool seen_before(yajl_val obj, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (strcmp(obj->u.object.keys[j], obj->u.object.keys[i]) == 0)
            return true;
    return false;
}

static int parse_filters(yajl_val obj, struct subscription *sub, char *err, size_t errlen)
{
    if (!YAJL_IS_OBJECT(obj)) {
        snprintf(err, errlen, "\"subscribe\" must be an object");
        return -1;
    }
    for (size_t i = 0; i < obj->u.object.len; i++) {
        const char *key = obj->u.object.keys[i];
        yajl_val v = obj->u.object.values[i];
        struct name_list types = { 0 };
        int rc;

        if (seen_before(obj, i)) {
            snprintf(err, errlen, "key \"%.*s\" given twice", ECHO_MAX, key);
            return -1;
        }
        if (strcmp(key, "types") == 0)
            rc = parse_names(key, v, &types, err, errlen) == 0
                     ? parse_types(&types, &sub->types, err, errlen)
                     : -1;
        else if (strcmp(key, "protocols") == 0)
            rc = parse_names(key, v, &sub->protocols, err, errlen);
        else if (strcmp(key, "applications") == 0)
            rc = parse_names(key, v, &sub->applications, err, errlen);
        else if (strcmp(key, "interfaces") == 0)
            rc = parse_names(key, v, &sub->interfaces, err, errlen);
        else {
            snprintf(err, errlen,
                     "unknown key \"%.*s\" in \"subscribe\" (known: types, protocols, "
                     "applications, interfaces)",
                     ECHO_MAX, key);
            rc = -1;
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

static int parse_command(yajl_val root, struct subscription *sub, char *err, size_t errlen)
{
    if (!YAJL_IS_OBJECT(root)) {
        snprintf(err, errlen, "a command must be a JSON object");
        return -1;
    }
    if (root->u.object.len == 0) {
        snprintf(err, errlen, "empty command (expected {\"subscribe\":{...}})");
        return -1;
    }
    for (size_t i = 0; i < root->u.object.len; i++) {
        const char *key = root->u.object.keys[i];
        if (strcmp(key, "subscribe") != 0 || i > 0) {
            snprintf(err, errlen, "unknown key \"%.*s\" (the only command is \"subscribe\")",
                     ECHO_MAX, key);
            return -1;
        }
    }
    return parse_filters(root->u.object.values[0], sub, err, errlen);
}

int subscription_parse(const char *line, size_t len, struct subscription *sub, char *err,
                       size_t errlen)
{
    char yajl_err[128];

    memset(sub, 0, sizeof(*sub));
    if (memchr(line, '\0', len) != NULL) {
        snprintf(err, errlen, "command holds a NUL byte");
        return -1;
    }
    char *text = malloc(len + 1); /* yajl_tree_parse wants a C string */
    if (text == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(text, line, len);
    text[len] = '\0';
    yajl_err[0] = '\0';
    yajl_val root = yajl_tree_parse(text, yajl_err, sizeof(yajl_err));
    free(text);
    if (root == NULL) {
        /* yajl's message goes on to quote the input: keep its first line */
        yajl_err[strcspn(yajl_err, "\r\n")] = '\0';
        snprintf(err, errlen, "command is not valid JSON: %s", yajl_err[0] ? yajl_err : "?");
        return -1;
    }
    int rc = parse_command(root, sub, err, errlen);
    yajl_tree_free(root);
    if (rc != 0)
        memset(sub, 0, sizeof(*sub));
    return rc;
}
