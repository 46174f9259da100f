"""The lifecycle stress suite (issue 15), Python side: close with 1, 100 and 10,000 calls in
flight on the embedded store and on a paused Redis settles every call exactly once; close racing
8 busy threads on both stores; 200 engines created and closed leave no thread or descriptor
behind."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sys
import threading
import time
from typing import Any, Dict, List

import pytest

import verikit
import verikit.aio
from conftest import KEY, RedisServer


def threads_now() -> int:
    return len(os.listdir("/proc/self/task"))


def descriptors_now() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture(scope="module")
def server() -> Any:
    s = RedisServer()
    yield s
    os.kill(s.proc.pid, signal.SIGCONT)
    s.stop()


@pytest.mark.parametrize("in_flight", [1, 100, 10000])
@pytest.mark.parametrize("where", ["memory", "paused-redis"])
def test_close_settles_every_call_in_flight_once(where: str, in_flight: int, server: RedisServer) -> None:
    redis = where == "paused-redis"
    url = server.url + "?command_timeout_ms=500" if redis else "memory://"
    problems: List[str] = []

    async def main() -> List[Any]:
        loop = asyncio.get_running_loop()
        # A future settled twice, or a callback that fails, reaches the loop's handler.
        loop.set_exception_handler(lambda _loop, ctx: problems.append(str(ctx.get("message"))))
        e = verikit.aio.Engine(url, key=KEY, key_prefix=f"stress{in_flight}", abuse_controls=False)
        code = (await e.issue_otp("login", "warm")).secret
        if redis:
            os.kill(server.proc.pid, signal.SIGSTOP)
        try:
            calls = [asyncio.ensure_future(e.verify_otp("login", "warm" if i == 0 else f"u{i}", code))
                     for i in range(in_flight)]
            await asyncio.sleep(0)  # started
            e.close()
            with pytest.raises(verikit.Error, match="closed"):
                await e.issue_otp("login", "late")
        finally:
            if redis:
                os.kill(server.proc.pid, signal.SIGCONT)
        outcomes = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 60)
        await asyncio.sleep(0.05)  # a second settlement would be reported by now
        return outcomes

    # A fault while a future is settled is reported to sys.unraisablehook, not to the loop.
    hook = sys.unraisablehook
    sys.unraisablehook = lambda u: problems.append(f"{u.err_msg}: {u.exc_value!r}")
    try:
        outcomes = asyncio.run(main())
    finally:
        sys.unraisablehook = hook
    assert problems == []
    assert len(outcomes) == in_flight
    kinds: Dict[str, int] = {}
    for o in outcomes:
        name = type(o).__name__ if isinstance(o, BaseException) else o.status.name
        kinds[name] = kinds.get(name, 0) + 1
    if redis:
        # Redis was paused for all of them: each is an error (sent and unanswered: a timeout; or
        # not sent), never a result, and never "verified".
        assert set(kinds) <= {"TimeoutError", "StoreUnavailableError"}, kinds
    else:
        # The embedded store answers every call: the right code once, the others not found.
        assert kinds == ({"VERIFIED": 1, "NOT_FOUND": in_flight - 1} if in_flight > 1 else {"VERIFIED": 1}), kinds


@pytest.mark.parametrize("where", ["memory", "redis"])
def test_close_racing_eight_busy_threads(where: str, server: RedisServer) -> None:
    e = verikit.Engine(server.url if where == "redis" else "memory://", key=KEY, key_prefix="race8",
                       abuse_controls=False)
    started = threading.Barrier(9)
    answered = [0] * 8
    unexpected: List[BaseException] = []

    def busy(i: int) -> None:
        started.wait()
        while True:
            try:
                r = e.issue_otp("login", f"t{i}")
                if not e.verify_otp("login", f"t{i}", r.secret):
                    unexpected.append(AssertionError("a right code was not verified"))
                answered[i] += 1
            except verikit.Error as err:
                if "closed" not in str(err):
                    unexpected.append(err)
                return
            except BaseException as err:  # noqa: BLE001 - reported below
                unexpected.append(err)
                return

    threads = [threading.Thread(target=busy, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    started.wait()
    time.sleep(0.1)
    e.close()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads), "a thread hangs after close()"
    assert unexpected == []
    assert sum(answered) > 0


def test_two_hundred_engines_leave_no_thread_or_descriptor(server: RedisServer) -> None:
    def cycle(i: int) -> None:
        e = verikit.Engine(server.url if i % 2 else "memory://", key=KEY, key_prefix="many", abuse_controls=False)
        assert e.issue_otp("login", "many").status is verikit.Status.ISSUED
        e.close()

    cycle(1)  # warm up: process-wide state made once (OpenSSL, the first connection's resolver)
    gc.collect()
    threads, fds = threads_now(), descriptors_now()
    for i in range(200):
        cycle(i)
    gc.collect()
    assert threads_now() == threads
    assert descriptors_now() == fds
