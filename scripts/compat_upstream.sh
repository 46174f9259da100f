#!/usr/bin/env bash
# Runs redis-otp-manager's own published test files (release 1.6.1) against verikit/compat, with
# only their import lines changed, and reports how many pass.
#
#   bash scripts/compat_upstream.sh <git-dir of github.com/prakashu51/otp-generator> [commit]
#
# This script fetches no repository: bring the package's repository onto the machine yourself
# (a clone, or a mirror's git directory) and pass its git directory. The test files are
# extracted from the commit (default 9002d4a, the 1.6.1 release) into a temporary folder outside
# this repository (never into it); their runner and peer packages (tsx, redis, @nestjs/common,
# @nestjs/core, reflect-metadata, rxjs) are installed there from the npm registry; verikit is
# `npm pack`ed from this repository and installed there (or, with VERIKIT_NODE_PKG set to an
# installed verikit package folder, a copy of that one instead of building again). A
# redis-server of the script's own on a free loopback port serves the Redis integration tests
# (RUN_REDIS_TESTS=1, REDIS_URL). Output: the runner's TAP, then a summary line
# "upstream tests: N pass, M fail of T" and the failing tests' names. The folder is left for
# inspection; its path is printed.
set -euo pipefail
repo_git=${1:?usage: compat_upstream.sh <git-dir of prakashu51/otp-generator> [commit]}
commit=${2:-9002d4a}
root=$(cd "$(dirname "$0")/.." && pwd)
work=${COMPAT_UPSTREAM_DIR:-/tmp/rom-tests}
case "$work" in "$root"|"$root"/*) echo "refusing to work inside the repository: $work" >&2; exit 2 ;; esac

rm -rf "$work"
mkdir -p "$work"
git --git-dir="$repo_git" archive "$commit" test | tar -x -C "$work"
ls "$work"/test/*.test.ts >/dev/null

# The one change: the package's own sources become verikit/compat.
for f in "$work"/test/*.test.ts; do
  sed -i -E \
    -e 's#from "\.\./src/integrations/nest/index\.js"#from "verikit/compat/nest"#' \
    -e 's#from "\.\./src/index\.js"#from "verikit/compat"#' "$f"
  if grep -n '\.\./src/' "$f"; then echo "an import of the package's sources is left in $f" >&2; exit 2; fi
done

cd "$work"
cat > package.json <<'JSON'
{ "name": "rom-tests", "private": true, "type": "module" }
JSON
npm install --no-audit --no-fund --loglevel=error tsx@4 redis@5 @nestjs/common@11 @nestjs/core@11 \
  reflect-metadata@0.2 rxjs@7 >/dev/null
if [ -n "${VERIKIT_NODE_PKG:-}" ]; then
  cp -a "$VERIKIT_NODE_PKG" node_modules/verikit  # a copy: modules resolve from this folder
else
  tarball=$(cd "$root" && npm pack --silent --pack-destination "$work" | tail -n 1)
  npm install --no-audit --no-fund --loglevel=error --no-save "./$tarball" >/dev/null
fi

# A redis-server of our own on a free loopback port (never 6379).
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
mkdir -p redis
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work/redis" \
  --logfile "$work/redis/redis.log" --daemonize no &
redis_pid=$!
trap 'kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do
  grep -q 'Ready to accept' "$work/redis/redis.log" 2>/dev/null && break
  sleep 0.05
done
grep -q 'Ready to accept' "$work/redis/redis.log"

set +e
RUN_REDIS_TESTS=1 REDIS_URL="redis://127.0.0.1:$port" \
  npx tsx --test --test-reporter=tap --test-concurrency=1 test/*.test.ts > results.tap 2>&1
set -e
cat results.tap
# The runner's own totals (the last "# pass", "# fail", "# skipped" lines of its TAP).
total() { grep -E "^# $1 [0-9]+$" results.tap | tail -n 1 | awk '{print $3}'; }
echo "upstream tests ($commit): $(total pass) pass, $(total fail) fail, $(total skipped) skipped of $(total tests)" \
  "(folder: $work)"
grep -E '^ *not ok [0-9]+ - ' results.tap | grep -v '\.test\.ts$' | sed -E 's/^ *not ok [0-9]+ - /  FAIL /' || true
