/* Fuzz target (a): the worker's packet path, from raw frame bytes to the
 * msgpack events it sends the broker.  Each record goes through
 * worker_handle_record(), as worker_run() hands it over from the ring:
 * link-layer and tunnel decoding, IP reassembly, the DNS hint cache, the
 * flow table (bounded at 64 flows, so refusal is reached), nDPI, expiry
 * and flow_status timers on packet time, and event encoding; at the end
 * every flow is purged as at the end of a capture.
 *
 * The events go through a real channel (a socket pair), and every message
 * is checked as the broker checks a worker's: an event the broker would
 * reject as malformed is a bug of the worker, and aborts.
 *
 * Input: records, each a header byte, a 2-byte time step, a chunk (the
 * frame: a 2-byte big-endian length, then the bytes).  Header byte:
 *   bits 0-3  link type: index into `links` below (modulo its size)
 *   bit 4     a RING_DNS_HINT record (a copy of another worker's DNS answer)
 *   bit 5     interface 1 (LAN, with its own network) instead of 0 (WAN)
 *   bit 6     the time step is in seconds, not milliseconds (expiry, status);
 *             a step of 0x8000 or more then goes back (step - 0x8000) s:
 *             time going backwards, as captures merged out of order do
 *   bit 7     wire length larger than the frame by a further 2-byte number
 * tests/fuzz/pcap_to_seeds.py writes captures in this form.
 *
 * With FUZZ_DUMP_EVENTS=DIR set, the plain build also writes the events
 * of each input as an input of fuzz_broker (its seed corpus).
 *
 * nDPI keeps state across flows in its detection module (LRU caches of
 * addresses and ports, the packet being dissected), shared by every input
 * for speed: a crash may then need the inputs before it.  With
 * FUZZ_FRESH_NDPI=1 each input gets a new module (30 ms of set-up each),
 * so that every crash found reproduces from its one input. */
#include "events.h"
#include "fuzz_input.h"
#include "log.h"
#include "worker_loop.h"

#include <fcntl.h>
#include <pcap/dlt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Every link type packet.c decodes, then one it does not. */
static const uint32_t links[] = {
    DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_C_HDLC, DLT_PPP, DLT_NULL,
    DLT_LOOP,   DLT_RAW,       DLT_IPV4,       DLT_IPV6,   DLT_USER0,
};
#define N_LINKS (sizeof(links) / sizeof(links[0]))
#define BASE_TIME_NS 1700000000000000000ull

static struct worker_options opts;
static struct worker w;
static struct ring_shared *fake_ring;
static int channel_peer = -1;
static msgpack_unpacked unpacked;
static const char *dump_dir;
static bool fresh_ndpi;
static FILE *dump;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static char *args[] = { "fuzz_worker",     "--interface", "wan0",    "wan",
                            "--interface",     "lan0",        "lan",     "--address",
                            "192.168.1.0/24",  "--local-net", "10.0.0.0/8",
                            "--max-flows",     "64",          "--dhc-max-entries",
                            "64",              "--ttl-idle-flow", "30",
                            "--update-interval", "15",        NULL };
    (void)argc;
    (void)argv;
    log_init("fuzz_worker", getenv("FUZZ_DEBUG") != NULL);
    optind = 1;
    worker_options_parse(&opts, (int)(sizeof(args) / sizeof(args[0])) - 1, args);
    if (detector_init(&w.detector, opts.max_detection_pkts) != 0)
        fatalx("cannot initialise nDPI");
    fake_ring = calloc(1, sizeof(*fake_ring));
    if (fake_ring == NULL)
        fatalx("out of memory");
    msgpack_unpacked_init(&unpacked);
    dump_dir = getenv("FUZZ_DUMP_EVENTS");
    fresh_ndpi = getenv("FUZZ_FRESH_NDPI") != NULL;
    return 0;
}

static void on_event(void *ctx, enum event_kind kind, const msgpack_object *obj, const char *raw,
                     size_t raw_len, const char *why)
{
    (void)ctx;
    (void)obj;
    (void)raw;
    if (kind == EVENT_INVALID) {
        fprintf(stderr, "the worker sent an event the broker rejects (%zu bytes): %s\n",
                raw_len, why);
        abort();
    }
}

/* Reads what the worker sent, checks it as the broker does, and writes
 * it as a fuzz_broker step (worker channel 0) when dumping. */
static void drain_events(void)
{
    static char msg[CHANNEL_MAX_MESSAGE + 1];
    ssize_t n;

    while ((n = recv(channel_peer, msg, sizeof(msg), MSG_DONTWAIT)) > 0) {
        broker_event_walk(msg, (size_t)n, EVENT_FROM_WORKER, &unpacked, on_event, NULL);
        if (dump != NULL) {
            size_t len = (size_t)n > 0xffff ? 0xffff : (size_t)n;
            uint8_t step[3] = { 0, (uint8_t)(len >> 8), (uint8_t)len };
            fwrite(step, 1, sizeof(step), dump);
            fwrite(msg, 1, len, dump);
        }
    }
}

static void worker_open(void)
{
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        fatal("socketpair");
    int size = 1 << 20;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    channel_peer = sv[1];
    if (fresh_ndpi) {
        detector_destroy(&w.detector);
        if (detector_init(&w.detector, opts.max_detection_pkts) != 0)
            fatalx("cannot initialise nDPI");
    }
    /* The rest of struct worker is as main.c leaves it before worker_run. */
    struct detector d = w.detector;
    memset(&w, 0, sizeof(w));
    w.detector = d;
    w.opts = &opts;
    w.ring.sh = fake_ring;
    channel_writer_init(&w.events, sv[0]);
    /* Never wait on a full channel: drops are counted, the fuzzer goes on. */
    channel_set_max_wait(&w.events, 0);
    if (flow_table_init(&w.flows, opts.max_flows) != 0 ||
        dns_hints_init(&w.dns_hints, opts.dhc_max_entries) != 0)
        fatalx("out of memory");
    reassembly_init(&w.reassembly);
}

static void worker_close(void)
{
    log_debug("fuzz worker: %llu packets, %llu flows, %llu events sent, %llu dropped",
              (unsigned long long)w.counters.packets, (unsigned long long)w.flows.flows_created,
              (unsigned long long)w.events.events_sent,
              (unsigned long long)w.events.events_dropped);
    dns_hints_destroy(&w.dns_hints);
    reassembly_clear(&w.reassembly);
    flow_table_destroy(&w.flows);
    close(w.events.fd);
    channel_writer_destroy(&w.events);
    close(channel_peer);
}

static void open_dump(const uint8_t *data, size_t size)
{
    char path[4096];
    uint64_t h = 1469598103934665603ull; /* FNV-1a of the input names the file */

    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 1099511628211ull;
    snprintf(path, sizeof(path), "%s/%016llx", dump_dir, (unsigned long long)h);
    dump = fopen(path, "wb");
    if (dump == NULL)
        fatal("%s", path);
    /* fuzz_broker: flags, then no client command line. */
    fwrite("\0\0\0", 1, 3, dump);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    uint64_t ts_ns = BASE_TIME_NS;

    worker_open();
    if (dump_dir != NULL)
        open_dump(data, size);
    while (in.left > 0) {
        uint8_t h = fuzz_take_u8(&in);
        uint64_t step = fuzz_take_be(&in, 2);
        size_t len;
        const uint8_t *frame = fuzz_take_chunk(&in, &len);
        uint64_t extra = h & 0x80 ? fuzz_take_be(&in, 2) : 0;

        if ((h & 0x40) && (step & 0x8000))
            ts_ns -= (step & 0x7fff) * 1000000000ull;
        else
            ts_ns += step * (h & 0x40 ? 1000000000ull : 1000000ull);
        /* An exact-size record: ASan sees any read past the frame. */
        struct ring_record *rec = malloc(sizeof(*rec) + len);
        if (rec == NULL)
            abort();
        *rec = (struct ring_record){
            .size = (uint32_t)(sizeof(*rec) + len),
            .kind = h & 0x10 ? RING_DNS_HINT : RING_PACKET,
            .interface = (h >> 5) & 1,
            .ts_ns = ts_ns,
            .wire_len = (uint32_t)(len + extra),
            .cap_len = (uint32_t)len,
            .link_type = links[(h & 0x0f) % N_LINKS],
        };
        memcpy(rec->data, frame, len);
        worker_handle_record(&w, rec);
        free(rec);
        drain_events();
    }
    /* The end of the capture: RING_END one second after the last record. */
    struct ring_record end = { .size = sizeof(end), .kind = RING_END, .ts_ns = ts_ns + 1000000000 };
    worker_handle_record(&w, &end);
    worker_purge_all(&w, "terminated");
    channel_flush(&w.events);
    drain_events();
    worker_close();
    if (dump != NULL) {
        fclose(dump);
        dump = NULL;
    }
    return 0;
}
