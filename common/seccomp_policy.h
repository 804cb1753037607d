/* A process's seccomp allowlist, read from its policy text (policy/NAME.policy,
 * embedded into the binary at build time) into a libseccomp filter.
 *
 * One rule per line (comments and blank lines aside):
 *
 *   [TAG] ACTION SYSCALL [CONDITION [and CONDITION]...]  # REASON
 *
 *   ACTION     allow | fail=ERRNO   (fail: the call returns -1 with ERRNO,
 *                                    for calls libc only uses to probe)
 *   CONDITION  argN OP VALUE | argN & MASK == VALUE   (OP: == != < <= > >=;
 *              VALUE and MASK: numbers or known constants joined by '|')
 *   TAG        [sanitizer]: only in ASan/UBSan builds
 *
 * Every rule must give its reason.  Several rules for one syscall match
 * if any matches.  Anything no rule allows kills the process. */
#ifndef FLOWSENSE_SECCOMP_POLICY_H
#define FLOWSENSE_SECCOMP_POLICY_H

#include <seccomp.h>
#include <stddef.h>

/* Which tagged rules take part. */
enum {
    POLICY_WITH_SANITIZER = 1 << 0,
};

struct policy_stats {
    unsigned rules;    /* rules added to the filter */
    unsigned syscalls; /* distinct syscalls with at least one rule */
};

/* A filter whose default action is `default_action`, non-native
 * architectures killed, with the rules of `text`.  NULL with `err` set on
 * failure. */
scmp_filter_ctx seccomp_policy_compile(const char *name, const char *text, unsigned with,
                                       uint32_t default_action, struct policy_stats *stats,
                                       char *err, size_t errlen);

#endif
