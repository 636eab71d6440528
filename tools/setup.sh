#!/bin/sh
# One command on a fresh Debian 12 machine: install what is missing, build,
# and run the end-to-end demo.  Run as root (or with sudo) from the source tree.
set -eu
cd "$(dirname "$0")/.."
PACKAGES="build-essential autoconf automake libtool pkg-config libssl-dev zlib1g-dev \
libjansson-dev libutf8proc-dev libsqlite3-dev sqlite3 libbloom-dev check \
python3 python3-dev python3-setuptools python3-venv r-base-dev r-cran-testthat"
missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "setup: installing:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi
[ -x configure ] || autoreconf -fi
mkdir -p build
cd build
[ -f Makefile ] || ../configure
make -j"$(nproc)"
./bloomlink demo --people "${BLOOMLINK_DEMO_PEOPLE:-20000}" --out ../demo-out
