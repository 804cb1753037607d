#!/usr/bin/env bash
# Strings from the wire reach clients as ASCII-only JSON: a generated HTTP
# exchange carries UTF-8 (2 and 4 bytes), an invalid byte, a quote, a
# backslash and a control character in its User-Agent and URL (and an SSDP
# NOTIFY in its USER-AGENT and SERVER lines).  The framed
# stream must stay in sync for a text-mode client, and the decoded strings
# must be the originals (surrogate pairs above U+FFFF, U+FFFD per invalid
# byte).
source "$(dirname "$0")/../lib/common.sh"
require_built
require_cmd python3 jq
fs_setup

python3 "$ROOT/tests/lib/gen_hostile_http_pcap.py" "$TMP/hostile.pcap" >"$TMP/expected.json" \
    || fail "cannot generate the capture"
fs_start -r "$TMP/hostile.pcap" --listen "unix:$TMP/x.sock" --wait-for-client
start_reader "$TMP/records.ndjson" "unix:$TMP/x.sock" --timeout 60
fs_finish 60
python3 "$ROOT/tests/lib/check_records.py" --hello --min-flows 1 "$TMP/records.ndjson" \
    || fail "the stream breaks the contract"

python3 - "$TMP/records.ndjson" "$TMP/expected.json" <<'PY' || fail "escaped strings do not decode to the originals (above)"
import json, sys
records = [json.loads(l) for l in open(sys.argv[1], encoding="ascii")]
expected = json.load(open(sys.argv[2]))
flows = [r["flow"] for r in records if r["type"] == "flow" and r["flow"].get("local_port") == 40000]
if not flows:
    sys.exit("no flow record for the generated HTTP exchange")
http = flows[0].get("http", {})
ok = True
if http.get("user_agent") != expected["user_agent"]:
    print("user_agent: got %r, want %r" % (http.get("user_agent"), expected["user_agent"]))
    ok = False
for part in expected["url_contains"]:
    if part not in http.get("url", ""):
        print("url %r lacks %r" % (http.get("url"), part))
        ok = False
ssdp = [r["flow"] for r in records if r["type"] == "flow" and r["flow"].get("local_port") == 40001]
if not ssdp or ssdp[0].get("ssdp") != expected["ssdp"]:
    print("ssdp: got %r, want %r" % (ssdp[0].get("ssdp") if ssdp else None, expected["ssdp"]))
    ok = False
sys.exit(0 if ok else 1)
PY
say "ok: UTF-8, invalid bytes and control characters arrive escaped, as ASCII, in sync"
