#!/usr/bin/env bash
# The main job: builds verikit and runs the demo, the full OTP, token, magic-link and second-factor flows on
# the embedded store (through the C API, loaded at run time).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh" "$root/build" >/dev/null
exec "$root/build/examples/c/quickstart" "$root/build/capi/libverikit.so.0" "$@"
