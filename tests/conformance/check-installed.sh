#!/usr/bin/env bash
# usage: check-installed.sh BUILD_DIR CC CONFORMANCE_DIR EXAMPLES_DIR
# Builds the example file provider's conformance run the way a provider outside this tree would:
# from an installed copy only. Installs the build into a temporary destdir, then compiles
# conformance.c, run-file.c and file-provider.c with pkg-config flags that see only that
# destdir's openfault.pc (no -I of src/, no internal archive), links the installed shared
# library, checks that no internal symbol was needed, and runs the suite.
set -eu
build=$1 cc=$2 conf=$3 examples=$4
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

# cmocka comes from the system, asked before pkg-config is pointed at the destdir alone.
cmocka=$(pkg-config --cflags --libs cmocka 2>/dev/null || echo -lcmocka)

meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >/dev/null
pcdir=$(dirname "$(find "$dest" -name openfault.pc | head -n 1)")
[ -n "$pcdir" ] || { echo "openfault.pc was not installed"; exit 1; }
export PKG_CONFIG_PATH=$pcdir PKG_CONFIG_LIBDIR=$pcdir PKG_CONFIG_SYSROOT_DIR=$dest
cflags=$(pkg-config --cflags openfault)
libs=$(pkg-config --libs openfault)
libdir=$(dirname "$pcdir")

# Only the installed headers and the suite's own folder and the example's.
src=(
  "$conf/conformance.c"
  "$conf/run-file.c"
  "$examples/file-provider.c"
)
"$cc" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $cflags -I"$conf" -I"$examples" \
  "${src[@]}" -o "$dest/conformance-file" $libs $cmocka -pthread
if ! ldd "$dest/conformance-file" | grep -q 'libopenfault\.so'; then
  echo "the conformance run is not linked to the installed libopenfault.so"; exit 1
fi
if nm -u "$dest/conformance-file" | grep -q ' ofi_'; then
  echo "the conformance run needs internal symbols:"; nm -u "$dest/conformance-file" | grep ' ofi_'
  exit 1
fi
echo "built against $cflags $libs"
export CMOCKA_MESSAGE_OUTPUT=TAP
LD_LIBRARY_PATH="$libdir" "$dest/conformance-file" file
