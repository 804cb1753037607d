/* The descriptor layout flowsensed hands its children across execve().
 * These numbers are part of the process contract: a restarted child
 * finds the same resources at the same numbers.
 *
 * flowsense-worker:
 *   3  packet ring (memfd, shared memory; see ring.h)
 *   4  eventfd: "data published"   (capture writes, worker reads)
 *   5  eventfd: "space released"   (worker writes, capture reads)
 *   6  event channel to the broker (SOCK_SEQPACKET, msgpack events)
 *
 * flowsense-broker:
 *   3                   control channel with flowsensed (SOCK_SEQPACKET)
 *   4 .. 4+W-1          event channel of worker 0 .. W-1 (--workers W)
 *   4+W .. 4+W+L-1      listening sockets, in --listen order (--listeners L);
 *                       a UNIX one whose file was removed is later replaced
 *                       by a socket passed on the control channel
 *                       (listener_replaced, see channel.h)
 *   4+W+L               progress memory (memfd, struct child_progress of
 *                       progress_shm.h): flowsensed's shutdown waits for
 *                       the broker while the number there moves
 *   1                   standard output, written only with --stdout
 */
#ifndef FLOWSENSE_FDMAP_H
#define FLOWSENSE_FDMAP_H

#define FD_WORKER_RING 3
#define FD_WORKER_DATA_EVENT 4
#define FD_WORKER_SPACE_EVENT 5
#define FD_WORKER_CHANNEL 6

#define FD_BROKER_CONTROL 3
#define FD_BROKER_FIRST_WORKER 4

#define FLOWSENSE_MAX_WORKERS 64
#define FLOWSENSE_MAX_LISTENERS 16
#define FLOWSENSE_MAX_INTERFACES 64

#endif
