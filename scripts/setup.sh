#!/usr/bin/env bash
# Installs what verikit needs to build and test on Debian 12, skipping what is already there.
# Run as root (or with sudo available). Safe to run again.
set -euo pipefail

packages=(g++ cmake ninja-build pkg-config libsodium-dev libhiredis-dev liblmdb-dev libssl-dev openssl redis-server redis-tools
          libgtest-dev valgrind python3-venv python3-dev lua-check
          chromium)  # scripts/test_e2e.sh: the web examples in headless Chromium

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Go and Rust for the FFI examples: the machines have them (/usr/local/go, rustup); fall back
# to Debian's packages elsewhere.
export PATH="$PATH:/usr/local/go/bin:$HOME/.cargo/bin"
command -v go >/dev/null || missing+=(golang-go)
command -v cargo >/dev/null || missing+=(cargo)
command -v npm >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
