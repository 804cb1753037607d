/* The sandbox every flowsense process enters once its start-up is done.
 * One function, the same steps in the same order for every process, each
 * fatal on failure:
 *
 *   1. switch to the run user (capng_change_id, when started as root);
 *   2. clear every capability, the ambient set and, where the process may,
 *      the bounding set;
 *   3. rlimits: no core files (they would hold packet data), a bound on
 *      open files; not dumpable;
 *   4. PR_SET_NO_NEW_PRIVS;
 *   5. load the process's seccomp filter, compiled from its policy text
 *      (policy/<process>.policy, embedded at build time).
 *
 * The release build kills a process that makes a syscall its policy does
 * not allow (SIGSYS); the sanitizer build traps instead, names the syscall
 * on stderr, and then dies by SIGSYS all the same. */
#ifndef FLOWSENSE_SANDBOX_H
#define FLOWSENSE_SANDBOX_H

/* The bound on open files of every sandboxed process (RLIMIT_NOFILE). */
#define SANDBOX_MAX_OPEN_FILES 1024

/* The policies, embedded from policy/ (see the *_policy.S files). */
extern const char capture_policy[];
extern const char worker_policy[];
extern const char broker_policy[];

void sandbox_enter(const char *user, const char *policy_name, const char *policy_text);

/* Steps 1 to 4 only, for flowsensed's supervisor: a filter would be
 * inherited by every child it starts, so it has none (policy/README.md). */
void sandbox_enter_supervisor(const char *user);

#endif
