#!/usr/bin/env bash
# ABI check: libverikit exports only verikit_* symbols, exactly those in exported_symbols.txt.
# A symbol missing from the library is an ABI break; a new one must be added to the list.
set -euo pipefail
lib=$1
list=$2
actual=$(nm -D --defined-only "$lib" | awk '{print $3}' | sort)
foreign=$(grep -v '^verikit_' <<<"$actual" || true)
if [ -n "$foreign" ]; then
  echo "FAIL: symbols outside the verikit_ prefix are exported:"; echo "$foreign"; exit 1
fi
expected=$(grep -v '^#' "$list" | sed '/^$/d' | sort)
removed=$(comm -13 <(echo "$actual") <(echo "$expected"))
added=$(comm -23 <(echo "$actual") <(echo "$expected"))
status=0
if [ -n "$removed" ]; then echo "FAIL: ABI break, symbols removed:"; echo "$removed"; status=1; fi
if [ -n "$added" ]; then echo "FAIL: new symbols, add them to $list:"; echo "$added"; status=1; fi
soname=$(readelf -d "$lib" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
case "$soname" in
  libverikit.so.[0-9]*) ;;
  *) echo "FAIL: SONAME is '$soname'"; status=1 ;;
esac
[ $status -eq 0 ] && echo "ok: $(wc -l <<<"$actual") verikit_ symbols, SONAME $soname"
exit $status
