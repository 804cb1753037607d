/* A child's progress in shared memory that flowsensed maps: a number the
 * child makes grow while it gets work done (its unit does not matter).
 * At shutdown flowsensed waits for a child as long as the number moves,
 * and kills it only after a while without any change: how long a child
 * may take depends on how much it has to do and how loaded the machine
 * is, whether it is stuck does not. */
#ifndef FLOWSENSE_PROGRESS_SHM_H
#define FLOWSENSE_PROGRESS_SHM_H

#include <stdatomic.h>
#include <stdint.h>

struct child_progress {
    _Atomic uint64_t value;
};

/* A plain store: the child is the only writer. */
static inline void progress_publish(struct child_progress *p, uint64_t value)
{
    if (p != NULL)
        atomic_store_explicit(&p->value, value, memory_order_relaxed);
}

static inline uint64_t progress_read(const struct child_progress *p)
{
    return p ? atomic_load_explicit(&p->value, memory_order_relaxed) : 0;
}

#endif
