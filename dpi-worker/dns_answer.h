/* A small, strict parser of DNS responses, for the DNS hint cache: it
 * reads the header, the one question and the answer section, and gives
 * the A and AAAA addresses that answer the question name, directly or
 * through a chain of CNAMEs (each address maps to the QUESTION name, as
 * netifyd's cache does).  The authority and additional sections are not
 * read.  Every length and pointer is checked; nothing is allocated. */
#ifndef FLOWSENSE_WORKER_DNS_ANSWER_H
#define FLOWSENSE_WORKER_DNS_ANSWER_H

#include <stddef.h>
#include <stdint.h>

/* Text form of a name, without the final dot: at most 253 characters. */
#define DNS_NAME_MAX 253
/* Answer records read per message; a message with more is refused. */
#define DNS_ANSWER_MAX_RECORDS 64
/* CNAMEs followed from the question name. */
#define DNS_CNAME_CHAIN_MAX 8
/* Compression pointers followed within one name. */
#define DNS_POINTER_HOPS_MAX 32

enum dns_answer_status {
    DNS_ANSWER_OK = 0,
    /* Not an answer we learn from (counted, not malformed): */
    DNS_ANSWER_NOT_RESPONSE,   /* QR bit clear: a query */
    DNS_ANSWER_NOT_QUERY,      /* opcode other than QUERY */
    DNS_ANSWER_ERROR_RCODE,    /* rcode other than NOERROR */
    DNS_ANSWER_NO_ADDRESS,     /* well formed, but no A/AAAA for the question */
    /* Malformed (never trusted): */
    DNS_ANSWER_TRUNCATED,      /* the message ends inside a header, name or record */
    DNS_ANSWER_BAD_QUESTION_COUNT, /* qdcount other than 1 */
    DNS_ANSWER_TOO_MANY_RECORDS,   /* ancount above DNS_ANSWER_MAX_RECORDS */
    DNS_ANSWER_BAD_LABEL,      /* label type 01 or 10 (extended, reserved) */
    DNS_ANSWER_BAD_POINTER,    /* a compression pointer that does not point back before
                                * the labels it ends (loops, forward and self pointers),
                                * into the header, or one hop too many */
    DNS_ANSWER_NAME_TOO_LONG,  /* more than 255 bytes in wire form */
    DNS_ANSWER_BAD_NAME_CHAR,  /* a byte that is not printable ASCII, or a dot, in a label */
    DNS_ANSWER_BAD_RDATA,      /* A not 4 bytes, AAAA not 16, CNAME not one name */
    DNS_ANSWER_CHAIN_TOO_LONG, /* more than DNS_CNAME_CHAIN_MAX CNAMEs to follow */
    DNS_ANSWER_STATUS_COUNT
};

/* First status that counts as malformed. */
#define DNS_ANSWER_FIRST_MALFORMED DNS_ANSWER_TRUNCATED

const char *dns_answer_status_name(enum dns_answer_status s);

struct dns_answer_address {
    uint8_t ip[16];      /* IPv4 in the first 4 bytes, rest zero */
    uint8_t ip_version;  /* 4 or 6 */
    uint32_t ttl;        /* seconds, from the address record */
};

struct dns_answer {
    char qname[DNS_NAME_MAX + 1]; /* question name, lowercase, NUL-terminated */
    unsigned n_addresses;
    struct dns_answer_address addresses[DNS_ANSWER_MAX_RECORDS];
};

/* Parses one DNS message (the UDP payload).  DNS_ANSWER_OK means out
 * holds the question name and at least one address. */
enum dns_answer_status dns_answer_parse(const uint8_t *msg, size_t len, struct dns_answer *out);

#endif
