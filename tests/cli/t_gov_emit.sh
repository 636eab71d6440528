# t_gov_emit.sh - holders' opt-out, emit, aggregate and audit on synthetic data,
# with a link map built from the synthetic truth (so the test does not depend
# on the matcher's accuracy).
set -eu
BL=$BLOOMLINK
fail() { echo "FAIL: $*" >&2; exit 1; }

$BL synth --people 1500 --seed 7 --out . > /dev/null 2>&1
$BL keygen linkage.key > /dev/null 2>&1
for s in gp social_care housing education; do
    $BL encode --schema schema.json --profile $s.profile.json --key linkage.key --in $s.csv \
        --out $s.ble --content-out $s.content.csv --id-map $s.ids --quiet
done
# links.csv: source,record_token,entity_id,match_probability from truth + id maps.
{
    echo "source,record_token,entity_id,match_probability"
    for s in gp social_care housing education; do
        awk -F, -v s=$s 'NR == FNR { if ($1 == s) p[$2] = $3; next }
                         FNR > 1 && ($1 in p) { print s "," $2 "," p[$1] ",1.0" }' truth.csv $s.ids
    done
} > links.csv

for p in c g h; do $BL dsa keygen --out $p.key > /dev/null 2>&1; done
sed -e "s/1111111111111111111111111111111111111111111111111111111111111111/$(cat c.key.pub)/" \
    -e "s/2222222222222222222222222222222222222222222222222222222222222222/$(cat g.key.pub)/" \
    -e "s/3333333333333333333333333333333333333333333333333333333333333333/$(cat h.key.pub)/" \
    "$BL_SRCDIR/examples/dsa.json" > dsa.json
for p in c g h; do $BL dsa sign --key $p.key dsa.json > /dev/null; done
$BL dsa verify dsa.json > /dev/null || fail "agreement does not verify"
$BL dsa project-key --out project.key > /dev/null 2>&1
$BL dsa project-key --out project2.key > /dev/null 2>&1

for s in gp social_care; do
    $BL optout --schema schema.json --profile $s.profile.json --key linkage.key --in $s.csv \
        --nhs-list optout.csv --out $s.optout.csv > /dev/null
done
if $BL optout --schema schema.json --profile housing.profile.json --key linkage.key --in housing.csv \
    --nhs-list optout.csv --out housing.optout.csv > /dev/null 2>&1; then fail "housing has no NHS numbers"; fi
[ "$(head -1 gp.optout.csv)" = "source,record_token" ] || fail "optout header"
[ "$(wc -l < gp.optout.csv)" -gt 1 ] || fail "no opted-out gp records"

C="--content gp=gp.content.csv --content social_care=social_care.content.csv"
C="$C --content housing=housing.content.csv --content education=education.content.csv"
O="--optout gp=gp.optout.csv --optout social_care=social_care.optout.csv"

# A missing opt-out list is refused, nothing is written, the refusal is logged.
if $BL emit --dsa dsa.json --project-key project.key --linkmap links.csv $C \
    --optout gp=gp.optout.csv --out ds.sqlite --audit-log audit.log > /dev/null 2>&1; then
    fail "emit without social_care opt-out list"
fi
[ ! -e ds.sqlite ] || fail "refused run left a dataset"
grep -q '"outcome":"refused"' audit.log || fail "refusal not logged"

# A failure mid-write leaves no dataset.
if $BL emit --dsa dsa.json --project-key project.key --linkmap links.csv $C $O \
    --out ds.sqlite --audit-log audit.log --test-fail-after-rows 500 > /dev/null 2>&1; then
    fail "injected failure did not fail"
fi
[ ! -e ds.sqlite ] || fail "partial dataset left behind"
if ls ds.sqlite.tmp-* > /dev/null 2>&1; then fail "temp file left behind"; fi

$BL emit --dsa dsa.json --project-key project.key --linkmap links.csv $C $O \
    --out ds.sqlite --report report.json --audit-log audit.log --actor tester > emit.txt
grep -q "people removed" emit.txt || fail "emit summary"
$BL emit --dsa dsa.json --project-key project2.key --linkmap links.csv $C $O \
    --out ds2.sqlite --audit-log audit.log > /dev/null
$BL emit --dsa dsa.json --project-key project.key --linkmap links.csv $C $O \
    --out ds_csv --format csv --audit-log audit.log > /dev/null
[ -f ds_csv/person.csv ] && [ -f ds_csv/event.csv ] && [ -f ds_csv/provenance.csv ] || fail "csv export"

# Free text never reaches any output: take note fragments from the extracts.
awk -F, 'NR > 1 && length($NF) > 12 && $NF !~ /"/ { print $NF }' gp.csv | head -20 > notes.txt
[ -s notes.txt ] || fail "no notes to look for"
while IFS= read -r n; do
    if grep -rqF -- "$n" ds.sqlite ds_csv report.json audit.log; then fail "note text in output: $n"; fi
done < notes.txt
# Neither record tokens nor entity ids reach the dataset or the log.
tok=$(sed -n 2p gp.ids | cut -d, -f2)
ent=$(sed -n 2p links.csv | cut -d, -f3)
if grep -rqF -- "$tok" ds.sqlite ds_csv audit.log; then fail "record token in output"; fi
if grep -rqF -- "$ent," ds_csv audit.log; then fail "entity id in output"; fi

if command -v sqlite3 > /dev/null; then
    n1=$(sqlite3 ds.sqlite "SELECT count(*) FROM person")
    [ "$n1" -gt 1000 ] || fail "too few people: $n1"
    # Two projects: no pseudonym in common.
    common=$(sqlite3 ds.sqlite "ATTACH 'ds2.sqlite' AS b; SELECT count(*) FROM person p JOIN b.person q USING (pseudonym)")
    [ "$common" -eq 0 ] || fail "projects share $common pseudonyms"
    [ "$(sqlite3 ds.sqlite "SELECT count(*) FROM pragma_table_info('event') WHERE name LIKE '%note%'")" -eq 0 ] \
        || fail "a notes column"
    sqlite3 ds.sqlite "SELECT count(*) FROM person WHERE in_social_care AND in_housing" > /dev/null
fi

$BL emit --dsa dsa.json --project-key project.key --linkmap links.csv $C $O \
    --aggregate in_social_care,in_housing,ethnic_group --out counts.csv --audit-log audit.log > /dev/null
awk -F, 'NR > 1 && $NF != "*" && $NF != 0 && ($NF <= 7 || $NF % 5 != 0) { bad = 1; print }
         END { exit bad }' counts.csv || fail "unsuppressed small count"

$BL audit verify audit.log > out.txt || fail "audit chain"
head=$(sed 's/.*head //' out.txt)
# Edit one entry: detected.
sed '3s/"outcome":"ok"/"outcome":"refused"/; 3s/"outcome":"failed"/"outcome":"ok"/' audit.log > edited.log
if cmp -s audit.log edited.log; then fail "edit did not apply"; fi
if $BL audit verify edited.log > /dev/null 2>&1; then fail "edited log verified"; fi
# Remove one entry: detected.
sed '2d' audit.log > removed.log
if $BL audit verify removed.log > /dev/null 2>&1; then fail "log with a removed entry verified"; fi
# Remove the last: only the recorded head catches it.
sed '$d' audit.log > short.log
$BL audit verify short.log > /dev/null || fail "shortened chain should still link"
if $BL audit verify --head "$head" short.log > /dev/null 2>&1; then fail "truncation not caught"; fi
echo ok
