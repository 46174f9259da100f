"""Recovery codes through the Python binding, on both stores (sync and asyncio)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import verikit
import verikit.aio

POLICY: Any = {"recovery_codes": 5, "send_limit": False, "resend_cooldown": 0, "client_issue_limit": False,
               "client_failure_limit": False, "client_pair_failure_limit": False,
               "failure_limit": (3, 86400, 3)}


def test_generate_use_count_regenerate(make_engine: Any) -> None:
    e = make_engine(policy=POLICY)
    assert e.recovery_codes_remaining("mfa", "ann") == 0
    first = e.generate_recovery_codes("mfa", "ann")
    assert first.status is verikit.Status.ISSUED and len(first.codes) == 5 and len(set(first.codes)) == 5
    assert all(len(c) == 11 and c[5] == "-" for c in first.codes)
    assert first.codes[0] not in repr(first), "no secrets in reprs"
    used = e.use_recovery_code("mfa", "ann", first.codes[0].lower().replace("-", " "))
    assert used and used.status is verikit.Status.VERIFIED
    assert e.use_recovery_code("mfa", "ann", first.codes[0]).status is verikit.Status.INVALID
    assert e.recovery_codes_remaining("mfa", "ann") == 4
    second = e.generate_recovery_codes("mfa", "ann")
    assert e.use_recovery_code("mfa", "ann", first.codes[1]).status is verikit.Status.INVALID, "the old set is gone"
    assert e.use_recovery_code("mfa", "ann", first.codes[2]).status is verikit.Status.LOCKED, "the third wrong guess"
    locked = e.use_recovery_code("mfa", "ann", second.codes[0])
    assert locked.status is verikit.Status.LOCKED and locked.retry_after > 0, "locked: nothing compared"
    assert e.unlock("mfa", "ann")
    assert e.use_recovery_code("mfa", "ann", second.codes[0])
    with pytest.raises(verikit.InvalidArgumentError, match="recovery code"):
        e.use_recovery_code("mfa", "ann", "SHORT")
    assert e.generate_recovery_codes("mfa", "bea").codes != second.codes


def test_asyncio(store: str) -> None:
    async def main() -> None:
        async with verikit.aio.Engine(store, key=bytes(32), key_prefix="pyrec", policy=POLICY) as e:
            s = await e.generate_recovery_codes("mfa", "cy")
            assert len(s.codes) == 5
            assert await e.use_recovery_code("mfa", "cy", s.codes[3])
            assert await e.recovery_codes_remaining("mfa", "cy") == 4
            both = await asyncio.gather(*(e.use_recovery_code("mfa", "cy", s.codes[4]) for _ in range(2)))
            assert sorted(r.status for r in both) == [verikit.Status.VERIFIED, verikit.Status.INVALID]

    asyncio.run(main())
