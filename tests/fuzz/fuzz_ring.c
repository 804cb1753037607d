/* Fuzz target (e): the consumer side of the packet ring (common/ring.c)
 * reading a ring whose header and records are garbage, as if flowsensed
 * had been subverted or its memory scribbled on.  The worker must not
 * read outside the shared mapping, loop for ever, or trust a record's
 * lengths: it resets the ring and counts the corruption.
 *
 * Input: the ring header fields a producer writes (data_size, head,
 * tail, taken), then the fields it could change after the worker
 * attached (data_size, head again, applied when the flag byte says so),
 * then the data area's first bytes (the rest of the 64 KiB stays zero).
 * The worker attaches with ring_attach() and takes every record with
 * ring_peek()/ring_pop()/ring_release(), reading each one's bytes. */
#include "fuzz_input.h"
#include "ring.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static struct ring producer;
static int memfd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (ring_create(&producer, RING_MIN_SIZE, &memfd) != 0) {
        perror("ring_create");
        abort();
    }
    return 0;
}

/* Touches every byte a record says it holds, so ASan sees a bad length. */
static unsigned read_record(const struct ring_record *rec)
{
    unsigned sum = rec->kind + rec->interface + (unsigned)rec->ts_ns + rec->wire_len +
                   rec->link_type;

    for (uint32_t i = 0; i < rec->cap_len; i++)
        sum += rec->data[i];
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    struct ring_shared *sh = producer.sh;
    uint32_t data_size = producer.mask + 1;
    struct ring consumer;

    /* A fresh ring, then what the input writes into it. */
    memset(sh->data, 0, data_size);
    atomic_store(&sh->records_corrupt, 0);
    uint8_t flags = fuzz_take_u8(&in);
    sh->data_size = flags & 1 ? (uint32_t)fuzz_take_be(&in, 4) : data_size;
    atomic_store(&sh->head, (uint32_t)fuzz_take_be(&in, 4));
    atomic_store(&sh->tail, (uint32_t)fuzz_take_be(&in, 4));
    atomic_store(&sh->taken, (uint32_t)fuzz_take_be(&in, 4));
    uint32_t later_size = (uint32_t)fuzz_take_be(&in, 4);
    uint32_t later_head = (uint32_t)fuzz_take_be(&in, 4);
    memcpy(sh->data, in.p, in.left < data_size ? in.left : data_size);

    if (ring_attach(&consumer, memfd, producer.data_event_fd, producer.space_event_fd) != 0)
        goto done;
    /* The producer changes the header under the worker's feet. */
    if (flags & 2)
        consumer.sh->data_size = later_size;
    if (flags & 4)
        atomic_store(&consumer.sh->head, later_head);

    volatile unsigned sum = 0;
    const struct ring_record *rec;
    /* Every record takes 8 bytes at least: more records than that means
     * the consumer went round in circles. */
    unsigned limit = data_size / 8 + 1, taken = 0;
    ring_consumer_ready(&consumer);
    while ((rec = ring_peek(&consumer)) != NULL) {
        sum += read_record(rec);
        ring_pop(&consumer);
        if (++taken % 64 == 0)
            ring_release(&consumer);
        if (taken > limit)
            abort();
    }
    ring_release(&consumer);
    ring_report_flows(&consumer, sum);
    ring_detach(&consumer);
done:
    sh->data_size = data_size;
    return 0;
}
