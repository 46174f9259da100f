#!/usr/bin/env bash
# What starting one call costs the event loop's thread, in instructions (callgrind counts the
# same for the same program whatever else the machine does): bench/start_cost.py (Python,
# verikit.aio) or bench/start_cost.js (Node) starts N verifications at once and awaits them all;
# the main thread's count minus that of a run with N = 0, divided by N.
#
#   scripts/start_cost.sh python|node [N] [STORE_URL]    (N 10000; store memory://)
#
# Python: the verikit package must be importable by `${PYTHON:-python3}` (for example the venv of
# scripts/test_python.sh: PYTHON=build/py-venv/bin/python); Node: the package in the source tree
# (its addon built, e.g. by `npm install` there), or VERIKIT_NODE_PKG=<an installed verikit>.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
lang=${1:?python or node}
n=${2:-10000}
store=${3:-memory://}
case "$lang" in
  python) prog=("${PYTHON:-python3}" "$root/bench/start_cost.py") ;;
  node) prog=(node "$root/bench/start_cost.js") ;;
  *) echo "usage: $0 python|node [N] [STORE_URL]" >&2; exit 2 ;;
esac
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
main_thread() {  # instructions of the process's first thread
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out/cg.$1" \
    "${prog[@]}" "$1" "$store" >/dev/null 2>"$out/log.$1" || { cat "$out/log.$1" >&2; exit 1; }
  awk '/^summary:/ {print $2}' "$out/cg.$1-01"
}
zero=$(main_thread 0)
full=$(main_thread "$n")
echo "$lang $store: $(( (full - zero) / n )) instructions per call on the loop's thread (N=$n: $full, N=0: $zero)"
