#!/usr/bin/env bash
# Builds and runs a foreign-language quick start against libverikit (loaded with dlopen):
#   run_example.sh go|rust LIBRARY BUILD_DIR [STORE_URL] [--valgrind]
set -euo pipefail
lang=$1 lib=$2 build=$3
shift 3
store=memory://
valgrind=()
for a in "$@"; do
  case "$a" in
    --valgrind) valgrind=(valgrind --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite -q
                          --suppressions="$(dirname "$0")/go-runtime.supp") ;;
    *) store=$a ;;
  esac
done
root=$(cd "$(dirname "$0")/../.." && pwd)
export PATH="$PATH:/usr/local/go/bin:$HOME/.cargo/bin"
case "$lang" in
  go)
    export CGO_CFLAGS="-I$root/capi/include -I$build/capi/include"
    export GOFLAGS=-buildvcs=false
    (cd "$root/examples/go" && go build -o "$build/examples/go-quickstart" .)
    exec "${valgrind[@]}" "$build/examples/go-quickstart" "$lib" "$store" ;;
  rust)
    export CARGO_TARGET_DIR="$build/examples/rust"
    cargo build -q --release --offline --manifest-path "$root/examples/rust/Cargo.toml"
    exec "${valgrind[@]}" "$build/examples/rust/release/verikit-quickstart" "$lib" "$store" ;;
  *) echo "unknown language $lang" >&2; exit 2 ;;
esac
