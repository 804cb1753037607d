#!/usr/bin/env bash
# The compiled seccomp filters equal the golden files in tests/policy/, so
# any change of policy/*.policy (or of how it is compiled) shows in review:
# after a deliberate change, regenerate them with
#   for p in capture worker broker; do build/tools/policy_export $p > tests/policy/$p.pfc; done
# Also prints the size of each allowlist.
source "$(dirname "$0")/../lib/common.sh"
EXPORT="$BUILD_DIR/tools/policy_export"
[[ -x $EXPORT ]] || skip "${EXPORT#"$ROOT/"} is not built (run make)"
# The pseudo-filter code names the architecture and libseccomp's layout.
[[ $(uname -m) == x86_64 ]] || skip "golden files are for x86_64, this is $(uname -m)"
fs_setup

for p in capture worker broker; do
    "$EXPORT" "$p" >"$TMP/$p.pfc" || fail "policy_export $p failed"
    grep -q 'action KILL_PROCESS;' "$TMP/$p.pfc" || fail "the $p filter's default action is not KILL_PROCESS"
    grep -q '^# invalid architecture action' "$TMP/$p.pfc" || fail "the $p filter has no architecture check"
    if ! diff -u "$ROOT/tests/policy/$p.pfc" "$TMP/$p.pfc" >"$TMP/$p.diff"; then
        head -n 40 "$TMP/$p.diff"
        fail "the compiled $p filter differs from tests/policy/$p.pfc (diff above)"
    fi
    say "$p: $("$EXPORT" "$p" --stats) (release build); with the sanitizer rules: $("$EXPORT" "$p" --sanitizer --stats)"
done
# The worker's list must not grow the dangerous calls, whatever else changes.
for call in socket connect bind accept4 openat open execve ptrace clone fork; do
    grep -q "filter for syscall \"$call\"" "$TMP/worker.pfc" && fail "the worker's filter allows $call"
done
grep -q 'filter for syscall "execve"' "$TMP/capture.pfc" && fail "the capture's filter allows execve"
say "ok: three filters equal their golden files"
