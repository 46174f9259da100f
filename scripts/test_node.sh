#!/usr/bin/env bash
# The Node.js package tested as users install it: `npm pack`, then `npm install <tarball>` into
# a temporary project (the addon builds there with cmake-js against Node-API headers from npm;
# nothing else is downloaded), then the node:test suite against that installed copy.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work="$root/build/node-project"
rm -rf "$work"
mkdir -p "$work"
cd "$root"
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --loglevel=error "./$tarball" typescript@5 @types/node@20 >/dev/null
# verikit/compat's tests: node-redis (RedisAdapter) and NestJS (verikit/compat/nest)
npm install --no-audit --no-fund --loglevel=error redis@5 @nestjs/common@11 reflect-metadata@0.2 rxjs@7 >/dev/null
export VERIKIT_NODE_PROJECT="$work"
export VERIKIT_NODE_PKG="$work/node_modules/verikit"
[ "${1:-}" = "--install-only" ] && exit 0  # scripts/test_e2e.sh: the package, not the tests
cd "$root"
node --test --test-concurrency=1 tests/node/
