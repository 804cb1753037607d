#define _GNU_SOURCE
#include "listen.h"

#include "fdmap.h"
#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <libgen.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define LISTEN_BACKLOG 128

/* The socket files this process bound, by identity: the path may be
 * removed or replaced while it runs, and only our own socket is ours to
 * remove at shutdown.  (dev, ino) tells our file from another one put in
 * its place; /run is a tmpfs, which does not reuse inode numbers. */
struct bound_socket {
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int listener; /* its index in --listen order (pipeline listen_fds) */
    uid_t uid;
    gid_t gid;
    dev_t dev;
    ino_t ino;
    bool unavailable;    /* the path does not lead to our socket */
    bool failure_logged; /* binding it again failed; logged once */
};
static struct bound_socket bound[FLOWSENSE_MAX_LISTENERS];
static unsigned n_bound;

/* Records the identity of the socket just bound at b->path; -1 if the
 * path cannot be looked at. */
static int note_identity(struct bound_socket *b)
{
    struct stat st;

    if (lstat(b->path, &st) != 0)
        return -1;
    b->dev = st.st_dev;
    b->ino = st.st_ino;
    return 0;
}

static void remember_socket(int listener, const char *path, uid_t uid, gid_t gid)
{
    if (n_bound >= FLOWSENSE_MAX_LISTENERS)
        fatalx("more than %d unix sockets", FLOWSENSE_MAX_LISTENERS);
    struct bound_socket *b = &bound[n_bound++];
    *b = (struct bound_socket){ .listener = listener, .uid = uid, .gid = gid };
    snprintf(b->path, sizeof(b->path), "%s", path);
    if (note_identity(b) != 0)
        fatal("cannot stat the socket %s just bound", path);
}

static struct bound_socket *find_bound(const char *path)
{
    for (unsigned i = 0; i < n_bound; i++)
        if (strcmp(bound[i].path, path) == 0)
            return &bound[i];
    return NULL;
}

enum path_state { PATH_OURS, PATH_MISSING, PATH_OTHER, PATH_UNKNOWN };

static enum path_state path_state(const struct bound_socket *b)
{
    struct stat st;

    if (lstat(b->path, &st) != 0)
        return errno == ENOENT ? PATH_MISSING : errno == ENOTDIR ? PATH_OTHER : PATH_UNKNOWN;
    return st.st_dev == b->dev && st.st_ino == b->ino ? PATH_OURS : PATH_OTHER;
}

/* 1 the path is our socket, 0 it is gone or another file, -1 unknown. */
static int still_ours(const struct bound_socket *b)
{
    enum path_state st = path_state(b);

    return st == PATH_OURS ? 1 : st == PATH_UNKNOWN ? -1 : 0;
}

static void make_socket_dir(const char *path, uid_t uid, gid_t gid)
{
    char copy[sizeof(((struct sockaddr_un *)0)->sun_path)];
    struct stat st;

    snprintf(copy, sizeof(copy), "%s", path);
    const char *dir = dirname(copy);
    if (stat(dir, &st) == 0)
        return;
    if (mkdir(dir, 0755) != 0)
        fatal("cannot create socket directory %s", dir);
    if (chown(dir, uid, gid) != 0)
        fatal("cannot chown socket directory %s", dir);
}

static int listen_unix(int listener, const char *path, uid_t uid, gid_t gid)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    struct stat st;

    if (*path == '\0' || strlen(path) >= sizeof(sun.sun_path))
        fatalx("unix socket path '%s' is empty or too long", path);
    memcpy(sun.sun_path, path, strlen(path));
    make_socket_dir(path, uid, gid);
    /* Remove a stale socket left by a previous run, never another file. */
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            fatalx("%s exists and is not a socket; refusing to replace it", path);
        if (unlink(path) != 0)
            fatal("cannot remove stale socket %s", path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        fatal("socket(AF_UNIX)");
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
        fatal("cannot bind %s", path);
    if (chmod(path, 0660) != 0 || chown(path, uid, gid) != 0)
        fatal("cannot set owner and mode of %s", path);
    remember_socket(listener, path, uid, gid);
    if (listen(fd, LISTEN_BACKLOG) != 0)
        fatal("listen on %s", path);
    return fd;
}

static int listen_tcp(const char *spec)
{
    char host[256];
    const char *port;
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
    struct addrinfo *res;
    int one = 1;

    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (close == NULL || close[1] != ':' || (size_t)(close - spec - 1) >= sizeof(host))
            fatalx("bad tcp address '%s': expected tcp:[ADDR]:PORT", spec);
        memcpy(host, spec + 1, (size_t)(close - spec - 1));
        host[close - spec - 1] = '\0';
        port = close + 2;
    } else {
        const char *colon = strrchr(spec, ':');
        if (colon == NULL || (size_t)(colon - spec) >= sizeof(host))
            fatalx("bad tcp address '%s': expected tcp:HOST:PORT", spec);
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = '\0';
        port = colon + 1;
    }
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0)
        fatalx("cannot resolve tcp address '%s': %s", spec, gai_strerror(rc));
    int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
    if (fd < 0)
        fatal("socket for %s", spec);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
        fatal("SO_REUSEADDR on %s", spec);
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0)
        fatal("cannot bind tcp:%s", spec);
    freeaddrinfo(res);
    if (listen(fd, LISTEN_BACKLOG) != 0)
        fatal("listen on tcp:%s", spec);
    return fd;
}

int listen_open(int listener, const char *address, uid_t uid, gid_t gid)
{
    if (strncmp(address, "unix:", 5) == 0)
        return listen_unix(listener, address + 5, uid, gid);
    if (strncmp(address, "tcp:", 4) == 0)
        return listen_tcp(address + 4);
    fatalx("bad listen address '%s': expected unix:PATH or tcp:HOST:PORT", address);
}

/* A new listening socket at b->path, which is free: as listen_unix binds
 * at start (mode 0660, the run user's), but never fatal.  Non-blocking,
 * as the broker, which has no fcntl, needs it.  Returns the descriptor,
 * or -1 with errno set and nothing left behind. */
static int bind_again(struct bound_socket *b)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

    if (fd < 0)
        return -1;
    memcpy(sun.sun_path, b->path, strlen(b->path));
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    if (chmod(b->path, 0660) != 0 || chown(b->path, b->uid, b->gid) != 0 ||
        note_identity(b) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
        int err = errno;
        unlink(b->path); /* ours: bound just now */
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

/* The path of b is free: bind it again, or report it unavailable once. */
static void recreate(struct bound_socket *b, listen_change_fn *fn, void *ctx)
{
    int fd = bind_again(b);

    if (fd < 0) {
        if (!b->failure_logged)
            log_warn("socket %s was removed and cannot be bound again (retrying every "
                     "second)", b->path);
        b->failure_logged = true;
        if (!b->unavailable)
            fn(ctx, b->listener, -1);
        b->unavailable = true;
        return;
    }
    log_warnx("socket %s was removed: bound a new one at that path; new clients can connect "
              "again, connected ones keep their stream", b->path);
    b->unavailable = false;
    b->failure_logged = false;
    fn(ctx, b->listener, fd);
}

void listen_check_paths(listen_change_fn *fn, void *ctx)
{
    for (unsigned i = 0; i < n_bound; i++) {
        struct bound_socket *b = &bound[i];
        switch (path_state(b)) {
        case PATH_MISSING:
            recreate(b, fn, ctx);
            break;
        case PATH_OTHER:
            if (b->unavailable)
                break;
            b->unavailable = true;
            log_warnx("socket %s was replaced by another file: left alone; new clients cannot "
                      "connect by this path until that file is removed", b->path);
            fn(ctx, b->listener, -1);
            break;
        case PATH_OURS:
        case PATH_UNKNOWN:
            break;
        }
    }
}

void listen_cleanup(const char *address)
{
    if (strncmp(address, "unix:", 5) != 0)
        return;
    const char *path = address + 5;
    struct bound_socket *b = find_bound(path);
    /* Someone removed our socket and may have put another file (another
     * instance's socket) there: that one is not ours to remove. */
    if (b && still_ours(b) == 0)
        return;
    /* Without privilege the socket's directory may not be ours to write;
     * a stale socket is replaced at the next start, so this is harmless. */
    if (unlink(path) != 0 && errno != ENOENT)
        log_info("socket %s left in place (%s); the next start replaces it", path,
                 strerror(errno));
}
