#!/bin/sh
# Build the Python extension out of tree against a configured C build and run
# its unittest suite.  The source tree is not touched.
#   usage: sh bindings/python/run-tests.sh BUILD_DIR
# BUILD_DIR holds .libs/libbloomlink.so and the bloomlink command.  PYTHON
# picks the interpreter (default python3); needs setuptools and Python.h.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] || { echo "usage: sh $0 BUILD_DIR" >&2; exit 2; }
build=$(cd "$1" && pwd)
[ -f "$build/.libs/libbloomlink.so" ] || {
    echo "run-tests.sh: $build/.libs/libbloomlink.so missing: build the C library first" >&2
    exit 2
}
py=${PYTHON:-python3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bloomlink-python.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

$py -c 'import setuptools' 2>/dev/null || {
    echo "run-tests.sh: $py has no setuptools (Debian: apt-get install python3-setuptools python3-dev)" >&2
    exit 1
}
echo "building the extension with $($py -c 'import sys; print(sys.executable, sys.version.split()[0])')"
# Copy the package so that setuptools' scratch files stay out of the source tree.
mkdir -p "$tmp/src"
cp -R "$here/setup.py" "$here/c-ext" "$here/bloomlink" "$here/tests" "$tmp/src/"
(cd "$tmp/src" && BLOOMLINK_BUILD_DIR="$build" BLOOMLINK_SRC_DIR="$here/../.." \
    $py setup.py -q build --build-base "$tmp/build" --build-lib "$tmp/lib" \
    > "$tmp/build.log" 2>&1) || { cat "$tmp/build.log"; exit 1; }
grep -i "warning" "$tmp/build.log" | grep -v "byte-compiling is disabled" || true

cd "$tmp"
BLOOMLINK_CLI="$build/bloomlink" BLOOMLINK_SRC_DIR="$here/../.." \
PYTHONPATH="$tmp/lib:$tmp/src/tests" PYTHONDONTWRITEBYTECODE=1 \
    $py "$tmp/src/tests/run.py" "$tmp/src/tests"
