#define _GNU_SOURCE
#include "sandbox.h"

#include "log.h"
#include "privdrop.h"
#include "seccomp_policy.h"

#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define HAVE_VALGRIND_H 1
#endif
#endif

static bool filter_loaded;

#ifdef __SANITIZE_ADDRESS__
/* LeakSanitizer's exit-time check stops the process with a ptrace tracer
 * task, which no filter here allows, not even in the sanitizer build.  So a
 * filtered process skips it; leaks are found by valgrind memcheck
 * (tests/integration/test_valgrind.sh), under which no filter is loaded. */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
    return filter_loaded;
}
#endif

/* Which tagged rules of a policy apply to this build. */
#ifdef __SANITIZE_ADDRESS__
#define POLICY_VARIANT POLICY_WITH_SANITIZER
#else
#define POLICY_VARIANT 0
#endif

static void limit_resources(void)
{
    struct rlimit no_core = { 0, 0 };
    struct rlimit files;

    if (setrlimit(RLIMIT_CORE, &no_core) != 0)
        fatal("setrlimit(RLIMIT_CORE)");
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        fatal("prctl(PR_SET_DUMPABLE)");
    /* Never above the current hard limit: lowering needs no privilege. */
    if (getrlimit(RLIMIT_NOFILE, &files) != 0)
        fatal("getrlimit(RLIMIT_NOFILE)");
    if (files.rlim_max > SANDBOX_MAX_OPEN_FILES)
        files.rlim_max = SANDBOX_MAX_OPEN_FILES;
    files.rlim_cur = files.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &files) == 0)
        return;
    /* valgrind refuses any change of the hard limit: bound the soft one,
     * which the seccomp filter keeps the process from raising again. */
    if (errno != EPERM || getrlimit(RLIMIT_NOFILE, &files) != 0)
        fatal("setrlimit(RLIMIT_NOFILE)");
    if (files.rlim_cur > SANDBOX_MAX_OPEN_FILES)
        files.rlim_cur = SANDBOX_MAX_OPEN_FILES;
    if (setrlimit(RLIMIT_NOFILE, &files) != 0)
        fatal("setrlimit(RLIMIT_NOFILE) soft limit");
    log_warnx("hard limit on open files left at %llu (only the soft one could be lowered)",
              (unsigned long long)files.rlim_max);
}

#ifdef FLOWSENSE_SECCOMP_TRAP
#include <sys/syscall.h>
#include <ucontext.h>

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1 /* si_code of a SIGSYS from a seccomp filter (asm-generic/siginfo.h) */
#endif

#define TRAP_NAMES 512
static const char *trap_names[TRAP_NAMES];

static void write_all(const char *s)
{
    size_t len = strlen(s);

    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, s, len);
        if (n <= 0)
            return;
        s += n;
        len -= (size_t)n;
    }
}

/* Names the forbidden syscall, then makes it again: SA_RESETHAND has put
 * SIGSYS back to its default, so the second trap kills the process with
 * SIGSYS exactly as the release build's kill action would. */
static void on_forbidden_syscall(int sig, siginfo_t *info, void *context)
{
    char msg[200];
    int nr = info->si_syscall;
    const char *name = nr >= 0 && nr < TRAP_NAMES && trap_names[nr] ? trap_names[nr] : "?";

    (void)sig;
    if (info->si_code != SYS_SECCOMP) {
        /* Sent by kill(), not by the filter: die by it all the same. */
        syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), SIGSYS);
        _exit(128 + SIGSYS);
    }
#if defined(__x86_64__)
    const greg_t *r = ((ucontext_t *)context)->uc_mcontext.gregs;
    snprintf(msg, sizeof(msg),
             "\nseccomp: %s[%d] made forbidden system call %s (%d) args %#llx %#llx %#llx\n",
             program_invocation_short_name, (int)getpid(), name, nr,
             (unsigned long long)r[REG_RDI], (unsigned long long)r[REG_RSI],
             (unsigned long long)r[REG_RDX]);
    write_all(msg);
    syscall(nr, r[REG_RDI], r[REG_RSI], r[REG_RDX], r[REG_R10], r[REG_R8], r[REG_R9]);
#else
    (void)context;
    snprintf(msg, sizeof(msg), "\nseccomp: %s[%d] made forbidden system call %s (%d)\n",
             program_invocation_short_name, (int)getpid(), name, nr);
    write_all(msg);
    syscall(nr);
#endif
    /* Not reached unless the retry was allowed (an argument-only rule). */
    _exit(128 + SIGSYS);
}

static uint32_t default_action(void)
{
    struct sigaction sa;

    for (int nr = 0; nr < TRAP_NAMES; nr++)
        trap_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_forbidden_syscall;
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, NULL) != 0)
        fatal("sigaction(SIGSYS)");
    return SCMP_ACT_TRAP;
}
#else
static uint32_t default_action(void)
{
    return SCMP_ACT_KILL_PROCESS;
}
#endif

/* valgrind implements no seccomp(2), and a filter would confine valgrind's
 * own work too: under valgrind (true only on its synthetic CPU, so nothing
 * outside can switch this on) the filter is left out, loudly. */
static bool under_valgrind(void)
{
#ifdef HAVE_VALGRIND_H
    return RUNNING_ON_VALGRIND != 0;
#else
    return false;
#endif
}

static void load_filter(const char *policy_name, const char *policy_text)
{
    char err[256];
    struct policy_stats stats;

    if (under_valgrind()) {
        log_warnx("running under valgrind, which cannot run seccomp filters: the filter of %s "
                  "is not loaded", policy_name);
        return;
    }
    scmp_filter_ctx ctx = seccomp_policy_compile(policy_name, policy_text,
                                                 POLICY_VARIANT, default_action(),
                                                 &stats, err, sizeof(err));

    if (ctx == NULL)
        fatalx("seccomp policy: %s", err);
    int rc = seccomp_load(ctx);
    seccomp_release(ctx);
    filter_loaded = rc == 0;
    if (rc != 0) {
        errno = -rc;
        fatal("cannot load the seccomp filter of %s", policy_name);
    }
    log_debug("sandbox entered: %s, %u rules over %u system calls", policy_name, stats.rules,
              stats.syscalls);
}

/* Steps 1 to 4. */
static void drop_everything(const char *user)
{
    uid_t uid = getuid();
    gid_t gid = getgid();

    if (geteuid() == 0)
        priv_lookup_user(user, &uid, &gid);
    priv_drop(uid, gid);
    limit_resources();
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        fatal("prctl(PR_SET_NO_NEW_PRIVS)");
}

void sandbox_enter(const char *user, const char *policy_name, const char *policy_text)
{
    drop_everything(user);
    load_filter(policy_name, policy_text);
}

void sandbox_enter_supervisor(const char *user)
{
    drop_everything(user);
}
