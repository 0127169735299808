#!/usr/bin/env bash
# usage: check-cmake.sh BUILD_DIR CMAKE CC CMAKE_PROJECT_DIR SOURCE_ROOT
# Installs the build into a temporary destdir and builds consumer.c from a CMake project, linked
# shared and static: first through pkg_check_modules (openfault.pc, with only that .pc visible),
# then through find_package(openfault) after moving the whole installation elsewhere, which works
# only if openfaultConfig.cmake finds everything relative to its own location. Last, the package
# files that -Ddefault_library=shared and =static configure (configured only, not built) are
# tried on copies of the installation holding only that kind of library.
set -eu
build=$1 cmake=$2 cc=$3 project=$4 source_root=$5
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >/dev/null
config=$(find "$dest" -name openfaultConfig.cmake | head -n 1)
[ -n "$config" ] || { echo "openfaultConfig.cmake was not installed"; exit 1; }
[ -f "$(dirname "$config")/openfaultConfigVersion.cmake" ] || {
  echo "openfaultConfigVersion.cmake was not installed next to openfaultConfig.cmake"; exit 1; }
pcdir=$(dirname "$(find "$dest" -name openfault.pc | head -n 1)")
prefix=$(sed -n 's/^prefix=//p' "$pcdir/openfault.pc")
case "$(dirname "$config")" in
  "$dest$prefix"/*/cmake/openfault) ;;
  *) echo "openfaultConfig.cmake is not in \${libdir}/cmake/openfault: $config"; exit 1;;
esac
if grep -n -- "$prefix/" "$config"; then
  echo "openfaultConfig.cmake names the install prefix $prefix: it must be relocatable"; exit 1
fi

# Build the project in $1 with cmake arguments $2..., run both programs, and check which library
# each one loads (the shared one from the installation under $dest, the static one none).
build_and_run() {
  local out=$1; shift
  if ! "$cmake" -S "$project" -B "$out" -DCMAKE_C_COMPILER="$cc" "$@" >"$out.log" 2>&1 ||
     ! "$cmake" --build "$out" >>"$out.log" 2>&1; then
    cat "$out.log"; echo "cmake $* failed"; exit 1
  fi
  env -u LD_LIBRARY_PATH "$out/consumer-shared"
  env -u LD_LIBRARY_PATH ldd "$out/consumer-shared" | grep -q "libopenfault\.so.* => $dest/" || {
    env -u LD_LIBRARY_PATH ldd "$out/consumer-shared"
    echo "$out/consumer-shared does not load libopenfault.so from the installation"; exit 1; }
  "$out/consumer-static"
  if ldd "$out/consumer-static" | grep -q 'libopenfault\.so'; then
    echo "$out/consumer-static still needs libopenfault.so"; exit 1
  fi
}

echo "== CMake pkg_check_modules"
PKG_CONFIG_PATH=$pcdir PKG_CONFIG_LIBDIR=$pcdir PKG_CONFIG_SYSROOT_DIR=$dest \
  build_and_run "$dest/pc-build" -DOPENFAULT_VIA=pkg-config

echo "== CMake find_package, the installation moved from $prefix to /elsewhere"
mkdir -p "$dest/elsewhere"
mv "$dest$prefix" "$dest/elsewhere/openfault"
build_and_run "$dest/fp-build" -DOPENFAULT_VIA=find_package \
  -DCMAKE_PREFIX_PATH="$dest/elsewhere/openfault"
grep -q "openfault_DIR:PATH=$dest/elsewhere/openfault/" "$dest/fp-build/CMakeCache.txt" || {
  grep openfault_DIR "$dest/fp-build/CMakeCache.txt"; echo "find_package used another openfault"; exit 1; }

for only in shared static; do
  echo "== CMake find_package, an installation with only the $only library"
  conf=$dest/conf-$only
  if ! out=$(meson setup "$conf" "$source_root" -Ddefault_library=$only -Dtests=false \
             -Dexamples=false -Dtools=false -Dbenchmarks=false -Ddocs=disabled 2>&1); then
    printf '%s\n' "$out"; echo "meson setup -Ddefault_library=$only failed"; exit 1
  fi
  inst=$dest/only-$only
  cp -a "$dest/elsewhere/openfault" "$inst"
  cmakedir=$(dirname "$(find "$inst" -name openfaultConfig.cmake)")
  cp "$conf/openfaultConfig.cmake" "$conf/openfaultConfigVersion.cmake" "$cmakedir/"
  if [ "$only" = shared ]; then
    find "$inst" -name 'libopenfault.a' -delete
  else
    find "$inst" -name 'libopenfault.so*' -delete
  fi
  out=$dest/one-$only-build
  if ! "$cmake" -S "$project" -B "$out" -DCMAKE_C_COMPILER="$cc" -DOPENFAULT_VIA=find_package-one \
       -DOPENFAULT_ONLY=$only -DCMAKE_PREFIX_PATH="$inst" >"$out.log" 2>&1 ||
     ! "$cmake" --build "$out" >>"$out.log" 2>&1; then
    cat "$out.log"; echo "find_package on a $only-only installation failed"; exit 1
  fi
  env -u LD_LIBRARY_PATH "$out/consumer-$only"
  if [ "$only" = shared ]; then
    env -u LD_LIBRARY_PATH ldd "$out/consumer-shared" | grep -q "libopenfault\.so.* => $inst/" || {
      echo "consumer-shared does not load $inst's libopenfault.so"; exit 1; }
  elif ldd "$out/consumer-static" | grep -q 'libopenfault\.so'; then
    echo "openfault::openfault of a static-only installation still needs libopenfault.so"; exit 1
  fi
done
echo "consumer-cmake: pkg_check_modules and find_package, shared and static, single-kind installations OK"
