"""Memory running out inside a Python process: allocations fail on verikit's own threads (the Redis
client's I/O thread, the reaper, the event thread) and, in the ",main" patterns, on the thread
that calls (the binding's code under the GIL), by many patterns (every allocation, every n-th,
runs of them). Each run is a process of its own (tests/python/oom_child.py) with
tests/support/fail_new_preload.cpp, built here, in LD_PRELOAD. In every pattern: the process
neither crashes nor hangs, every asyncio call and every synchronous call settles (an answer or a
verikit error or MemoryError, nothing else), close() with calls in flight answers them all, no
wrong code is ever verified, and failures did happen. The control run (nothing fails) verifies
every right code, so the checks can tell."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator, Tuple

import pytest

from conftest import RedisServer

HERE = Path(__file__).resolve().parent
SHIM_SOURCE = HERE.parent / "support" / "fail_new_preload.cpp"
CHILD_LIMIT_S = 180


@pytest.fixture(scope="module")
def shim() -> Iterator[str]:
    compiler = shutil.which("c++") or shutil.which("g++")
    assert compiler, "a C++ compiler is needed to build the allocation-failure shim"
    d = tempfile.mkdtemp(prefix="verikit-oom-")
    lib = os.path.join(d, "libfail_new.so")
    subprocess.run([compiler, "-O1", "-shared", "-fPIC", "-o", lib, str(SHIM_SOURCE), "-ldl"], check=True)
    yield lib
    shutil.rmtree(d, ignore_errors=True)


def run_child(shim: str, url: str, pattern: str) -> Tuple[dict, int, int]:
    env = dict(os.environ, LD_PRELOAD=shim, VERIKIT_FAIL_NEW=pattern)
    p = subprocess.run([sys.executable, str(HERE / "oom_child.py"), url], env=env, capture_output=True, text=True,
                       timeout=CHILD_LIMIT_S)
    assert p.returncode == 0, f"{pattern}: exit {p.returncode}\n{p.stdout}\n{p.stderr[-3000:]}"
    m = re.search(r"verikit-fail-new: failed (\d+) of (\d+)", p.stderr)
    assert m, p.stderr[-2000:]
    lines = [line for line in p.stdout.splitlines() if line.startswith("{")]
    assert lines, p.stdout
    return json.loads(lines[-1]), int(m.group(1)), int(m.group(2))


def check(report: dict, failed: int, pattern: str) -> None:
    assert report["settled"] == report["calls"] == 150 + report["opened"], report
    assert report["close_settled"] == 50, report
    assert report["open_settled"] == 4, report
    assert report["sync_threads_stuck"] == 0, report
    assert report["wrong_verified"] == 0, report
    assert not [k for k in report["errors"] if k.startswith("UNEXPECTED")], report
    if pattern == "0,0":  # the control: nothing failed, so every right code was verified
        assert failed == 0 and report["opened"] == 4 and report["right_verified"] == 154 and not report["errors"], report
    else:
        assert failed > 0, f"{pattern}: no allocation failed: the run proves nothing"


# On verikit's threads only (period, burst), then on the calling thread too.
LIBRARY_THREADS = ["0,0", "1,1", "2,1", "3,2", "5,1", "7,1", "13,4", "29,3"]
CALLING_THREAD_TOO = ["1,1,main", "2,1,main", "3,1,main", "4,1,main", "5,2,main", "9,1,main", "16,1,main",
                      "23,5,main"]


@pytest.mark.parametrize("pattern", LIBRARY_THREADS + CALLING_THREAD_TOO)
def test_redis(shim: str, redis_server: RedisServer, pattern: str) -> None:
    # (a short command timeout: requests whose connection memory failures took down wait less)
    report, failed, _ = run_child(shim, redis_server.url + "?command_timeout_ms=500", pattern)
    check(report, failed, pattern)


@pytest.mark.parametrize("pattern", ["0,0", "1,1,main", "2,1,main", "3,1,main", "7,2,main", "16,1,main"])
def test_embedded_stores(shim: str, pattern: str, tmp_path: Path) -> None:
    for url in ("memory://", f"file://{tmp_path}"):
        report, failed, _ = run_child(shim, url, pattern)
        check(report, failed, pattern)
