#!/usr/bin/env bash
# Runs a command with a redis-server of its own on a free loopback port (no persistence):
#   with_redis.sh CMD ARGS...   where any argument "@REDIS_URL@" becomes redis://127.0.0.1:PORT
# The URL is also exported as VERIKIT_TEST_REDIS_URL. The server is stopped afterwards.
set -euo pipefail
dir=$(mktemp -d /tmp/verikit-redis-XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
for attempt in 1 2 3 4 5 6 7 8; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
    --logfile "$dir/redis.log" --daemonize no >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    grep -q "Ready to accept connections" "$dir/redis.log" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$pid" 2>/dev/null && grep -q "Ready to accept" "$dir/redis.log"; then break; fi
  pid=""
done
[ -n "$pid" ] || { echo "with_redis: could not start redis-server" >&2; exit 1; }
export VERIKIT_TEST_REDIS_URL="redis://127.0.0.1:$port"
args=()
for a in "$@"; do args+=("${a//@REDIS_URL@/$VERIKIT_TEST_REDIS_URL}"); done
"${args[@]}"
