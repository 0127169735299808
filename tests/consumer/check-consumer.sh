#!/usr/bin/env bash
# usage: check-consumer.sh BUILD_DIR CC consumer.c
# Installs the build into a temporary destdir, then compiles and runs consumer.c against it via
# pkg-config, linked to the shared library and then to the static archive. pkg-config sees only
# the installed openfault.pc (PKG_CONFIG_LIBDIR replaces the system directories, so hiredis.pc is
# hidden): a consumer must not need the .pc files of the library's private dependencies.
set -eu
build=$1 cc=$2 src=$3
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >/dev/null
pcdir=$(dirname "$(find "$dest" -name openfault.pc | head -n 1)")
[ -n "$pcdir" ] || { echo "openfault.pc was not installed"; exit 1; }
export PKG_CONFIG_PATH=$pcdir PKG_CONFIG_LIBDIR=$pcdir PKG_CONFIG_SYSROOT_DIR=$dest
if ! both=$(pkg-config --cflags --libs openfault 2>&1); then
  echo "pkg-config --cflags --libs openfault fails with only openfault.pc visible: $both"; exit 1
fi
cflags=$(pkg-config --cflags openfault)
libs=$(pkg-config --libs openfault)
static_libs=$(pkg-config --static --libs openfault)
libdir=$(dirname "$pcdir")
echo "pkg-config: $cflags $libs (static: $static_libs)"
case " $cflags " in
  *hiredis*|*_FILE_OFFSET_BITS*)
    echo "cflags carry hiredis' flags, though no public header includes hiredis: $cflags"; exit 1;;
esac
if grep -q '^Requires' "$pcdir/openfault.pc"; then
  echo "openfault.pc has a Requires line (private dependencies belong in Libs.private):"
  grep '^Requires' "$pcdir/openfault.pc"; exit 1
fi
# A static link needs hiredis exactly when the archive refers to it.
if nm -u "$libdir/libopenfault.a" 2>/dev/null | grep -q ' redisConnect'; then
  case " $static_libs " in
    *" -lhiredis "*) ;;
    *) echo "libopenfault.a uses hiredis but 'pkg-config --static --libs' lacks -lhiredis"; exit 1;;
  esac
fi

"$cc" -std=c11 -Wall -Wextra -Werror $cflags "$src" -o "$dest/consumer-shared" $libs
LD_LIBRARY_PATH="$libdir" "$dest/consumer-shared"
if ! ldd "$dest/consumer-shared" | grep -q 'libopenfault\.so'; then
  echo "shared consumer is not linked to libopenfault.so"; exit 1
fi

static_libs=$(echo "$static_libs" | sed 's/-lopenfault\b/-l:libopenfault.a/')
"$cc" -std=c11 -Wall -Wextra -Werror $cflags "$src" -o "$dest/consumer-static" $static_libs
"$dest/consumer-static"
if ldd "$dest/consumer-static" | grep -q 'libopenfault\.so'; then
  echo "static consumer still needs libopenfault.so"; exit 1
fi
echo "consumer: shared and static OK"
