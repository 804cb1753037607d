#include "local_networks.h"

#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

const char *const local_networks_builtin[] = {
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "127.0.0.0/8",
    "fc00::/7",   "fe80::/10",     "::1/128",        NULL,
};

static int with_builtin(struct options *o, char *err, size_t errlen)
{
    struct ip_prefix_list all = { 0 };
    struct ip_prefix p;

    for (int i = 0; local_networks_builtin[i] != NULL; i++) {
        if (ip_prefix_parse(local_networks_builtin[i], &p) != NULL ||
            ip_prefix_list_add(&all, &p) < 0) {
            snprintf(err, errlen, "out of memory for the local networks");
            ip_prefix_list_clear(&all);
            return -1;
        }
    }
    for (unsigned i = 0; i < o->local_nets.n; i++) {
        if (ip_prefix_list_add(&all, &o->local_nets.items[i]) < 0) {
            snprintf(err, errlen,
                     "local networks: the built-in ones and those configured are more than %d "
                     "(set [local-networks] defaults = no, or list fewer)",
                     IP_PREFIX_LIST_MAX);
            ip_prefix_list_clear(&all);
            return -1;
        }
    }
    ip_prefix_list_clear(&o->local_nets);
    o->local_nets = all;
    return 0;
}

static bool own_prefix(const struct ifaddrs *a, struct ip_prefix *p)
{
    if (a->ifa_addr == NULL || a->ifa_netmask == NULL)
        return false;
    if (a->ifa_addr->sa_family == AF_INET) {
        const struct sockaddr_in *addr = (const void *)a->ifa_addr;
        const struct sockaddr_in *mask = (const void *)a->ifa_netmask;
        ip_prefix_from_mask(p, 4, (const uint8_t *)&addr->sin_addr,
                            (const uint8_t *)&mask->sin_addr);
        return true;
    }
    if (a->ifa_addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *addr = (const void *)a->ifa_addr;
        const struct sockaddr_in6 *mask = (const void *)a->ifa_netmask;
        ip_prefix_from_mask(p, 6, addr->sin6_addr.s6_addr, mask->sin6_addr.s6_addr);
        return true;
    }
    return false;
}

/* The kernel's word on an interface's addresses is not configuration: a
 * list that overflows keeps its first networks, with a warning. */
static void add_interface_addresses(struct source_spec *s, const struct ifaddrs *all)
{
    struct ip_prefix p;
    unsigned ignored = 0;

    for (const struct ifaddrs *a = all; a != NULL; a = a->ifa_next) {
        if (strcmp(a->ifa_name, s->name) != 0 || !own_prefix(a, &p))
            continue;
        if (ip_prefix_list_add(&s->addresses, &p) < 0)
            ignored++;
    }
    if (ignored > 0)
        fprintf(stderr,
                "flowsensed: warning: %s: %u of its networks are not counted as local: at most "
                "%d per interface\n",
                s->name, ignored, IP_PREFIX_LIST_MAX);
}

int local_networks_resolve(struct options *o, char *err, size_t errlen)
{
    struct ifaddrs *all = NULL;
    bool any_live = false;

    if (!o->no_default_local_nets && with_builtin(o, err, errlen) != 0)
        return -1;
    for (int i = 0; i < o->n_sources; i++)
        any_live |= o->sources[i].live;
    if (!any_live)
        return 0;
    /* getifaddrs asks the kernel over a netlink socket: refused under the
     * shipped systemd unit (no AF_NETLINK), so this is a warning only. */
    if (getifaddrs(&all) != 0) {
        fprintf(stderr,
                "flowsensed: warning: cannot read the interfaces' addresses (getifaddrs: %s): "
                "only configured networks count as local; list them as address[N]\n",
                strerror(errno));
        return 0;
    }
    for (int i = 0; i < o->n_sources; i++)
        if (o->sources[i].live)
            add_interface_addresses(&o->sources[i], all);
    freeifaddrs(all);
    return 0;
}

static void print_list(FILE *out, const struct ip_prefix_list *l)
{
    char text[IP_PREFIX_TEXT_MAX];

    if (l->n == 0)
        fprintf(out, " none");
    for (unsigned i = 0; i < l->n; i++) {
        ip_prefix_format(&l->items[i], text);
        fprintf(out, " %s", text);
    }
    fputc('\n', out);
}

void local_networks_print(const struct options *o, FILE *out)
{
    fprintf(out, "flowsensed: local networks of every source:");
    print_list(out, &o->local_nets);
    for (int i = 0; i < o->n_sources; i++) {
        const struct source_spec *s = &o->sources[i];
        fprintf(out, "flowsensed: local networks of %s (%s) also:", s->label,
                s->internal ? "LAN" : "WAN");
        print_list(out, &s->addresses);
    }
}
