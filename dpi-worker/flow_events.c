#include "flow_events.h"

#include "dns_hints.h"
#include "flow_table.h"
#include "locality.h"
#include "reassembly.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

static void pk_kv_ip(msgpack_packer *pk, const char *key, const uint8_t *ip, int version)
{
    char buf[INET6_ADDRSTRLEN];

    if (inet_ntop(version == 6 ? AF_INET6 : AF_INET, ip, buf, sizeof(buf)) == NULL)
        snprintf(buf, sizeof(buf), "?");
    pk_kv_str(pk, key, buf);
}

/* Lowercase hex of n bytes, each pair followed by sep (none if 0); these
 * run for every event, where snprintf showed in profiles. */
static void hex_bytes(char *out, const uint8_t *in, int n, char sep)
{
    static const char digits[] = "0123456789abcdef";

    for (int i = 0; i < n; i++) {
        *out++ = digits[in[i] >> 4];
        *out++ = digits[in[i] & 15];
        if (sep && i + 1 < n)
            *out++ = sep;
    }
    *out = '\0';
}

static void pk_kv_mac(msgpack_packer *pk, const char *key, const uint8_t *m)
{
    char buf[18];

    hex_bytes(buf, m, 6, ':');
    pk_kv_str(pk, key, buf);
}

static void pk_kv_digest(msgpack_packer *pk, const uint8_t digest[20])
{
    char hex[41];

    hex_bytes(hex, digest, 20, 0);
    pk_kv_str(pk, "digest", hex);
}

/* Packs "key": value for each non-NULL value; returns how many. */
static int count_set(const char *const *values, int n)
{
    int k = 0;

    for (int i = 0; i < n; i++)
        k += values[i] != NULL && values[i][0] != '\0';
    return k;
}

static void pk_optional_map(msgpack_packer *pk, const char *key, const char *const *names,
                            const char *const *values, int n)
{
    pk_key(pk, key);
    msgpack_pack_map(pk, (size_t)count_set(values, n));
    for (int i = 0; i < n; i++)
        if (values[i] && values[i][0])
            pk_kv_str(pk, names[i], values[i]);
}

static void pk_alpn(msgpack_packer *pk, const char *alpn)
{
    char copy[256];
    const char *items[16];
    int n = 0;

    snprintf(copy, sizeof(copy), "%s", alpn);
    for (char *save, *t = strtok_r(copy, ",", &save); t && n < 16; t = strtok_r(NULL, ",", &save))
        items[n++] = t;
    pk_key(pk, "alpn");
    msgpack_pack_array(pk, (size_t)n);
    for (int i = 0; i < n; i++)
        pk_str(pk, items[i]);
}

#define SSL_STRINGS 8
static const char *const ssl_names[SSL_STRINGS] = { "version", "cipher_suite", "client_sni",
                                                    "server_cn", "issuer_dn", "subject_dn",
                                                    "client_ja3", "server_ja3" };

static void ssl_values(const struct flow_metadata *m, const char *values[SSL_STRINGS])
{
    const char *v[SSL_STRINGS] = { m->tls_version, m->tls_cipher, m->client_sni, m->server_cn,
                                   m->issuer_dn, m->subject_dn, m->client_ja3, m->server_ja3 };
    memcpy(values, v, sizeof(v));
}

static bool has_alpn(const struct flow_metadata *m)
{
    return m->alpn && m->alpn[0];
}

/* Fields of the ssl{} object: nDPI may name a flow TLS before it parsed
 * any handshake field, and then there is no object rather than an empty one. */
static int ssl_field_count(const struct flow_metadata *m)
{
    const char *values[SSL_STRINGS];

    if (!m->has_tls)
        return 0;
    ssl_values(m, values);
    return count_set(values, SSL_STRINGS) + has_alpn(m);
}

static void pk_ssl(msgpack_packer *pk, const struct flow_metadata *m)
{
    const char *values[SSL_STRINGS];

    ssl_values(m, values);
    pk_key(pk, "ssl");
    msgpack_pack_map(pk, (size_t)ssl_field_count(m));
    for (int i = 0; i < SSL_STRINGS; i++)
        if (values[i] && values[i][0])
            pk_kv_str(pk, ssl_names[i], values[i]);
    if (has_alpn(m))
        pk_alpn(pk, m->alpn);
}

/* risks{risks: [nDPI risk ids], names, ndpi_risk_score(_client/_server)},
 * the object netifyd writes, with the names ndpiReader prints added. */
static void pk_risks(msgpack_packer *pk, const struct flow_metadata *m)
{
    pk_key(pk, "risks");
    msgpack_pack_map(pk, 5);
    pk_key(pk, "risks");
    msgpack_pack_array(pk, m->risk_count);
    for (unsigned i = 0; i < m->risk_count; i++)
        msgpack_pack_uint8(pk, m->risk_ids[i]);
    pk_key(pk, "names");
    msgpack_pack_array(pk, m->risk_count);
    for (unsigned i = 0; i < m->risk_count; i++)
        pk_str(pk, m->risks[i]);
    pk_kv_u64(pk, "ndpi_risk_score", m->risk_score);
    pk_kv_u64(pk, "ndpi_risk_score_client", m->risk_score_client);
    pk_kv_u64(pk, "ndpi_risk_score_server", m->risk_score_server);
}

static void pk_bt(msgpack_packer *pk, const struct flow_metadata *m)
{
    pk_key(pk, "bt");
    msgpack_pack_map(pk, 1);
    pk_kv_str(pk, "info_hash", m->bt_info_hash);
}

/* gtp{version, ip_version, local_ip, other_ip, local_port, other_port,
 * local_teid, other_teid, other_type}: the tunnel endpoint at the local
 * (other) side's end of the inner flow, and its TEID, the one packets
 * sent to it carry; a TEID no packet has carried yet is left out. */
static void pk_gtp(msgpack_packer *pk, const struct worker_options *o, uint16_t interface,
                   const struct gtp_tunnel *g, int local)
{
    int other = !local, v = g->ip_version;
    bool local_teid = g->teid_seen & (1u << local), other_teid = g->teid_seen & (1u << other);

    pk_key(pk, "gtp");
    msgpack_pack_map(pk, 7 + local_teid + other_teid);
    pk_kv_u64(pk, "version", 1); /* GTP-U is GTPv1 */
    pk_kv_u64(pk, "ip_version", (uint64_t)v);
    pk_kv_ip(pk, "local_ip", g->ip[local], v);
    pk_kv_ip(pk, "other_ip", g->ip[other], v);
    pk_kv_u64(pk, "local_port", g->port[local]);
    pk_kv_u64(pk, "other_port", g->port[other]);
    if (local_teid)
        pk_kv_u64(pk, "local_teid", g->teid[local]);
    if (other_teid)
        pk_kv_u64(pk, "other_teid", g->teid[other]);
    pk_kv_str(pk, "other_type", address_is_local(o, interface, g->ip[other], v) ? "local" : "remote");
}

static void pk_envelope(msgpack_packer *pk, const struct worker_options *o, const struct flow *f)
{
    const struct worker_interface *itf = &o->interfaces[f->key.interface];

    pk_kv_str(pk, "interface", itf->name);
    pk_kv_bool(pk, "internal", itf->internal);
}

/* The counters shared by flow, flow_status and flow_purge: 8 fields. */
static void pk_counters(msgpack_packer *pk, const struct flow *f, const struct flow_sides *s)
{
    int l = s->local, r = !s->local;

    pk_kv_u64(pk, "local_bytes", f->bytes[l]);
    pk_kv_u64(pk, "other_bytes", f->bytes[r]);
    pk_kv_u64(pk, "local_packets", f->packets[l]);
    pk_kv_u64(pk, "other_packets", f->packets[r]);
    pk_kv_u64(pk, "total_bytes", f->bytes[0] + f->bytes[1]);
    pk_kv_u64(pk, "total_packets", f->packets[0] + f->packets[1]);
    pk_kv_u64(pk, "detection_packets", f->detection_packets);
    pk_kv_u64(pk, "last_seen_at", f->last_seen_ms);
}

#define FLOW_BASE_FIELDS 31

void event_flow(struct channel_writer *w, const struct worker_options *o,
                const struct flow *f, const struct flow_metadata *m, uint64_t detected_at_ms,
                bool updated)
{
    static const char *const http_names[] = { "host", "user_agent", "url" };
    static const char *const ssh_names[] = { "client", "server" };
    static const char *const dhcp_names[] = { "fingerprint", "class_ident" };
    static const char *const ssdp_names[] = { "user_agent", "server" };
    const char *http_values[] = { m->has_http ? m->host_server_name : NULL, m->http_user_agent,
                                  m->http_url };
    const char *ssh_values[] = { m->ssh_client, m->ssh_server };
    const char *dhcp_values[] = { m->dhcp_fingerprint, m->dhcp_class_ident };
    const char *ssdp_values[] = { m->ssdp_user_agent, m->ssdp_server };
    bool has_ssh = count_set(ssh_values, 2) > 0, has_dhcp = count_set(dhcp_values, 2) > 0;
    bool has_bt = m->bt_info_hash[0] != '\0', has_risks = m->risk_count > 0;
    bool has_mdns = m->mdns_answer != NULL, has_ssdp = count_set(ssdp_values, 2) > 0;
    /* nDPI may name a flow HTTP without having parsed a request line or a
     * header: then there is no http{} object rather than an empty one. */
    bool has_http = m->has_http && count_set(http_values, 3) > 0;
    bool has_ssl = ssl_field_count(m) > 0;
    struct flow_sides s;
    int v = f->key.ip_version;

    flow_sides(o, f, &s);
    const uint8_t *ip[2] = { f->key.lower_ip, f->key.upper_ip };
    uint16_t port[2] = { f->key.lower_port, f->key.upper_port };
    int l = s.local, r = !s.local;

    msgpack_packer *pk = channel_event_begin(w);
    msgpack_pack_map(pk, 5);
    pk_kv_str(pk, "type", "flow");
    pk_envelope(pk, o, f);
    pk_kv_bool(pk, "established", false);
    pk_key(pk, "flow");
    const char *server_name = m->host_from_dns ? m->dns_host_name : m->host_server_name;
    msgpack_pack_map(pk, FLOW_BASE_FIELDS + (server_name != NULL) + (m->dns_host_name != NULL) +
                             has_ssl + has_http + (m->dns_query != NULL) + has_ssh +
                             has_dhcp + has_bt + has_risks + has_mdns + has_ssdp + (m->gtp != NULL));
    pk_kv_digest(pk, f->digest);
    pk_kv_u64(pk, "ip_version", (uint64_t)v);
    pk_kv_u64(pk, "ip_protocol", f->key.ip_protocol);
    pk_kv_u64(pk, "vlan_id", f->key.vlan_id);
    pk_kv_str(pk, "other_type", s.other_type);
    pk_kv_bool(pk, "local_origin", s.local_origin);
    pk_kv_mac(pk, "local_mac", f->mac[l]);
    pk_kv_mac(pk, "other_mac", f->mac[r]);
    pk_kv_ip(pk, "local_ip", ip[l], v);
    pk_kv_ip(pk, "other_ip", ip[r], v);
    pk_kv_u64(pk, "local_port", port[l]);
    pk_kv_u64(pk, "other_port", port[r]);
    pk_kv_u64(pk, "detected_protocol", f->detected_protocol);
    pk_kv_str(pk, "detected_protocol_name", m->protocol_name ? m->protocol_name : "Unknown");
    pk_kv_u64(pk, "detected_application", f->detected_application);
    pk_kv_str(pk, "detected_application_name", m->application_name);
    pk_kv_bool(pk, "detection_guessed", f->guessed);
    pk_kv_bool(pk, "detection_updated", updated);
    pk_kv_bool(pk, "dhc_hit", m->dhc_hit);
    pk_kv_u64(pk, "category", m->category);
    pk_kv_str(pk, "category_name", m->category_name ? m->category_name : "Unknown");
    pk_kv_u64(pk, "first_seen_at", f->first_seen_ms);
    pk_kv_u64(pk, "first_update_at", detected_at_ms);
    pk_counters(pk, f, &s);
    if (server_name)
        pk_kv_str(pk, "host_server_name", server_name);
    if (m->dns_host_name)
        pk_kv_str(pk, "dns_host_name", m->dns_host_name);
    if (has_ssl)
        pk_ssl(pk, m);
    if (has_http)
        pk_optional_map(pk, "http", http_names, http_values, 3);
    if (m->dns_query) {
        pk_key(pk, "dns");
        msgpack_pack_map(pk, 1);
        pk_kv_str(pk, "query", m->dns_query);
    }
    if (has_ssh)
        pk_optional_map(pk, "ssh", ssh_names, ssh_values, 2);
    if (has_dhcp)
        pk_optional_map(pk, "dhcp", dhcp_names, dhcp_values, 2);
    if (has_bt)
        pk_bt(pk, m);
    if (has_risks)
        pk_risks(pk, m);
    if (has_mdns) {
        pk_key(pk, "mdns");
        msgpack_pack_map(pk, 1);
        pk_kv_str(pk, "answer", m->mdns_answer);
    }
    if (has_ssdp)
        pk_optional_map(pk, "ssdp", ssdp_names, ssdp_values, 2);
    if (m->gtp)
        pk_gtp(pk, o, f->key.interface, m->gtp, s.local);
    channel_event_end(w);
}

static void flow_counters_event(struct channel_writer *w, const struct worker_options *o,
                                const struct flow *f, const struct flow_route *route,
                                const char *type, const char *reason)
{
    struct flow_sides s;

    flow_sides(o, f, &s);
    msgpack_packer *pk = channel_event_begin(w);
    msgpack_pack_map(pk, reason ? 6 : 5);
    pk_kv_str(pk, "type", type);
    if (reason)
        pk_kv_str(pk, "reason", reason);
    pk_envelope(pk, o, f);
    pk_key(pk, "flow");
    msgpack_pack_map(pk, 9);
    pk_kv_digest(pk, f->digest);
    pk_counters(pk, f, &s);
    /* Last, where the broker looks for it and leaves it out of the JSON. */
    pk_key(pk, FLOW_ROUTE_KEY);
    msgpack_pack_map(pk, 2);
    pk_kv_str(pk, "detected_protocol_name", route->protocol);
    pk_kv_str(pk, "detected_application_name", route->application);
    channel_event_end(w);
}

void event_flow_status(struct channel_writer *w, const struct worker_options *o,
                       const struct flow *f, const struct flow_route *route)
{
    flow_counters_event(w, o, f, route, "flow_status", NULL);
}

void event_flow_purge(struct channel_writer *w, const struct worker_options *o,
                      const struct flow *f, const struct flow_route *route, const char *reason)
{
    flow_counters_event(w, o, f, route, "flow_purge", reason);
}

static void pk_fragments(msgpack_packer *pk, const struct reassembly *r, uint64_t nested)
{
    const struct reassembly_counters *c = &r->counters;

    pk_key(pk, "fragments");
    msgpack_pack_map(pk, 12);
    pk_kv_u64(pk, "received", c->fragments);
    pk_kv_u64(pk, "reassembled", c->reassembled);
    pk_kv_u64(pk, "pending", r->count); /* datagrams in reassembly now */
    pk_kv_u64(pk, "pending_bytes", r->bytes);
    pk_kv_u64(pk, "timeouts", c->timeouts);
    pk_kv_u64(pk, "dropped_memory", c->dropped_memory);
    pk_kv_u64(pk, "overlaps", c->overlaps);
    pk_kv_u64(pk, "duplicates", c->duplicates);
    pk_kv_u64(pk, "too_large", c->too_large);
    pk_kv_u64(pk, "bad_offset", c->bad_offset);
    pk_kv_u64(pk, "truncated", c->truncated);
    pk_kv_u64(pk, "nested", nested);
}

static double seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

void event_worker_stats(struct channel_writer *w, const struct worker_options *o,
                        const struct flow_table *t, const struct worker_counters *c,
                        const struct reassembly *r, const struct dns_hints *h,
                        const struct detector *d, uint64_t ring_corrupt)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    msgpack_packer *pk = channel_event_begin(w);
    msgpack_pack_map(pk, 21);
    pk_kv_str(pk, "type", "worker_stats");
    pk_kv_u64(pk, "worker", (uint64_t)o->id);
    pk_kv_u64(pk, "pid", (uint64_t)o->pid);
    pk_kv_u64(pk, "flows", t->count);
    pk_kv_u64(pk, "flows_total", t->flows_created);
    pk_kv_u64(pk, "flows_refused", t->flows_refused);
    pk_kv_u64(pk, "flows_detecting", d->ndpi_flows_live); /* still holding nDPI state */
    pk_kv_u64(pk, "packets_not_dissected", d->packets_not_dissected);
    pk_kv_u64(pk, "flows_purged", c->flows_purged);
    pk_kv_u64(pk, "packets", c->packets);
    pk_kv_u64(pk, "bytes", c->bytes);
    pk_fragments(pk, r, c->nested_fragments);
    pk_key(pk, "decode_errors");
    msgpack_pack_map(pk, DECODE_STATUS_COUNT - 1);
    for (int i = 1; i < DECODE_STATUS_COUNT; i++)
        pk_kv_u64(pk, decode_status_name((enum decode_status)i), c->decode_errors[i]);
    pk_key(pk, "tunnels");
    msgpack_pack_map(pk, TUNNEL_KIND_COUNT);
    for (int i = 0; i < TUNNEL_KIND_COUNT; i++)
        pk_kv_u64(pk, tunnel_kind_name((enum tunnel_kind)i), c->tunnels[i]);
    dns_hints_pack_stats(pk, h);
    pk_kv_u64(pk, "ring_corrupt", ring_corrupt);
    pk_kv_u64(pk, "events_dropped", w->events_dropped);
    pk_kv_double(pk, "cpu_user", seconds(ru.ru_utime));
    pk_kv_double(pk, "cpu_system", seconds(ru.ru_stime));
    pk_kv_u64(pk, "maxrss_kb", (uint64_t)ru.ru_maxrss);
    channel_event_end(w);
}
