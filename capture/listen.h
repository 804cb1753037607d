/* Listening sockets for the broker, created and bound by flowsensed while
 * it still has the privilege to, then handed to the broker, which never
 * creates a socket itself. */
#ifndef FLOWSENSE_CAPTURE_LISTEN_H
#define FLOWSENSE_CAPTURE_LISTEN_H

#include <sys/types.h>

/* Binds "unix:PATH" (mode 0660, owned by uid/gid) or "tcp:HOST:PORT"
 * ("tcp:[::1]:7150" for IPv6).  Returns the listening fd; fatal on error. */
int listen_open(const char *address, uid_t uid, gid_t gid);
/* Warns, once per socket, when the file of a unix: listener bound by
 * listen_open was removed or replaced (the listener goes on serving the
 * clients already connected; nobody new can reach it by its path). */
void listen_check_paths(void);
/* Removes the socket file of a unix: address (at shutdown) if it is still
 * the socket listen_open bound. */
void listen_cleanup(const char *address);

#endif
