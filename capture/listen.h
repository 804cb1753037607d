/* Listening sockets for the broker, created and bound by flowsensed while
 * it still has the privilege to, then handed to the broker, which never
 * creates a socket itself. */
#ifndef FLOWSENSE_CAPTURE_LISTEN_H
#define FLOWSENSE_CAPTURE_LISTEN_H

#include <sys/types.h>

/* Binds "unix:PATH" (mode 0660, owned by uid/gid) or "tcp:HOST:PORT"
 * ("tcp:[::1]:7150" for IPv6) for listener number `listener` (its index
 * in --listen order).  Returns the listening fd; fatal on error. */
int listen_open(int listener, const char *address, uid_t uid, gid_t gid);

/* A unix: listener's path changed: new_fd is a new listening socket bound
 * there (the caller owns it), or -1 when the path no longer leads to any
 * socket of ours (another file is there, or binding again failed). */
typedef void listen_change_fn(void *ctx, int listener, int new_fd);
/* Looks at the path of every unix: listener (call it every second, after
 * the privilege drop).  A removed socket is bound again at its path, as
 * the run user; another file put there is left alone.  Each change is
 * logged once and reported to fn once; a failed bind is retried at every
 * call, silently. */
void listen_check_paths(listen_change_fn *fn, void *ctx);
/* Removes the socket file of a unix: address (at shutdown) if it is still
 * the socket listen_open or listen_check_paths bound last. */
void listen_cleanup(const char *address);

#endif
