#!/usr/bin/env bash
# usage: check-consumer.sh BUILD_DIR CC consumer.c [SOURCE_ROOT]
# Installs the build into a temporary destdir, then compiles and runs consumer.c against it via
# pkg-config, linked to the shared library and then to the static archive, first with the
# compiler directly and then from a meson project (meson-parent/meson.build). pkg-config sees only
# the installed openfault.pc (PKG_CONFIG_LIBDIR replaces the system directories, so hiredis.pc is
# hidden): a consumer must not need the .pc files of the library's private dependencies.
# With SOURCE_ROOT (the build installs the tools), also checks that the installed tools start
# with LD_LIBRARY_PATH unset, finding the library next to them through their RUNPATH, and that
# other prefixes and layouts get the RUNPATH they need.
set -eu
build=$1 cc=$2 src=$3 source_root=${4:-}
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

# meson with the installed library: dependency('openfault') finds openfault.pc, and
# dependency('openfault', static: true) links the archive.
app=$dest/meson-app
mkdir "$app"
cp "$(dirname "$0")/meson-parent/meson.build" "$app/meson.build"
cp "$src" "$app/app.c"
if ! CC=$cc meson setup "$app/build" "$app" -Dwerror=true >"$app/log" 2>&1 ||
   ! meson compile -C "$app/build" >>"$app/log" 2>&1; then
  cat "$app/log"; echo "meson build against the installed openfault.pc failed"; exit 1
fi
grep -q "Run-time dependency openfault found: YES" "$app/log" || {
  cat "$app/log"; echo "meson did not find openfault through pkg-config"; exit 1; }
LD_LIBRARY_PATH="$libdir" "$app/build/app"
LD_LIBRARY_PATH="$libdir" ldd "$app/build/app" | grep -q 'libopenfault\.so' || {
  echo "meson app is not linked to libopenfault.so"; exit 1; }
"$app/build/app-static"
if ldd "$app/build/app-static" | grep -q 'libopenfault\.so'; then
  echo "meson app-static (static: true) still needs libopenfault.so"; exit 1
fi
echo "consumer: meson dependency('openfault') from the installation, shared and static OK"

[ -n "$source_root" ] || exit 0
prefix=$(sed -n 's/^prefix=//p' "$pcdir/openfault.pc")
rel_libdir=${libdir#"$dest$prefix/"}
for tool in ring-route oflock; do
  exe=$dest$prefix/bin/$tool
  [ -x "$exe" ] || { echo "$tool was not installed in $prefix/bin"; exit 1; }
  runpath=$(readelf -d "$exe" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]$/\1/p')
  [ "$runpath" = "\$ORIGIN/../$rel_libdir" ] || {
    echo "$tool: RUNPATH '$runpath', expected '\$ORIGIN/../$rel_libdir'"; exit 1; }
  env -u LD_LIBRARY_PATH "$exe" --help >/dev/null || {
    env -u LD_LIBRARY_PATH ldd "$exe"; echo "$tool --help fails with LD_LIBRARY_PATH unset"; exit 1; }
  loaded=$(env -u LD_LIBRARY_PATH ldd "$exe" | sed -n 's/^[[:space:]]*libopenfault\.so[^ ]* => \([^ ]*\) .*/\1/p')
  [ -n "$loaded" ] && [ "$(dirname "$(realpath "$loaded")")" = "$(realpath "$libdir")" ] || {
    env -u LD_LIBRARY_PATH ldd "$exe"; echo "$tool does not load the library installed beside it"; exit 1; }
done
echo "tools: RUNPATH $runpath, start from $prefix (staged under a destdir) with LD_LIBRARY_PATH unset"

# Other layouts (configured only, read from the setup summary): a system prefix gets no RUNPATH,
# a custom prefix with other bindir and libdir one relative to the programs.
layout() {
  local out dir
  dir=$(mktemp -d -p "$dest")
  out=$(meson setup "$dir" "$source_root" -Dtests=false -Dexamples=false -Dbenchmarks=false \
        -Ddocs=disabled "$@" 2>&1) || { printf '%s\n' "$out" >&2; echo "meson setup $* failed" >&2; exit 1; }
  sed -n 's/^ *tools RUNPATH *: //p' <<<"$out"
}
multiarch=$("$cc" -print-multiarch 2>/dev/null || true)
if [ -n "$multiarch" ]; then
  got=$(layout --prefix=/usr --libdir=lib/"$multiarch")
  [ "$got" = "(none)" ] || { echo "--prefix=/usr --libdir=lib/$multiarch: RUNPATH '$got', expected none"; exit 1; }
fi
got=$(layout --prefix=/opt/of --bindir=tools/bin --libdir=lib64)
[ "$got" = '$ORIGIN/../../lib64' ] || {
  echo "--prefix=/opt/of --bindir=tools/bin --libdir=lib64: RUNPATH '$got', expected \$ORIGIN/../../lib64"; exit 1; }
echo "tools: RUNPATH for /usr: none; for /opt/of with bindir tools/bin, libdir lib64: $got"
