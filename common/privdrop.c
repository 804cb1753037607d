#include "privdrop.h"

#include "log.h"

#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <unistd.h>

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
        /* Started unprivileged (e.g. by systemd with ambient capabilities):
         * the bounding set can only be emptied while CAP_SETPCAP is held. */
        capng_select_t what = CAPNG_SELECT_CAPS;
        if (capng_get_caps_process() == 0 &&
            capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP))
            what = CAPNG_SELECT_BOTH;
        capng_clear(what);
        if (capng_apply(what) != 0)
            fatalx("cannot clear capabilities (capng_apply)");
        /* capng_apply() skips the bounding set silently when it may not
         * change it: read it back. */
        if (what == CAPNG_SELECT_BOTH &&
            (capng_get_caps_process() != 0 ||
             capng_have_capabilities(CAPNG_SELECT_BOUNDS) != CAPNG_NONE))
            fatalx("capability bounding set not empty after dropping it");
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
