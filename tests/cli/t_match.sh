#!/bin/sh
# End to end: synth -> keygen -> encode 4 sources -> match -> evaluate,
# plus train / inspect / explain and refusal of files under different keys.
set -eu
B=${BLOOMLINK:?}
$B synth --people 400 --seed 7 --out D >/dev/null
$B keygen K >/dev/null
for s in gp social_care housing education; do
    $B encode --schema D/schema.json --profile D/$s.profile.json --key K \
        --in D/$s.csv --out $s.ble --content-out $s.content.csv --id-map $s.ids --quiet
done
$B match --out links.csv --review review.csv --report report.json --save-model model.json \
    --threads 2 gp.ble social_care.ble housing.ble education.ble > summary.txt
cat summary.txt
grep -q '^candidate pairs:' summary.txt
grep -q '^EM iterations:' summary.txt
grep -q '^entities:' summary.txt
head -1 links.csv | grep -q '^source,record_token,entity_id,match_probability'
# every record of every file is in the link map, tokens are 32 lower-case hex
n=$(($(wc -l < links.csv) - 1))
want=0
for s in gp social_care housing education; do want=$((want + $(wc -l < $s.ids) - 1)); done
[ "$n" -eq "$want" ] || { echo "link map has $n records, want $want"; exit 1; }
if tail -n +2 links.csv | cut -d, -f2 | grep -qv '^[0-9a-f]\{32\}$'; then
    echo "bad token in link map"; exit 1
fi
grep -q '"by_source_age_band"' report.json
head -1 review.csv | grep -q '^source_a,record_token_a,source_b,record_token_b'

$B evaluate --truth D/truth.csv --id-map gp=gp.ids --id-map social_care=social_care.ids \
    --id-map housing=housing.ids --id-map education=education.ids --linkmap links.csv > eval.txt
cat eval.txt
grep -q '^overall' eval.txt
$B evaluate --truth D/truth.csv --id-map gp=gp.ids --id-map social_care=social_care.ids \
    --id-map housing=housing.ids --id-map education=education.ids --linkmap links.csv --json > eval.json
f1=$(sed -n '/"overall"/,/}/s/.*"f1": \([0-9.e-]*\).*/\1/p' eval.json | head -1)
echo "F1 $f1"
awk -v f="$f1" 'BEGIN { exit !(f >= 0.9) }' || { echo "F1 $f1 below 0.9"; exit 1; }
grep -q '"gp-social_care"' eval.json
grep -q '"gp-gp"\|"housing-housing"\|"education-education"\|"social_care-social_care"' eval.json

# the saved model reloads, inspects and reproduces the same links without EM
$B inspect model.json > inspect.txt
grep -q 'nhs_number' inspect.txt
grep -q 'exact' inspect.txt
$B match --out links2.csv --model model.json --quiet gp.ble social_care.ble housing.ble education.ble
cmp links.csv links2.csv

# train alone gives a model too
$B train --out model2.json --quiet gp.ble social_care.ble
grep -q '"bloomlink-model"' model2.json

# explain the first linked pair of the link map
pair=$(tail -n +2 links.csv | sort -t, -k3,3n | awk -F, 'prev == $3 { print ps ":" pt " " $1 ":" $2; exit } { prev = $3; ps = $1; pt = $2 }')
[ -n "$pair" ]
# shellcheck disable=SC2086
$B explain --model model.json gp.ble social_care.ble housing.ble education.ble --pair $pair > explain.txt
cat explain.txt
grep -q 'match probability' explain.txt
# shellcheck disable=SC2086
$B explain --model model.json --json gp.ble social_care.ble housing.ble education.ble --pair $pair | grep -q '"match_weight"'

# files encoded under different keys are refused, naming both files
$B keygen K2 >/dev/null
$B encode --schema D/schema.json --profile D/housing.profile.json --key K2 \
    --in D/housing.csv --out other.ble --quiet
if $B match --out bad.csv gp.ble other.ble 2> err.txt; then
    echo "match accepted files under different keys"; exit 1
fi
grep -q 'gp.ble' err.txt
grep -q 'other.ble' err.txt
[ ! -e bad.csv ]
# bad usage
if $B match gp.ble 2>/dev/null; then echo "match without --out succeeded"; exit 1; fi
echo ok
