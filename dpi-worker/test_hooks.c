#ifdef FLOWSENSE_TEST_HOOKS
#define _GNU_SOURCE
#include "test_hooks.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <unistd.h>

#define TRIGGER "FLOWSENSE-TEST-SYSCALL:"

/* Each attempt must not succeed: the filter kills the process first.  If
 * one returns, the worker says so loudly and exits 99 for the test. */
static void attempt(const char *what)
{
    long rc = -1;

    log_warnx("test hook: attempting forbidden '%s'", what);
    if (strcmp(what, "socket") == 0) {
        rc = socket(AF_INET, SOCK_STREAM, 0);
    } else if (strcmp(what, "open") == 0) {
        rc = open("/etc/passwd", O_RDONLY);
    } else if (strcmp(what, "execve") == 0) {
        char *const argv[] = { "/bin/true", NULL };
        rc = execve("/bin/true", argv, NULL);
    } else if (strcmp(what, "mmap-exec") == 0) {
        void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        rc = p == MAP_FAILED ? -1 : 0;
    } else if (strcmp(what, "ptrace") == 0) {
        rc = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    } else {
        log_warnx("test hook: unknown attempt '%s'", what);
        return;
    }
    log_warnx("test hook: '%s' was not stopped by the sandbox (returned %ld, errno %d)", what,
              rc, errno);
    _exit(99);
}

void test_hook_packet(const uint8_t *frame, uint32_t len)
{
    const uint8_t *at = memmem(frame, len, TRIGGER, sizeof(TRIGGER) - 1);
    char what[16];
    size_t n = 0;

    if (at == NULL)
        return;
    at += sizeof(TRIGGER) - 1;
    while (at + n < frame + len && n < sizeof(what) - 1 &&
           (at[n] == '-' || (at[n] >= 'a' && at[n] <= 'z')))
        n++;
    memcpy(what, at, n);
    what[n] = '\0';
    attempt(what);
}
#else
/* ISO C wants something in every translation unit. */
typedef int flowsense_test_hooks_unused;
#endif
