#include "dns_answer.h"

#include <stdbool.h>
#include <string.h>

#define DNS_HEADER_SIZE 12
#define DNS_NAME_WIRE_MAX 255
#define TYPE_A 1
#define TYPE_CNAME 5
#define TYPE_AAAA 28
#define CLASS_IN 1

static const char *const status_names[DNS_ANSWER_STATUS_COUNT] = {
    [DNS_ANSWER_OK] = "ok",
    [DNS_ANSWER_NOT_RESPONSE] = "not_response",
    [DNS_ANSWER_NOT_QUERY] = "not_query",
    [DNS_ANSWER_ERROR_RCODE] = "error_rcode",
    [DNS_ANSWER_NO_ADDRESS] = "no_address",
    [DNS_ANSWER_TRUNCATED] = "truncated",
    [DNS_ANSWER_BAD_QUESTION_COUNT] = "bad_question_count",
    [DNS_ANSWER_TOO_MANY_RECORDS] = "too_many_records",
    [DNS_ANSWER_BAD_LABEL] = "bad_label",
    [DNS_ANSWER_BAD_POINTER] = "bad_pointer",
    [DNS_ANSWER_NAME_TOO_LONG] = "name_too_long",
    [DNS_ANSWER_BAD_NAME_CHAR] = "bad_name_char",
    [DNS_ANSWER_BAD_RDATA] = "bad_rdata",
    [DNS_ANSWER_CHAIN_TOO_LONG] = "chain_too_long",
};

const char *dns_answer_status_name(enum dns_answer_status s)
{
    return (unsigned)s < DNS_ANSWER_STATUS_COUNT ? status_names[s] : "unknown";
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One answer record, checked, located by offsets into the message. */
struct record {
    uint16_t owner;     /* offset of the owner name */
    uint16_t type, class;
    uint16_t rdata, rdlength;
    uint32_t ttl;
    bool followed;      /* a CNAME already added to the chain */
};

static bool label_byte_ok(uint8_t c)
{
    return c > 0x20 && c < 0x7f && c != '.';
}

static char lower(uint8_t c)
{
    return (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
}

/* Reads the name at *off into out (lowercase text, DNS_NAME_MAX + 1
 * bytes) and moves *off past the name where it sits: after the root
 * label or the first pointer.  Each pointer must point before the start
 * of the labels that led to it, so positions only go back: no loop. */
static enum dns_answer_status read_name(const uint8_t *msg, size_t len, size_t *off, char *out)
{
    size_t pos = *off, segment = *off, end = 0, wire = 0, text = 0;
    int hops = 0;

    for (;;) {
        if (pos >= len)
            return DNS_ANSWER_TRUNCATED;
        uint8_t c = msg[pos];
        if ((c & 0xc0) == 0xc0) {
            if (pos + 1 >= len)
                return DNS_ANSWER_TRUNCATED;
            size_t target = (size_t)(c & 0x3f) << 8 | msg[pos + 1];
            if (end == 0)
                end = pos + 2;
            if (target >= segment || target < DNS_HEADER_SIZE || ++hops > DNS_POINTER_HOPS_MAX)
                return DNS_ANSWER_BAD_POINTER;
            pos = segment = target;
            continue;
        }
        if (c & 0xc0)
            return DNS_ANSWER_BAD_LABEL;
        if (c == 0)
            break;
        /* Labels plus the root byte fit 255 bytes: the text fits 253. */
        wire += 1u + c;
        if (wire + 1 > DNS_NAME_WIRE_MAX)
            return DNS_ANSWER_NAME_TOO_LONG;
        if (pos + 1 + c > len)
            return DNS_ANSWER_TRUNCATED;
        if (text > 0)
            out[text++] = '.';
        for (size_t i = 1; i <= c; i++) {
            if (!label_byte_ok(msg[pos + i]))
                return DNS_ANSWER_BAD_NAME_CHAR;
            out[text++] = lower(msg[pos + i]);
        }
        pos += 1u + c;
    }
    out[text] = '\0';
    *off = end != 0 ? end : pos + 1;
    return DNS_ANSWER_OK;
}

/* Reads and checks one answer record at *off. */
static enum dns_answer_status read_record(const uint8_t *msg, size_t len, size_t *off,
                                          struct record *r)
{
    char name[DNS_NAME_MAX + 1];
    enum dns_answer_status st;

    r->owner = (uint16_t)*off;
    if ((st = read_name(msg, len, off, name)) != DNS_ANSWER_OK)
        return st;
    if (*off + 10 > len)
        return DNS_ANSWER_TRUNCATED;
    r->type = rd16(msg + *off);
    r->class = rd16(msg + *off + 2);
    r->ttl = rd32(msg + *off + 4);
    r->rdlength = rd16(msg + *off + 8);
    r->rdata = (uint16_t)(*off + 10);
    r->followed = false;
    *off += 10;
    if (*off + r->rdlength > len)
        return DNS_ANSWER_TRUNCATED;
    *off += r->rdlength;
    if (r->class != CLASS_IN)
        return DNS_ANSWER_OK; /* read past, never used */
    if ((r->type == TYPE_A && r->rdlength != 4) || (r->type == TYPE_AAAA && r->rdlength != 16))
        return DNS_ANSWER_BAD_RDATA;
    if (r->type == TYPE_CNAME) {
        /* The target name must fill the record data exactly. */
        size_t at = r->rdata;
        if ((st = read_name(msg, r->rdata + (size_t)r->rdlength, &at, name)) != DNS_ANSWER_OK)
            return st == DNS_ANSWER_TRUNCATED ? DNS_ANSWER_BAD_RDATA : st;
        if (at != (size_t)r->rdata + r->rdlength)
            return DNS_ANSWER_BAD_RDATA;
    }
    return DNS_ANSWER_OK;
}

struct chain {
    char names[DNS_CNAME_CHAIN_MAX + 1][DNS_NAME_MAX + 1];
    unsigned n;
};

static bool in_chain(const struct chain *c, const char *name)
{
    for (unsigned i = 0; i < c->n; i++)
        if (strcmp(c->names[i], name) == 0)
            return true;
    return false;
}

/* The owner name of r is one of the chain's names.  Names were checked
 * when the records were read, so reading them again cannot fail. */
static bool owner_in_chain(const uint8_t *msg, size_t len, const struct record *r,
                           const struct chain *c)
{
    char name[DNS_NAME_MAX + 1];
    size_t at = r->owner;

    return read_name(msg, len, &at, name) == DNS_ANSWER_OK && in_chain(c, name);
}

/* Adds the targets of CNAMEs owned by chain names, until none is new;
 * each pass adds at least one name or ends. */
static enum dns_answer_status follow_cnames(const uint8_t *msg, size_t len, struct record *recs,
                                            unsigned n, struct chain *c)
{
    for (bool grew = true; grew;) {
        grew = false;
        for (unsigned i = 0; i < n; i++) {
            struct record *r = &recs[i];
            if (r->type != TYPE_CNAME || r->class != CLASS_IN || r->followed ||
                !owner_in_chain(msg, len, r, c))
                continue;
            r->followed = true;
            char target[DNS_NAME_MAX + 1];
            size_t at = r->rdata;
            if (read_name(msg, len, &at, target) != DNS_ANSWER_OK || in_chain(c, target))
                continue;
            if (c->n == DNS_CNAME_CHAIN_MAX + 1)
                return DNS_ANSWER_CHAIN_TOO_LONG;
            memcpy(c->names[c->n++], target, sizeof(target));
            grew = true;
        }
    }
    return DNS_ANSWER_OK;
}

static void collect_addresses(const uint8_t *msg, size_t len, const struct record *recs,
                              unsigned n, const struct chain *c, struct dns_answer *out)
{
    for (unsigned i = 0; i < n; i++) {
        const struct record *r = &recs[i];
        if ((r->type != TYPE_A && r->type != TYPE_AAAA) || r->class != CLASS_IN ||
            !owner_in_chain(msg, len, r, c))
            continue;
        struct dns_answer_address *a = &out->addresses[out->n_addresses++];
        memset(a->ip, 0, sizeof(a->ip));
        memcpy(a->ip, msg + r->rdata, r->rdlength);
        a->ip_version = r->type == TYPE_A ? 4 : 6;
        /* RFC 2181: a TTL with the top bit set means zero. */
        a->ttl = r->ttl & 0x80000000u ? 0 : r->ttl;
    }
}

static enum dns_answer_status check_header(const uint8_t *msg, size_t len)
{
    if (len < DNS_HEADER_SIZE)
        return DNS_ANSWER_TRUNCATED;
    uint16_t flags = rd16(msg + 2);
    if (!(flags & 0x8000))
        return DNS_ANSWER_NOT_RESPONSE;
    if ((flags >> 11) & 0x0f)
        return DNS_ANSWER_NOT_QUERY;
    if (flags & 0x000f)
        return DNS_ANSWER_ERROR_RCODE;
    if (rd16(msg + 4) != 1)
        return DNS_ANSWER_BAD_QUESTION_COUNT;
    if (rd16(msg + 6) > DNS_ANSWER_MAX_RECORDS)
        return DNS_ANSWER_TOO_MANY_RECORDS;
    return DNS_ANSWER_OK;
}

enum dns_answer_status dns_answer_parse(const uint8_t *msg, size_t len, struct dns_answer *out)
{
    struct record recs[DNS_ANSWER_MAX_RECORDS];
    struct chain chain;
    enum dns_answer_status st;
    size_t off = DNS_HEADER_SIZE;

    out->qname[0] = '\0';
    out->n_addresses = 0;
    /* Offsets are kept in 16 bits: a UDP payload never needs more. */
    if (len > UINT16_MAX)
        len = UINT16_MAX;
    if ((st = check_header(msg, len)) != DNS_ANSWER_OK)
        return st;
    unsigned n = rd16(msg + 6);
    if ((st = read_name(msg, len, &off, out->qname)) != DNS_ANSWER_OK)
        return st;
    if (off + 4 > len)
        return DNS_ANSWER_TRUNCATED;
    off += 4; /* qtype, qclass */
    for (unsigned i = 0; i < n; i++)
        if ((st = read_record(msg, len, &off, &recs[i])) != DNS_ANSWER_OK)
            return st;
    if (out->qname[0] == '\0')
        return DNS_ANSWER_NO_ADDRESS; /* the root: no name to learn */
    memcpy(chain.names[0], out->qname, sizeof(out->qname));
    chain.n = 1;
    if ((st = follow_cnames(msg, len, recs, n, &chain)) != DNS_ANSWER_OK)
        return st;
    collect_addresses(msg, len, recs, n, &chain, out);
    return out->n_addresses > 0 ? DNS_ANSWER_OK : DNS_ANSWER_NO_ADDRESS;
}
