#define _GNU_SOURCE
#include "seccomp_policy.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <linux/if_packet.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

#define MAX_TOKENS 24
#define MAX_LINE 512
#define MAX_SYSCALL_NR 1024

struct constant {
    const char *name;
    unsigned long long value;
};

#define C(x) { #x, (unsigned long long)(x) }
/* The names a policy may use for argument values; taken from the system
 * headers, so the policy never restates a number. */
static const struct constant constants[] = {
    C(PROT_NONE), C(PROT_READ), C(PROT_WRITE), C(PROT_EXEC),
    C(MAP_SHARED), C(MAP_PRIVATE), C(MAP_FIXED), C(MAP_ANONYMOUS), C(MAP_NORESERVE),
    C(MAP_STACK), C(MAP_FIXED_NOREPLACE), C(MAP_POPULATE),
    C(MADV_DONTNEED), C(MADV_FREE), C(MADV_NOHUGEPAGE), C(MADV_HUGEPAGE), C(MADV_DONTDUMP),
    C(F_GETFD), C(F_SETFD), C(F_GETFL), C(F_SETFL), C(F_DUPFD_CLOEXEC), C(FD_CLOEXEC),
    C(O_NONBLOCK), C(O_RDONLY), C(O_CLOEXEC), C(SEEK_SET), C(SEEK_CUR), C(SEEK_END),
    C(FUTEX_WAIT), C(FUTEX_WAKE), C(FUTEX_PRIVATE_FLAG), C(FUTEX_WAIT_BITSET),
    C(FUTEX_CLOCK_REALTIME),
    C(PR_SET_PDEATHSIG), C(PR_GET_DUMPABLE), C(PR_SET_DUMPABLE), C(PR_SET_NAME),
    C(PR_CAPBSET_READ), C(PR_CAP_AMBIENT), C(PR_SET_NO_NEW_PRIVS), C(PR_GET_NO_NEW_PRIVS),
    C(PR_GET_SECUREBITS), C(PR_SET_KEEPCAPS),
    C(TCGETS), C(FIONREAD), C(FIONBIO),
    C(SOL_SOCKET), C(SO_ERROR), C(SO_SNDBUF), C(SO_RCVBUF), C(SO_TYPE), C(SO_PEERCRED),
    C(AF_UNIX), C(AF_INET), C(AF_INET6), C(AF_PACKET),
    C(SIGCHLD), C(SIGKILL), C(SIGTERM), C(SIGSYS), C(SIGABRT), C(SIGSEGV), C(SIGBUS),
    C(SIG_BLOCK), C(SIG_UNBLOCK), C(SIG_SETMASK),
    C(RLIMIT_CORE), C(RLIMIT_NOFILE), C(RLIMIT_STACK), C(RLIMIT_AS),
    C(WNOHANG), C(SOL_PACKET),
    C(CLONE_NEWNS), C(CLONE_NEWCGROUP), C(CLONE_NEWUTS), C(CLONE_NEWIPC), C(CLONE_NEWUSER),
    C(CLONE_NEWPID), C(CLONE_NEWNET),
    C(CLOCK_REALTIME), C(CLOCK_MONOTONIC),
};
#undef C

struct parse {
    const char *name;
    unsigned line;
    char *err;
    size_t errlen;
};

static int failf(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int failf(struct parse *p, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(p->err, p->errlen, "%s line %u: ", p->name, p->line);

    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < p->errlen)
        vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static bool lookup_constant(const char *name, unsigned long long *value)
{
    for (size_t i = 0; i < sizeof(constants) / sizeof(constants[0]); i++)
        if (strcmp(constants[i].name, name) == 0) {
            *value = constants[i].value;
            return true;
        }
    return false;
}

/* A number, a constant name, or several of them joined by '|'. */
static int parse_value(struct parse *p, const char *text, scmp_datum_t *out)
{
    char buf[MAX_LINE];
    char *save = NULL;
    unsigned long long v = 0;

    if (snprintf(buf, sizeof(buf), "%s", text) >= (int)sizeof(buf))
        return failf(p, "value too long");
    for (char *part = strtok_r(buf, "|", &save); part; part = strtok_r(NULL, "|", &save)) {
        unsigned long long one;
        char *end;

        if (*part >= '0' && *part <= '9') {
            errno = 0;
            one = strtoull(part, &end, 0);
            if (errno || *end)
                return failf(p, "'%s' is not a number", part);
        } else if (!lookup_constant(part, &one)) {
            return failf(p, "unknown constant '%s' (see constants[] in common/seccomp_policy.c)",
                         part);
        }
        v |= one;
    }
    if (text[0] == '\0' || text[0] == '|' || text[strlen(text) - 1] == '|')
        return failf(p, "empty value in '%s'", text);
    *out = v;
    return 0;
}

static int parse_arg(struct parse *p, const char *tok, unsigned *arg)
{
    if (strncmp(tok, "arg", 3) != 0 || tok[3] < '0' || tok[3] > '5' || tok[4] != '\0')
        return failf(p, "expected arg0..arg5, found '%s'", tok);
    *arg = (unsigned)(tok[3] - '0');
    return 0;
}

static int parse_op(struct parse *p, const char *tok, enum scmp_compare *op)
{
    static const struct {
        const char *text;
        enum scmp_compare op;
    } ops[] = { { "==", SCMP_CMP_EQ }, { "!=", SCMP_CMP_NE }, { "<", SCMP_CMP_LT },
                { "<=", SCMP_CMP_LE }, { ">", SCMP_CMP_GT }, { ">=", SCMP_CMP_GE } };

    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(ops[i].text, tok) == 0) {
            *op = ops[i].op;
            return 0;
        }
    return failf(p, "expected a comparison (== != < <= > >=), found '%s'", tok);
}

/* tok[0..n): "argN OP V" or "argN & MASK == V"; returns tokens used. */
static int parse_condition(struct parse *p, char **tok, int n, struct scmp_arg_cmp *cmp)
{
    unsigned arg = 0;

    if (n < 3)
        return failf(p, "incomplete condition");
    if (parse_arg(p, tok[0], &arg) != 0)
        return -1;
    memset(cmp, 0, sizeof(*cmp));
    cmp->arg = arg;
    if (strcmp(tok[1], "&") == 0) {
        if (n < 5 || strcmp(tok[3], "==") != 0)
            return failf(p, "a masked condition reads 'argN & MASK == VALUE'");
        cmp->op = SCMP_CMP_MASKED_EQ;
        if (parse_value(p, tok[2], &cmp->datum_a) != 0 ||
            parse_value(p, tok[4], &cmp->datum_b) != 0)
            return -1;
        if ((cmp->datum_b & ~cmp->datum_a) != 0)
            return failf(p, "value has bits outside its mask: the rule could never match");
        return 5;
    }
    if (parse_op(p, tok[1], &cmp->op) != 0 || parse_value(p, tok[2], &cmp->datum_a) != 0)
        return -1;
    return 3;
}

static int parse_action(struct parse *p, const char *tok, uint32_t *action)
{
    static const struct {
        const char *name;
        int value;
    } errnos[] = { { "EPERM", EPERM },   { "EACCES", EACCES }, { "ENOTTY", ENOTTY },
                   { "ENOSYS", ENOSYS }, { "EINVAL", EINVAL }, { "ENOENT", ENOENT } };

    if (strcmp(tok, "allow") == 0) {
        *action = SCMP_ACT_ALLOW;
        return 0;
    }
    if (strncmp(tok, "fail=", 5) == 0)
        for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
            if (strcmp(errnos[i].name, tok + 5) == 0) {
                *action = SCMP_ACT_ERRNO((unsigned)errnos[i].value);
                return 0;
            }
    return failf(p, "expected 'allow' or 'fail=ERRNO' (EPERM EACCES ENOTTY ENOSYS EINVAL "
                    "ENOENT), found '%s'", tok);
}

static int parse_tag(struct parse *p, const char *tok, unsigned with, bool *active)
{
    if (strcmp(tok, "[sanitizer]") == 0)
        *active = (with & POLICY_WITH_SANITIZER) != 0;
    else
        return failf(p, "unknown tag %s (known: [sanitizer])", tok);
    return 0;
}

static int add_rule_line(struct parse *p, scmp_filter_ctx ctx, char *line, unsigned with,
                         unsigned char *seen, struct policy_stats *stats)
{
    char *hash = strchr(line, '#');
    char *tok[MAX_TOKENS];
    char *save = NULL;
    int n = 0, i = 0;
    bool active = true;
    uint32_t action = SCMP_ACT_KILL_PROCESS;
    struct scmp_arg_cmp cmp[6];
    unsigned n_cmp = 0;

    if (hash)
        *hash = '\0';
    for (char *t = strtok_r(line, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        if (n == MAX_TOKENS)
            return failf(p, "too many words");
        tok[n++] = t;
    }
    if (n == 0)
        return 0; /* a comment or a blank line */
    const char *reason = hash ? hash + 1 : "";
    while (*reason == ' ' || *reason == '\t')
        reason++;
    if (*reason == '\0')
        return failf(p, "a rule needs its reason after '#'");
    if (tok[0][0] == '[' && parse_tag(p, tok[i++], with, &active) != 0)
        return -1;
    if (n - i < 2)
        return failf(p, "expected ACTION SYSCALL");
    if (parse_action(p, tok[i++], &action) != 0)
        return -1;
    const char *syscall_name = tok[i++];
    int nr = seccomp_syscall_resolve_name(syscall_name);
    if (nr == __NR_SCMP_ERROR)
        return failf(p, "unknown system call '%s'", syscall_name);
    while (i < n) {
        if (n_cmp > 0) {
            if (strcmp(tok[i], "and") != 0)
                return failf(p, "conditions are joined by 'and', found '%s'", tok[i]);
            i++;
        }
        if (n_cmp == 6)
            return failf(p, "more than six conditions");
        int used = parse_condition(p, tok + i, n - i, &cmp[n_cmp]);
        if (used < 0)
            return -1;
        for (unsigned k = 0; k < n_cmp; k++)
            if (cmp[k].arg == cmp[n_cmp].arg)
                return failf(p, "arg%u is tested twice in one rule (write two rules)",
                             cmp[k].arg);
        n_cmp++;
        i += used;
    }
    if (!active)
        return 0;
    int rc = seccomp_rule_add_exact_array(ctx, action, nr, n_cmp, cmp);
    if (rc != 0)
        return failf(p, "libseccomp refused the rule for %s: %s", syscall_name, strerror(-rc));
    stats->rules++;
    if (nr >= 0 && nr < MAX_SYSCALL_NR && !seen[nr]) {
        seen[nr] = 1;
        stats->syscalls++;
    }
    return 0;
}

/* Adds the rules of `text` to `ctx`; -1 with the line and the problem in
 * `err`. */
static int policy_add(scmp_filter_ctx ctx, const char *name, const char *text, unsigned with,
                      struct policy_stats *stats, char *err, size_t errlen)
{
    struct parse p = { .name = name, .line = 0, .err = err, .errlen = errlen };
    unsigned char seen[MAX_SYSCALL_NR] = { 0 };
    struct policy_stats local = { 0, 0 };

    while (*text) {
        const char *end = strchr(text, '\n');
        size_t len = end ? (size_t)(end - text) : strlen(text);
        char line[MAX_LINE];

        p.line++;
        if (len >= sizeof(line))
            return failf(&p, "line longer than %d characters", MAX_LINE - 1);
        memcpy(line, text, len);
        line[len] = '\0';
        if (memchr(line, '\0', len) != NULL)
            return failf(&p, "NUL byte in the policy");
        if (add_rule_line(&p, ctx, line, with, seen, &local) != 0)
            return -1;
        text += len + (end != NULL);
    }
    if (local.rules == 0)
        return failf(&p, "no rules: an empty policy would kill the process at once");
    if (stats)
        *stats = local;
    return 0;
}

scmp_filter_ctx seccomp_policy_compile(const char *name, const char *text, unsigned with,
                                       uint32_t default_action, struct policy_stats *stats,
                                       char *err, size_t errlen)
{
    scmp_filter_ctx ctx = seccomp_init(default_action);
    int rc;

    if (ctx == NULL) {
        snprintf(err, errlen, "%s: seccomp_init failed", name);
        return NULL;
    }
    /* A syscall made through another ABI (x32, i386) would bypass the
     * native numbers the rules name: kill it. */
    rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    if (rc != 0) {
        snprintf(err, errlen, "%s: cannot set the bad-architecture action: %s", name,
                 strerror(-rc));
        seccomp_release(ctx);
        return NULL;
    }
    if (policy_add(ctx, name, text, with, stats, err, errlen) != 0) {
        seccomp_release(ctx);
        return NULL;
    }
    return ctx;
}
