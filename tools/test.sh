#!/bin/sh
# One command that builds everything and runs every test: the Check suites and
# CLI tests (warnings as errors), the same suites under AddressSanitizer and
# UndefinedBehaviorSanitizer, and the Python and R binding tests where present.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)
autoreconf -fi >/dev/null 2>&1 || autoreconf -fi

echo "== build (warnings are errors) and check"
mkdir -p build-test
(cd build-test && ../configure -q --enable-werror && make -j"$jobs" && make -j"$jobs" check) || {
    cat build-test/tests/*.log 2>/dev/null | tail -100; exit 1; }

echo "== check under AddressSanitizer + UndefinedBehaviorSanitizer"
mkdir -p build-asan
(cd build-asan && ../configure -q --enable-sanitizers --disable-shared CFLAGS="-O1 -g" &&
    make -j"$jobs" && ASAN_OPTIONS=detect_leaks=1 make -j"$jobs" check) || {
    cat build-asan/tests/*.log 2>/dev/null | tail -100; exit 1; }

if [ -f bindings/python/setup.py ]; then
    echo "== Python bindings"
    sh bindings/python/run-tests.sh "$top/build-test"
fi
if [ -f bindings/R/DESCRIPTION ]; then
    echo "== R bindings"
    sh bindings/R/run-tests.sh "$top/build-test"
fi
echo "== all tests passed"
