#!/usr/bin/env bash
# The web examples end to end: examples/python/webapp.py and examples/node/server.js, each driven
# in headless Chromium (Debian's package) through puppeteer-core with two browser profiles
# (tests/e2e/webapps.test.js). Installs what it needs: chromium (apt) if missing, puppeteer-core
# pinned in tests/e2e/package-lock.json (`npm ci`, apart from the published package; it downloads
# no browser), and the two verikit packages as scripts/test_python.sh and scripts/test_node.sh
# install them. VERIKIT_E2E_REUSE=1 (scripts/test.sh, right after those two stages) uses the
# packages they have just installed instead of installing them again.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/build/py-venv"
project="$root/build/node-project"

if ! command -v chromium >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

if [ "${VERIKIT_E2E_REUSE:-}" = 1 ] && [ -x "$venv/bin/python" ] && [ -d "$project/node_modules/verikit" ]; then
  echo "e2e: the packages installed by scripts/test_python.sh and scripts/test_node.sh"
else
  bash "$root/scripts/test_python.sh" --install-only
  bash "$root/scripts/test_node.sh" --install-only
fi

(cd "$root/tests/e2e" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)

export VERIKIT_PYTHON="$venv/bin/python"
export VERIKIT_NODE_PKG="$project/node_modules/verikit"
export VERIKIT_CHROMIUM="${VERIKIT_CHROMIUM:-$(command -v chromium)}"
cd "$root"
# The test closes its browsers and stops the examples itself; for an interrupted or failed run,
# the test runs in a process group of its own (examples, Chromium), which is ended on exit.
setsid node --test --test-concurrency=1 tests/e2e/ &
group=$!
trap 'kill -- -"$group" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM
wait "$group"
