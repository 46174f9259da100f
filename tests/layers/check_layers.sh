#!/usr/bin/env bash
# The core's layers, checked in the source: each layer includes only the layers below it, and
# only src/crypto includes libsodium, only src/redis hiredis and OpenSSL, only src/store LMDB; bindings include only
# the C API. (The build enforces the first rule too: a layer's include root has only those.)
# Usage: check_layers.sh <repository root>
set -euo pipefail
root=$1
fail=0
allowed() {  # layer -> the folders of core/src it may include
  case $1 in
    crypto) echo "crypto" ;;
    redis) echo "redis" ;;
    store) echo "store redis crypto" ;;
    engine) echo "engine store crypto" ;;
  esac
}
for layer in crypto redis store engine; do
  ok=" $(allowed $layer) "
  while IFS=: read -r file _ include; do
    dir=$(sed -E 's|#include "([a-z_]+)/.*|\1|' <<<"$include")
    [ "$dir" = "verikit" ] && continue
    if [[ "$ok" != *" $dir "* ]]; then
      echo "layer $layer may not include $dir/: $file: $include"
      fail=1
    fi
  done < <(grep -Hn '#include "[a-z_]*/' "$root/core/src/$layer"/*.cpp "$root/core/src/$layer"/*.hpp || true)
done
check_third_party() {  # header pattern, the only layer that may include it
  local hits
  hits=$(grep -rln "#include <$1" "$root/core" "$root/capi" "$root/bindings" --include=*.cpp --include=*.hpp --include=*.h |
         grep -v "/core/src/$2/" || true)
  if [ -n "$hits" ]; then
    echo "only core/src/$2 may include <$1...>: $hits"
    fail=1
  fi
}
check_third_party sodium crypto
check_third_party hiredis redis
check_third_party openssl redis
check_third_party lmdb store
[ $fail -eq 0 ] && echo "layers: every include follows the arrows"
exit $fail
