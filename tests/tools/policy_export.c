/* Prints a process's compiled seccomp filter as libseccomp's pseudo-filter
 * code (seccomp_export_pfc), from the same embedded policy text and the
 * same compiler the process itself uses.  The golden files in
 * tests/policy/ are its output, so any change of policy shows in review.
 *
 *   policy_export capture|worker|broker [--sanitizer] [--stats]
 *
 * --sanitizer includes the [sanitizer] rules; --stats prints only
 * "rules=N syscalls=N". */
#include "sandbox.h"
#include "seccomp_policy.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        const char *text;
    } policies[] = { { "capture", capture_policy },
                     { "worker", worker_policy },
                     { "broker", broker_policy } };
    unsigned with = 0;
    int stats_only = 0;
    const char *text = NULL;
    char name[64], err[256];
    struct policy_stats stats;

    if (argc < 2) {
        fprintf(stderr, "usage: policy_export capture|worker|broker [--sanitizer] [--stats]\n");
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--sanitizer") == 0)
            with |= POLICY_WITH_SANITIZER;
        else if (strcmp(argv[i], "--stats") == 0)
            stats_only = 1;
        else {
            fprintf(stderr, "policy_export: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++)
        if (strcmp(argv[1], policies[i].name) == 0)
            text = policies[i].text;
    if (text == NULL) {
        fprintf(stderr, "policy_export: no policy named %s\n", argv[1]);
        return 2;
    }
    snprintf(name, sizeof(name), "policy/%s.policy", argv[1]);
    scmp_filter_ctx ctx =
        seccomp_policy_compile(name, text, with, SCMP_ACT_KILL_PROCESS, &stats, err, sizeof(err));
    if (ctx == NULL) {
        fprintf(stderr, "policy_export: %s\n", err);
        return 1;
    }
    if (stats_only)
        printf("rules=%u syscalls=%u\n", stats.rules, stats.syscalls);
    else if (fflush(stdout) != 0 || seccomp_export_pfc(ctx, STDOUT_FILENO) != 0) {
        fprintf(stderr, "policy_export: cannot export %s\n", name);
        seccomp_release(ctx);
        return 1;
    }
    seccomp_release(ctx);
    return 0;
}
