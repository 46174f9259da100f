"""Run by test_out_of_memory.py in a process of its own, with tests/support/fail_new_preload.cpp
in LD_PRELOAD: allocations fail on verikit's threads (and, with ",main" in VERIKIT_FAIL_NEW, on
this thread too) while it issues and verifies through verikit.aio and the synchronous Engine, then
closes the asyncio engine with calls in flight. Prints one JSON line: what settled, how, and
whether any wrong code was verified.

    python oom_child.py STORE_URL
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import sys
import threading
from typing import Any, Dict

import verikit
import verikit.aio

KEY = bytes(range(32))
arm = ctypes.CDLL(None).verikit_fail_new_arm  # the preloaded library's switch
tag = f"oom{os.getpid()}-"
VERIFIED = verikit.Status.VERIFIED
out: Dict[str, Any] = {"calls": 0, "settled": 0, "wrong_verified": 0, "right_verified": 0, "errors": {}}
lock = threading.Lock()


def count_error(e: BaseException) -> None:
    # Anything but a verikit error or a MemoryError is a finding (a TypeError from a half-made
    # answer, say); its text is kept so the test can show it.
    kind = type(e).__name__ if isinstance(e, (verikit.Error, MemoryError)) else f"UNEXPECTED {type(e).__name__}: {e}"
    with lock:
        out["errors"][kind] = out["errors"].get(kind, 0) + 1


def wrong_for(code: str) -> str:
    return "111111" if code == "000000" else "000000"


async def one(e: verikit.aio.Engine, i: int) -> None:
    """An issue, two wrong guesses at once, then the right code: each may fail, none may lie."""
    out["calls"] += 1
    who = f"{tag}a{i}"
    try:
        r = await e.issue_otp("login", who)
        if r.status != verikit.Status.ISSUED:
            return
        wrongs = await asyncio.gather(*(e.verify_otp("login", who, wrong_for(r.secret)) for _ in range(2)),
                                      return_exceptions=True)
        for w in wrongs:
            if isinstance(w, verikit.Result):
                if w or w.status == VERIFIED:
                    out["wrong_verified"] += 1
            else:
                count_error(w)
        v = await e.verify_otp("login", who, r.secret)
        if v and v.status == VERIFIED:
            out["right_verified"] += 1
    except Exception as x:  # noqa: BLE001 (each kind is counted, and unexpected ones named)
        count_error(x)
    finally:
        out["settled"] += 1


def sync_guesses(s: verikit.Engine, k: int) -> None:
    for i in range(20):
        try:
            who = f"{tag}s{k}-{i}"
            r = s.issue_otp("login", who)
            if r.status == verikit.Status.ISSUED:
                w = s.verify_otp("login", who, wrong_for(r.secret))
                if w or w.status == VERIFIED:
                    with lock:
                        out["wrong_verified"] += 1
        except Exception as x:  # noqa: BLE001
            count_error(x)


async def main(url: str) -> None:
    e = verikit.aio.Engine(url, key=KEY, key_prefix=tag)
    s = verikit.Engine(url, key=KEY, key_prefix=tag)
    arm(1)
    await asyncio.wait_for(asyncio.gather(*(one(e, i) for i in range(150))), 60)
    threads = [threading.Thread(target=sync_guesses, args=(s, k)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    out["sync_threads_stuck"] = sum(t.is_alive() for t in threads)
    # Engines opened off the loop (Engine.open, on the executor) while memory runs out: each
    # opening settles once, an engine that works (or fails with verikit errors) or an error.
    openings = await asyncio.wait_for(asyncio.gather(
        *(verikit.aio.Engine.open(url, key=KEY, key_prefix=tag) for _ in range(4)), return_exceptions=True), 60)
    out["open_settled"] = len(openings)
    out["opened"] = 0
    for o in openings:
        if isinstance(o, verikit.aio.Engine):
            out["opened"] += 1
            await one(o, 1000 + out["opened"])
            await o.aclose()
        else:
            count_error(o)
    # close() with calls in flight: each still settles, with its answer or an error
    pending = [e.verify_otp("login", f"{tag}c{i}", "000000") for i in range(50)]
    await e.aclose()
    answers = await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), 30)
    for a in answers:
        if isinstance(a, verikit.Result):
            if a:
                out["wrong_verified"] += 1
        else:
            count_error(a)
    out["close_settled"] = len(answers)
    arm(0)
    s.close()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
