/* Privilege handling shared by all processes.  Every step is fatal on
 * failure: a process that cannot shed its privilege must not go on. */
#ifndef FLOWSENSE_PRIVDROP_H
#define FLOWSENSE_PRIVDROP_H

#include <sys/types.h>

/* Resolves a user name; fatal with a clear message if it does not exist. */
void priv_lookup_user(const char *name, uid_t *uid, gid_t *gid);

/* When running as root: become uid/gid, drop supplementary groups, clear
 * every capability and the bounding set.  Otherwise: clear whatever
 * capabilities the process holds.  Clears the ambient set either way, so
 * nothing survives a later execve(). */
void priv_drop(uid_t uid, gid_t gid);

#endif
