#!/usr/bin/env bash
# Runs every capture of tests/pcap and ../shared/pcap through flowsensed
# --stdout and through ndpiReader (the same nDPI library), and compares the
# protocol of every flow both report (tests/lib/compare_ndpi.py), each
# flow's last record (after a detection_updated one, if any).  Known
# and reviewed differences live in tests/ndpi-exceptions.tsv.
# NDPIREADER_ARGS adds options to ndpiReader (e.g. "-T 32 -U 32").
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd python3 ndpiReader
fs_setup

files=()
for f in "$LOCAL_PCAP"/*.pcap "$LOCAL_PCAP"/*.pcapng; do
    [[ -f $f ]] && files+=("$f")
done
if [[ -d $SHARED_PCAP ]]; then
    for f in "$SHARED_PCAP"/*.pcap "$SHARED_PCAP"/*.pcapng; do
        [[ -f $f ]] && files+=("$f")
    done
else
    say "note: $SHARED_PCAP is absent: comparing tests/pcap only (the shared corpus sits beside the repository as shared/pcap)"
fi
((${#files[@]} > 0)) || skip "no capture in tests/pcap nor in $SHARED_PCAP"

cases=() crashes=() errors=()
for f in "${files[@]}"; do
    name=$(basename "$f")
    # Same basename in both folders: keep them apart.
    [[ $f == "$SHARED_PCAP"/* ]] && tag=shared/$name || tag=tests/$name
    out=$TMP/${tag//\//_}
    # shellcheck disable=SC2086
    if ! timeout 120 ndpiReader -i "$f" -v 2 ${NDPIREADER_ARGS:-} >"$out.ndpi.txt" 2>"$out.ndpi.log"; then
        say "note: ndpiReader cannot read $tag; left out: $(tail -n 1 "$out.ndpi.log")"
        continue
    fi
    FS_OUT=$out.ndjson FS_ERR=$out.err fs_run 120 -r "$f" --stdout
    assert_no_leftovers
    # A replay outlives a worker that dies (restarted, its flows counted
    # lost) and exits 0: the trap build's seccomp message or the
    # supervisor's note of the death is the only trace.
    if died=$(grep -m 1 -E '^seccomp: .* made forbidden system call|exited with status|died from signal' "$out.err"); then
        crashes+=("$tag: $died")
    fi
    if ((FS_RC >= 124)); then
        crashes+=("$tag: exit $FS_RC ($(tail -n 1 "$out.err"))")
    elif ((FS_RC != 0)); then
        errors+=("$tag: exit $FS_RC: $(tail -n 1 "$out.err")")
    fi
    # A bad line must not hide the comparison of the rest.
    jq -c 'select(.type == "flow")' "$out.ndjson" >"$out.flows" 2>"$out.jq" \
        || crashes+=("$tag: stdout is not JSON: $(head -n 1 "$out.jq")")
    # Every capture's stream also keeps the record contract (fields, types,
    # flow/purge order, no empty sub-object), fuzzed and malformed ones too.
    python3 "$ROOT/tests/lib/check_records.py" --hello --min-flows 0 --max-errors 3 "$out.ndjson" >"$out.contract" 2>&1 \
        || crashes+=("$tag: breaks the record contract: $(head -n 3 "$out.contract" | tr '\n' ' ')")
    cases+=(--case "$tag" "$out.flows" "$out.ndpi.txt")
done

for e in "${errors[@]}"; do say "flowsensed failed on $e"; done
python3 "$ROOT/tests/lib/compare_ndpi.py" --exceptions "$ROOT/tests/ndpi-exceptions.tsv" \
    --min-agreement "${MIN_AGREEMENT:-99}" ${VERBOSE_MISSING:+--verbose-missing} "${cases[@]}"
rc=$?
# Clients that read only the record sent at detection (before nDPI's later
# dissection, which may still name the application): how far that agrees.
first=$(python3 "$ROOT/tests/lib/compare_ndpi.py" --exceptions "$ROOT/tests/ndpi-exceptions.tsv" \
    --min-agreement 0 --first-record "${cases[@]}" | sed -n 's/^overall: //p')
say "first records only (detection_updated false): $first"
if ((${#crashes[@]} > 0)); then
    printf '  %s\n' "${crashes[@]}"
    fail "flowsensed crashed, hung or wrote invalid output on ${#crashes[@]} capture(s) (above)"
fi
((${#errors[@]} == 0)) || fail "flowsensed exited non-zero on ${#errors[@]} capture(s) (above)"
((rc == 0)) || fail "flowsense and ndpiReader disagree (see above)"
say "ok: ${#files[@]} captures compared"
