#!/bin/sh
# Matching at scale: synth PEOPLE people (default 200,000), encode the four
# sources, then time `bloomlink match` (wall clock, CPU, peak RSS) and
# evaluate the link map against the generator's truth.
#
#   bench/match_scale.sh [PEOPLE] [WORKDIR]
#
# BLOOMLINK names the binary (default: ./bloomlink, i.e. run from a build dir).
set -eu
B=${BLOOMLINK:-./bloomlink}
N=${1:-200000}
W=${2:-$(mktemp -d "${TMPDIR:-/tmp}/bl-match-scale.XXXXXX")}
mkdir -p "$W"
SOURCES="gp social_care housing education"

echo "work dir: $W"
echo "people:   $N"
$B synth --people "$N" --seed 1 --out "$W/D" >/dev/null
$B keygen --force "$W/K" >/dev/null
for s in $SOURCES; do
    $B encode --schema "$W/D/schema.json" --profile "$W/D/$s.profile.json" --key "$W/K" \
        --in "$W/D/$s.csv" --out "$W/$s.ble" --id-map "$W/$s.ids" --quiet
done

files=""
maps=""
for s in $SOURCES; do
    files="$files $W/$s.ble"
    maps="$maps --id-map $s=$W/$s.ids"
done

timefile="$W/time.txt"
if [ -x /usr/bin/time ]; then
    # shellcheck disable=SC2086
    /usr/bin/time -v "$B" match --out "$W/links.csv" --review "$W/review.csv" \
        --save-model "$W/model.json" --threads "${THREADS:-0}" --quiet $files 2> "$timefile"
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$timefile")
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$timefile")
    cpu=$(sed -n 's/.*Percent of CPU this job got: //p' "$timefile")
    echo "match wall time: $wall"
    echo "match peak RSS:  $((rss / 1024)) MiB"
    echo "match CPU:       $cpu (200% = both cores busy)"
else
    # shellcheck disable=SC2086
    "$B" match --out "$W/links.csv" --review "$W/review.csv" --threads "${THREADS:-0}" $files
fi
records=$(($(wc -l < "$W/links.csv") - 1))
echo "records:         $records"
# shellcheck disable=SC2086
$B evaluate --truth "$W/D/truth.csv" $maps --linkmap "$W/links.csv"
