#!/usr/bin/env bash
# Installs verikit into a temporary prefix (or, given the C binary tarball instead of a build
# folder, unpacks it there), then builds a tiny consumer against the installed copy with
# find_package(verikit) and with pkg-config, and runs both.
set -euo pipefail
src=$1 build=$2 work=$3
rm -rf "$work"
mkdir -p "$work/consumer"
if [[ $build == *.tar.gz ]]; then  # the binary tarball of `--target package` (scripts/dist.sh)
  mkdir -p "$work/prefix" && tar xzf "$build" -C "$work/prefix" --strip-components=1
else
  cmake --install "$build" --prefix "$work/prefix" >/dev/null
fi
lib=$(dirname "$(find "$work/prefix" -name 'libverikit.so.0' | head -n 1)")

cat > "$work/consumer/main.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <verikit.h>
int main(void) {
  verikit_config *c; verikit_engine *e; verikit_result *r; const char *code; size_t n; int s = -1;
  if (strcmp(verikit_version(), VERIKIT_VERSION_STRING) != 0) return 1;
  if (verikit_config_new(&c) || verikit_engine_new(&e, c)) return 2;
  if (verikit_otp_issue(&r, e, "login", "x@example.com", 13, NULL)) return 3;
  verikit_result_secret(r, &code, &n);
  verikit_result *v;
  if (verikit_otp_verify(&v, e, "login", "x@example.com", 13, code, n, NULL)) return 4;
  verikit_result_status(v, &s);
  printf("consumer: verikit %s, status %s\n", verikit_version(), verikit_status_name(s));
  verikit_result_free(v); verikit_result_free(r); verikit_engine_free(e); verikit_config_free(c);
  return s == VERIKIT_STATUS_VERIFIED ? 0 : 5;
}
C
cat > "$work/consumer/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.20)
project(consumer C)
find_package(verikit 0.1 REQUIRED)
add_executable(consumer main.c)
target_link_libraries(consumer PRIVATE verikit::verikit)
CMAKE
cmake -S "$work/consumer" -B "$work/consumer/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer/build" >/dev/null
LD_LIBRARY_PATH="$lib" "$work/consumer/build/consumer"

export PKG_CONFIG_PATH="$lib/pkgconfig"
cc -std=c99 -Wall -Werror "$work/consumer/main.c" -o "$work/consumer/pc-consumer" $(pkg-config --cflags --libs verikit)
LD_LIBRARY_PATH="$lib" "$work/consumer/pc-consumer"
echo "install consumer: find_package and pkg-config both work"
