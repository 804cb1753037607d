/* Single-producer/single-consumer packet ring in shared memory.
 *
 * flowsensed (producer) creates one ring per worker with ring_create()
 * before forking, so a restarted worker re-attaches to the same memory
 * with ring_attach() and carries on after the last record the dead one
 * took: a record that kills its worker is not handed to the next one.
 *
 * The data area holds variable-size records (struct ring_record + bytes),
 * each 8-byte aligned.  A record never wraps: when it does not fit before
 * the end of the area, the producer writes a RING_PAD record covering the
 * rest and starts again at offset 0.
 *
 * Positions are free-running 32-bit byte counters masked on access; the
 * data area is a power of two no larger than 1 GiB, so head - tail is
 * always the number of bytes in use even after the counters wrap.
 */
#ifndef FLOWSENSE_RING_H
#define FLOWSENSE_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RING_MAGIC 0x31474e4952534cfULL /* "FSRING1" */
#define RING_MIN_SIZE (1u << 16)
#define RING_MAX_SIZE (1u << 30)
#define RING_DEFAULT_SIZE (16u << 20)

enum ring_record_kind {
    RING_PACKET = 1, /* a captured packet */
    RING_TICK = 2,   /* no data: the clock moved to ts_ns (live idle time) */
    RING_END = 3,    /* input is over: purge every flow and exit */
    RING_PAD = 4,    /* filler up to the end of the data area */
    RING_DNS_HINT = 5, /* a copy of a DNS answer owned by another worker: only
                        * for the DNS hint cache, never a flow's packet */
};

/* One record.  size and kind come first: a RING_PAD record may be only
 * 8 bytes long, so the consumer reads nothing else before checking kind. */
struct ring_record {
    uint32_t size;      /* whole record, header included, multiple of 8 */
    uint16_t kind;      /* enum ring_record_kind */
    uint16_t interface; /* index into the interface table given to workers */
    uint64_t ts_ns;     /* packet time, ns since the epoch */
    uint32_t wire_len;  /* length on the wire (pcap len) */
    uint32_t cap_len;   /* bytes that follow (pcap caplen) */
    uint32_t link_type; /* DLT_* of the capture handle */
    uint32_t reserved;
    uint8_t data[];
};

#define RING_RECORD_HEADER_SIZE ((uint32_t)sizeof(struct ring_record))

/* Counters are each written by one side only (named beside each).  The
 * consumer's state after `records_corrupt` is also written by flowsensed,
 * but only while no consumer runs: before it starts one, after one died. */
struct ring_shared {
    /* Written once by ring_create(), read-only afterwards. */
    uint64_t magic;
    uint32_t data_size;
    uint32_t unused;

    /* Producer cache line. */
    _Alignas(64) _Atomic uint32_t head;  /* producer: release on publish */
    _Atomic uint32_t producer_waiting;   /* producer: 1 while waiting for space */
    _Atomic uint64_t records_pushed;     /* producer */
    _Atomic uint64_t records_dropped;    /* producer: ring full in live mode */

    /* Consumer cache line. */
    _Alignas(64) _Atomic uint32_t tail;  /* consumer: release on release */
    _Atomic uint32_t consumer_sleeping;  /* consumer: 1 while blocked */
    _Atomic uint64_t records_consumed;   /* consumer */
    _Atomic uint64_t records_corrupt;    /* consumer: bad record, ring reset */
    _Atomic uint32_t taken;              /* consumer: end of the last record popped */
    _Atomic uint32_t consumer_ready;     /* consumer: 1 once it takes records */
    _Atomic uint64_t flows_active;       /* consumer: flows its table holds */
    _Atomic uint64_t messages_sent;      /* consumer: event messages it sent on */

    _Alignas(64) uint8_t data[];
};

/* A process-local view of a ring. */
struct ring {
    struct ring_shared *sh;
    size_t map_len;
    uint32_t mask;
    uint32_t local_pos;   /* producer: unpublished head; consumer: unreleased tail */
    uint32_t cached_peer; /* last position of the other side we loaded */
    uint32_t pending;     /* records pushed or popped since the last publish/release */
    uint32_t unsignalled; /* producer: records published to a sleeping consumer, not woken */
    uint32_t spin_polls;  /* consumer: polls of head before sleeping (ring_wait_data) */
    int data_event_fd;    /* producer writes when consumer_sleeping */
    int space_event_fd;   /* consumer writes when producer_waiting */
};

/* Creates the shared memory (memfd) and both eventfds.  size is rounded up
 * to a power of two.  Returns 0, or -1 with errno set. */
int ring_create(struct ring *r, uint32_t size, int *memfd);
/* Maps an existing ring (worker side); checks magic and size.  Returns 0,
 * or -1 with errno set (EINVAL for a bad header, or a size larger than
 * the memory behind memfd). */
int ring_attach(struct ring *r, int memfd, int data_event_fd, int space_event_fd);
void ring_detach(struct ring *r);

/* The producer's view of its consumer's life (flowsensed supervises it).
 * Before starting a consumer: */
void ring_consumer_reset(struct ring *r);
/* After the consumer died: did it get as far as ring_consumer_ready()? */
bool ring_consumer_was_ready(const struct ring *r);
/* After the consumer died: the flows it last reported, which died with
 * it; reads them once (the count is cleared). */
uint64_t ring_take_flows(struct ring *r);
/* The consumer has taken every published record (the last one included,
 * e.g. RING_END). */
bool ring_drained(const struct ring *r);

/* Producer.  ring_reserve returns where to write cap_len packet bytes, or
 * NULL when the ring lacks room (nothing is changed then). */
struct ring_record *ring_reserve(struct ring *r, uint32_t cap_len);
/* Makes everything reserved so far visible to the consumer and wakes it
 * if it sleeps.  Call after a batch, not after every packet. */
void ring_publish(struct ring *r);
/* The same, but a sleeping consumer is woken only once RING_WAKE_BATCH
 * records or a quarter of the ring wait for it, so that a consumer faster than its producer does
 * not cost a wake-up (two syscalls and a context switch) every few
 * packets.  Whoever publishes lazily must end each burst with
 * ring_publish(), and must call it before waiting for space or dropping
 * a record for lack of it. */
void ring_publish_lazy(struct ring *r);
#define RING_WAKE_BATCH 4096
/* Blocks up to timeout_ms for the consumer to free space. */
void ring_wait_space(struct ring *r, int timeout_ms);

/* Consumer.  ring_peek returns the next record or NULL when empty.  A
 * record that fails validation resets the ring (everything in it is
 * dropped and counted in records_corrupt) and NULL is returned. */
const struct ring_record *ring_peek(struct ring *r);
/* Takes the record ring_peek returned; it stays readable until the next
 * ring_release.  Pop before handling a record, so that a consumer killed
 * by it is not given it again. */
void ring_pop(struct ring *r);
/* Gives popped space back to the producer and wakes it if it waits. */
void ring_release(struct ring *r);
/* Blocks up to timeout_ms for the producer to publish.  It first polls
 * the ring spin_polls times, a few tens of microseconds (no syscall): a
 * producer that publishes that often never has to wake us, and waking an
 * idle CPU costs the producer more than the spin costs us.  ring_attach()
 * sets RING_SPIN_POLLS; a consumer that shares its CPUs with a producer
 * that must not lose packets (live capture) sets 0. */
void ring_wait_data(struct ring *r, int timeout_ms);
#define RING_SPIN_POLLS 2048
/* Initialisation is over: from now on a death is a crash, not a failure
 * to start (see capture/supervisor.c). */
void ring_consumer_ready(struct ring *r);
/* How many flows the consumer holds, for flowsensed to count as lost if
 * it dies.  One plain store: call it whenever the count may have changed. */
void ring_report_flows(struct ring *r, uint64_t flows);
/* The event messages the consumer has sent on (one plain store), and
 * what flowsensed reads: a number that grows while the consumer takes
 * records or sends messages, so its shutdown waits for a consumer that
 * is still working however long that takes. */
void ring_report_messages(struct ring *r, uint64_t messages_sent);
uint64_t ring_consumer_progress(const struct ring *r);

#endif
