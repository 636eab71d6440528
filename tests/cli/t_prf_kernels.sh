#!/bin/sh
# BLOOMLINK_PRF_KERNEL: every PRF kernel this CPU runs writes the same
# encoding, byte for byte apart from the header's `created` time; unknown
# names are refused.
set -eu
B="$BLOOMLINK"
fail() { echo "FAIL: $*"; exit 1; }

$B synth --people 300 --seed 11 --out D >/dev/null
$B keygen K >/dev/null

# A .ble file without its header and without the trailer's two CRCs (the
# trailer repeats the header's CRC, which covers `created`): what is left
# is every record block, each with its own CRC, and the record count.
body() {
    jl=$(od -An -tu4 -j12 -N4 "$1" | tr -d ' ')
    skip=$((8 + 2 + 2 + 4 + jl + 4))
    size=$(wc -c < "$1")
    tail -c +$((skip + 1)) "$1" | head -c $((size - skip - 8))
}

encode() { # kernel name, output stem
    BLOOMLINK_PRF_KERNEL=$1 $B encode --schema D/schema.json --profile D/gp.profile.json --key K \
        --in D/gp.csv --out "$2.ble" --content-out "$2.content.csv" --id-map "$2.ids.csv" --quiet
}

encode scalar ref 2> log || { cat log; fail "encode with the scalar kernel"; }
body ref.ble > ref.body
[ "$(wc -c < ref.body)" -gt 10000 ] || fail "test setup: the record blocks are missing"
ran=0
for k in openssl shani1 shani2 shani4 avx512 avx2 auto; do
    if ! encode $k out 2> log; then
        grep -q "needs" log || { cat log; fail "kernel $k failed for another reason"; }
        echo "skip $k: $(cat log)"
        continue
    fi
    body out.ble > out.body
    cmp ref.body out.body || fail "kernel $k: record blocks differ from scalar"
    cmp ref.content.csv out.content.csv || fail "kernel $k: content file differs"
    cmp ref.ids.csv out.ids.csv || fail "kernel $k: id map differs"
    ran=$((ran + 1))
done
[ "$ran" -ge 1 ] || fail "no kernel besides scalar ran, not even auto"

# A changed key must change the body, or the comparison proves nothing.
$B keygen K2 >/dev/null
BLOOMLINK_PRF_KERNEL=scalar $B encode --schema D/schema.json --profile D/gp.profile.json --key K2 \
    --in D/gp.csv --out other.ble --quiet
body other.ble > other.body
if cmp -s ref.body other.body; then fail "the key made no difference to the record blocks"; fi

if BLOOMLINK_PRF_KERNEL=md5 $B inspect ref.ble > /dev/null 2> log; then
    fail "unknown PRF kernel accepted"
fi
grep -q "md5" log || fail "unknown kernel message: $(cat log)"
