"""OTP issue and verify through the Python binding (asyncio, N in flight) against Redis, next
to redis-py running EVALSHA of a script of the same shape (the baseline users would write).

    python bench/python_bench.py REDIS_URL [operations]
"""

from __future__ import annotations

import asyncio
import sys
import time

import redis.asyncio as aioredis

import verikit
import verikit.aio

VERIFY_LIKE = """
local t = redis.call('TIME')
redis.call('HMGET', KEYS[2], 'cd', 'tat', 'f', 'fw', 'lk', 'lv', 'lvx')
local v = redis.call('HMGET', KEYS[1], 'h', 'a', 'f', 'p')
redis.call('PTTL', KEYS[1])
redis.call('HSET', KEYS[1], 'h', '0123456789abcdefg', 'a', 5, 'f', 1)
redis.call('PEXPIRE', KEYS[1], 600000)
return {0, 5, 1, ''}
"""


async def windowed(n: int, concurrency: int, op) -> float:  # type: ignore[no-untyped-def]
    """Runs op(i) for i < n with `concurrency` in flight; returns operations per second."""
    next_i = 0

    async def worker() -> None:
        nonlocal next_i
        while next_i < n:
            i = next_i
            next_i += 1
            await op(i)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - t0)


async def main(url: str, n: int) -> None:
    engine = verikit.aio.Engine(url + "?pool_size=1", key=bytes(32), key_prefix="pybench", abuse_controls=False)
    print(f"Python binding (asyncio) against {url}, {n} operations per row")
    print(f"{'operation':28} {'conc':>5} {'verikit/s':>12} {'redis-py EVALSHA/s':>20} {'ratio':>7}")
    client = aioredis.from_url(url)
    sha = await client.script_load(VERIFY_LIKE)
    for c in (1, 16, 64):
        tag = f"c{c}-"
        issued: list[str] = [""] * n

        async def issue(i: int) -> None:
            issued[i] = (await engine.issue_otp("login", f"{tag}{i}")).secret

        async def verify(i: int) -> None:
            r = await engine.verify_otp("login", f"{tag}{i}", issued[i])
            assert r, r.status

        async def baseline(i: int) -> None:
            await client.evalsha(sha, 2, "vk:{bench}:o", "vk:{bench}:r")

        issue_rate = await windowed(n, c, issue)
        verify_rate = await windowed(n, c, verify)
        base = await windowed(n, c, baseline)
        print(f"{'OTP issue':28} {c:5} {issue_rate:12.0f} {base:20.0f} {issue_rate / base:6.2f}x")
        print(f"{'OTP verify (right code)':28} {c:5} {verify_rate:12.0f} {base:20.0f} {verify_rate / base:6.2f}x")
    await client.aclose()
    engine.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 50000))
