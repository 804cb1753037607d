#include "cat.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int connect_unix(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };

    if (*path == '\0' || strlen(path) >= sizeof(sun.sun_path)) {
        snprintf(err, errlen, "unix socket path '%s' is empty or too long", path);
        return -1;
    }
    memcpy(sun.sun_path, path, strlen(path));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
        snprintf(err, errlen, "cannot connect to unix:%s: %s (is flowsensed running with --listen unix:%s?)",
                 path, strerror(errno), path);
        close(fd);
        return -1;
    }
    return fd;
}

/* Splits HOST:PORT or [ADDR]:PORT. */
static int split_host_port(const char *spec, char *host, size_t hostlen, const char **port)
{
    const char *end;

    if (spec[0] == '[') {
        end = strchr(spec, ']');
        if (end == NULL || end[1] != ':')
            return -1;
        spec++;
    } else {
        end = strrchr(spec, ':');
        if (end == NULL)
            return -1;
    }
    size_t n = (size_t)(end - spec);
    if (n >= hostlen)
        return -1;
    memcpy(host, spec, n);
    host[n] = '\0';
    *port = end + (end[0] == ']' ? 2 : 1);
    return **port ? 0 : -1;
}

static int connect_tcp(const char *spec, char *err, size_t errlen)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
    char host[256];
    const char *port;
    int fd = -1, saved = 0;

    if (split_host_port(spec, host, sizeof(host), &port) != 0) {
        snprintf(err, errlen, "bad tcp address '%s': expected tcp:HOST:PORT", spec);
        return -1;
    }
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve tcp:%s: %s", spec, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            saved = errno;
            close(fd);
            fd = -1;
        } else if (fd < 0) {
            saved = errno;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, errlen, "cannot connect to tcp:%s: %s (is flowsensed running with --listen tcp:%s?)",
                 spec, strerror(saved), spec);
    return fd;
}

int cat_connect(const char *address, char *err, size_t errlen)
{
    if (strncmp(address, "unix:", 5) == 0)
        return connect_unix(address + 5, err, errlen);
    if (strncmp(address, "tcp:", 4) == 0)
        return connect_tcp(address + 4, err, errlen);
    snprintf(err, errlen, "bad address '%s': expected unix:PATH or tcp:HOST:PORT", address);
    return -1;
}
