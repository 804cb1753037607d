#include "broker.h"

#include "log.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static void check_socket(int fd, const char *what, int want_type, bool listening)
{
    int type = 0, accepting = 0;
    socklen_t len = sizeof(type);

    if (fcntl(fd, F_GETFD) < 0)
        fatal("fd %d (%s) is not open; flowsense-broker is started by flowsensed", fd, what);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
        fatal("fd %d (%s) is not a socket", fd, what);
    if (type != want_type)
        fatalx("fd %d (%s) is a socket of type %d, not %s", fd, what, type,
               want_type == SOCK_SEQPACKET ? "SOCK_SEQPACKET" : "SOCK_STREAM");
    len = sizeof(accepting);
    if (listening &&
        (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) != 0 || !accepting))
        fatalx("fd %d (%s) is not a listening socket", fd, what);
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
        fatal("making fd %d (%s) non-blocking", fd, what);
}

void broker_check_descriptors(const struct broker_options *opt)
{
    char what[32];

    check_socket(FD_BROKER_CONTROL, "control channel", SOCK_SEQPACKET, false);
    for (unsigned i = 0; i < opt->workers; i++) {
        snprintf(what, sizeof(what), "channel of worker %u", i);
        check_socket(FD_BROKER_FIRST_WORKER + (int)i, what, SOCK_SEQPACKET, false);
    }
    for (unsigned i = 0; i < opt->listeners; i++) {
        snprintf(what, sizeof(what), "listener %u", i);
        check_socket(FD_BROKER_FIRST_WORKER + (int)(opt->workers + i), what, SOCK_STREAM, true);
    }
    /* the progress memory is optional: see broker_map_progress() */
    /* stdout keeps its flags: its file description is shared with flowsensed */
    if (opt->to_stdout && fcntl(STDOUT_FILENO, F_GETFD) < 0)
        fatal("--stdout given but standard output is closed");
}

struct child_progress *broker_map_progress(const struct broker_options *opt)
{
    int fd = FD_BROKER_FIRST_WORKER + (int)(opt->workers + opt->listeners);
    struct stat st;

    /* A broker started by hand, without it, runs the same. */
    if (fcntl(fd, F_GETFD) < 0)
        return NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size < (off_t)sizeof(struct child_progress))
        fatalx("fd %d (progress memory) is not a memfd of %zu bytes", fd,
               sizeof(struct child_progress));
    void *p = mmap(NULL, sizeof(struct child_progress), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        fatal("mapping fd %d (progress memory)", fd);
    close(fd); /* the mapping stays */
    return p;
}
