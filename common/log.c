#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *log_name = "flowsense";
static int log_debug_on;

void log_init(const char *process_name, int debug)
{
    log_name = process_name;
    log_debug_on = debug;
}

static void log_vwrite(const char *level, int with_errno, int saved_errno,
                       const char *fmt, va_list ap)
{
    char msg[1024];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (with_errno)
        fprintf(stderr, "%s[%d]: %s: %s: %s\n", log_name, (int)getpid(),
                level, msg, strerror(saved_errno));
    else
        fprintf(stderr, "%s[%d]: %s: %s\n", log_name, (int)getpid(), level,
                msg);
}

#define LOG_BODY(level, with_errno)                                        \
    do {                                                                   \
        int saved_errno = errno;                                           \
        va_list ap;                                                        \
        va_start(ap, fmt);                                                 \
        log_vwrite(level, with_errno, saved_errno, fmt, ap);               \
        va_end(ap);                                                        \
        errno = saved_errno;                                               \
    } while (0)

void log_debug(const char *fmt, ...)
{
    if (log_debug_on)
        LOG_BODY("debug", 0);
}

void log_info(const char *fmt, ...) { LOG_BODY("info", 0); }
void log_warn(const char *fmt, ...) { LOG_BODY("warning", 1); }
void log_warnx(const char *fmt, ...) { LOG_BODY("warning", 0); }

void fatal(const char *fmt, ...)
{
    LOG_BODY("fatal", 1);
    exit(1);
}

void fatalx(const char *fmt, ...)
{
    LOG_BODY("fatal", 0);
    exit(1);
}
