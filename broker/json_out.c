#include "json_out.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUMBER_MAX 40

int json_out_init(struct json_out *out)
{
    memset(out, 0, sizeof(*out));
    out->gen = yajl_gen_alloc(NULL);
    if (out->gen == NULL)
        return -1;
    yajl_gen_config(out->gen, yajl_gen_beautify, 0);
    yajl_gen_config(out->gen, yajl_gen_validate_utf8, 0); /* our rewrite pass handles it */
    return 0;
}

void json_out_destroy(struct json_out *out)
{
    if (out->gen != NULL)
        yajl_gen_free(out->gen);
    free(out->buf);
    memset(out, 0, sizeof(*out));
}

/* Shortest text that reads back as the same value; a fraction or an
 * exponent is always shown so clients see a floating-point number. */
static size_t format_double(char *buf, double v, bool single)
{
    int first = single ? 6 : 15, last = single ? 9 : 17;
    int n = 0;

    for (int prec = first; prec <= last; prec++) {
        n = snprintf(buf, NUMBER_MAX, "%.*g", prec, v);
        double back = strtod(buf, NULL);
        if (single ? (float)back == (float)v : back == v)
            break;
    }
    if (strspn(buf, "-0123456789") == (size_t)n) {
        memcpy(buf + n, ".0", 3);
        n += 2;
    }
    return (size_t)n;
}

/* Decimal text of v into buf (NUMBER_MAX bytes); returns its length.
 * Every record carries a dozen integers: snprintf showed in profiles. */
static size_t format_u64(char *buf, uint64_t v, bool negative)
{
    char tmp[NUMBER_MAX];
    size_t n = 0, len = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (negative)
        buf[len++] = '-';
    while (n)
        buf[len++] = tmp[--n];
    return len;
}

/* Emits a value json_out_check() has accepted. */
static yajl_gen_status render_value(yajl_gen g, const msgpack_object *o)
{
    char num[NUMBER_MAX];
    yajl_gen_status st = yajl_gen_status_ok;

    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return yajl_gen_null(g);
    case MSGPACK_OBJECT_BOOLEAN:
        return yajl_gen_bool(g, o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return yajl_gen_number(g, num, format_u64(num, o->via.u64, false));
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        /* msgpack uses this type only below zero; negate in unsigned
         * arithmetic so INT64_MIN has a magnitude too. */
        return yajl_gen_number(g, num, format_u64(num, 0 - (uint64_t)o->via.i64, true));
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return yajl_gen_number(g, num,
                               format_double(num, o->via.f64, o->type == MSGPACK_OBJECT_FLOAT32));
    case MSGPACK_OBJECT_STR:
        return yajl_gen_string(g, (const unsigned char *)o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_ARRAY:
        st = yajl_gen_array_open(g);
        for (uint32_t i = 0; i < o->via.array.size && st == yajl_gen_status_ok; i++)
            st = render_value(g, &o->via.array.ptr[i]);
        return st == yajl_gen_status_ok ? yajl_gen_array_close(g) : st;
    case MSGPACK_OBJECT_MAP:
        st = yajl_gen_map_open(g);
        for (uint32_t i = 0; i < o->via.map.size && st == yajl_gen_status_ok; i++) {
            const msgpack_object_str *key = &o->via.map.ptr[i].key.via.str;
            st = yajl_gen_string(g, (const unsigned char *)key->ptr, key->size);
            if (st == yajl_gen_status_ok)
                st = render_value(g, &o->via.map.ptr[i].val);
        }
        return st == yajl_gen_status_ok ? yajl_gen_map_close(g) : st;
    default:
        return yajl_gen_invalid_string; /* json_out_check() lets none through */
    }
}

static int reserve(struct json_out *out, size_t need)
{
    if (need <= out->cap)
        return 0;
    size_t cap = out->cap ? out->cap : 4096;
    while (cap < need)
        cap *= 2;
    char *p = realloc(out->buf, cap);
    if (p == NULL) {
        out->error = "out of memory";
        return -1;
    }
    out->buf = p;
    out->cap = cap;
    return 0;
}

/* Lays out header + ASCII line in out->buf from yajl's UTF-8 text. */
static int frame(struct json_out *out, const char *json, size_t len)
{
    /* yajl ends a finished top-level value with a newline; we add our own. */
    while (len > 0 && json[len - 1] == '\n')
        len--;
    if (reserve(out, JSON_OUT_HEADER_ROOM + JSON_ASCII_MAX_GROWTH * len + 1) != 0)
        return -1;
    char *line = out->buf + JSON_OUT_HEADER_ROOM;
    size_t n = json_ascii_rewrite(line, json, len);
    line[n++] = '\n';
    out->line_len = n;

    char header[JSON_OUT_HEADER_ROOM];
    int h = snprintf(header, sizeof(header), "{\"length\":%zu}\n", n);
    out->header_len = (size_t)h;
    memcpy(line - h, header, (size_t)h);
    return 0;
}

int json_out_render(struct json_out *out, const msgpack_object *obj)
{
    out->line_len = 0;
    out->header_len = 0;
    out->error = NULL;
    yajl_gen_reset(out->gen, NULL); /* a failed render leaves it mid-document */
    yajl_gen_clear(out->gen);
    if (json_out_check(obj, JSON_OUT_MAX_DEPTH, &out->error) != 0)
        return -1;

    const unsigned char *json;
    size_t len;
    if (render_value(out->gen, obj) != yajl_gen_status_ok ||
        yajl_gen_get_buf(out->gen, &json, &len) != yajl_gen_status_ok) {
        out->error = "JSON generator failed";
        return -1;
    }
    return frame(out, (const char *)json, len);
}

const char *json_out_framed(const struct json_out *out, size_t *len)
{
    *len = out->header_len + out->line_len;
    return out->buf + JSON_OUT_HEADER_ROOM - out->header_len;
}

const char *json_out_line(const struct json_out *out, size_t *len)
{
    *len = out->line_len;
    return out->buf + JSON_OUT_HEADER_ROOM;
}

static int check_value(const msgpack_object *o, int depth, int max_depth, const char **why)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
    case MSGPACK_OBJECT_BOOLEAN:
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    case MSGPACK_OBJECT_STR:
        return 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (isfinite(o->via.f64))
            return 0;
        *why = "number is NaN or infinite";
        return -1;
    case MSGPACK_OBJECT_ARRAY:
    case MSGPACK_OBJECT_MAP:
        break;
    case MSGPACK_OBJECT_BIN:
        *why = "bin value";
        return -1;
    case MSGPACK_OBJECT_EXT:
        *why = "ext value";
        return -1;
    default:
        *why = "unknown msgpack type";
        return -1;
    }
    if (++depth > max_depth) {
        *why = "nested too deep";
        return -1;
    }
    if (o->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < o->via.array.size; i++)
            if (check_value(&o->via.array.ptr[i], depth, max_depth, why) != 0)
                return -1;
        return 0;
    }
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        if (o->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR) {
            *why = "map key is not a string";
            return -1;
        }
        if (check_value(&o->via.map.ptr[i].val, depth, max_depth, why) != 0)
            return -1;
    }
    return 0;
}

int json_out_check(const msgpack_object *obj, int max_depth, const char **why)
{
    if (obj->type != MSGPACK_OBJECT_MAP) {
        *why = "event is not a map";
        return -1;
    }
    return check_value(obj, 0, max_depth, why);
}

/* Decodes one UTF-8 sequence starting at a byte >= 0x80.  Returns the
 * bytes consumed; an ill-formed sequence yields U+FFFD and consumes its
 * maximal valid prefix (at least one byte), never an ASCII byte. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
    size_t more;
    uint32_t c;

    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        more = 1;
        c = s[0] & 0x1F;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        more = 2;
        c = s[0] & 0x0F;
        if (s[0] == 0xE0)
            lo = 0xA0; /* overlong */
        else if (s[0] == 0xED)
            hi = 0x9F; /* UTF-16 surrogates */
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        more = 3;
        c = s[0] & 0x07;
        if (s[0] == 0xF0)
            lo = 0x90; /* overlong */
        else if (s[0] == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        *cp = 0xFFFD; /* continuation byte, C0/C1 overlong lead, F5..FF */
        return 1;
    }
    for (size_t i = 1; i <= more; i++) {
        if (i >= n || s[i] < lo || s[i] > hi) {
            *cp = 0xFFFD;
            return i;
        }
        c = (c << 6) | (s[i] & 0x3F);
        lo = 0x80;
        hi = 0xBF;
    }
    *cp = c;
    return more + 1;
}

static size_t put_u16_escape(char *dst, uint32_t unit)
{
    static const char hex[] = "0123456789abcdef";

    dst[0] = '\\';
    dst[1] = 'u';
    dst[2] = hex[(unit >> 12) & 0xF];
    dst[3] = hex[(unit >> 8) & 0xF];
    dst[4] = hex[(unit >> 4) & 0xF];
    dst[5] = hex[unit & 0xF];
    return 6;
}

/* Length of the ASCII prefix of s, eight bytes at a time: records are
 * almost all ASCII, and this pass runs over every byte of the stream. */
static size_t ascii_run(const unsigned char *s, size_t len)
{
    size_t n = 0;
    uint64_t word;

    while (len - n >= 8) {
        memcpy(&word, s + n, 8);
        if (word & 0x8080808080808080ull)
            break;
        n += 8;
    }
    while (n < len && s[n] < 0x80)
        n++;
    return n;
}

size_t json_ascii_rewrite(char *dst, const char *src, size_t len)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t in = 0, out = 0;

    while (in < len) {
        size_t run = ascii_run(s + in, len - in);
        memcpy(dst + out, s + in, run);
        in += run;
        out += run;
        if (in == len)
            break;
        uint32_t cp;
        in += utf8_decode(s + in, len - in, &cp);
        if (cp < 0x10000) {
            out += put_u16_escape(dst + out, cp);
        } else {
            cp -= 0x10000;
            out += put_u16_escape(dst + out, 0xD800 + (cp >> 10));
            out += put_u16_escape(dst + out, 0xDC00 + (cp & 0x3FF));
        }
    }
    return out;
}
