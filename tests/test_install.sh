#!/usr/bin/env bash
# test_install.sh - `cmake --install` gives a usable library: a consumer
# builds with pkg-config and with find_package(upnpcp), and runs.
# Usage: test_install.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
libdir=$(dirname "$(find "$tmp/prefix" -name upnpcp.pc)")/..
export PKG_CONFIG_PATH=$libdir/pkgconfig LD_LIBRARY_PATH=$libdir
test -f "$tmp/prefix/include/upnpcp.h"
test -f "$tmp/prefix/include/upnpcp_version.h"
cc -std=c11 -Wall -Werror -o "$tmp/c1" "$src/tests/install/consumer.c" \
  $(pkg-config --cflags --libs upnpcp)
"$tmp/c1"
echo "ok pkg-config consumer"
cmake -S "$src/tests/install" -B "$tmp/cbuild" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cbuild" >/dev/null
"$tmp/cbuild/consumer"
echo "ok find_package consumer"
echo "2 passed, 0 failed"
