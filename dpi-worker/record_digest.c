#include "record_digest.h"

#include <string.h>

/* FNV-1a, 64 bits: not for hostile collisions (an attacker gains nothing
 * but a missing update record of their own flow), just change detection. */
#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t mix_bytes(uint64_t h, const void *data, size_t n)
{
    const uint8_t *p = data;

    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * FNV_PRIME;
    return h;
}

/* A string and its end, so that ("ab", "c") and ("a", "bc") differ;
 * NULL hashes like "" (the record leaves both out). */
static uint64_t mix_str(uint64_t h, const char *s)
{
    return mix_bytes(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

#define MIX(h, v) mix_bytes((h), &(v), sizeof(v))

uint64_t record_digest(const struct flow *f, const struct flow_metadata *m)
{
    /* Adding a field to flow_metadata changes its size: then add it below. */
    _Static_assert(sizeof(struct flow_metadata) == 1064,
                   "record_digest() must mix every field of struct flow_metadata");
    const char *strings[] = {
        m->host_server_name, m->tls_version, m->tls_cipher, m->client_sni, m->client_ja3,
        m->server_ja3, m->issuer_dn, m->subject_dn, m->server_cn, m->alpn, m->http_url,
        m->http_user_agent, m->dns_query, m->ssh_client, m->ssh_server, m->dhcp_fingerprint,
        m->dhcp_class_ident, m->bt_info_hash, m->mdns_answer, m->ssdp_user_agent,
        m->ssdp_server, m->dns_host_name,
    };
    uint64_t h = FNV_OFFSET;

    /* protocol_name, application_name and category_name follow from these. */
    h = MIX(h, f->detected_protocol);
    h = MIX(h, f->detected_application);
    h = MIX(h, f->guessed);
    h = MIX(h, m->category);
    h = MIX(h, m->has_tls);
    h = MIX(h, m->has_http);
    h = MIX(h, m->dhc_hit);
    h = MIX(h, m->host_from_dns);
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
        h = mix_str(h, strings[i]);
    h = mix_bytes(h, m->risk_ids, m->risk_count);
    h = MIX(h, m->risk_count);
    h = MIX(h, m->risk_score);
    h = MIX(h, m->risk_score_client);
    h = MIX(h, m->risk_score_server);
    if (m->gtp)
        h = mix_bytes(h, m->gtp, sizeof(*m->gtp));
    return h;
}
