#define _GNU_SOURCE
#include "ring.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static uint32_t align8(uint32_t n)
{
    return (n + 7u) & ~7u;
}

static uint32_t round_pow2(uint32_t n)
{
    uint32_t p = RING_MIN_SIZE;

    while (p < n && p < RING_MAX_SIZE)
        p <<= 1;
    return p;
}

static int ring_map(struct ring *r, int memfd, uint32_t data_size)
{
    r->map_len = sizeof(struct ring_shared) + data_size;
    r->sh = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (r->sh == MAP_FAILED) {
        r->sh = NULL;
        return -1;
    }
    r->mask = data_size - 1;
    return 0;
}

int ring_create(struct ring *r, uint32_t size, int *memfd)
{
    uint32_t data_size = round_pow2(size);

    memset(r, 0, sizeof(*r));
    r->data_event_fd = r->space_event_fd = -1;
    *memfd = memfd_create("flowsense-ring", MFD_CLOEXEC);
    if (*memfd < 0)
        return -1;
    if (ftruncate(*memfd, (off_t)(sizeof(struct ring_shared) + data_size)) < 0 ||
        ring_map(r, *memfd, data_size) < 0)
        goto fail;
    r->sh->magic = RING_MAGIC;
    r->sh->data_size = data_size;
    r->data_event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    r->space_event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (r->data_event_fd < 0 || r->space_event_fd < 0)
        goto fail;
    return 0;
fail:;
    int saved = errno;
    ring_detach(r);
    close(*memfd);
    *memfd = -1;
    errno = saved;
    return -1;
}

int ring_attach(struct ring *r, int memfd, int data_event_fd, int space_event_fd)
{
    struct ring_shared probe;

    memset(r, 0, sizeof(*r));
    if (pread(memfd, &probe, sizeof(probe), 0) != (ssize_t)sizeof(probe))
        return -1;
    if (probe.magic != RING_MAGIC || probe.data_size < RING_MIN_SIZE ||
        probe.data_size > RING_MAX_SIZE ||
        (probe.data_size & (probe.data_size - 1)) != 0) {
        errno = EINVAL;
        return -1;
    }
    /* A mapping past the end of the memory would fault on first use. */
    struct stat st;
    if (fstat(memfd, &st) != 0)
        return -1;
    if ((uint64_t)st.st_size < sizeof(struct ring_shared) + (uint64_t)probe.data_size) {
        errno = EINVAL;
        return -1;
    }
    if (ring_map(r, memfd, probe.data_size) < 0)
        return -1;
    /* Resume after the last record the previous consumer took: what it
     * took died with its flow table, and if one of those records killed
     * it, it must not kill us too.  A position outside [tail, head] (a
     * fresh ring, a reset, a hostile writer) is not trusted: tail then. */
    uint32_t tail = atomic_load_explicit(&r->sh->tail, memory_order_relaxed);
    uint32_t head = atomic_load_explicit(&r->sh->head, memory_order_acquire);
    uint32_t taken = atomic_load_explicit(&r->sh->taken, memory_order_relaxed);
    r->local_pos = (taken & 7) == 0 && taken - tail <= head - tail ? taken : tail;
    r->cached_peer = r->local_pos;
    r->spin_polls = RING_SPIN_POLLS;
    r->data_event_fd = data_event_fd;
    r->space_event_fd = space_event_fd;
    return 0;
}

void ring_detach(struct ring *r)
{
    if (r->sh)
        munmap(r->sh, r->map_len);
    r->sh = NULL;
}

void ring_consumer_reset(struct ring *r)
{
    atomic_store_explicit(&r->sh->consumer_ready, 0, memory_order_relaxed);
}

bool ring_consumer_was_ready(const struct ring *r)
{
    return atomic_load_explicit(&r->sh->consumer_ready, memory_order_relaxed) != 0;
}

uint64_t ring_take_flows(struct ring *r)
{
    return atomic_exchange_explicit(&r->sh->flows_active, 0, memory_order_relaxed);
}

bool ring_drained(const struct ring *r)
{
    return atomic_load_explicit(&r->sh->taken, memory_order_relaxed) ==
           atomic_load_explicit(&r->sh->head, memory_order_acquire);
}

static void eventfd_signal(int fd)
{
    uint64_t one = 1;

    /* EAGAIN means the counter is already non-zero: the peer will wake. */
    if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        return;
}

static void eventfd_wait(int fd, int timeout_ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    uint64_t count;

    if (poll(&pfd, 1, timeout_ms) > 0 && read(fd, &count, sizeof(count)) < 0)
        return;
}

struct ring_record *ring_reserve(struct ring *r, uint32_t cap_len)
{
    uint32_t need = align8(RING_RECORD_HEADER_SIZE + cap_len);
    uint32_t size = r->sh->data_size;
    uint32_t offset = r->local_pos & r->mask;
    uint32_t contiguous = size - offset;
    uint32_t total = need <= contiguous ? need : contiguous + need;

    if (need > size / 2)
        return NULL;
    if (size - (r->local_pos - r->cached_peer) < total) {
        /* acquire: pairs with the consumer's release of tail in
         * ring_release(), so the bytes it read are no longer in use. */
        r->cached_peer = atomic_load_explicit(&r->sh->tail, memory_order_acquire);
        if (size - (r->local_pos - r->cached_peer) < total)
            return NULL;
    }
    if (need > contiguous) {
        struct ring_record *pad = (struct ring_record *)(r->sh->data + offset);
        pad->size = contiguous;
        pad->kind = RING_PAD;
        r->local_pos += contiguous;
        offset = 0;
    }
    struct ring_record *rec = (struct ring_record *)(r->sh->data + offset);
    rec->size = need;
    rec->cap_len = cap_len;
    rec->reserved = 0;
    r->local_pos += need;
    r->pending++;
    return rec;
}

static void publish(struct ring *r, uint32_t wake_after)
{
    if (r->pending > 0) {
        atomic_fetch_add_explicit(&r->sh->records_pushed, r->pending, memory_order_relaxed);
        r->unsignalled += r->pending;
        r->pending = 0;
        /* release: pairs with the acquire load of head in ring_peek();
         * every record byte written before this store is visible to the
         * consumer. */
        atomic_store_explicit(&r->sh->head, r->local_pos, memory_order_release);
    }
    if (r->unsignalled == 0)
        return;
    /* seq_cst fence: orders the head store before the load of
     * consumer_sleeping; pairs with the fence in ring_wait_data(), so
     * either the consumer sees the new head or we see it sleeping. */
    atomic_thread_fence(memory_order_seq_cst);
    if (!atomic_load_explicit(&r->sh->consumer_sleeping, memory_order_relaxed)) {
        r->unsignalled = 0; /* awake: it looks at head again before sleeping */
        return;
    }
    /* acquire: pairs with the release of tail in ring_release(), like
     * the load in ring_reserve(); the cached tail may be far behind. */
    r->cached_peer = atomic_load_explicit(&r->sh->tail, memory_order_acquire);
    uint32_t used = r->local_pos - r->cached_peer;
    if (r->unsignalled >= wake_after || used >= r->sh->data_size / 4) {
        eventfd_signal(r->data_event_fd);
        r->unsignalled = 0;
    }
}

void ring_publish(struct ring *r)
{
    publish(r, 1);
}

void ring_publish_lazy(struct ring *r)
{
    publish(r, RING_WAKE_BATCH);
}

void ring_wait_space(struct ring *r, int timeout_ms)
{
    atomic_store_explicit(&r->sh->producer_waiting, 1, memory_order_relaxed);
    /* seq_cst fence: pairs with the fence in ring_release(). */
    atomic_thread_fence(memory_order_seq_cst);
    uint32_t tail = atomic_load_explicit(&r->sh->tail, memory_order_acquire);
    if (tail == r->cached_peer)
        eventfd_wait(r->space_event_fd, timeout_ms);
    atomic_store_explicit(&r->sh->producer_waiting, 0, memory_order_relaxed);
}

static void ring_reset_corrupt(struct ring *r, uint32_t head)
{
    atomic_fetch_add_explicit(&r->sh->records_corrupt, 1, memory_order_relaxed);
    r->local_pos = head;
    atomic_store_explicit(&r->sh->taken, head, memory_order_relaxed);
    ring_release(r);
}

const struct ring_record *ring_peek(struct ring *r)
{
    for (;;) {
        if (r->local_pos == r->cached_peer) {
            /* acquire: pairs with the release store in ring_publish(). */
            r->cached_peer = atomic_load_explicit(&r->sh->head, memory_order_acquire);
            if (r->local_pos == r->cached_peer)
                return NULL;
        }
        uint32_t used = r->cached_peer - r->local_pos;
        uint32_t offset = r->local_pos & r->mask;
        /* Our own size, checked at attach: the shared one may change. */
        uint32_t contiguous = r->mask + 1 - offset;
        /* Positions the producer cannot have written: out of step with
         * the 8-byte records, or more bytes in use than the area holds. */
        if ((r->local_pos & 7) || used > r->mask + 1) {
            ring_reset_corrupt(r, r->cached_peer);
            return NULL;
        }
        const struct ring_record *rec = (const struct ring_record *)(r->sh->data + offset);
        /* The producer is trusted less than our own memory: a bad size
         * would make us read past the area or loop for ever. */
        uint32_t size = rec->size;
        if (size < 8 || (size & 7) || size > used || size > contiguous) {
            ring_reset_corrupt(r, r->cached_peer);
            return NULL;
        }
        if (rec->kind == RING_PAD) {
            r->local_pos += size;
            continue;
        }
        if (size < RING_RECORD_HEADER_SIZE ||
            rec->cap_len > size - RING_RECORD_HEADER_SIZE) {
            ring_reset_corrupt(r, r->cached_peer);
            return NULL;
        }
        return rec;
    }
}

void ring_pop(struct ring *r)
{
    const struct ring_record *rec =
        (const struct ring_record *)(r->sh->data + (r->local_pos & r->mask));

    r->local_pos += rec->size;
    r->pending++;
    atomic_store_explicit(&r->sh->taken, r->local_pos, memory_order_relaxed);
    /* Compiler barrier: the store is issued before the caller handles the
     * record, so it is in shared memory if handling kills the process. */
    atomic_signal_fence(memory_order_seq_cst);
}

void ring_release(struct ring *r)
{
    atomic_fetch_add_explicit(&r->sh->records_consumed, r->pending, memory_order_relaxed);
    r->pending = 0;
    /* release: pairs with the acquire load of tail in ring_reserve(); we
     * are done reading the bytes before this position. */
    atomic_store_explicit(&r->sh->tail, r->local_pos, memory_order_release);
    /* seq_cst fence: pairs with the fence in ring_wait_space(). */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&r->sh->producer_waiting, memory_order_relaxed))
        eventfd_signal(r->space_event_fd);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

void ring_wait_data(struct ring *r, int timeout_ms)
{
    for (uint32_t i = 0; i < r->spin_polls; i++) {
        /* relaxed: ring_peek() loads head again with acquire. */
        if (atomic_load_explicit(&r->sh->head, memory_order_relaxed) != r->local_pos)
            return;
        cpu_relax();
    }
    atomic_store_explicit(&r->sh->consumer_sleeping, 1, memory_order_relaxed);
    /* seq_cst fence: pairs with the fence in ring_publish(). */
    atomic_thread_fence(memory_order_seq_cst);
    uint32_t head = atomic_load_explicit(&r->sh->head, memory_order_acquire);
    if (head == r->local_pos)
        eventfd_wait(r->data_event_fd, timeout_ms);
    atomic_store_explicit(&r->sh->consumer_sleeping, 0, memory_order_relaxed);
}

void ring_consumer_ready(struct ring *r)
{
    atomic_store_explicit(&r->sh->consumer_ready, 1, memory_order_relaxed);
}

void ring_report_flows(struct ring *r, uint64_t flows)
{
    atomic_store_explicit(&r->sh->flows_active, flows, memory_order_relaxed);
}

void ring_report_messages(struct ring *r, uint64_t messages_sent)
{
    atomic_store_explicit(&r->sh->messages_sent, messages_sent, memory_order_relaxed);
}

uint64_t ring_consumer_progress(const struct ring *r)
{
    return atomic_load_explicit(&r->sh->records_consumed, memory_order_relaxed) +
           atomic_load_explicit(&r->sh->messages_sent, memory_order_relaxed);
}
