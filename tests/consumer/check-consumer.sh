#!/usr/bin/env bash
# usage: check-consumer.sh BUILD_DIR CC consumer.c
# Installs the build into a temporary destdir, then compiles and runs consumer.c against it via
# pkg-config, linked to the shared library and then to the static archive.
set -eu
build=$1 cc=$2 src=$3
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >/dev/null
pcdir=$(dirname "$(find "$dest" -name openfault.pc | head -n 1)")
[ -n "$pcdir" ] || { echo "openfault.pc was not installed"; exit 1; }
export PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$dest
cflags=$(pkg-config --cflags openfault)
libs=$(pkg-config --libs openfault)
libdir=$(dirname "$pcdir")
echo "pkg-config: $cflags $libs"

"$cc" -std=c11 -Wall -Wextra -Werror $cflags "$src" -o "$dest/consumer-shared" $libs
LD_LIBRARY_PATH="$libdir" "$dest/consumer-shared"
if ! ldd "$dest/consumer-shared" | grep -q 'libopenfault\.so'; then
  echo "shared consumer is not linked to libopenfault.so"; exit 1
fi

static_libs=$(pkg-config --static --libs openfault | sed 's/-lopenfault\b/-l:libopenfault.a/')
"$cc" -std=c11 -Wall -Wextra -Werror $cflags "$src" -o "$dest/consumer-static" $static_libs
"$dest/consumer-static"
if ldd "$dest/consumer-static" | grep -q 'libopenfault\.so'; then
  echo "static consumer still needs libopenfault.so"; exit 1
fi
echo "consumer: shared and static OK"
