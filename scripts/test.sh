#!/usr/bin/env bash
# Every test: the release build's suite, valgrind on the C API, then the suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer, and the concurrency tests under ThreadSanitizer.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
bash "$root/scripts/setup.sh"
export PATH="$PATH:/usr/local/go/bin:$HOME/.cargo/bin"

# Each stage's heading says how long the run has taken so far (CI: keep the whole well under 30 min).
step() { printf '\n==== %s ==== (%d s so far)\n' "$*" "$SECONDS"; }

step "build and test (RelWithDebInfo)"
bash "$root/scripts/build.sh" "$root/build"
ctest --test-dir "$root/build" -j "$jobs" --output-on-failure

step "valgrind: C API tests and the C example"
vg=(valgrind --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect -q)
"${vg[@]}" "$root/build/tests/capi_tests" --gtest_brief=1
"${vg[@]}" "$root/build/examples/c/quickstart" "$root/build/capi/libverikit.so.0" >/dev/null
# The fork tests, children included (a child's memory error makes its exit status 9 and fails
# the test). Without the leak check: a child forgets the objects its parent's threads own
# (their stacks, the parent's links) on purpose, and the parent's paths are leak-checked above.
valgrind --error-exitcode=9 --leak-check=no -q "$root/build/tests/capi_fork_tests" --gtest_brief=1

step "Python package: pip install . into a fresh venv, then pytest"
bash "$root/scripts/test_python.sh"

step "Node.js package: npm pack, npm install the tarball into a project, then node --test"
bash "$root/scripts/test_node.sh"

step "End to end: the Python and Node web examples in headless Chromium, two browser profiles"
VERIKIT_E2E_REUSE=1 bash "$root/scripts/test_e2e.sh"  # the two packages just installed above

step "Distribution: scripts/dist.sh, then the wheel and the npm tarball installed without compiler, CMake or -dev packages"
bash "$root/scripts/test_dist.sh"

step "AddressSanitizer + UndefinedBehaviorSanitizer"
bash "$root/scripts/build.sh" "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DVERIKIT_SANITIZE=address,undefined
# Not the fork tests (they run in the release build and under valgrind above): GCC 12's ASan
# allocator takes no lock around fork(), so a child forked while another thread of the parent
# held one of its size-class locks waits on it forever. Shown without verikit: 2 threads
# malloc/free in a loop while the main thread forks 400 children that malloc: 2 hung under
# -fsanitize=address (gdb: FutexWait in SizeClassAllocator64::GetFromAllocator), 0 of 500
# without it. (ASan locks its allocator around fork since LLVM 18, llvm/llvm-project#75290;
# Debian 12's GCC 12 carries an older runtime.) The file store's multi-process tests fork from
# a process whose engine has threads too: once a child of theirs did not exit within 30 s
# here (2026-11-27, fresh-clone CI; not examined, most likely this hang). They run in the
# release build above.
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir "$root/build-asan" -j "$jobs" --output-on-failure -E 'Fork\.|FileStoreProcesses\.'

step "ThreadSanitizer: the concurrency tests and the Redis client"
tsan=(-R 'ManyThreads|OneEngineFromManyThreads|Asynchronous|RedisClient|RedisStore|Lifecycle|EventBus|Events|WriterLock'
      -E 'HostileLengths|Fork\.')  # HostileLengths: flaky under TSan's load (it runs in the two stages above);
                                   # Fork: TSan cannot start threads after a multi-threaded fork (a TSan limit)
# Only the test programs those tests are in, as the release build lists them (the rest of the tree
# under TSan was compile time for nothing); a selected test that is not a program's fails the build.
mapfile -t tsan_programs < <(ctest --test-dir "$root/build" --show-only=json-v1 "${tsan[@]}" | python3 -c '
import json, os, sys
print("\n".join(sorted({os.path.basename(t["command"][0]) for t in json.load(sys.stdin)["tests"]})))')
bash "$root/scripts/build.sh" "$root/build-tsan" -DCMAKE_BUILD_TYPE=Debug -DVERIKIT_SANITIZE=thread -- "${tsan_programs[@]}"
selected() { ctest --test-dir "$1" -N "${tsan[@]}" | awk '/Total Tests:/ {print $3}'; }
[ "$(selected "$root/build-tsan")" = "$(selected "$root/build")" ] ||
  { echo "test: the TSan build lists $(selected "$root/build-tsan") of the $(selected "$root/build") tests selected" >&2; exit 1; }
TSAN_OPTIONS=halt_on_error=1 ctest --test-dir "$root/build-tsan" -j "$jobs" --output-on-failure "${tsan[@]}"

step "all test stages passed"
