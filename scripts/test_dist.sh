#!/usr/bin/env bash
# The distributable artifacts installed the way users install them, on a machine without the
# build tools: scripts/test_dist.sh [dist-dir] (without one, scripts/dist.sh builds dist/ first).
#
# As root, in a private mount namespace, /usr is overlaid and in it the files of the compilers,
# binutils, CMake, make, ninja, pkg-config, ccache and every -dev package are deleted, with
# /usr/include and /usr/lib/gcc, and so are the system's libsodium, hiredis, LMDB and OpenSSL libraries:
# the wheel and the prebuilt addon must carry their own. There, the wheel goes into a fresh venv
# (pip --no-index) and the npm tarball into fresh projects (npm --offline --omit=optional: no
# registry, no cmake-js; and a default install, which fetches the optional cmake-js from the
# registry but must not build), and the Python and Node quick starts run on the embedded store
# and on Redis. Every library the extension and the addon load must be the package's own or the
# base system's: ldd, and the process's own memory map after loading.
# Outside the namespace: `auditwheel show` (a manylinux tag), @arethetypeswrong/cli on the npm
# tarball (no problems), a C consumer built against the unpacked C binary tarball (find_package
# and pkg-config), and the C source archive holds exactly the tracked files.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/dist_lib.sh
. "$root/scripts/dist_lib.sh"
export BASE_LIBS_RE
version=$(sed -nE 's/^project\(verikit VERSION ([0-9.]+).*/\1/p' "$root/CMakeLists.txt")
fail() { echo "test_dist: FAIL: $*" >&2; exit 1; }
pass() { echo "ok - $*"; passed=$((passed + 1)); }
passed=0
# The verikit program through a package's entry point ("$@" with the Redis URL first): version,
# keygen, bench on the embedded store and doctor on Redis, each with its exit code and output.
cli_runs() {
  local redis=$1 out; shift
  out=$("$@" version) || fail "$* version: exit $?"
  [ "$out" = "verikit $version (library $version)" ] || fail "$* version: $out"
  out=$("$@" keygen --hex) || fail "$* keygen --hex: exit $?"
  [[ $out =~ ^[0-9a-f]{64}$ ]] || fail "$* keygen --hex: $out"
  out=$("$@" bench memory:// --ops 300 --concurrency 3 --json 2>/dev/null) || fail "$* bench memory://: exit $?"
  "$python" -c 'import json, sys; s = json.loads(sys.argv[1]); assert (s["operations"], s["errors"], s["wrong_outcomes"]) == (300, 0, 0), s' "$out" ||
    fail "$* bench memory://: $out"
  out=$("$@" doctor "$redis" --json) || fail "$* doctor $redis: exit $?: $out"
  "$python" -c 'import json, sys; r = json.loads(sys.argv[1]); v = {i["item"]: i["verdict"] for i in r["items"]}
assert r["fit"] and v["version"] == v["role"] == v["permissions"] == "ok", r' "$out" || fail "$* doctor $redis: $out"
}

if [ "${1:-}" = --sealed ]; then
  # ---- inside the namespace: $2 the dist folder, $3 a scratch folder, $4 a Redis URL, $5 the Python
  dist=$2 scratch=$3 redis=$4 python=$5
  for tool in cc c++ gcc g++ cpp clang clang++ ld as ar cmake make ninja pkg-config ccache patchelf; do
    ! command -v "$tool" >/dev/null || fail "$tool is reachable: $(command -v "$tool")"
  done
  for f in /usr/include/sodium.h /usr/include/hiredis/hiredis.h /usr/include/openssl/ssl.h \
           /usr/lib/x86_64-linux-gnu/libsodium.so /usr/lib/x86_64-linux-gnu/libsodium.so.23 \
           /usr/lib/x86_64-linux-gnu/libhiredis.so.0.14 /usr/lib/x86_64-linux-gnu/libssl.so.3 \
           /usr/lib/x86_64-linux-gnu/libcrypto.so.3 /usr/lib/x86_64-linux-gnu/pkgconfig/libsodium.pc \
           /usr/lib/x86_64-linux-gnu/liblmdb.so.0; do
    [ ! -e "$f" ] || fail "$f is reachable"
  done
  pass "no compiler, linker, CMake, make, ninja or pkg-config; no headers, -dev files, libsodium, hiredis, LMDB or OpenSSL"

  # Python: the wheel into a fresh venv, from the file alone.
  "$python" -m venv "$scratch/venv"
  "$scratch/venv/bin/python" -m pip install -q --no-index "$dist"/verikit-"$version"-*.whl
  for store in memory:// "$redis"; do
    "$scratch/venv/bin/python" "$root/examples/python/quickstart.py" "$store" | grep -q 'all flows behaved as documented' ||
      fail "the Python quick start on $store"
  done
  pass "wheel: pip install --no-index into a fresh venv; the Python quick start on memory:// and Redis"
  "$scratch/venv/bin/python" - <<'PY'
import os, re, subprocess, sys
def mapped():
    with open("/proc/self/maps") as f:
        return {l.split()[-1] for l in f if l.split()[-1].startswith("/") and ".so" in l}
before = mapped()
import verikit
with verikit.Engine() as engine:
    assert engine.issue_otp("login", "maps@example.com")
pkg = os.path.dirname(verikit.__file__)
base = re.compile(os.environ["BASE_LIBS_RE"])
own = lambda p: p.startswith(pkg + "/") or p.startswith(pkg + ".libs/")
loaded = mapped() - before
# the interpreter's own extension modules (datetime, typing) are not the package's doing
bad = [p for p in loaded if not own(p) and not base.match(os.path.basename(p)) and not p.startswith(sys.base_prefix + "/")]
assert not bad, f"the extension loaded libraries from outside the package and the base system: {bad}"
assert any(os.path.basename(p).startswith("libsodium") and own(p) for p in loaded), loaded
assert any(os.path.basename(p).startswith("liblmdb") and own(p) for p in loaded), loaded
ext = [os.path.join(pkg, f) for f in os.listdir(pkg) if f.startswith("_verikit") and f.endswith(".so")][0]
# the extension and the verikit program (python -m verikit): libverikit.so.0 the package's own
for binary in (ext, os.path.join(pkg, "verikit")):
    lines = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout.splitlines()
    for line in lines:
        name, _, rest = line.strip().partition(" => ")
        path = os.path.normpath(rest.split(" (")[0]) if rest.startswith("/") else rest
        assert "not found" not in line, line
        assert base.match(os.path.basename(name.split()[0])) or own(path), f"ldd {binary}: {line.strip()}"
    assert any(l.strip().startswith("libverikit.so.0 => " + pkg + "/") for l in lines), f"ldd {binary}: {lines}"
PY
  pass "wheel: ldd of the extension and the verikit program, the process's map after import: only the package and the base system"
  cli_runs "$redis" "$scratch/venv/bin/python" -m verikit
  pass "wheel: python -m verikit version, keygen, bench memory:// and doctor on Redis"

  # Node.js: the tarball into a fresh project, offline, without the optional cmake-js.
  mkdir -p "$scratch/node-offline" && cd "$scratch/node-offline"
  npm init -y >/dev/null
  npm install --offline --omit=optional --no-audit --no-fund --foreground-scripts --loglevel=error \
    "$dist/verikit-$version.tgz" >install.log 2>&1 || { cat install.log; fail "npm install --offline of the tarball"; }
  grep -q 'verikit: using the prebuilt addon' install.log || { cat install.log; fail "the install script did not take the prebuild"; }
  pkg="$PWD/node_modules/verikit"
  [ ! -e "$pkg/build" ] && [ ! -e node_modules/cmake-js ] || fail "something was built or cmake-js installed"
  for store in memory:// "$redis"; do
    VERIKIT_NODE_PKG="$pkg" node "$root/examples/node/quickstart.js" "$store" | grep -q 'all flows behaved as documented' ||
      fail "the Node quick start on $store"
  done
  node --input-type=module -e "import verikit, { Manager } from 'verikit'; const m = new Manager();
    if (!(await m.issueOtp('login', 'esm')).ok || verikit.Manager !== Manager) process.exit(1); m.close();" ||
    fail "import from 'verikit'"
  pass "npm tarball: npm install --offline --omit=optional; prebuild taken; quick start on memory:// and Redis; require and import"
  node - "$pkg" <<'JS'
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const pkg = process.argv[2];
const mapped = () => new Set(fs.readFileSync('/proc/self/maps', 'utf8').split('\n')
  .map((l) => l.trim().split(/\s+/)[5]).filter((p) => p && p.startsWith('/') && /\.(so|node)\b/.test(p)));
const before = mapped();
const verikit = require(pkg);
const m = new verikit.Manager();
m.issueOtp('login', 'maps@example.com').then((r) => {
  if (!r.ok) throw new Error('issueOtp failed');
  m.close();
  const dir = path.join(pkg, 'bindings', 'node', 'prebuilds', 'linux-x64');
  const base = new RegExp(process.env.BASE_LIBS_RE);
  const loaded = [...mapped()].filter((p) => !before.has(p));
  if (!loaded.includes(path.join(dir, 'verikit.node'))) throw new Error(`the prebuild was not loaded: ${loaded}`);
  const bad = loaded.filter((p) => !p.startsWith(dir + '/') && !base.test(path.basename(p)));
  if (bad.length) throw new Error(`the addon loaded libraries from outside the package and the base system: ${bad}`);
  // the addon and the verikit program (npx verikit): libverikit.so.0 the prebuild's own
  for (const binary of ['verikit.node', 'verikit']) {
    const lines = execFileSync('ldd', [path.join(dir, binary)], { encoding: 'utf8' }).trim().split('\n');
    for (const line of lines) {
      const [name, rest = ''] = line.trim().split(' => ');
      const file = rest.split(' (')[0];
      if (line.includes('not found') || !(base.test(path.basename(name.split(' ')[0])) || file.startsWith(dir + '/'))) {
        throw new Error(`ldd ${binary}: ${line.trim()}`);
      }
    }
    if (!lines.some((l) => l.trim().startsWith(`libverikit.so.0 => ${dir}/`))) throw new Error(`ldd ${binary}: ${lines}`);
  }
});
JS
  pass "npm tarball: ldd of the addon and the verikit program, the process's map after loading: only the package and the base system"
  cli_runs "$redis" npx --no -- verikit
  pass "npm tarball: npx --no -- verikit version, keygen, bench memory:// and doctor on Redis (the prebuild's program)"

  # A prebuild that does not match (here: a glibc newer than any) is refused with the reason,
  # and install.js then builds from source, which needs the optional cmake-js.
  manifest="$pkg/bindings/node/prebuilds/linux-x64/prebuild.json"
  cp "$manifest" "$scratch/prebuild.json"
  sed -i 's/"glibc": "[0-9.]*"/"glibc": "99.0"/' "$manifest"
  out=$(node -e "require('verikit')" 2>&1) && fail "a prebuild needing glibc 99.0 was loaded"
  grep -q 'the prebuild needs glibc 99.0 or newer' <<<"$out" || fail "no reason given: $out"
  out=$(npx --no -- verikit version 2>&1) && fail "npx verikit ran the program of a prebuild needing glibc 99.0"
  grep -q 'the prebuild needs glibc 99.0 or newer' <<<"$out" || fail "npx verikit: no reason given: $out"
  out=$(node "$pkg/bindings/node/install.js" 2>&1) && fail "install.js did not fail without cmake-js"
  grep -q 'needs glibc 99.0 or newer.*: building from source' <<<"$out" && grep -q 'cmake-js is not installed' <<<"$out" ||
    fail "install.js: $out"
  cp "$scratch/prebuild.json" "$manifest"
  addon="$pkg/bindings/node/prebuilds/linux-x64/verikit.node"
  cp "$addon" "$scratch/verikit.node" && head -c 4096 "$scratch/verikit.node" >"$addon"  # a broken prebuild
  out=$(node "$pkg/bindings/node/install.js" 2>&1) && fail "install.js took a prebuild that does not load"
  grep -q 'the prebuild does not load here.*: building from source' <<<"$out" || fail "install.js: $out"
  cp "$scratch/verikit.node" "$addon"
  pass "npm tarball: a prebuild that does not match or does not load is refused with its reason (by require and npx verikit); install.js turns to cmake-js"

  # The default install (the registry reachable): the optional cmake-js arrives, nothing is built.
  mkdir -p "$scratch/node-default" && cd "$scratch/node-default"
  npm init -y >/dev/null
  npm install --no-audit --no-fund --foreground-scripts --loglevel=error "$dist/verikit-$version.tgz" >install.log 2>&1 ||
    { cat install.log; fail "npm install of the tarball"; }
  grep -q 'verikit: using the prebuilt addon' install.log && [ -e node_modules/cmake-js ] && [ ! -e node_modules/verikit/build ] ||
    { cat install.log; fail "the default install built from source or missed the optional dependencies"; }
  VERIKIT_NODE_PKG="$PWD/node_modules/verikit" node "$root/examples/node/quickstart.js" memory:// >/dev/null
  pass "npm tarball: a default npm install takes the prebuild (cmake-js installed, not run)"
  echo "$passed passed, 0 failed"
  exit 0
fi

# ---- outside: build (or take) the artifacts, check them, then run the part above sealed off
[ "$(id -u)" -eq 0 ] || fail "needs root (a private mount namespace with /usr overlaid)"
if [ -n "${1:-}" ]; then
  dist=$(cd "$1" && pwd)
else
  bash "$root/scripts/dist.sh" "$root/dist"
  dist="$root/dist"
fi
wheel=$(ls "$dist"/verikit-"$version"-*manylinux*.whl)
tools=$(dist_tools "$root/build/dist-tools")
scratch="$root/build/test-dist"
rm -rf "$scratch" && mkdir -p "$scratch"

show=$("$tools/auditwheel" show "$wheel" 2>&1 | tr '\n' ' ' | tr -s ' ')
[[ $show =~ consistent\ with\ the\ following\ platform\ tag:\ \"(manylinux_[0-9_]+_x86_64)\" ]] || fail "auditwheel show: $show"
pass "auditwheel show: $(basename "$wheel") is ${BASH_REMATCH[1]}"

(cd "$scratch" && npx --yes @arethetypeswrong/cli@0.18 --format table-flipped "$dist/verikit-$version.tgz") >"$scratch/attw.log" 2>&1 ||
  { cat "$scratch/attw.log"; fail "@arethetypeswrong/cli found problems"; }
grep -q 'No problems found' "$scratch/attw.log" || { cat "$scratch/attw.log"; fail "@arethetypeswrong/cli"; }
pass "@arethetypeswrong/cli: no problems (node10, node16 CJS and ESM, bundler)"

bash "$root/tests/abi/install_consumer.sh" "$root" "$dist/verikit-$version-Linux-x86_64.tar.gz" "$scratch/c-consumer" >/dev/null
pass "C binary tarball: a consumer built with find_package and with pkg-config runs"
diff <(tar tzf "$dist/verikit-$version-source.tar.gz" | sed "s|^verikit-$version-source/||" | grep -v '/$' | sort) \
     <(git -C "$root" ls-files | sort) || fail "the C source archive is not the tracked files"
pass "C source archive: exactly the tracked files"

# A Redis server for the quick starts, on a free loopback port; stopped on exit.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no >"$scratch/redis.log" 2>&1 &
redis_pid=$!
trap 'kill "$redis_pid" 2>/dev/null || true' EXIT
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$port" ping >/dev/null || fail "redis-server did not start: $(cat "$scratch/redis.log")"
python=$(python3 -c 'import sys; print(sys.executable)')

# The packages whose files go: build tools, every -dev package, and the libraries the artifacts carry.
hide=$(dpkg-query -W -f='${binary:Package}\n' |
  grep -E '^(gcc|g\+\+|cpp|clang|llvm|binutils|cmake|make|ninja-build|pkgconf|pkg-config|ccache|patchelf|libsodium[0-9.]+|libhiredis[0-9.]+|liblmdb[0-9.]+|libssl[0-9.]+)([-:.]|$)|-dev(:|$)' |
  tr '\n' ' ')
unshare --mount --propagation private bash -euo pipefail -c '
  layer=$2/layer
  mkdir "$layer" && mount -t tmpfs tmpfs "$layer" && mkdir "$layer/upper" "$layer/work"
  mount -t overlay overlay -o "lowerdir=/usr,upperdir=$layer/upper,workdir=$layer/work" /usr
  # Deleting goes into the overlay only: never on a /usr that is not it.
  [ "$(findmnt -n -o FSTYPE --target /usr/bin)" = overlay ] || { echo "test_dist: /usr is not overlaid" >&2; exit 1; }
  merged=0; [ -L /lib ] && [ -L /bin ] && merged=1  # /lib -> usr/lib: those paths are in /usr too
  # shellcheck disable=SC2086
  dpkg -L $1 2>/dev/null | while read -r f; do
    case $f in /usr/*) ;; /lib/*|/lib64/*|/bin/*|/sbin/*) [ $merged = 1 ] || continue; f=/usr$f ;; *) continue ;; esac
    [ -d "$f" ] && [ ! -L "$f" ] || printf "%s\0" "$f"
  done | xargs -0 -r rm -f
  rm -rf /usr/include /usr/local/include /usr/lib/gcc
  shift 2
  exec bash "$@"' sealed "$hide" "$scratch" "$0" --sealed "$dist" "$scratch" "redis://127.0.0.1:$port" "$python" |
  sed 's/^\(ok - \)/\1[sealed] /' | tee "$scratch/sealed.log"
sealed_passed=$(sed -nE 's/^([0-9]+) passed, 0 failed$/\1/p' "$scratch/sealed.log")
[ -n "$sealed_passed" ] || fail "the sealed part did not finish"
echo "$((passed + sealed_passed)) passed, 0 failed"
