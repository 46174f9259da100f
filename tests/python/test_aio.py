"""asyncio: many concurrent tasks, errors as exceptions, the loop never blocked."""

from __future__ import annotations

import asyncio
import time

import pytest

import verikit
import verikit.aio


def test_many_concurrent_tasks(make_engine) -> None:
    e = make_engine(verikit.aio.Engine, abuse_controls=False)

    async def main() -> None:
        users = [f"user{i}@example.com" for i in range(2000)]
        codes = await asyncio.gather(*(e.issue_otp("login", u) for u in users))
        assert all(c.status is verikit.Status.ISSUED for c in codes)
        results = await asyncio.gather(*(e.verify_otp("login", u, c.secret) for u, c in zip(users, codes)))
        assert all(results)
        t = await e.issue_token("confirm", "x", payload=b"p")
        assert (await e.peek_token(t.secret, "confirm")).status is verikit.Status.VALID
        assert (await e.consume_token(t.secret, "confirm")).payload == b"p"
        assert not await e.consume_token(t.secret, "confirm")
        link = await e.issue_link("confirm", "x", "https://e.com/m")
        assert await e.peek_link(link.secret, "confirm") and await e.consume_link(link.secret, "confirm")
        assert (await e.inspect("login", "user1@example.com")).status is verikit.Status.NOT_FOUND
        assert await e.revoke_all("confirm", "x") == 0

    asyncio.run(main())


def test_errors_are_raised_in_the_coroutine(make_engine) -> None:
    e = make_engine(verikit.aio.Engine)

    async def main() -> None:
        with pytest.raises(verikit.InvalidArgument):
            await e.issue_otp("login", "")
        with pytest.raises(verikit.InvalidArgument):
            await e.issue_link("login", "a", "nope")

    asyncio.run(main())


def test_the_loop_keeps_ticking_while_redis_works(redis_server) -> None:
    e = verikit.aio.Engine(redis_server.url, key=bytes(32), key_prefix="tick", abuse_controls=False)

    async def main() -> float:
        worst = 0.0
        stop = False

        async def ticker() -> None:
            nonlocal worst
            while not stop:
                t0 = time.perf_counter()
                await asyncio.sleep(0.005)
                worst = max(worst, time.perf_counter() - t0 - 0.005)

        tick = asyncio.create_task(ticker())
        await asyncio.gather(*(e.issue_otp("login", f"u{i}") for i in range(5000)))
        stop = True
        await tick
        return worst

    worst = asyncio.run(main())
    e.close()
    assert worst < 0.25, f"the event loop stalled for {worst:.3f} s"
