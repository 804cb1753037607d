/* The policy compiler: what a reviewer writes in policy/ is what the
 * filter does, and a mistake in a policy is refused with its line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sandbox.h"
#include "seccomp_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static scmp_filter_ctx compile(const char *text, unsigned with, struct policy_stats *st,
                               char *err, size_t errlen)
{
    return seccomp_policy_compile("test.policy", text, with, SCMP_ACT_KILL_PROCESS, st, err,
                                  errlen);
}

/* The pseudo-filter code of a compiled policy, for assertions. */
static char *export_text(scmp_filter_ctx ctx)
{
    FILE *f = tmpfile();
    static char buf[65536];
    size_t n;

    assert_non_null(f);
    assert_int_equal(seccomp_export_pfc(ctx, fileno(f)), 0);
    rewind(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_rules_conditions_and_soft_denials(void **state)
{
    (void)state;
    char err[256] = "";
    struct policy_stats st;
    scmp_filter_ctx ctx = compile("# a comment\n"
                                  "\n"
                                  "allow read   # wake-ups\n"
                                  "allow mmap arg2 & PROT_EXEC == 0  # never executable\n"
                                  "allow fcntl arg1 == F_GETFL # flags\n"
                                  "allow fcntl arg1 == F_SETFL # flags\n"
                                  "fail=ENOTTY ioctl arg1 == TCGETS # isatty\n",
                                  0, &st, err, sizeof(err));

    assert_non_null(ctx);
    assert_int_equal(st.rules, 5);
    assert_int_equal(st.syscalls, 4);
    const char *pfc = export_text(ctx);
    assert_non_null(strstr(pfc, "filter for syscall \"read\""));
    assert_non_null(strstr(pfc, "if ($a2.lo32 & 0x00000004 == 0)"));  /* PROT_EXEC */
    assert_non_null(strstr(pfc, "action ERRNO(25)"));                 /* ENOTTY */
    assert_null(strstr(pfc, "filter for syscall \"write\""));
    seccomp_release(ctx);
}

static void test_sanitizer_rules_only_in_sanitizer_builds(void **state)
{
    (void)state;
    const char *text = "allow read # r\n[sanitizer] allow gettid # asan\n";
    char err[256];
    struct policy_stats st;
    scmp_filter_ctx ctx = compile(text, 0, &st, err, sizeof(err));

    assert_non_null(ctx);
    assert_int_equal(st.rules, 1);
    assert_null(strstr(export_text(ctx), "\"gettid\""));
    seccomp_release(ctx);
    ctx = compile(text, POLICY_WITH_SANITIZER, &st, err, sizeof(err));
    assert_non_null(ctx);
    assert_int_equal(st.rules, 2);
    assert_non_null(strstr(export_text(ctx), "\"gettid\""));
    seccomp_release(ctx);
}

static void test_mistakes_are_refused_with_their_line(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *message;
    } bad[] = {
        { "allow read\n", "line 1: a rule needs its reason" },
        { "allow read # r\nallow frobnicate # x\n", "line 2: unknown system call 'frobnicate'" },
        { "allow mmap arg2 & PROT_EXCE == 0 # x\n", "unknown constant 'PROT_EXCE'" },
        { "allow mmap arg2 & PROT_READ == PROT_EXEC # x\n", "bits outside its mask" },
        { "allow mmap arg7 == 1 # x\n", "expected arg0..arg5" },
        { "allow mmap arg1 =< 1 # x\n", "expected a comparison" },
        { "allow mmap arg1 == 1 arg2 == 2 # x\n", "joined by 'and'" },
        { "allow mmap arg1 == 1 and arg1 == 2 # x\n", "arg1 is tested twice" },
        { "permit read # x\n", "expected 'allow' or 'fail=ERRNO'" },
        { "fail=EWHAT read # x\n", "expected 'allow' or 'fail=ERRNO'" },
        { "[debug] allow read # x\n", "unknown tag [debug]" },
        { "allow # x\n", "expected ACTION SYSCALL" },
        { "allow fcntl arg1 == 12x # x\n", "'12x' is not a number" },
        { "allow fcntl arg1 == F_GETFL| # x\n", "empty value" },
        { "# only comments\n\n", "no rules" },
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        scmp_filter_ctx ctx = compile(bad[i].text, 0, NULL, err, sizeof(err));
        if (ctx != NULL || strstr(err, bad[i].message) == NULL)
            fail_msg("policy %zu (%s): want an error with \"%s\", got %s \"%s\"", i, bad[i].text,
                     bad[i].message, ctx ? "a filter and" : "", err);
    }
}

static void test_overlong_line_is_refused(void **state)
{
    (void)state;
    char text[1024], err[256] = "";

    memset(text, ' ', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    assert_null(compile(text, 0, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "line 1: line longer than"));
}

/* The policies the processes embed compile, and the worker's is as tight
 * as its header says. */
static void test_shipped_policies_compile(void **state)
{
    (void)state;
    const char *texts[] = { capture_policy, worker_policy, broker_policy };
    char err[256] = "";
    struct policy_stats st;

    for (size_t i = 0; i < 3; i++) {
        for (unsigned with = 0; with <= POLICY_WITH_SANITIZER; with += POLICY_WITH_SANITIZER) {
            scmp_filter_ctx ctx = compile(texts[i], with, &st, err, sizeof(err));
            if (ctx == NULL)
                fail_msg("shipped policy %zu: %s", i, err);
            assert_true(st.syscalls > 5 && st.syscalls < 40);
            seccomp_release(ctx);
        }
    }
    scmp_filter_ctx ctx = compile(worker_policy, 0, &st, err, sizeof(err));
    const char *pfc = export_text(ctx);
    static const char *const never[] = { "socket", "connect", "openat", "execve", "ptrace",
                                         "clone", "accept4", "bind" };
    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
        char needle[64];
        snprintf(needle, sizeof(needle), "filter for syscall \"%s\"", never[i]);
        if (strstr(pfc, needle))
            fail_msg("the worker's policy allows %s", never[i]);
    }
    seccomp_release(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_conditions_and_soft_denials),
        cmocka_unit_test(test_sanitizer_rules_only_in_sanitizer_builds),
        cmocka_unit_test(test_mistakes_are_refused_with_their_line),
        cmocka_unit_test(test_overlong_line_is_refused),
        cmocka_unit_test(test_shipped_policies_compile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
