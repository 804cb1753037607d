/* Logging for all flowsense processes: one line per message on stderr,
 * prefixed with the process name and pid so interleaved output of the
 * capture, workers and broker stays readable. */
#ifndef FLOWSENSE_LOG_H
#define FLOWSENSE_LOG_H

#include <stdarg.h>

void log_init(const char *process_name, int debug);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn appends strerror(errno); log_warnx does not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* fatal appends strerror(errno); both exit(1). Use only where the process
 * cannot go on: start-up, privilege code, broken invariants. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
