#!/usr/bin/env bash
# Benchmarks (programs, not tests): the C API against Redis next to the redis-benchmark ceiling,
# the embedded store, the Python and Node bindings next to redis-py and node-redis; writes the
# table to bench/RESULTS.md with the machine and the date.
#
#   bash scripts/bench.sh [operations] [anchor-folder]
#
# With an anchor folder (made by scripts/anchor.sh: redis-otp-manager 1.6.1 and node-redis 5),
# the anchor's rows come next to verikit's Node binding, same Redis, same run (bench/anchor_bench.js).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-100000}
anchor=${2:-}
if [ -n "$anchor" ] && [ ! -d "$anchor/node_modules/redis-otp-manager" ]; then
  echo "bench: $anchor has no redis-otp-manager: make it with scripts/anchor.sh <git-dir> $anchor" >&2
  exit 2
fi
bash "$root/scripts/setup.sh"
export PATH="$PATH:/usr/local/go/bin:$HOME/.cargo/bin"
bash "$root/scripts/build.sh" "$root/build" >/dev/null

# The bindings as users install them, plus the baselines users would otherwise write.
venv="$root/build/bench-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q "$root" "redis>=5"
nodeproj="$root/build/bench-node"
mkdir -p "$nodeproj"
rm -f "$nodeproj"/verikit-*.tgz  # (an older version's tarball would be installed with this one's)
(cd "$root" && npm pack --silent --pack-destination "$nodeproj" >/dev/null)
(cd "$nodeproj" && { [ -f package.json ] || npm init -y >/dev/null; } &&
  npm install --no-audit --no-fund --loglevel=error ./verikit-*.tgz redis@4 >/dev/null)

out=$(mktemp)
{
  echo "# verikit benchmark results"
  echo
  echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'). Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/Mem:/{print $2}') GiB."
  echo "Command: \`bash scripts/bench.sh $n\`. Each program starts its own redis-server on loopback (no persistence)."
  echo "Timings on a shared 2-core machine are noisy (Redis, the client and the load generator share the cores): compare the ratios, measured in the same run."
  echo
  echo '```'
  "$root/build/bench/verikit_bench" "$n"
  echo
  "$root/tests/redis/with_redis.sh" "$venv/bin/python" "$root/bench/python_bench.py" @REDIS_URL@ "$((n / 2))"
  echo
  VERIKIT_NODE_PKG="$nodeproj/node_modules/verikit" NODE_REDIS_PATH="$nodeproj/node_modules/redis" \
    "$root/tests/redis/with_redis.sh" node "$root/bench/node_bench.js" @REDIS_URL@ "$((n / 2))"
  echo
  "$root/build/bench/redis_client_bench" 2
  if [ -n "$anchor" ]; then
    echo
    VERIKIT_NODE_PKG="$nodeproj/node_modules/verikit" \
      "$root/tests/redis/with_redis.sh" node "$root/bench/anchor_bench.js" @REDIS_URL@ "$anchor" "$n"
  fi
  echo '```'
} | tee "$out"

# Each binding's OTP verify next to the C API's, from the tables above (same run): against the
# C API whose callbacks start the next operation on the store's thread, and against the C API
# driven from an application thread of its own, as the bindings are (the binding's own cost).
awk '
  /^OTP verify \(right code\)/ && !section { c[$5] = $6 }
  /^OTP verify \(event loop\)/ { e[$5] = $6 }
  /^Python binding/ { section = "Python" }
  /^Node binding/ { section = "Node" }
  /^Redis client throughput/ { section = "" }
  section && /^OTP verify \(right code\)/ { b[section, $5] = $6; names[section] = 1 }
  END {
    print ""
    print "```"
    print "Bindings, OTP verify (right code): ops/s and ratio to the C API in this run"
    printf "%-8s %5s %12s %14s %10s %16s %10s\n", "binding", "conc", "binding/s", "C callbacks/s", "ratio", "C event loop/s", "ratio"
    for (n in names) for (k = 1; k <= 64; k *= 4) if ((n, k) in b)
      printf "%-8s %5d %12d %14d %9.2fx %16d %9.2fx\n", n, k, b[n, k], c[k], b[n, k] / c[k], e[k], b[n, k] / e[k]
    print "```"
  }' "$out" > "$out.ratios"
cat "$out.ratios" | tee -a "$out"
rm -f "$out.ratios"

mv "$out" "$root/bench/RESULTS.md"
echo "written: bench/RESULTS.md"
