/* msgpack → the client wire format.
 *
 * One event (a msgpack map whose keys are the JSON field names) becomes
 * one compact, ASCII-only JSON line: yajl generates the JSON, then one
 * pass rewrites every non-ASCII UTF-8 sequence as \uXXXX (surrogate
 * pairs above U+FFFF, \ufffd for invalid bytes).  The rendered line is
 * available framed for socket clients ({"length":N}\n + line, N counting
 * the line's final newline) or bare for NDJSON on stdout.
 *
 * A struct json_out owns its generator and buffers and reuses them from
 * one record to the next, so rendering allocates only while a record is
 * larger than every record before it. */
#ifndef FLOWSENSE_BROKER_JSON_OUT_H
#define FLOWSENSE_BROKER_JSON_OUT_H

#include <msgpack.h>
#include <stddef.h>
#include <yajl/yajl_gen.h>

/* Containers nested deeper than this (the top-level map is depth 1) are
 * rejected: no record needs them and a hostile peer could use them to
 * exhaust the stack. */
#define JSON_OUT_MAX_DEPTH 8

/* Room kept in front of the line for the framing header. */
#define JSON_OUT_HEADER_ROOM 32

struct json_out {
    yajl_gen gen;
    char *buf; /* header room, then the line */
    size_t cap;
    size_t line_len;   /* JSON plus its final newline */
    size_t header_len; /* the header sits just before the line */
    const char *error; /* why the last render failed */
};

/* Returns 0, or -1 when memory is short. */
int json_out_init(struct json_out *out);
void json_out_destroy(struct json_out *out);

/* Renders one event.  Returns 0, or -1 with out->error set when obj is
 * not renderable: non-string map key, bin or ext value, NaN or infinite
 * number, nesting deeper than JSON_OUT_MAX_DEPTH. */
int json_out_render(struct json_out *out, const msgpack_object *obj);

/* The last rendered record: framed for socket clients, or as one
 * newline-terminated NDJSON line. */
const char *json_out_framed(const struct json_out *out, size_t *len);
const char *json_out_line(const struct json_out *out, size_t *len);

/* Checks, without rendering, that obj is a map json_out_render would
 * accept, with containers nested at most max_depth deep (lower than
 * JSON_OUT_MAX_DEPTH for objects that get embedded in a record later).
 * Returns 0, or -1 with *why set. */
int json_out_check(const msgpack_object *obj, int max_depth, const char **why);

/* Rewrites JSON text as ASCII: bytes below 0x80 are copied, each UTF-8
 * sequence becomes \uXXXX, each invalid sequence (maximal ill-formed
 * subpart, as Unicode recommends) becomes \ufffd.  dst must hold
 * JSON_ASCII_MAX_GROWTH * len bytes.  Returns the bytes written. */
#define JSON_ASCII_MAX_GROWTH 6
size_t json_ascii_rewrite(char *dst, const char *src, size_t len);

#endif
