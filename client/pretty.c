/* --pretty: one short line per record, the fields a person looks at. */
#include "cat.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The value at a path of keys (NULL-terminated), or NULL. */
static yajl_val at(yajl_val v, const char *k1, const char *k2)
{
    const char *path[] = { k1, k2, NULL };
    return yajl_tree_get(v, path, yajl_t_any);
}

/* Text of a string or number value, "-" when absent.  Control
 * characters (a decoded \n) become '?', so a record stays one line. */
static const char *text(yajl_val v, char *buf, size_t len)
{
    if (YAJL_IS_STRING(v)) {
        const unsigned char *s = (const unsigned char *)YAJL_GET_STRING(v);
        size_t i = 0;
        for (; s[i] != '\0' && i + 1 < len; i++)
            buf[i] = s[i] < 0x20 || s[i] == 0x7f ? '?' : (char)s[i];
        buf[i] = '\0';
        return buf;
    }
    if (YAJL_IS_NUMBER(v)) {
        snprintf(buf, len, "%s", YAJL_GET_NUMBER(v));
        return buf;
    }
    if (YAJL_IS_TRUE(v))
        return "true";
    if (YAJL_IS_FALSE(v))
        return "false";
    return "-";
}

/* Each field of one line is written into its own buffer, slot s. */
#define T(s, k1, k2) text(at(r, k1, k2), b[s], sizeof(b[s]))

static const char *ip_protocol(yajl_val r, char *buf, size_t len)
{
    const char *p = text(at(r, "flow", "ip_protocol"), buf, len);
    return strcmp(p, "6") == 0 ? "tcp" : strcmp(p, "17") == 0 ? "udp" : p;
}

void pretty_print(yajl_val r)
{
    char b[11][256];
    const char *type = T(0, "type", NULL);

    if (strcmp(type, "flow") == 0) {
        printf("flow        %s %s %s:%s -> %s:%s %s app=%s host=%s digest=%.12s\n",
               T(1, "interface", NULL), ip_protocol(r, b[2], sizeof(b[2])), T(3, "flow", "local_ip"),
               T(4, "flow", "local_port"), T(5, "flow", "other_ip"), T(6, "flow", "other_port"),
               T(7, "flow", "detected_protocol_name"), T(8, "flow", "detected_application_name"),
               T(9, "flow", "host_server_name"), T(10, "flow", "digest"));
    } else if (strcmp(type, "flow_status") == 0 || strcmp(type, "flow_purge") == 0) {
        bool has_reason = at(r, "reason", NULL) != NULL;
        printf("%-11s %s digest=%.12s%s%s packets=%s bytes=%s\n", type, T(1, "interface", NULL),
               T(2, "flow", "digest"), has_reason ? " reason=" : "",
               has_reason ? T(3, "reason", NULL) : "", T(4, "flow", "total_packets"),
               T(5, "flow", "total_bytes"));
    } else if (strcmp(type, "agent_status") == 0) {
        printf("agent_status flows=%s clients=%s cpu_user=%s cpu_system=%s maxrss_kb=%s\n",
               T(1, "flows", NULL), T(2, "clients", "connected"), T(3, "cpu_user", NULL),
               T(4, "cpu_system", NULL), T(5, "maxrss_kb", NULL));
    } else if (strcmp(type, "agent_hello") == 0) {
        printf("agent_hello json_version=%s %s\n", T(1, "json_version", NULL),
               T(2, "build_version", NULL));
    } else if (strcmp(type, "error") == 0) {
        printf("error       %s\n", T(1, "message", NULL));
    } else {
        printf("%s\n", type);
    }
}
