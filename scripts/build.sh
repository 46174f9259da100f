#!/usr/bin/env bash
# Configures and builds verikit into a build folder:
#   scripts/build.sh [dir] [extra cmake args...] [-- target...]
# (with targets after `--`, only those are built; without, everything)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/build}
shift || true
cmake_args=() targets=()
while [ $# -gt 0 ]; do
  if [ "$1" = -- ]; then shift; targets=("$@"); break; fi
  cmake_args+=("$1"); shift
done
cmake -S "$root" -B "$dir" -G Ninja "${cmake_args[@]}" >/dev/null
cmake --build "$dir" -j "$(nproc)" ${targets[@]+--target "${targets[@]}"}
