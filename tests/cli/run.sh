#!/bin/sh
# End-to-end CLI tests: each tests/cli/t_*.sh runs with $BLOOMLINK and a temp dir.
set -u
dir=$(cd "$(dirname "$0")" && pwd)
pass=0; fail=0
for t in "$dir"/t_*.sh; do
    [ -e "$t" ] || continue
    tmp=$(mktemp -d)
    if (cd "$tmp" && sh "$t") > "$tmp.log" 2>&1; then
        pass=$((pass + 1)); echo "PASS: $(basename "$t")"
    else
        fail=$((fail + 1)); echo "FAIL: $(basename "$t")"; sed 's/^/    /' "$tmp.log" | tail -40
    fi
    rm -rf "$tmp" "$tmp.log"
done
echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
