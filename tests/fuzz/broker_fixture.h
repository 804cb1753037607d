/* A broker set up as flowsense-broker sets itself up, but on socket pairs
 * the fuzz target holds the other ends of: worker channels, the control
 * channel and clients connected through a real listening socket.  Each
 * fuzz input gets a fresh broker, so a crash depends on one input only. */
#ifndef FLOWSENSE_FUZZ_BROKER_FIXTURE_H
#define FLOWSENSE_FUZZ_BROKER_FIXTURE_H

#include "broker.h"

#define FIXTURE_WORKERS 2
#define FIXTURE_CLIENTS 2

struct broker_fixture {
    struct broker b;
    int worker_peer[FIXTURE_WORKERS]; /* our ends of the worker channels */
    int control_peer;
    struct client *client[FIXTURE_CLIENTS];
    int client_peer[FIXTURE_CLIENTS]; /* our ends of the client sockets */
    unsigned clients;
    size_t client_bytes; /* what the clients were sent */
};

/* Returns 0, or -1 (logged) when a socket cannot be made. */
int fixture_open(struct broker_fixture *fx, const struct broker_options *opt);
/* Connects one more client (at most FIXTURE_CLIENTS) as the broker's loop
 * accepts one: greeted, its command taken if sent, its replay begun.
 * line/len is what it sends first (len 0: nothing). */
struct client *fixture_connect(struct broker_fixture *fx, const char *line, size_t len);
/* Sends one message on a channel (a worker's, or FIXTURE_WORKERS for the
 * control channel) and lets the broker read it. */
void fixture_deliver(struct broker_fixture *fx, unsigned channel, const void *msg, size_t len);
/* Lets the clients' queues and replays move, reading what they were sent. */
void fixture_pump(struct broker_fixture *fx);
void fixture_close(struct broker_fixture *fx);

#endif
