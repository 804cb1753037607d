/* A digest of what a `flow` record shows about a flow's detection and
 * metadata (not its counters or times): equal digests, nothing new to
 * report in a detection_updated record. */
#ifndef FLOWSENSE_WORKER_RECORD_DIGEST_H
#define FLOWSENSE_WORKER_RECORD_DIGEST_H

#include "detect.h"
#include "flow.h"

#include <stdint.h>

uint64_t record_digest(const struct flow *f, const struct flow_metadata *m);

#endif
