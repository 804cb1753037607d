/* Listening sockets for the broker, created and bound by flowsensed while
 * it still has the privilege to, then handed to the broker, which never
 * creates a socket itself. */
#ifndef FLOWSENSE_CAPTURE_LISTEN_H
#define FLOWSENSE_CAPTURE_LISTEN_H

#include <sys/types.h>

/* Binds "unix:PATH" (mode 0660, owned by uid/gid) or "tcp:HOST:PORT"
 * ("tcp:[::1]:7150" for IPv6).  Returns the listening fd; fatal on error. */
int listen_open(const char *address, uid_t uid, gid_t gid);
/* Removes the socket file of a unix: address (at shutdown). */
void listen_cleanup(const char *address);

#endif
