#!/bin/sh
# bench encode --json: the figures the README quotes are printed, with the
# kernels that produced them, and a wrong kernel result is refused (the
# benchmark checks every PRF kernel against the scalar reference itself).
set -eu
B="$BLOOMLINK"
fail() { echo "FAIL: $*"; exit 1; }

$B bench encode --people 2000 --runs 1 --dir bench-dir --json > out.json 2> log ||
    { cat log; fail "bench encode failed"; }
for key in records_per_s records_per_cpu_s csv_read_records_per_s prf_kernel huffman_kernel \
    crc32_kernel; do
    grep -q "\"$key\"" out.json || fail "no $key in the JSON"
done
rate=$(sed -n 's/^ *"records_per_s": \([0-9]*\).*/\1/p' out.json)
[ -n "$rate" ] && [ "$rate" -gt 0 ] || fail "records_per_s is not a positive number: '$rate'"
grep -Eq '"huffman_kernel": "(avx512vbmi|portable)"' out.json || fail "unknown huffman kernel"
grep -Eq '"crc32_kernel": "(vpclmulqdq|pclmulqdq|zlib)"' out.json || fail "unknown crc32 kernel"
grep -q '"records": 19' out.json || grep -q '"records": 20' out.json ||
    fail "expected about 2,000 records: $(grep '"records"' out.json)"
$B bench encode --runs 0 2>/dev/null && fail "--runs 0 accepted"
exit 0
