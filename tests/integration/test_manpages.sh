#!/usr/bin/env bash
# Every man page in the tree passes `mandoc -Tlint` at warning level and
# renders with man(1) (groff, all warnings on) without a complaint; each
# program's page documents every long option its --help lists.
source "$(dirname "$0")/../lib/common.sh"
require_cmd mandoc man groff
fs_setup

mapfile -t pages < <(cd "$ROOT" && find . -name '*.[1-8]' -not -path './build/*' -not -path './.git/*' | sort)
((${#pages[@]} >= 2)) || fail "found ${#pages[@]} man pages, expected at least flowsensed.8 and flowsense.conf.5"
for page in "${pages[@]}"; do
    mandoc -Tlint -W warning "$ROOT/$page" >"$TMP/lint" 2>&1 || fail "$page: mandoc -Tlint: $(cat "$TMP/lint")"
    MANWIDTH=80 MAN_KEEP_FORMATTING=0 man --warnings=all -l "$ROOT/$page" >"$TMP/out" 2>"$TMP/err" \
        || fail "$page: man -l failed: $(cat "$TMP/err")"
    [[ ! -s $TMP/err ]] || fail "$page: groff warns: $(head -n 5 "$TMP/err")"
    [[ $(wc -l <"$TMP/out") -gt 20 ]] || fail "$page renders to only $(wc -l <"$TMP/out") lines"
    say "$page: clean ($(wc -l <"$TMP/out") lines)"
done

# A program's page documents every long option its --help lists.
for pair in capture/flowsensed.8:flowsensed client/flowsense-cat.1:flowsense-cat \
            client/flowsense-top.1:flowsense-top; do
    page=${pair%%:*} prog=$BUILD_DIR/bin/${pair##*:}
    [[ -f $ROOT/$page && -x $prog ]] || continue
    "$prog" --help 2>&1 | grep -o -- '--[a-z][a-z-]*' | sort -u >"$TMP/options"
    MANWIDTH=200 man -l "$ROOT/$page" 2>/dev/null >"$TMP/page.txt"
    while read -r opt; do
        grep -q -- "$opt" "$TMP/page.txt" || fail "$page does not document $opt"
    done <"$TMP/options"
    say "$page documents all $(wc -l <"$TMP/options") long options of ${pair##*:} --help"
done
say "ok: ${#pages[@]} man pages"
