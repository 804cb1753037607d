#!/usr/bin/env bash
# `make install` into a scratch prefix: flowsensed lands in sbin,
# flowsense-cat and flowsense-top in bin, its children in libexec/flowsense, the systemd unit in lib/systemd/system
# (running that flowsensed), the man pages in share/man, the example
# configuration in etc/flowsense (never over an existing one), the run
# user is created when root installs for real; the installed flowsensed
# (which has no children beside it) finds them and replays a capture,
# reading its own configuration file.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd jq
fs_setup
chmod 0755 "$TMP" # the children run as the unprivileged user from here

prefix=$TMP/prefix
had_user=0
getent passwd flowsense >/dev/null && had_user=1
make -s -C "$ROOT" BUILD="$TMP/build" PREFIX="$prefix" install >"$TMP/make.log" 2>&1 \
    || fail "make install failed: $(tail -n 5 "$TMP/make.log")"
for f in sbin/flowsensed bin/flowsense-cat bin/flowsense-top libexec/flowsense/flowsense-worker libexec/flowsense/flowsense-broker; do
    [[ -x $prefix/$f ]] || fail "make install did not install $f"
done
[[ ! -e $prefix/sbin/flowsense-worker ]] || fail "the worker was installed next to flowsensed"
unit=$prefix/lib/systemd/system/flowsense.service
[[ -f $unit ]] || fail "make install did not install lib/systemd/system/flowsense.service"
grep -q "^ExecStart=$prefix/sbin/flowsensed " "$unit" \
    || fail "the installed unit does not run $prefix/sbin/flowsensed: $(grep '^ExecStart=' "$unit")"

for f in share/man/man8/flowsensed.8 share/man/man5/flowsense.conf.5 share/man/man1/flowsense-cat.1 share/man/man1/flowsense-top.1 etc/flowsense/flowsense.conf; do
    [[ -f $prefix/$f ]] || fail "make install did not install $f"
done
"$prefix/sbin/flowsensed" -r "$LOCAL_PCAP/https.pcap" --stdout --check-config >"$TMP/check.out" 2>&1 \
    || fail "the installed example configuration does not pass --check-config: $(cat "$TMP/check.out")"
grep -q "^flowsensed: $prefix/etc/flowsense/flowsense.conf: configuration ok" "$TMP/check.out" \
    || fail "the installed flowsensed does not read $prefix/etc/flowsense/flowsense.conf: $(cat "$TMP/check.out")"
# An administrator's configuration survives a reinstall; the installed
# flowsensed reads it (here: 2 workers).
printf '[flowsense]\nworkers = 2\n' >"$prefix/etc/flowsense/flowsense.conf"
make -s -C "$ROOT" BUILD="$TMP/build" PREFIX="$prefix" install >"$TMP/make2.log" 2>&1 \
    || fail "the second make install failed: $(tail -n 5 "$TMP/make2.log")"
grep -q "workers = 2" "$prefix/etc/flowsense/flowsense.conf" || fail "make install overwrote the configuration"
if [[ $(id -u) == 0 ]]; then
    getent passwd flowsense >/dev/null || fail "make install as root did not create the user flowsense"
    [[ $(getent passwd flowsense | cut -d: -f7) == /usr/sbin/nologin ]] || fail "user flowsense can log in: $(getent passwd flowsense)"
    if ((had_user == 0)); then
        say "make install created the system user flowsense; removing it again"
        userdel flowsense || fail "userdel flowsense failed"
    fi
fi

FLOWSENSED=$prefix/sbin/flowsensed FS_OUT=$TMP/out.ndjson fs_run 60 -r "$LOCAL_PCAP/https.pcap" --stdout
[[ $FS_RC == 0 ]] || fail "the installed flowsensed exited $FS_RC: $(tail -n 3 "$FS_LAST_ERR")"
assert_no_leftovers
flows=$(count_flows "$TMP/out.ndjson")
((flows == 6)) || fail "the installed sensor reported $flows flows in https.pcap, expected 6"
workers=$(jq -c 'select(.type == "agent_status") | .workers | length' "$TMP/out.ndjson" | tail -n 1)
((workers == 2)) || fail "the installed flowsensed ignored its configuration file (workers = 2): $workers workers"
say "ok: installed under $prefix, children found in libexec/flowsense, unit, man pages, configuration (read: $workers workers), $flows flows"
