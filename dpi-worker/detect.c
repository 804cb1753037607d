#include "detect.h"

#include "log.h"
#include "ssdp.h"

#include <ctype.h>
#include <ndpi_api.h>
#include <stdio.h>
#include <string.h>

int detector_init(struct detector *d, unsigned max_detection_pkts)
{
    NDPI_PROTOCOL_BITMASK all;

    memset(d, 0, sizeof(*d));
    d->max_detection_pkts = max_detection_pkts;
    d->ndpi = ndpi_init_detection_module(ndpi_no_prefs);
    if (d->ndpi == NULL)
        return -1;
    NDPI_BITMASK_SET_ALL(all);
    ndpi_set_protocol_detection_bitmask2(d->ndpi, &all);
    ndpi_finalize_initialization(d->ndpi);
    return 0;
}

void detector_destroy(struct detector *d)
{
    if (d->ndpi)
        ndpi_exit_detection_module(d->ndpi);
    d->ndpi = NULL;
}

bool detector_flow_start(struct detector *d, struct flow *f)
{
    f->ndpi = ndpi_flow_malloc(SIZEOF_FLOW_STRUCT);
    if (f->ndpi == NULL)
        return false;
    memset(f->ndpi, 0, SIZEOF_FLOW_STRUCT);
    d->ndpi_flows_live++;
    return true;
}

/* Mirrors ndpi_protocol2name(): "master.app" when both are known and
 * differ, otherwise the one that is known. */
static void set_result(struct flow *f, ndpi_protocol p)
{
    if (p.master_protocol != NDPI_PROTOCOL_UNKNOWN && p.master_protocol != p.app_protocol) {
        f->detected_protocol = p.master_protocol;
        f->detected_application = p.app_protocol;
    } else {
        f->detected_protocol = p.app_protocol;
        f->detected_application = NDPI_PROTOCOL_UNKNOWN;
    }
    f->category = (uint16_t)p.category;
}

static bool is_known(ndpi_protocol p)
{
    return p.app_protocol != NDPI_PROTOCOL_UNKNOWN || p.master_protocol != NDPI_PROTOCOL_UNKNOWN;
}

void detector_give_up(struct detector *d, struct flow *f)
{
    uint8_t was_guessed = 0;

    if (f->ndpi == NULL)
        return;
    ndpi_protocol p = ndpi_detection_giveup(d->ndpi, f->ndpi, 1, &was_guessed);
    if (is_known(p) || f->detected_protocol == NDPI_PROTOCOL_UNKNOWN)
        set_result(f, p);
    f->guessed = true;
}

/* nDPI 4.2 files the first SSH banner it sees as the client's, but the
 * server often speaks first: remember which side sent it (the packet
 * that moved nDPI's SSH stage off 0) to name the banners by side. */
static void note_ssh_banner(struct flow *f, int from, unsigned ssh_stage_before)
{
    if (f->key.ip_protocol == IPPROTO_TCP && ssh_stage_before == 0 &&
        f->ndpi->l4.tcp.ssh_stage != 0 && f->ssh_banner_from == 0)
        f->ssh_banner_from = (uint8_t)(1 + from);
}

static bool proto_is(const struct flow *f, uint16_t id)
{
    return f->detected_protocol == id || f->detected_application == id;
}

/* The header lines of the first SSDP message with any, read from the
 * packet's UDP payload (nDPI 4.2 keeps none). */
static void note_ssdp(struct flow *f, const struct packet_view *pv)
{
    uint32_t payload_off = pv->l4_off + 8;

    if (pv->ip_proto != IPPROTO_UDP || pv->fragment || payload_off > pv->l3_len ||
        (f->extra && f->extra->ssdp_seen))
        return;
    struct flow_extra *x = flow_extra_get(f);
    if (x == NULL)
        return;
    x->ssdp_seen = ssdp_headers(pv->l3 + payload_off, pv->l3_len - payload_off,
                                x->ssdp_user_agent, x->ssdp_server, SSDP_VALUE_MAX) &&
                   (x->ssdp_user_agent[0] || x->ssdp_server[0]);
}

/* Whether nDPI reads from this packet the TCP or UDP header its flow has.
 * nDPI 4.2 walks the IP header on its own and is stricter than the
 * decoder, which needs only the ports: it wants the whole TCP header its
 * data offset claims and 8 bytes of UDP header, and stops at IPv6
 * extension headers it does not know (AH).  A packet of a TCP or UDP flow
 * it reads no such header from still reaches the flow's extra dissection,
 * and BitTorrent's dereferences the missing header: a worker crash found
 * by fuzzing (docs/reliability.md).  A packet nDPI cannot parse at all is
 * harmless: nDPI returns before any dissector. */
static bool ndpi_sees_l4_header(const struct flow *f, const uint8_t *l3, uint16_t len)
{
    const uint8_t *l4;
    uint16_t l4_len;
    uint8_t proto;

    if (f->key.ip_protocol != IPPROTO_TCP && f->key.ip_protocol != IPPROTO_UDP)
        return true;
    if (ndpi_detection_get_l4(l3, len, &l4, &l4_len, &proto, 0) != 0)
        return true;
    if (proto != f->key.ip_protocol)
        return false;
    if (proto == IPPROTO_UDP)
        return l4_len >= 8;
    return l4_len >= 20 && l4_len >= (l4[12] >> 4) * 4;
}

enum detection_step detector_process(struct detector *d, struct flow *f,
                                     const struct packet_view *pv, int from, uint64_t ts_ms)
{
    uint32_t len = pv->l3_len > 0xffff ? 0xffff : pv->l3_len;
    unsigned ssh_stage_before = f->ndpi->l4.tcp.ssh_stage;

    if (!ndpi_sees_l4_header(f, pv->l3, (uint16_t)len)) {
        d->packets_not_dissected++;
        return f->detected_protocol != NDPI_PROTOCOL_UNKNOWN ? DETECTION_DISSECTING
                                                              : DETECTION_PENDING;
    }
    ndpi_protocol p = ndpi_detection_process_packet(d->ndpi, f->ndpi, pv->l3,
                                                    (unsigned short)len, ts_ms);
    bool known = is_known(p);

    note_ssh_banner(f, from, ssh_stage_before);

    f->detection_packets++;
    if (known)
        set_result(f, p);
    if (proto_is(f, NDPI_PROTOCOL_SSDP))
        note_ssdp(f, pv);
    known = f->detected_protocol != NDPI_PROTOCOL_UNKNOWN;
    if (known && !ndpi_extra_dissection_possible(d->ndpi, f->ndpi))
        return DETECTION_DONE;
    if (f->detection_packets >= d->max_detection_pkts) {
        if (!known)
            detector_give_up(d, f);
        return DETECTION_DONE;
    }
    return known ? DETECTION_DISSECTING : DETECTION_PENDING;
}

static bool uses_tls_state(const struct flow *f)
{
    return proto_is(f, NDPI_PROTOCOL_TLS) || proto_is(f, NDPI_PROTOCOL_QUIC) ||
           proto_is(f, NDPI_PROTOCOL_DTLS) || proto_is(f, NDPI_PROTOCOL_MAIL_SMTPS) ||
           proto_is(f, NDPI_PROTOCOL_MAIL_IMAPS) || proto_is(f, NDPI_PROTOCOL_MAIL_POPS);
}

static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

/* A string in one of nDPI's fixed arrays, or NULL when it is empty or
 * fills the array without a terminator (then it cannot be trusted). */
static const char *fixed_string(const char *array, size_t size)
{
    return memchr(array, '\0', size) ? nonempty(array) : NULL;
}
#define FIXED(array) fixed_string((array), sizeof(array))

/* Copies the CN attribute of a distinguished name such as
 * "C=US, O=Example, CN=www.example.com". */
static void common_name(char *out, size_t len, const char *dn)
{
    const char *cn = NULL;

    out[0] = '\0';
    for (const char *p = dn; p && *p; p++)
        if ((p == dn || p[-1] == ' ' || p[-1] == ',') && strncmp(p, "CN=", 3) == 0)
            cn = p + 3;
    if (cn == NULL)
        return;
    size_t n = strcspn(cn, ",");
    if (n >= len)
        n = len - 1;
    memcpy(out, cn, n);
    out[n] = '\0';
}

static void tls_metadata(const struct flow *f, struct flow_metadata *m)
{
    const struct ndpi_flow_struct *nf = f->ndpi;

    m->has_tls = true;
    if (nf->protos.tls_quic.ssl_version)
        snprintf(m->tls_version, sizeof(m->tls_version), "0x%04x",
                 nf->protos.tls_quic.ssl_version);
    if (nf->protos.tls_quic.server_cipher)
        snprintf(m->tls_cipher, sizeof(m->tls_cipher), "0x%04x",
                 nf->protos.tls_quic.server_cipher);
    m->client_sni = FIXED(nf->host_server_name);
    m->client_ja3 = FIXED(nf->protos.tls_quic.ja3_client);
    m->server_ja3 = FIXED(nf->protos.tls_quic.ja3_server);
    m->issuer_dn = nonempty(nf->protos.tls_quic.issuerDN);
    m->subject_dn = nonempty(nf->protos.tls_quic.subjectDN);
    m->alpn = nonempty(nf->protos.tls_quic.alpn);
    common_name(m->server_cn, sizeof(m->server_cn), m->subject_dn);
}

/* nDPI's "client" banner is the first one seen: swap when the side that
 * sent it is not the flow's initiator. */
static void ssh_metadata(const struct flow *f, struct flow_metadata *m)
{
    const char *first = FIXED(f->ndpi->protos.ssh.client_signature);
    const char *second = FIXED(f->ndpi->protos.ssh.server_signature);
    bool server_spoke_first = f->ssh_banner_from != 0 && f->ssh_banner_from - 1 != f->origin;

    m->ssh_client = server_spoke_first ? second : first;
    m->ssh_server = server_spoke_first ? first : second;
}

static bool all_zero(const unsigned char *bytes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (bytes[i])
            return false;
    return true;
}

/* The torrent's SHA-1 info hash from the handshake; nDPI leaves it zero
 * when it saw none. */
static void bittorrent_metadata(const struct flow *f, struct flow_metadata *m)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *hash = f->ndpi->protos.bittorrent.hash;
    size_t n = sizeof(f->ndpi->protos.bittorrent.hash);

    _Static_assert(sizeof(f->ndpi->protos.bittorrent.hash) * 2 < sizeof(m->bt_info_hash),
                   "bt_info_hash holds the hex of nDPI's hash");
    if (all_zero(hash, n))
        return;
    for (size_t i = 0; i < n; i++) {
        m->bt_info_hash[2 * i] = digits[hash[i] >> 4];
        m->bt_info_hash[2 * i + 1] = digits[hash[i] & 15];
    }
    m->bt_info_hash[2 * n] = '\0';
}

/* Names every risk bit set, in bit order, as ndpiReader prints them. */
static void risk_metadata(const struct flow *f, struct flow_metadata *m)
{
    ndpi_risk risk = f->ndpi->risk;
    uint16_t client_score = 0, server_score = 0;

    _Static_assert(NDPI_MAX_RISK <= FLOW_RISKS_MAX, "one name per risk bit");
    if (risk == 0)
        return;
    for (unsigned i = 1; i < NDPI_MAX_RISK; i++) {
        if (!NDPI_ISSET_BIT(risk, i))
            continue;
        const char *name = ndpi_risk2str((ndpi_risk_enum)i);
        m->risk_ids[m->risk_count] = (uint8_t)i;
        m->risks[m->risk_count++] = name && *name ? name : "Unknown";
    }
    m->risk_score = ndpi_risk2score(risk, &client_score, &server_score);
    m->risk_score_client = client_score;
    m->risk_score_server = server_score;
}

/* nDPI 4.2 names an mDNS (or DNS) flow by the first name of the packet
 * it parsed last, after the header: a response without questions starts
 * with its first answer.  Only then is that name an answer. */
static const char *mdns_answer(const struct flow *f)
{
    const struct ndpi_flow_struct *nf = f->ndpi;

    if (nf->protos.dns.is_query || nf->protos.dns.num_queries != 0 ||
        nf->protos.dns.num_answers == 0)
        return NULL;
    return FIXED(nf->host_server_name);
}

/* What the worker keeps beside nDPI's state (flow_extra.h). */
static void extra_metadata(const struct flow *f, struct flow_metadata *m)
{
    const struct flow_extra *x = f->extra;

    if (x == NULL)
        return;
    if (x->gtp.ip_version)
        m->gtp = &x->gtp;
    if (x->ssdp_seen) {
        m->ssdp_user_agent = nonempty(x->ssdp_user_agent);
        m->ssdp_server = nonempty(x->ssdp_server);
    }
}

const char *detector_protocol_name(struct detector *d, uint16_t protocol)
{
    return ndpi_get_proto_name(d->ndpi, protocol);
}

void detector_application_name(struct detector *d, uint16_t application,
                               char name[FLOW_APPLICATION_NAME_MAX])
{
    if (application == NDPI_PROTOCOL_UNKNOWN) {
        snprintf(name, FLOW_APPLICATION_NAME_MAX, "Unknown");
        return;
    }
    int n = snprintf(name, FLOW_APPLICATION_NAME_MAX, "%u.%s", application,
                     ndpi_get_proto_name(d->ndpi, application));
    for (int i = 0; i < n && i < FLOW_APPLICATION_NAME_MAX; i++)
        name[i] = (char)tolower((unsigned char)name[i]);
}

void detector_metadata(struct detector *d, const struct flow *f, struct flow_metadata *m)
{
    const struct ndpi_flow_struct *nf = f->ndpi;

    memset(m, 0, sizeof(*m));
    extra_metadata(f, m);
    m->protocol_name = detector_protocol_name(d, f->detected_protocol);
    m->category = f->category;
    m->category_name = nonempty(
        ndpi_category_get_name(d->ndpi, (ndpi_protocol_category_t)f->category));
    detector_application_name(d, f->detected_application, m->application_name);
    if (nf == NULL)
        return;
    m->host_server_name = FIXED(nf->host_server_name);
    if (uses_tls_state(f))
        tls_metadata(f, m);
    if (proto_is(f, NDPI_PROTOCOL_HTTP) || nf->http.url || nf->http.user_agent) {
        m->has_http = true;
        m->http_url = nonempty(nf->http.url);
        m->http_user_agent = nonempty(nf->http.user_agent);
    }
    if (proto_is(f, NDPI_PROTOCOL_DNS))
        m->dns_query = m->host_server_name;
    if (proto_is(f, NDPI_PROTOCOL_SSH))
        ssh_metadata(f, m);
    if (proto_is(f, NDPI_PROTOCOL_DHCP)) {
        m->dhcp_fingerprint = FIXED(nf->protos.dhcp.fingerprint);
        m->dhcp_class_ident = FIXED(nf->protos.dhcp.class_ident);
    }
    if (proto_is(f, NDPI_PROTOCOL_BITTORRENT))
        bittorrent_metadata(f, m);
    if (proto_is(f, NDPI_PROTOCOL_MDNS))
        m->mdns_answer = mdns_answer(f);
    risk_metadata(f, m);
}

void detector_flow_release(struct detector *d, struct flow *f)
{
    if (f->ndpi == NULL)
        return;
    ndpi_free_flow(f->ndpi);
    f->ndpi = NULL;
    d->ndpi_flows_live--;
}
