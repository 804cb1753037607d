#include "privdrop.h"

#include "log.h"

#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#define CHILD_MAX_OPEN_FILES 1024

void priv_lookup_user(const char *name, uid_t *uid, gid_t *gid)
{
    errno = 0;
    struct passwd *pw = getpwnam(name);
    if (pw == NULL) {
        if (errno)
            fatal("looking up user '%s'", name);
        fatalx("user '%s' does not exist: create it (useradd --system %s) or pass -u USER",
               name, name);
    }
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
}

void priv_drop(uid_t uid, gid_t gid)
{
    if (geteuid() == 0) {
        capng_clear(CAPNG_SELECT_BOTH);
        if (capng_change_id((int)uid, (int)gid, CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING) != 0)
            fatalx("cannot change to uid %u gid %u (capng_change_id)", (unsigned)uid,
                   (unsigned)gid);
    } else {
        capng_clear(CAPNG_SELECT_CAPS);
        if (capng_apply(CAPNG_SELECT_CAPS) != 0)
            fatalx("cannot clear capabilities (capng_apply)");
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        fatal("cannot clear ambient capabilities");
    if (geteuid() == 0 || getuid() == 0)
        fatalx("still root after dropping privileges");
    if (capng_get_caps_process() != 0)
        fatalx("cannot read back capabilities");
    if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE)
        fatalx("capabilities left after dropping privileges");
}

void sandbox_enter_child(const char *user)
{
    uid_t uid = getuid();
    gid_t gid = getgid();
    struct rlimit no_core = { 0, 0 };
    struct rlimit files;

    if (geteuid() == 0)
        priv_lookup_user(user, &uid, &gid);
    priv_drop(uid, gid);
    if (setrlimit(RLIMIT_CORE, &no_core) != 0)
        fatal("setrlimit(RLIMIT_CORE)");
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        fatal("prctl(PR_SET_DUMPABLE)");
    /* Never above the current hard limit: lowering needs no privilege. */
    if (getrlimit(RLIMIT_NOFILE, &files) != 0)
        fatal("getrlimit(RLIMIT_NOFILE)");
    if (files.rlim_max > CHILD_MAX_OPEN_FILES)
        files.rlim_max = CHILD_MAX_OPEN_FILES;
    files.rlim_cur = files.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &files) != 0) {
        /* valgrind refuses any change of the hard limit: bound the soft
         * one, which the seccomp filter keeps us from raising again. */
        if (errno != EPERM || getrlimit(RLIMIT_NOFILE, &files) != 0)
            fatal("setrlimit(RLIMIT_NOFILE)");
        files.rlim_cur = files.rlim_cur < CHILD_MAX_OPEN_FILES ? files.rlim_cur
                                                                : CHILD_MAX_OPEN_FILES;
        if (setrlimit(RLIMIT_NOFILE, &files) != 0)
            fatal("setrlimit(RLIMIT_NOFILE) soft limit");
        log_warnx("hard limit on open files left at %llu (only the soft one could be lowered)",
                  (unsigned long long)files.rlim_max);
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        fatal("prctl(PR_SET_NO_NEW_PRIVS)");
}
