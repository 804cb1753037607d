#!/usr/bin/env bash
# `make install` into a scratch prefix: flowsensed lands in sbin,
# flowsense-cat in bin, the children in libexec/flowsense, the systemd unit in lib/systemd/system
# (running that flowsensed), and the installed flowsensed (which has
# no children beside it) finds them there and replays a capture.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd jq
fs_setup
chmod 0755 "$TMP" # the children run as the unprivileged user from here

prefix=$TMP/prefix
make -s -C "$ROOT" BUILD="$TMP/build" PREFIX="$prefix" install >"$TMP/make.log" 2>&1 \
    || fail "make install failed: $(tail -n 5 "$TMP/make.log")"
for f in sbin/flowsensed bin/flowsense-cat libexec/flowsense/flowsense-worker libexec/flowsense/flowsense-broker; do
    [[ -x $prefix/$f ]] || fail "make install did not install $f"
done
[[ ! -e $prefix/sbin/flowsense-worker ]] || fail "the worker was installed next to flowsensed"
unit=$prefix/lib/systemd/system/flowsense.service
[[ -f $unit ]] || fail "make install did not install lib/systemd/system/flowsense.service"
grep -q "^ExecStart=$prefix/sbin/flowsensed " "$unit" \
    || fail "the installed unit does not run $prefix/sbin/flowsensed: $(grep '^ExecStart=' "$unit")"

FLOWSENSED=$prefix/sbin/flowsensed FS_OUT=$TMP/out.ndjson fs_run 60 -r "$LOCAL_PCAP/https.pcap" --stdout
[[ $FS_RC == 0 ]] || fail "the installed flowsensed exited $FS_RC: $(tail -n 3 "$FS_LAST_ERR")"
assert_no_leftovers
flows=$(count_type "$TMP/out.ndjson" flow)
((flows == 6)) || fail "the installed sensor reported $flows flows in https.pcap, expected 6"
say "ok: installed under $prefix, children found in libexec/flowsense, unit in lib/systemd/system, $flows flows"
