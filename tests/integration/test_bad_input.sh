#!/usr/bin/env bash
# Bad input must end flowsensed with a clear message on stderr, never with
# a crash or a hang, and leave no child process behind.
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd python3 jq
fs_setup

GOOD=
for f in "$LOCAL_PCAP/mixed.pcap" "$LOCAL_PCAP/http.pcap" "$SHARED_PCAP/netflix.pcap"; do
    [[ -f $f ]] && { GOOD=$f; break; }
done
[[ -n $GOOD ]] || skip "no capture to cut short (tests/pcap/mixed.pcap missing)"
problems=()
n=0

# expect_refusal DESCRIPTION WORD ARGS...: flowsensed must exit non-zero (not
# by a signal) with a message on stderr that mentions WORD (case-insensitive).
expect_refusal() {
    local what=$1 word=$2; shift 2
    n=$((n + 1))
    FS_OUT=$TMP/case$n.out FS_ERR=$TMP/case$n.err fs_run 30 "$@"
    assert_no_leftovers
    local msg
    msg=$(grep -v '^[[:space:]]*$' "$TMP/case$n.err" | head -n 3 | tr '\n' ' ')
    if ((FS_RC == 0)); then
        problems+=("$what: exit 0, expected a refusal")
    elif ((FS_RC >= 124)); then
        problems+=("$what: exit $FS_RC (crash, signal or hang), expected a clean refusal")
    elif [[ -z $msg ]]; then
        problems+=("$what: exit $FS_RC with nothing on stderr")
    elif ! grep -qiF -- "$word" "$TMP/case$n.err"; then
        problems+=("$what: exit $FS_RC but stderr does not mention '$word': $msg")
    fi
    say "$what -> exit $FS_RC: ${msg:-<no message>}"
}

expect_refusal "nonexistent -r file" no-such-file.pcap \
    -r "$TMP/no-such-file.pcap" --stdout
printf 'this is not a capture file\n%.0s' {1..200} >"$TMP/garbage.pcap"
expect_refusal "garbage -r file" garbage.pcap -r "$TMP/garbage.pcap" --stdout
head -c 10 "$GOOD" >"$TMP/header-cut.pcap"
expect_refusal "pcap cut inside its file header" header-cut.pcap -r "$TMP/header-cut.pcap" --stdout
FS_NO_USER=1 expect_refusal "unknown user" no_such_user_xyz \
    -r "$GOOD" --stdout -u no_such_user_xyz
for w in 0 -1 abc 1x "" 100000; do
    expect_refusal "-w '$w'" "$w" -r "$GOOD" --stdout -w "$w"
done
expect_refusal "unknown listen scheme" bogus:foo -r "$GOOD" --listen bogus:foo
expect_refusal "unknown option" --no-such-option -r "$GOOD" --stdout --no-such-option
expect_refusal "no -i nor -r" capture --stdout
expect_refusal "--wait-for-client without --listen" --wait-for-client \
    -r "$GOOD" --stdout --wait-for-client
if [[ $(id -u) == 0 ]]; then
    expect_refusal "nonexistent interface" nosuchif0 -i nosuchif0 --stdout
fi

# A capture cut mid-packet: process what is there and say where the file
# ended (exit 0 or not); never a crash.  What was written must be JSON.
size=$(stat -c %s "$GOOD")
head -c $((size * 2 / 3)) "$GOOD" >"$TMP/truncated.pcap"
n=$((n + 1))
FS_OUT=$TMP/case$n.out FS_ERR=$TMP/case$n.err fs_run 60 -r "$TMP/truncated.pcap" --stdout
assert_no_leftovers
msg=$(grep -i -m 1 truncated.pcap "$TMP/case$n.err")
say "truncated capture ($((size * 2 / 3)) of $size bytes) -> exit $FS_RC, $(count_type "$TMP/case$n.out" flow) flows: ${msg:-<no message>}"
if ((FS_RC >= 124)); then
    problems+=("truncated capture: exit $FS_RC (crash, signal or hang)")
elif [[ -z $msg ]]; then
    problems+=("truncated capture: exit $FS_RC without a message naming the file on stderr")
fi
jq -e -c . "$TMP/case$n.out" >/dev/null 2>&1 || [[ ! -s $TMP/case$n.out ]] \
    || problems+=("truncated capture: stdout is not valid JSON")

if ((${#problems[@]} > 0)); then
    printf '  %s\n' "${problems[@]}"
    fail "${#problems[@]} of $n bad inputs were not refused cleanly (above)"
fi
say "ok: $n bad inputs handled cleanly"
