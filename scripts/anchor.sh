#!/usr/bin/env bash
# Builds the benchmark's anchor — redis-otp-manager 1.6.1, the npm package verikit replaces — and
# installs it with node-redis 5 into a folder for `scripts/bench.sh N FOLDER`:
#
#   bash scripts/anchor.sh <git-dir of github.com/prakashu51/otp-generator> FOLDER [commit]
#
# The npm registry reachable here does not serve redis-otp-manager, so it is built from its
# public repository at the 1.6.1 release (commit 9002d4a): `npm ci && npm run build && npm pack`
# in a temporary folder, then the tarball and `redis@5` are installed into FOLDER. This script
# fetches no repository: bring one onto the machine yourself (a clone, or a mirror's git
# directory) and pass its git directory. Nothing of it is copied into this repository.
set -euo pipefail
repo_git=${1:?usage: anchor.sh <git-dir of prakashu51/otp-generator> FOLDER [commit]}
out=${2:?usage: anchor.sh <git-dir> FOLDER [commit]}
commit=${3:-9002d4a}
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "$out" && cd "$out" && pwd)
case "$out" in "$root"|"$root"/*) echo "refusing to install the anchor inside the repository: $out" >&2; exit 2 ;; esac
src=$(mktemp -d /tmp/verikit-anchor-src-XXXXXX)
trap 'rm -rf "$src"' EXIT
git --git-dir="$repo_git" archive "$commit" | tar -x -C "$src"
(cd "$src" && npm ci --no-audit --no-fund --loglevel=error >/dev/null && npm run build >/dev/null &&
  npm pack --silent --pack-destination "$src" >/dev/null)
cd "$out"
[ -f package.json ] || echo '{ "name": "verikit-anchor", "private": true }' > package.json
npm install --no-audit --no-fund --loglevel=error "$src"/redis-otp-manager-*.tgz redis@5 >/dev/null
node -e 'const p = require("redis-otp-manager/package.json"); console.log(`anchor: ${p.name} ${p.version} in ${process.cwd()}`)' 2>/dev/null ||
  node --input-type=module -e 'import { createRequire } from "node:module"; const r = createRequire(process.cwd() + "/"); const p = r("./node_modules/redis-otp-manager/package.json"); console.log(`anchor: ${p.name} ${p.version} in ${process.cwd()}`)'
