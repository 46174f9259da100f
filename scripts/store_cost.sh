#!/usr/bin/env bash
# Instructions one operation costs the store, counted by callgrind (the same for the same
# program whatever else the machine does, unlike times on a shared machine):
#
#   bash scripts/store_cost.sh redis [N]    redis-server's instructions per OTP issue, right-code
#                                           verify and wrong-code verify (each with the abuse
#                                           controls off and on)
#   bash scripts/store_cost.sh memory [N]   this process's instructions per embedded verify
#   bash scripts/store_cost.sh events [N]   what a lifecycle event costs on the embedded store: the
#                                           operation's thread per OTP issue and per verify, with an
#                                           event handler and without, and the event thread per event
#
# Each figure is (a run with N operations of that kind - the same run without them) / N, so
# start-up, the engine's creation and the issues before the verifies cancel out. Needs a build
# (scripts/build.sh build) and valgrind.
#
# REDIS_SERVER=<path>: another redis-server (Debian's has no symbols; one built from Redis's
# source shows where its instructions go). STORE_COST_KEEP=<folder>: keep the callgrind files
# there, named by run, for callgrind_annotate.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
store=${1:?usage: store_cost.sh redis|memory [N]}
n=${2:-5000}
prog=${STORE_COST_PROG:-"$root/build/bench/store_cost"}  # another build of it: a before/after comparison
[ -x "$prog" ] || { echo "store_cost: build first (bash scripts/build.sh build)" >&2; exit 2; }
out=$(mktemp -d /tmp/verikit-store-cost-XXXXXX)
trap 'rm -rf "$out"' EXIT
total() { grep -m1 -E '^(summary|totals):' "$1" | awk '{print $2}'; }

# $1: ops for the store_cost run, $2: mode, $3: abuse or "" -> total instructions of the store
redis_run() {
  local port dir pid
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  dir=$(mktemp -d "$out/redis-XXXXXX")
  valgrind --tool=callgrind --callgrind-out-file="$dir/cg" "${REDIS_SERVER:-redis-server}" --port "$port" --bind 127.0.0.1 \
    --save "" --appendonly no --dir "$dir" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 200); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  "$prog" "redis://127.0.0.1:$port" "$1" "$2" $3 >&2
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  wait "$pid" || true
  [ -n "${STORE_COST_KEEP:-}" ] && mkdir -p "$STORE_COST_KEEP" && cp "$dir/cg" "$STORE_COST_KEEP/redis-$1-$2${3:+-$3}.out"
  total "$dir/cg"
}
memory_run() {
  local f="$out/mem-$1-$2"
  valgrind --tool=callgrind --callgrind-out-file="$f" "$prog" memory:// "$1" "$2" >/dev/null 2>&1
  [ -n "${STORE_COST_KEEP:-}" ] && mkdir -p "$STORE_COST_KEEP" && cp "$f" "$STORE_COST_KEEP/"
  total "$f"
}

case "$store" in
  redis)
    for abuse in "" abuse; do
      label=$([ -n "$abuse" ] && echo "abuse controls on" || echo "abuse controls off")
      zero=$(redis_run 0 i "$abuse"); issued=$(redis_run "$n" i "$abuse")
      echo "redis-server, OTP issue, one at a time ($label): $(( (issued - zero) / n )) instructions per operation"
      for mode in v w; do
        with=$(redis_run "$n" "$mode" "$abuse")
        what=$([ "$mode" = v ] && echo "verify, right code" || echo "verify, wrong code")
        echo "redis-server, OTP $what, 64 in flight ($label): $(( (with - issued) / n )) instructions per operation"
      done
    done ;;
  memory)
    issued=$(memory_run "$n" i); with=$(memory_run "$n" v)
    echo "embedded store, OTP verify (right code, the whole call in this process): $(( (with - issued) / n )) instructions per operation" ;;
  events)
    # Per thread (--separate-threads): file "<out>-01" is the program's main thread, which makes
    # every call; the others are the engine's (the event thread, with a handler).
    thread_total() { total "$1-01"; }
    others_total() { local f t=0; for f in "$1"-0[2-9] "$1"-[1-9][0-9]; do [ -e "$f" ] && t=$((t + $(total "$f"))); done; echo "$t"; }
    for ev in "" events; do
      for mode in i v; do
        f="$out/ev-$mode-${ev:-none}"
        # --fair-sched: the threads take turns as on a real machine, so the event thread keeps up
        # and no event is dropped (store_cost fails if one is: the figures would be too low).
        valgrind --tool=callgrind --fair-sched=yes --separate-threads=yes --callgrind-out-file="$f" "$prog" memory:// \
          "$n" "$mode" $ev >/dev/null 2>&1
      done
    done
    for ev in none events; do
      i=$(thread_total "$out/ev-i-$ev"); v=$(thread_total "$out/ev-v-$ev")
      echo "operation's thread, events $([ $ev = none ] && echo off || echo on): OTP issue $(( i / n )) (start-up included), verify $(( (v - i) / n )) instructions per operation"
    done
    i0=$(thread_total "$out/ev-i-none"); v0=$(thread_total "$out/ev-v-none"); i1=$(thread_total "$out/ev-i-events"); v1=$(thread_total "$out/ev-v-events")
    echo "an event costs the operation's thread: issue $(( (i1 - i0) / n )), verify $(( ((v1 - i1) - (v0 - i0)) / n )) instructions"
    e0=$(others_total "$out/ev-v-none"); e1=$(others_total "$out/ev-v-events")
    echo "the engine's other threads (the event thread): $(( (e1 - e0) / (2 * n) )) instructions per event (handler included)" ;;
  *) echo "store_cost.sh: redis, memory or events" >&2; exit 2 ;;
esac
