/* Everything the worker knows about nDPI: module set-up, feeding a
 * flow's packets until detection ends, and reading the metadata nDPI
 * extracted.  Nothing outside this file touches nDPI's structures. */
#ifndef FLOWSENSE_WORKER_DETECT_H
#define FLOWSENSE_WORKER_DETECT_H

#include "flow.h"
#include "flow_extra.h"
#include "packet.h"

#include <stdbool.h>
#include <stdint.h>

struct ndpi_detection_module_struct;

struct detector {
    struct ndpi_detection_module_struct *ndpi;
    unsigned max_detection_pkts;
    uint64_t ndpi_flows_live;   /* nDPI flow states allocated now */
    uint64_t packets_not_dissected; /* no TCP/UDP header as nDPI reads it (see detect.c) */
};

/* nDPI 4.2 keeps flow risks in a 64-bit mask: at most 64 names. */
#define FLOW_RISKS_MAX 64

#define FLOW_APPLICATION_NAME_MAX 80

/* What the `flow` record reports; strings point into nDPI's flow state
 * or the small buffers here, valid until detector_flow_release(). */
struct flow_metadata {
    const char *protocol_name;          /* name of detected_protocol */
    char application_name[FLOW_APPLICATION_NAME_MAX]; /* "<id>.<tag>" or "Unknown" */
    uint16_t category;
    const char *category_name;          /* nDPI's name of category */
    const char *host_server_name;       /* NULL when none */
    /* From the DNS hint cache (dns_hints.c), not from nDPI: */
    bool dhc_hit;
    const char *dns_host_name;          /* the cached name of the other address, or NULL */
    bool host_from_dns;                 /* host_server_name reports dns_host_name */
    bool has_tls;
    char tls_version[8], tls_cipher[8]; /* "0x0303" */
    const char *client_sni, *client_ja3, *server_ja3, *issuer_dn, *subject_dn;
    char server_cn[128];
    const char *alpn;
    bool has_http;
    const char *http_url, *http_user_agent;
    const char *dns_query;
    const char *ssh_client, *ssh_server;
    const char *dhcp_fingerprint, *dhcp_class_ident;
    char bt_info_hash[41];              /* 40 lowercase hex digits, or "" */
    const char *mdns_answer;            /* first answer name of an mDNS response */
    const char *ssdp_user_agent, *ssdp_server;
    const struct gtp_tunnel *gtp;       /* NULL when the flow came through no GTP-U */
    /* nDPI's flow risks by name (static strings of nDPI), and their score */
    const char *risks[FLOW_RISKS_MAX];
    uint8_t risk_ids[FLOW_RISKS_MAX];
    unsigned risk_count;
    uint16_t risk_score, risk_score_client, risk_score_server;
};

int detector_init(struct detector *d, unsigned max_detection_pkts);
void detector_destroy(struct detector *d);
/* Attaches a fresh nDPI flow state; false when memory is short. */
bool detector_flow_start(struct detector *d, struct flow *f);
enum detection_step {
    DETECTION_PENDING,    /* nDPI does not know the protocol yet */
    DETECTION_DISSECTING, /* protocol known; nDPI may still extract metadata */
    DETECTION_DONE,       /* nothing more to learn: nDPI's state can go */
};

/* Feeds one packet, sent by side `from` (FROM_LOWER/FROM_UPPER).  DONE
 * when nDPI is sure and has nothing more to extract, or the packet limit
 * was reached (then nDPI's guess is taken when it knew nothing).
 * f->detected_* and f->guessed are set. */
enum detection_step detector_process(struct detector *d, struct flow *f,
                                     const struct packet_view *pv, int from, uint64_t ts_ms);
/* Ends detection now (the flow ends while nDPI is still unsure). */
void detector_give_up(struct detector *d, struct flow *f);
void detector_metadata(struct detector *d, const struct flow *f, struct flow_metadata *m);
/* The names a `flow` record gives a detected protocol (nDPI's name) and
 * application ("<id>.<tag>" in lowercase, or "Unknown"). */
const char *detector_protocol_name(struct detector *d, uint16_t protocol);
void detector_application_name(struct detector *d, uint16_t application,
                               char name[FLOW_APPLICATION_NAME_MAX]);
/* Frees nDPI's flow state: the flow keeps only its compact record. */
void detector_flow_release(struct detector *d, struct flow *f);

#endif
