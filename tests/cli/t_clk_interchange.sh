#!/bin/sh
# import-clks / export-clks round trip, and clk-match on anonlink CLK files.
set -eu
D="$BL_SRCDIR/tests/data/clkhash"
fail() { echo "FAIL: $*"; exit 1; }

"$BLOOMLINK" import-clks "$D/cli-randomnames-clks.json" --out x.ble 2> log || { cat log; fail "import"; }
grep -q "imported 40 CLKs of 1024 bits" log || fail "import summary: $(cat log)"
"$BLOOMLINK" export-clks x.ble --out back.json 2> log || { cat log; fail "export"; }
cmp back.json "$D/cli-randomnames-clks.json" || fail "round trip changed the CLKs"

# Broken base64 names the array element.
printf '{"clks": ["AAAA", "AA=A"]}' > bad.json
if "$BLOOMLINK" import-clks bad.json --out never.ble 2> log; then fail "bad base64 accepted"; fi
grep -q "clks\[1\]" log || fail "bad base64 message: $(cat log)"
[ ! -e never.ble ] || fail "output left behind"
# 40-bit CLKs cannot become a .ble (multiples of 64 bits only).
printf '{"clks": ["AAECAwQ="]}' > short.json
if "$BLOOMLINK" import-clks short.json --out never.ble 2> log; then fail "40-bit CLK imported"; fi
grep -q "multiple of 64" log || fail "short CLK message: $(cat log)"

# Matching a party against itself at threshold 1: record i pairs with i.
"$BLOOMLINK" clk-match "$D/cli-randomnames-clks.json" x.ble --threshold 1 --out groups.json 2> log \
    || { cat log; fail "clk-match"; }
want='{"groups": ['
i=0
while [ $i -lt 40 ]; do
    [ $i -gt 0 ] && want="$want, "
    want="$want[[0, $i], [1, $i]]"
    i=$((i + 1))
done
want="$want]}"
[ "$(cat groups.json)" = "$want" ] || fail "groups: $(cat groups.json)"
grep -q "40 groups (80 records)" log || fail "match summary: $(cat log)"

# Three parties at a lower threshold: groups of up to one record per party.
"$BLOOMLINK" clk-match x.ble x.ble x.ble --threshold 0.9 --out g3.json 2> log || { cat log; fail "3 parties"; }
grep -q "groups" g3.json || fail "3-party output"

set +e
"$BLOOMLINK" clk-match x.ble --threshold 0.9 --out g.json > /dev/null 2>&1
[ $? -eq 2 ] || fail "one party: not exit 2"
"$BLOOMLINK" clk-match x.ble x.ble --threshold 1.5 --out g.json > /dev/null 2>&1
[ $? -eq 2 ] || fail "threshold 1.5: not exit 2"
"$BLOOMLINK" export-clks > /dev/null 2>&1
[ $? -eq 2 ] || fail "export without arguments: not exit 2"
set -e
echo ok
