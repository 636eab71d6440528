#!/bin/sh
# governance_demo.sh - from four synthetic extracts to a signed, pseudonymised,
# opt-out-respecting longitudinal dataset, with an audit trail.
#
#   sh examples/governance_demo.sh [DIR]      (default ./governance-demo)
#
# Uses $BLOOMLINK if set, else `bloomlink` on the PATH.  If DIR already holds
# the output of `bloomlink demo` (links.csv and the holders' files), the
# linkage steps are reused; otherwise they run first.  Each party's step is
# marked with who would run it in real life.
set -eu

BL=${BLOOMLINK:-bloomlink}
DIR=${1:-governance-demo}
PEOPLE=${PEOPLE:-5000}
SOURCES="gp social_care housing education"

run() {
    echo "\$ bloomlink $*" >&2
    "$BL" "$@"
}

mkdir -p "$DIR"
cd "$DIR"

if [ ! -f links.csv ]; then
    echo "== linkage (holders and linkage service): synth, keygen, encode, match" >&2
    run synth --people "$PEOPLE" --out .
    run keygen --force linkage.key
    for s in $SOURCES; do
        run encode --schema schema.json --profile "$s.profile.json" --key linkage.key \
            --in "$s.csv" --out "$s.ble" --content-out "$s.content.csv" --id-map "$s.ids" --quiet
    done
    run match --quiet --out links.csv gp.ble social_care.ble housing.ble education.ble
fi

echo "== 1. each party makes an Ed25519 signing key (private key stays with the party)" >&2
for p in icb gpfed council; do
    [ -f "$p.key" ] || run dsa keygen --out "$p.key" > /dev/null
done

echo "== 2. the controller drafts the agreement with the parties' public keys" >&2
# examples/dsa.json (also built in: `bloomlink dsa example`) has placeholder keys.
run dsa example --force --out dsa.json
run dsa set-key --party icb-analytics --public-key icb.key.pub dsa.json
run dsa set-key --party gp-federation --public-key gpfed.key.pub dsa.json
run dsa set-key --party county-council --public-key council.key.pub dsa.json
rm -f audit.log audit.log.lock

echo "== 3. an unsigned agreement is refused" >&2
if run dsa verify dsa.json > /dev/null 2>&1; then
    echo "unexpected: an unsigned agreement verified" >&2
    exit 1
fi

echo "== 4. every party signs the same canonical text" >&2
run dsa sign --key icb.key --actor icb-analytics --audit-log audit.log dsa.json
run dsa sign --key gpfed.key --actor gp-federation --audit-log audit.log dsa.json
run dsa sign --key council.key --actor county-council --audit-log audit.log dsa.json
run dsa verify dsa.json

echo "== 5. holders with NHS numbers turn the national data opt-out list into record tokens" >&2
# (housing and education hold no NHS numbers: their records of opted-out
#  people go because they are linked to an opted-out person)
for s in gp social_care; do
    run optout --schema schema.json --profile "$s.profile.json" --key linkage.key \
        --in "$s.csv" --nhs-list optout.csv --out "$s.optout.csv" \
        --audit-log audit.log --actor "$s-holder"
done

echo "== 6. the controller makes the project key (pseudonyms are per project)" >&2
[ -f project.key ] || run dsa project-key --out project.key > /dev/null

CONTENT="--content gp=gp.content.csv --content social_care=social_care.content.csv"
CONTENT="$CONTENT --content housing=housing.content.csv --content education=education.content.csv"
OPTOUT="--optout gp=gp.optout.csv --optout social_care=social_care.optout.csv"

echo "== 7. emit the dataset (SQLite), under the agreement" >&2
# shellcheck disable=SC2086
run emit --dsa dsa.json --project-key project.key --linkmap links.csv $CONTENT $OPTOUT \
    --out dataset.sqlite --report emit-report.json --audit-log audit.log --actor icb-analytics --force

echo "== 8. a suppressed aggregate: people by social care x housing x ethnic group" >&2
# shellcheck disable=SC2086
run emit --dsa dsa.json --project-key project.key --linkmap links.csv $CONTENT $OPTOUT \
    --aggregate in_social_care,in_housing,ethnic_group --out counts.csv \
    --audit-log audit.log --actor icb-analytics --force
grep '^1,1,' counts.csv >&2 || true

echo "== 9. the audit chain is intact" >&2
run audit verify audit.log

echo "== 10. a query: people known to both social care and housing, by ethnic group" >&2
QUERY="SELECT coalesce(ethnic_group, 'unknown') AS ethnic_group, count(*) AS people
  FROM person WHERE in_social_care = 1 AND in_housing = 1
  GROUP BY 1 ORDER BY people DESC;"
echo "$QUERY" >&2
if command -v sqlite3 > /dev/null 2>&1; then
    sqlite3 -header -column dataset.sqlite "$QUERY"
else
    echo "(install sqlite3 to run it; counts below 8 must be suppressed before publication)" >&2
fi
echo "dataset: $DIR/dataset.sqlite  report: $DIR/emit-report.json  audit log: $DIR/audit.log" >&2
