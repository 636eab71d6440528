#!/bin/sh
# Replay every fuzz target's seed corpus, tests/fuzz/corpus/<target>/, through
# its regression driver, tests/fuzz/fuzz_<target> (the fuzz entry point built
# with a main), so the seeds and each input that once crashed are retested on
# every `make check`.  A corpus without its driver fails rather than being
# skipped, so a target cannot drop out of the build unnoticed.
set -u
src=${BL_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${BL_BUILDDIR:-.}
status=0
ran=0
for dir in "$src"/tests/fuzz/corpus/*/; do
    [ -d "$dir" ] || continue
    target=$(basename "$dir")
    prog="$build/tests/fuzz/fuzz_$target"
    ran=$((ran + 1))
    if [ ! -x "$prog" ]; then
        echo "FAIL: fuzz_$target: $prog was not built"
        status=1
    elif "$prog" "$dir"; then
        echo "PASS: fuzz_$target"
    else
        echo "FAIL: fuzz_$target"
        status=1
    fi
done
if [ "$ran" -eq 0 ]; then
    echo "FAIL: no corpus under $src/tests/fuzz/corpus"
    status=1
fi
exit $status
