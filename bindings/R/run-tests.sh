#!/bin/sh
# run-tests.sh BUILD_DIR - test the bloomlink R package against a configured
# and built C tree (BUILD_DIR holds .libs/libbloomlink.so and the bloomlink
# CLI).  Builds the package tarball, installs it into a temporary library,
# runs the testthat tests (which cross-check R against BUILD_DIR/bloomlink),
# then runs R CMD check --no-manual on the tarball.  Exits non-zero if a
# test fails or R CMD check reports an ERROR or a WARNING.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: sh bindings/R/run-tests.sh BUILD_DIR" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "$1" && pwd)

fail() {
    echo "run-tests.sh: $*" >&2
    exit 1
}
[ -f "$build/.libs/libbloomlink.so" ] ||
    fail "$build/.libs/libbloomlink.so not found: configure and make the C library first"
[ -x "$build/bloomlink" ] || fail "$build/bloomlink not found: make the CLI first"
[ -f "$build/include/bloomlink_version.h" ] || fail "$build/include/bloomlink_version.h not found"
command -v R > /dev/null 2>&1 || fail "R not found: apt-get install r-base-dev"
Rscript -e 'quit(status = !requireNamespace("testthat", quietly = TRUE))' ||
    fail "the testthat package is missing: apt-get install r-cran-testthat"

# The package finds the library through these (see bindings/R/configure).
# The public header is in the source tree, bloomlink_version.h in the build tree.
BLOOMLINK_INCLUDE="$top/include $build/include"
BLOOMLINK_LIBDIR="$build/.libs"
BLOOMLINK_CLI="$build/bloomlink"
export BLOOMLINK_INCLUDE BLOOMLINK_LIBDIR BLOOMLINK_CLI
# Checks that need the network or an NTP clock only add NOTEs; skip them.
_R_CHECK_FUTURE_FILE_TIMESTAMPS_=FALSE
_R_CHECK_SYSTEM_CLOCK_=FALSE
_R_CHECK_CRAN_INCOMING_=FALSE
export _R_CHECK_FUTURE_FILE_TIMESTAMPS_ _R_CHECK_SYSTEM_CLOCK_ _R_CHECK_CRAN_INCOMING_

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bloomlink-r.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
cd "$tmp"

echo "== R CMD build"
R CMD build --no-build-vignettes --no-manual "$here" > build.log 2>&1 || {
    cat build.log
    fail "R CMD build failed"
}
tarball=$(ls bloomlink_*.tar.gz)

echo "== R CMD INSTALL -l $tmp/lib"
mkdir lib
R CMD INSTALL -l "$tmp/lib" "$tarball" > install.log 2>&1 || {
    cat install.log
    fail "R CMD INSTALL failed"
}
if grep -n "warning:" install.log; then
    fail "the C code compiled with warnings"
fi

echo "== testthat"
# shellcheck disable=SC2016 # R code, expanded by R
R_LIBS="$tmp/lib${R_LIBS:+:$R_LIBS}" Rscript -e '
    library(testthat)
    res <- test_dir(commandArgs(TRUE)[1], package = "bloomlink", load_package = "installed",
                    reporter = ProgressReporter$new(show_praise = FALSE),
                    stop_on_failure = TRUE, stop_on_warning = TRUE)
' "$here/tests/testthat" || fail "testthat tests failed"

echo "== R CMD check --no-manual"
status=0
R_LIBS="$tmp/lib${R_LIBS:+:$R_LIBS}" R CMD check --no-manual --no-build-vignettes \
    -o "$tmp" "$tarball" > check.log 2>&1 || status=$?
grep -E "^\* checking .*(NOTE|WARNING|ERROR)$|^Status:" check.log || true
if [ $status -ne 0 ] || grep -qE "^Status:.*(ERROR|WARNING)" check.log || ! grep -q "^Status:" check.log; then
    cat check.log
    for f in bloomlink.Rcheck/00install.out bloomlink.Rcheck/tests/testthat.Rout.fail; do
        [ -f "$f" ] && { echo "---- $f"; tail -60 "$f"; }
    done
    fail "R CMD check reported an ERROR or a WARNING"
fi
echo "== R bindings: all tests passed"
