#include "source.h"

#include "log.h"
#include "packet.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define LIVE_SNAPLEN_MAX 65535
/* A link header around an MTU-sized datagram: Ethernet (14), two VLAN
 * tags (8), a frame check sequence (4), rounded up; Linux's cooked
 * headers (16 and 20) fit too. */
#define LINK_HEADER_ALLOWANCE 32
#define LIVE_BUFFER_BYTES (32 << 20)
#define FILE_BUFFER_SIZE (1 << 20)

static void source_set_filter(struct source *s, const char *bpf)
{
    struct bpf_program prog;

    if (bpf == NULL)
        return;
    if (pcap_compile(s->pcap, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) != 0)
        fatalx("%s: bad filter '%s': %s", s->spec->name, bpf, pcap_geterr(s->pcap));
    if (pcap_setfilter(s->pcap, &prog) != 0)
        fatalx("%s: cannot set filter: %s", s->spec->name, pcap_geterr(s->pcap));
    pcap_freecode(&prog);
}

static bool ifreq_for(struct ifreq *ifr, const char *name)
{
    memset(ifr, 0, sizeof(*ifr));
    if (strlen(name) >= sizeof(ifr->ifr_name))
        return false;
    memcpy(ifr->ifr_name, name, strlen(name));
    return true;
}

/* The interface's MTU, or -1 if it has none ("any") or cannot be read. */
static int interface_mtu(int sock, const char *name)
{
    struct ifreq ifr;

    if (!ifreq_for(&ifr, name) || ioctl(sock, SIOCGIFMTU, &ifr) != 0 || ifr.ifr_mtu <= 0)
        return -1;
    return ifr.ifr_mtu;
}

/* Whether the kernel may hand the capture packets larger than the MTU:
 * merged on receive (GRO, LRO) or not yet cut on send (TSO, GSO). */
static bool interface_offloads(int sock, const char *name)
{
    static const uint32_t cmds[] = { ETHTOOL_GGRO, ETHTOOL_GTSO, ETHTOOL_GGSO };
    struct ifreq ifr;
    struct ethtool_value ev;

    if (!ifreq_for(&ifr, name))
        return false;
    ifr.ifr_data = (void *)&ev;
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        memset(&ev, 0, sizeof(ev));
        ev.cmd = cmds[i];
        if (ioctl(sock, SIOCETHTOOL, &ifr) == 0 && ev.data != 0)
            return true;
    }
    memset(&ev, 0, sizeof(ev));
    ev.cmd = ETHTOOL_GFLAGS;
    return ioctl(sock, SIOCETHTOOL, &ifr) == 0 && (ev.data & ETH_FLAG_LRO) != 0;
}

/* The snap length of a live capture: the largest frame the interface's
 * MTU allows.  In immediate mode libpcap (TPACKET_V2) gives every packet
 * a ring slot of this size, capped by the MTU only when no offload is on:
 * with a 64 KiB snap length and offloads on, the 32 MiB buffer would hold
 * about 500 packets.  Packets the offloads merge beyond it are cut: their
 * wire length is still counted, and DPI sees their first bytes. */
static int live_snaplen(const char *name)
{
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (sock < 0) {
        log_warn("%s: cannot query the MTU; snap length %d", name, LIVE_SNAPLEN_MAX);
        return LIVE_SNAPLEN_MAX;
    }
    int mtu = interface_mtu(sock, name);
    int snaplen = LIVE_SNAPLEN_MAX;
    if (mtu > 0 && mtu < LIVE_SNAPLEN_MAX - LINK_HEADER_ALLOWANCE)
        snaplen = mtu + LINK_HEADER_ALLOWANCE;
    if (snaplen < LIVE_SNAPLEN_MAX && interface_offloads(sock, name))
        log_warnx("%s: offloads (GRO/LRO/TSO/GSO) are on: packets merged beyond the MTU are "
                  "cut to %d bytes (counted in capture.truncated_packets; their bytes still "
                  "count in full, DPI sees their first %d); to capture them whole, run "
                  "`ethtool -K %s gro off lro off tso off gso off`",
                  name, snaplen, snaplen, name);
    log_debug("%s: MTU %d, snap length %d", name, mtu, snaplen);
    close(sock);
    return snaplen;
}

static void source_open_live(struct source *s)
{
    char err[PCAP_ERRBUF_SIZE] = "";
    const char *name = s->spec->name;

    s->pcap = pcap_create(name, err);
    if (s->pcap == NULL)
        fatalx("cannot capture on %s: %s", name, err);
    if (pcap_set_snaplen(s->pcap, live_snaplen(name)) != 0 || pcap_set_promisc(s->pcap, 1) != 0 ||
        pcap_set_immediate_mode(s->pcap, 1) != 0 ||
        pcap_set_buffer_size(s->pcap, LIVE_BUFFER_BYTES) != 0)
        fatalx("cannot configure capture on %s", name);
    /* Nanosecond stamps where the kernel offers them; micro otherwise. */
    (void)pcap_set_tstamp_precision(s->pcap, PCAP_TSTAMP_PRECISION_NANO);
    int rc = pcap_activate(s->pcap);
    if (rc < 0)
        fatalx("cannot capture on %s: %s", name, pcap_geterr(s->pcap));
    if (rc > 0)
        log_warnx("%s: %s", name, pcap_statustostr(rc));
    if (pcap_setnonblock(s->pcap, 1, err) != 0)
        fatalx("%s: cannot set non-blocking: %s", name, err);
    s->selectable_fd = pcap_get_selectable_fd(s->pcap);
    if (s->selectable_fd < 0)
        fatalx("%s: capture handle has no selectable descriptor", name);
}

/* The kernel's count of packets the interface itself dropped, as libpcap
 * computes ps_ifdrop: rx_missed_errors + rx_fifo_errors.  libpcap opens
 * the files on every pcap_stats(); the sandbox lets it fail softly and we
 * read our own descriptors instead. */
static const char *const ifdrop_files[2] = { "rx_missed_errors", "rx_fifo_errors" };

static uint64_t read_ifdrops(const struct source *s)
{
    uint64_t sum = 0;

    for (int i = 0; i < 2; i++) {
        char buf[32];
        ssize_t n;

        if (s->ifdrop_fd[i] < 0 || (n = pread(s->ifdrop_fd[i], buf, sizeof(buf) - 1, 0)) <= 0)
            continue;
        buf[n] = '\0';
        sum += strtoull(buf, NULL, 10);
    }
    return sum;
}

static void open_ifdrops(struct source *s)
{
    const char *name = s->spec->name;

    for (int i = 0; i < 2; i++) {
        char path[256];

        s->ifdrop_fd[i] = -1;
        if (strchr(name, '/') != NULL || strcmp(name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", name, ifdrop_files[i]);
        s->ifdrop_fd[i] = open(path, O_RDONLY | O_CLOEXEC);
        if (s->ifdrop_fd[i] < 0 && errno != ENOENT)
            log_warn("%s: cannot open %s; interface drops are not counted", name, path);
    }
    s->ifdrop_base = read_ifdrops(s);
}

/* The file is read through a large stdio buffer: with the default one
 * (4 KiB) a replay makes a read() per few packets, and each passes the
 * seccomp filter.  Only the capture loop reads it, so stdio need not
 * lock it: glibc's lock costs two atomic operations per fread, which
 * libpcap calls twice per packet.  "-" is standard input, left to
 * libpcap. */
static pcap_t *open_file(struct source *s, const char *name, char *err)
{
    if (strcmp(name, "-") == 0)
        return pcap_open_offline_with_tstamp_precision(name, PCAP_TSTAMP_PRECISION_NANO, err);
    FILE *f = fopen(name, "rb");
    if (f == NULL) {
        snprintf(err, PCAP_ERRBUF_SIZE, "%s", strerror(errno));
        return NULL;
    }
    __fsetlocking(f, FSETLOCKING_BYCALLER);
    s->file_buffer = malloc(FILE_BUFFER_SIZE);
    if (s->file_buffer && setvbuf(f, s->file_buffer, _IOFBF, FILE_BUFFER_SIZE) != 0) {
        free(s->file_buffer);
        s->file_buffer = NULL;
    }
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, err);
    if (p == NULL) {
        fclose(f);
        free(s->file_buffer);
        s->file_buffer = NULL;
    }
    return p;
}

void source_open(struct source *s, const struct source_spec *spec, const char *bpf)
{
    char err[PCAP_ERRBUF_SIZE] = "";

    memset(s, 0, sizeof(*s));
    s->spec = spec;
    s->selectable_fd = -1;
    s->ifdrop_fd[0] = s->ifdrop_fd[1] = -1;
    if (spec->live) {
        source_open_live(s);
        open_ifdrops(s);
    } else {
        s->pcap = open_file(s, spec->name, err);
        if (s->pcap == NULL)
            fatalx("cannot read capture file %s: %s", spec->name, err);
        struct stat st;
        FILE *f = pcap_file(s->pcap);
        if (f && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode))
            s->file_size = (uint64_t)st.st_size;
    }
    source_set_filter(s, bpf);
    s->link_type = pcap_datalink(s->pcap);
    const char *link_name = pcap_datalink_val_to_name(s->link_type);
    log_debug("%s: link type %s (%d)", spec->name, link_name ? link_name : "unknown",
              s->link_type);
    if (!packet_link_supported((uint32_t)s->link_type))
        log_warnx("%s: link type %d (%s) is not decoded: its packets are counted in worker 0's "
                  "decode_errors.unsupported_link", spec->name, s->link_type,
                  link_name ? link_name : "unknown");
}

void source_close(struct source *s)
{
    if (s->pcap)
        pcap_close(s->pcap);
    s->pcap = NULL;
    free(s->file_buffer); /* after pcap_close(), which closes the file */
    s->file_buffer = NULL;
    for (int i = 0; i < 2; i++)
        if (s->ifdrop_fd[i] >= 0)
            close(s->ifdrop_fd[i]);
}

void source_add_stats(struct source *s, uint64_t *recv, uint64_t *drop, uint64_t *ifdrop)
{
    struct pcap_stat st;

    if (!s->spec->live || s->pcap == NULL || pcap_stats(s->pcap, &st) != 0)
        return;
    *recv += st.ps_recv;
    *drop += st.ps_drop;
    uint64_t now = read_ifdrops(s);
    *ifdrop += now >= s->ifdrop_base ? now - s->ifdrop_base : 0;
}
