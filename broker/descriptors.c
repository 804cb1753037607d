#include "broker.h"

#include "log.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
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
    /* stdout keeps its flags: its file description is shared with flowsensed */
    if (opt->to_stdout && fcntl(STDOUT_FILENO, F_GETFD) < 0)
        fatal("--stdout given but standard output is closed");
}
