"""Lifetimes over the C API: every call keeps the engine alive for its duration, close() is safe
while other threads call it, calls after close() raise "closed", and asynchronous completions
that arrive after close() settle their futures without touching freed memory."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any, List

import pytest

import verikit
import verikit.aio


def test_close_while_threads_call(make_engine) -> None:
    e = make_engine(abuse_controls=False)
    stop = threading.Event()
    errors: List[BaseException] = []
    answered = [0] * 4
    closed = [0] * 4

    def hammer(i: int) -> None:
        while not stop.is_set():
            try:
                r = e.issue_otp("login", f"u{i}")
                assert e.verify_otp("login", f"u{i}", r.secret)
                answered[i] += 1
            except verikit.Error as err:
                if "closed" not in str(err):
                    errors.append(err)
                closed[i] += 1
                if closed[i] > 3:
                    return
            except BaseException as err:  # noqa: BLE001 - reported below
                errors.append(err)
                return

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    e.close()
    e.close()  # twice is fine
    for t in threads:
        t.join(20)
    stop.set()
    assert errors == []
    assert all(n > 0 for n in answered), answered
    assert all(n > 3 for n in closed), closed  # every thread saw "closed" after close()
    with pytest.raises(verikit.Error, match="engine is closed"):
        e.inspect("login", "u0")


def test_calls_in_progress_keep_the_engine_alive() -> None:
    """close() during calls that wait for a stopped Redis returns at once; the calls still get
    their answers from the engine they started on, and it is freed after the last one."""
    from conftest import RedisServer

    server = RedisServer()
    e = verikit.Engine(server.url + "?command_timeout_ms=3000", key=bytes(32), abuse_controls=False)
    try:
        code = e.issue_otp("login", "x").secret
        outcomes: List[Any] = [None] * 4

        def call(i: int) -> None:
            try:
                outcomes[i] = e.inspect("login", "x").attempts_remaining if i % 2 else bool(e.verify_otp("login", "x", code))
            except BaseException as err:  # noqa: BLE001 - checked below
                outcomes[i] = err

        os.kill(server.proc.pid, signal.SIGSTOP)
        try:
            threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
            for t in threads:
                t.start()
            time.sleep(0.2)  # every call is waiting for the store
            t0 = time.perf_counter()
            e.close()
            took = time.perf_counter() - t0
            assert all(t.is_alive() for t in threads)
        finally:
            os.kill(server.proc.pid, signal.SIGCONT)
        for t in threads:
            t.join(10)
        assert took < 1.0, f"close() waited {took:.2f} s for calls in progress"
        # The calls completed on the live engine: answers, not "closed" errors or crashes.
        assert [o for o in outcomes if isinstance(o, BaseException)] == [], outcomes
        assert outcomes.count(True) == 1, outcomes  # one verify consumed the code
        with pytest.raises(verikit.Error, match="closed"):
            e.issue_otp("login", "x")
    finally:
        server.stop()


def test_async_completions_after_close_settle() -> None:
    from conftest import RedisServer

    server = RedisServer()
    e = verikit.aio.Engine(server.url + "?command_timeout_ms=300", key=bytes(32), abuse_controls=False)
    try:
        async def main() -> List[Any]:
            await e.issue_otp("login", "warm")
            await e.enroll_totp("login", "warm", "Acme")
            await e.generate_recovery_codes("login", "warm")
            setup = (await e.begin_totp_enrollment("login", "setup", "Acme")).pending
            os.kill(server.proc.pid, signal.SIGSTOP)
            try:
                futures = [asyncio.ensure_future(e.verify_otp("login", f"u{i}", "123456")) for i in range(200)]
                futures += [asyncio.ensure_future(e.revoke_all("login", f"u{i}")) for i in range(50)]
                # the second factors, wrong codes: each settles, none as verified
                futures += [asyncio.ensure_future(e.verify_totp("login", "warm", "000000")) for _ in range(20)]
                futures += [asyncio.ensure_future(e.use_recovery_code("login", "warm", "ABCDE-FGHJK")) for _ in range(20)]
                futures += [asyncio.ensure_future(e.confirm_totp_enrollment("login", "setup", setup, "000000"))
                            for _ in range(20)]
                futures += [asyncio.ensure_future(e.begin_totp_enrollment("login", f"u{i}", "Acme")) for i in range(20)]
                await asyncio.sleep(0.05)
                e.close()  # the calls in flight complete (with an error) after this
            finally:
                os.kill(server.proc.pid, signal.SIGCONT)
            outcomes = await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), 10)
            with pytest.raises(verikit.Error, match="closed"):
                await e.inspect("login", "warm")
            return outcomes

        outcomes = asyncio.run(main())
        assert len(outcomes) == 330
        assert all(isinstance(o, (verikit.Result, int, verikit.Error)) for o in outcomes), outcomes
        assert not any(isinstance(o, verikit.Result) and o.status is verikit.Status.VERIFIED for o in outcomes)
    finally:
        server.stop()


def test_threads_calling_a_closed_engine_do_not_deadlock() -> None:
    """Request threads still calling after a shutdown hook closed the engine: each call raises
    "closed". (Raising while holding the engine's lock let a thread wait for that lock while
    holding the GIL: two threads deadlocked the interpreter, found by a review.) In a child, so a
    deadlock is a failed test, not a hung run."""
    child = textwrap.dedent("""
        import threading, verikit
        e = verikit.Engine("memory://", key=bytes(32))
        e.close()
        raised = [0] * 4
        def run(k):
            for _ in range(5000):
                try:
                    e.verify_otp("login", "x", "123456")
                except verikit.Error as err:
                    assert "closed" in str(err), err
                    raised[k] += 1
        ts = [threading.Thread(target=run, args=(k,)) for k in range(4)]
        for t in ts: t.start()
        for t in ts: t.join()
        print(sum(raised))
    """)
    p = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "20000"
