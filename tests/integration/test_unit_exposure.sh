#!/usr/bin/env bash
# policy/flowsense.service, the hardened systemd unit:
#  - `systemd-analyze security --offline=true --threshold=15` passes (the
#    exposure score is at most 1.5), and the score is printed;
#  - `systemd-analyze verify` accepts the unit `make install` installs
#    (skipped, with a message, where verify cannot run);
#  - the unit and the code agree: ExecStart is where `make install` puts
#    flowsensed and flowsensed accepts its options, every --listen socket
#    lies in the RuntimeDirectory, User= is the run user flowsensed looks
#    up, and the capabilities, address families and system call filter are
#    exactly the ones policy/README.md lists with their reasons.
source "$(dirname "$0")/../lib/common.sh"
command -v systemd-analyze >/dev/null 2>&1 || skip "systemd-analyze is not installed (Debian package systemd)"
systemd-analyze security --help 2>&1 | grep -q -e '--offline' \
    || skip "this systemd-analyze has no security --offline (systemd 250 or later needed)"
require_built
fs_setup

UNIT=$ROOT/policy/flowsense.service
POLICY_README=$ROOT/policy/README.md
MAX_EXPOSURE=15 # tenths: 1.5
[[ -f $UNIT ]] || fail "policy/flowsense.service is missing"

# unit_values FILE KEY: the values of KEY= in [Service], one line each, in
# order (an empty assignment resets the list, as systemd does).
unit_values() {
    awk -v key="$2" '
        /^\[/ { in_service = ($0 == "[Service]"); next }
        !in_service || /^[[:space:]]*[#;]/ { next }
        index($0, key "=") == 1 {
            v = substr($0, length(key) + 2)
            if (v == "") n = 0; else vals[n++] = v
        }
        END { for (i = 0; i < n; i++) print vals[i] }' "$1"
}

# words: the distinct words of stdin, sorted, on one line.
words() { tr -s ' \t' '\n' | sed '/^$/d' | sort -u | tr '\n' ' ' | sed 's/ $//'; }

# readme_list KIND: the backquoted items of policy/README.md's "systemd
# unit" section listed under the paragraph naming caps
# (AmbientCapabilities=), families (RestrictAddressFamilies=) or syscalls
# (SystemCallFilter=), in order, one per line.
readme_list() {
    awk -v kind="$1" '
        /^## / { in_sec = ($0 ~ /^## systemd unit/); state = ""; next }
        !in_sec { next }
        /^- `/ { if (state == kind) { split($0, p, "`"); print p[2] } prev_blank = 0; next }
        /^[[:space:]]*$/ { prev_blank = 1; next }
        /^[[:space:]]/ { prev_blank = 0; next }
        {
            if (prev_blank) state = ""
            if (index($0, "`AmbientCapabilities=`")) state = "caps"
            else if (index($0, "`RestrictAddressFamilies=`")) state = "families"
            else if (index($0, "`SystemCallFilter=`")) state = "syscalls"
            prev_blank = 0
        }' "$POLICY_README"
}

# ---- 1. exposure score ----
rc=0
systemd-analyze security --offline=true --threshold=$MAX_EXPOSURE --no-pager "$UNIT" \
    >"$TMP/security.txt" 2>"$TMP/security.err" || rc=$?
overall=$(sed -n 's/.*Overall exposure level.*: \([0-9][0-9]*\.[0-9]\).*/\1/p' "$TMP/security.txt")
[[ -n $overall ]] || { cat "$TMP/security.txt" "$TMP/security.err"; fail "systemd-analyze security printed no score"; }
say "what the unit still allows (systemd-analyze security):"
grep '^✗' "$TMP/security.txt" | sed 's/^/    /'
# The exact exposure (0-100, rounded up for the score) from systemd-analyze's
# debug columns WEIGHT BADNESS RANGE, where this version prints them.
exact=$(SYSTEMD_ANALYZE_DEBUG=1 systemd-analyze security --offline=true --no-pager "$UNIT" 2>/dev/null | awk '
    $NF ~ /^[0-9]+\.[0-9]$/ { w = $(NF-3); b = $(NF-2); r = $(NF-1) }
    $NF ~ /^[0-9]+$/ { w = $(NF-2); b = $(NF-1); r = $NF }
    ($NF ~ /^[0-9.]+$/) && w ~ /^[0-9]+$/ && b ~ /^[0-9]+$/ && r ~ /^[0-9]+$/ && r > 0 && b <= r {
        ws += w; bs += int((b * w + r - 1) / r)
    }
    END { if (ws > 0) printf "%.1f of 100", bs * 100 / ws }')
say "exposure score: $overall${exact:+ ($exact)}, limit $((MAX_EXPOSURE / 10)).$((MAX_EXPOSURE % 10))"
((rc == 0)) || fail "exposure $overall is above $((MAX_EXPOSURE / 10)).$((MAX_EXPOSURE % 10)) (systemd-analyze security --threshold=$MAX_EXPOSURE exited $rc)"
# Parse warnings (an unknown or misspelt setting is ignored, not an error).
if [[ -s $TMP/security.err ]]; then
    cat "$TMP/security.err"
    fail "systemd-analyze security complained about the unit (above)"
fi

# ---- 2. make install puts the unit where systemd looks, pointing at flowsensed ----
# -o all: install what is built, build nothing.
make_install() {
    make -s -C "$ROOT" BUILD="$BUILD_DIR" -o all "$@" install >"$TMP/make.log" 2>&1 \
        || fail "make $* install failed: $(tail -n 5 "$TMP/make.log")"
}
exec_path() { unit_values "$1" ExecStart | tail -n 1 | awk '{ print $1 }'; }

make_install DESTDIR="$TMP/root" PREFIX=/usr
installed=$TMP/root/lib/systemd/system/flowsense.service
[[ -f $installed ]] || fail "make install PREFIX=/usr did not install /lib/systemd/system/flowsense.service"
cmp -s "$installed" "$UNIT" || fail "with PREFIX=/usr the installed unit differs from policy/flowsense.service"
bin=$(exec_path "$UNIT")
[[ -n $bin && -x $TMP/root$bin ]] \
    || fail "ExecStart runs $bin, but make install PREFIX=/usr puts flowsensed elsewhere: $(cd "$TMP/root" && find . -name flowsensed)"
say "ok: make install PREFIX=/usr: /lib/systemd/system/flowsense.service, ExecStart $bin is the installed flowsensed"

prefix=$TMP/prefix
make_install PREFIX="$prefix"
installed=$prefix/lib/systemd/system/flowsense.service
[[ -f $installed ]] || fail "make install PREFIX=$prefix did not install lib/systemd/system/flowsense.service"
bin=$(exec_path "$installed")
[[ $bin == "$prefix/sbin/flowsensed" && -x $bin ]] \
    || fail "the unit installed with PREFIX=$prefix runs '$bin', not the installed $prefix/sbin/flowsensed"
say "ok: make install PREFIX=$prefix: the unit runs $bin"

# ---- 3. systemd-analyze verify (offline) of the installed unit ----
probe=$TMP/probe/flowsense-probe.service
mkdir -p "$(dirname "$probe")"
printf '[Unit]\nWants=network-online.target\nAfter=network-online.target\n[Service]\nExecStart=/bin/true\n' >"$probe"
if ! systemd-analyze verify "$probe" >"$TMP/probe.log" 2>&1; then
    say "skipped verify: systemd-analyze verify cannot load even a minimal unit here: $(tail -n 1 "$TMP/probe.log")"
else
    rc=0
    systemd-analyze verify "$installed" >"$TMP/verify.log" 2>&1 || rc=$?
    if ((rc != 0)) || grep -q 'flowsense\.service' "$TMP/verify.log"; then
        cat "$TMP/verify.log"
        fail "systemd-analyze verify rejected the installed unit (exit $rc, above)"
    fi
    say "ok: systemd-analyze verify accepts the installed unit"
fi

# ---- 4. the unit and the code agree ----
mapfile -t exec_lines < <(unit_values "$UNIT" ExecStart)
((${#exec_lines[@]} == 1)) || fail "expected one ExecStart=, found ${#exec_lines[@]}"
read -r -a argv <<<"${exec_lines[0]}"
args=("${argv[@]:1}")
# flowsensed parses every option before it acts on -V: exit 0 means they are all valid.
"$FLOWSENSED" "${args[@]}" -V >"$TMP/options.out" 2>&1 \
    || fail "flowsensed rejects the unit's options '${args[*]}': $(tail -n 2 "$TMP/options.out")"

runtime_dir=$(unit_values "$UNIT" RuntimeDirectory | words)
[[ -n $runtime_dir && $runtime_dir != *' '* ]] || fail "expected one RuntimeDirectory=, found '$runtime_dir'"
families=$(unit_values "$UNIT" RestrictAddressFamilies | words)
listens=()
for ((i = 0; i < ${#args[@]}; i++)); do
    case ${args[i]} in
    --listen) listens+=("${args[i + 1]}") ;;
    --listen=*) listens+=("${args[i]#--listen=}") ;;
    esac
done
# Without --listen (and --stdout), flowsensed serves its default socket.
if ((${#listens[@]} == 0)); then
    listens=("$(sed -n 's/^#define DEFAULT_LISTEN "\(.*\)"$/\1/p' "$ROOT/capture/options.h")")
fi
for l in "${listens[@]}"; do
    case $l in
    unix:/run/"$runtime_dir"/?*) ;;
    unix:*) fail "--listen $l is not in the RuntimeDirectory /run/$runtime_dir (ProtectSystem=strict makes everything else read-only)" ;;
    tcp:*) [[ " $families " == *" AF_INET "* || " $families " == *" AF_INET6 "* ]] \
               || fail "--listen $l needs AF_INET/AF_INET6, which RestrictAddressFamilies= ($families) refuses" ;;
    *) fail "unexpected --listen address '$l'" ;;
    esac
done
say "ok: flowsensed accepts '${args[*]}'; sockets ${listens[*]} in /run/$runtime_dir"

user=$(unit_values "$UNIT" User | tail -n 1)
group=$(unit_values "$UNIT" Group | tail -n 1)
run_user=$(sed -n 's/^#define DEFAULT_USER "\(.*\)"$/\1/p' "$ROOT/capture/options.h")
for ((i = 0; i < ${#args[@]}; i++)); do
    [[ ${args[i]} == -u ]] && run_user=${args[i + 1]}
done
[[ -n $user && $user != root && $user == "$run_user" ]] \
    || fail "User=$user, but flowsensed looks up run user '$run_user' (-u or DEFAULT_USER)"
[[ -n $group ]] || fail "no Group="
[[ $(unit_values "$UNIT" NoNewPrivileges | tail -n 1) == yes ]] || fail "NoNewPrivileges= is not yes"
# A worker sent SIGTERM stops without purging: only flowsensed may get it.
[[ $(unit_values "$UNIT" KillMode | tail -n 1) == mixed ]] \
    || fail "KillMode= is not mixed: systemd would SIGTERM the workers, which then stop without purging"
say "ok: runs as $user:$group (flowsensed's run user), NoNewPrivileges, KillMode=mixed"

ambient=$(unit_values "$UNIT" AmbientCapabilities | words)
bounding=$(unit_values "$UNIT" CapabilityBoundingSet | words)
documented=$(readme_list caps | words)
[[ -n $documented ]] || fail "policy/README.md has no capability list in its \"systemd unit\" section"
[[ $ambient == "$documented" ]] \
    || fail "AmbientCapabilities= is '$ambient', policy/README.md documents '$documented'"
[[ $bounding == "$documented" ]] \
    || fail "CapabilityBoundingSet= is '$bounding', policy/README.md documents '$documented'"
say "ok: capabilities (ambient = bounding = policy/README.md): $documented"

documented=$(readme_list families | words)
[[ -n $families && $families == "$documented" ]] \
    || fail "RestrictAddressFamilies= is '$families', policy/README.md documents '$documented'"
say "ok: address families (= policy/README.md): $families"

unit_filter=$(unit_values "$UNIT" SystemCallFilter)
documented=$(readme_list syscalls)
[[ -n $unit_filter && $unit_filter == "$documented" ]] \
    || fail "SystemCallFilter= lines differ from policy/README.md:
unit:
$unit_filter
policy/README.md:
$documented"
say "ok: system call filter (= policy/README.md, in order): $(tr '\n' ';' <<<"$unit_filter" | sed 's/;$//; s/;/; /g')"

if [[ -d /run/systemd/system ]]; then
    say "note: the unit's restrictions are not exercised on the binary here (run it with systemd-run to do so)"
else
    say "note: systemd is not PID 1 here: the unit's restrictions were not exercised on the binary"
fi
say "ok: exposure $overall, unit and code agree"
