/* Client subscriptions: which records a client wants.
 *
 * A client that never writes gets every record.  A client may instead
 * send, before anything else, one line:
 *   {"subscribe":{"types":[...],"protocols":[...],"applications":[...],
 *                 "interfaces":[...]}}
 * Every key of "subscribe" is optional; a key left out matches
 * everything, and a record must match every key given.  A filter applies
 * to the records that carry its field:
 *   types         the record's "type" (agent_hello is always sent first,
 *                 agent_status only if listed when types is given);
 *   protocols     flow.detected_protocol_name;
 *   applications  flow.detected_application_name;
 *   interfaces    the record's "interface" (exact, case-sensitive).
 * Protocol and application names match case-insensitively, as the whole
 * name or as any part of it between dots, or any tail after a dot:
 * "whatsapp", "netify.whatsapp" and "142" all match "142.netify.whatsapp",
 * "TLS" matches "TLS" and "TLS.Google".  flow_status and flow_purge
 * carry no protocol or application in their JSON: the worker adds the
 * names of the flow's last `flow` record under FLOW_ROUTE_KEY (channel.h),
 * the last key of the event, which selects them and is never rendered.
 *
 * Matching reads a struct record_view, taken once per record from its
 * msgpack event before it is rendered; no JSON is parsed per client. */
#ifndef FLOWSENSE_BROKER_SUBSCRIPTION_H
#define FLOWSENSE_BROKER_SUBSCRIPTION_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SUBSCRIPTION_MAX_VALUES 32 /* per list */
#define SUBSCRIPTION_VALUE_MAX 64  /* bytes per name, NUL included */

enum record_type {
    RECORD_AGENT_HELLO,
    RECORD_AGENT_STATUS,
    RECORD_FLOW,
    RECORD_FLOW_STATUS,
    RECORD_FLOW_PURGE,
    RECORD_TYPES,
};

/* The fields of one record that subscriptions look at; strings point
 * into the record (not NUL-terminated), NULL when the record has none. */
struct field_ref {
    const char *ptr;
    size_t len;
};

struct record_view {
    enum record_type type;
    struct field_ref interface, protocol, application;
    bool routed; /* the event ends with FLOW_ROUTE_KEY, which is not shown */
};

struct name_list {
    unsigned n; /* 0: the key was not given, everything matches */
    char value[SUBSCRIPTION_MAX_VALUES][SUBSCRIPTION_VALUE_MAX];
};

struct subscription {
    uint32_t types; /* bit (1 << enum record_type); 0: every type */
    struct name_list protocols, applications, interfaces;
};

/* Parses one command line (without its newline).  Returns 0 with *sub
 * filled, or -1 with a message for the client in err. */
int subscription_parse(const char *line, size_t len, struct subscription *sub, char *err,
                       size_t errlen);

/* Fills view from a checked flow, flow_status or flow_purge event. */
void record_view_from_event(struct record_view *view, enum record_type type,
                            const msgpack_object *event);

/* The event as clients see it: without its route (a shallow copy in
 * scratch), or event itself when it has none. */
const msgpack_object *record_view_shown(const struct record_view *view,
                                        const msgpack_object *event, msgpack_object *scratch);

/* Whether a client with subscription sub (NULL: none) gets the record. */
bool subscription_matches(const struct subscription *sub, const struct record_view *view);

/* Whether name matches pattern under the protocol/application rule. */
bool subscription_name_matches(const char *pattern, const char *name, size_t name_len);

#endif
