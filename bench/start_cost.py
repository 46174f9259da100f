"""Starts N verify_otp calls of one verikit.aio engine at once and awaits them all (gather), the
way a server handles a burst: what each call costs the event loop's thread. Run under callgrind
by scripts/start_cost.sh, which subtracts a run with N = 0.

    python bench/start_cost.py N [STORE_URL]      (default memory://)
"""

import asyncio
import sys

import verikit
import verikit.aio


async def main(n: int, store: str) -> None:
    # (No `async with`: the program runs against older versions too, for before/after figures.)
    e = verikit.aio.Engine(store, key=bytes(range(32)), key_prefix="startcost", abuse_controls=False)
    try:
        code = (await e.issue_otp("login", "someone-else@example.com")).secret  # a well-formed code
        # For an identifier with no code: every call goes through the store and answers NOT_FOUND.
        results = await asyncio.gather(*(e.verify_otp("login", "burst@example.com", code) for _ in range(n)))
        assert all(r.status is verikit.Status.NOT_FOUND for r in results), results[:3]
    finally:
        e.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "memory://"))
