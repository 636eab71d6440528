#!/bin/sh
# bloomlink clk: clkhash golden CLKs reproduced byte for byte from CSV, and
# the failures that must leave no output behind.
set -eu
D="$BL_SRCDIR/tests/data/clkhash"
fail() { echo "FAIL: $*"; exit 1; }

printf 'correct horse battery staple\n' > secret
chmod 600 secret
"$BLOOMLINK" clk --clkhash-schema "$D/cli-randomnames-schema.json" --secret-file secret \
    --in "$D/cli-randomnames.csv" --out clks.json 2> log || { cat log; fail "clk failed"; }
grep -q "wrote 40 CLKs of 1024 bits" log || fail "summary: $(cat log)"
# The whole file, byte for byte: every golden CLK, in anonlink's JSON.
cmp clks.json "$D/cli-randomnames-clks.json" || fail "CLKs differ from clkhash's"

# No header line: the same CLKs.
tail -n +2 "$D/cli-randomnames.csv" > nohdr.csv
"$BLOOMLINK" clk --clkhash-schema "$D/cli-randomnames-schema.json" --secret-file secret \
    --in nohdr.csv --out clks2.json --no-header 2> log || { cat log; fail "--no-header"; }
cmp clks2.json "$D/cli-randomnames-clks.json" || fail "--no-header CLKs differ"

# A secret file others can read is refused.
cp secret open-secret
chmod 644 open-secret
if "$BLOOMLINK" clk --clkhash-schema "$D/cli-randomnames-schema.json" --secret-file open-secret \
    --in "$D/cli-randomnames.csv" --out never.json 2> log; then fail "group-readable secret accepted"; fi
grep -q "chmod 600" log || fail "secret message: $(cat log)"
[ ! -e never.json ] || fail "output left behind"

# A different secret gives different CLKs.
printf 'another secret\n' > secret2
chmod 600 secret2
"$BLOOMLINK" clk --clkhash-schema "$D/cli-randomnames-schema.json" --secret-file secret2 \
    --in "$D/cli-randomnames.csv" --out other.json 2> log
if cmp -s other.json clks.json; then fail "the secret made no difference"; fi

# clkhash ignores xorFolds; bloomlink refuses it, naming the JSON path.
sed 's/"l": 1024,/"l": 512, "xorFolds": 1,/' "$D/cli-randomnames-schema.json" > folds.json
grep -q xorFolds folds.json || fail "test setup: sed did not edit the schema"
if "$BLOOMLINK" clk --clkhash-schema folds.json --secret-file secret \
    --in "$D/cli-randomnames.csv" --out never.json 2> log; then fail "xorFolds accepted"; fi
grep -q "clkConfig.xorFolds" log || fail "xorFolds message: $(cat log)"
grep -q "xor_folds" log || fail "xorFolds message names no fix: $(cat log)"

# An invalid entry (a date clkhash cannot parse) fails with its line and
# column, and leaves no output.
sed '4s#1979/02/06#1979-02-06#' "$D/cli-randomnames.csv" > bad.csv
if "$BLOOMLINK" clk --clkhash-schema "$D/cli-randomnames-schema.json" --secret-file secret \
    --in bad.csv --out never.json 2> log; then fail "invalid date accepted"; fi
grep -q "bad.csv:4" log || fail "no line in: $(cat log)"
grep -q "DOB YYYY/MM/DD" log || fail "no column in: $(cat log)"
[ ! -e never.json ] || fail "output left behind after an invalid row"

# A header that does not name the features is refused unless ignored.
sed '1s/INDEX/ID/' "$D/cli-randomnames.csv" > hdr.csv
if "$BLOOMLINK" clk --clkhash-schema "$D/cli-randomnames-schema.json" --secret-file secret \
    --in hdr.csv --out never.json 2> log; then fail "wrong header accepted"; fi
grep -q "INDEX" log || fail "header message: $(cat log)"
"$BLOOMLINK" clk --clkhash-schema "$D/cli-randomnames-schema.json" --secret-file secret \
    --in hdr.csv --out clks3.json --ignore-header 2> log || { cat log; fail "--ignore-header"; }
cmp clks3.json "$D/cli-randomnames-clks.json" || fail "--ignore-header CLKs differ"

# Usage errors exit 2; --help exits 0.
set +e
"$BLOOMLINK" clk --in x.csv > /dev/null 2>&1; [ $? -eq 2 ] || fail "missing options: not exit 2"
"$BLOOMLINK" clk --clkhash-schema s --secret-file k --in a --out b --no-header --ignore-header \
    > /dev/null 2>&1; [ $? -eq 2 ] || fail "conflicting header options: not exit 2"
set -e
"$BLOOMLINK" clk --help | grep -q "clkhash-schema" || fail "--help"
echo ok
