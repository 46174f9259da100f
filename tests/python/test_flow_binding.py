"""Flow binding through the Python binding, on both stores: a credential issued with a binding
verifies only with the same value; mismatches answer like wrong secrets and spend the budget."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import verikit
import verikit.aio

BUDGET_ONLY: Any = {"send_limit": False, "resend_cooldown": 0, "client_issue_limit": False,
                    "client_failure_limit": False, "client_pair_failure_limit": False, "max_active_tokens": 0,
                    "failure_limit": (10, 86400, 10)}


def test_bound_otp(make_engine: Any) -> None:
    e = make_engine(policy=BUDGET_ONLY)
    code = e.issue_otp("login", "ann", binding=b"cookie-1")
    wrong = e.verify_otp("login", "ann", code.secret, binding="cookie-2")
    assert wrong.status == verikit.Status.INVALID and not wrong
    assert e.verify_otp("login", "ann", code.secret, binding=b"cookie-1")
    assert e.inspect("login", "ann").counters["failures"] == 1


def test_bound_link_and_token(make_engine: Any) -> None:
    e = make_engine(policy=BUDGET_ONLY)
    link = e.issue_link("login", "bea", "https://app.example/magic", binding=b"cookie-1", payload=b"/next")
    assert e.consume_link(link.secret, "login").status == verikit.Status.NOT_FOUND
    assert e.consume_link(link.secret, "login", binding=b"other").status == verikit.Status.NOT_FOUND
    seen = e.peek_link(link.secret, "login")
    assert seen and seen.identifier == "bea", "peek ignores the binding (the cross-device fallback)"
    used = e.consume_link(link.secret, "login", binding=b"cookie-1")
    assert used and used.identifier == "bea" and used.payload == b"/next"
    token = e.issue_token("confirm", "bea", binding="c")
    assert not e.consume_token(token.secret, "confirm", binding="d")
    assert e.consume_token(token.secret, "confirm", binding="c")
    with pytest.raises(verikit.InvalidArgumentError, match="purpose"):
        e.consume_token(token.secret, verikit.ANY_PURPOSE, binding="c")
    with pytest.raises(TypeError):
        e.consume_link(link.secret, "login", binding=42)


def test_bound_link_locks_after_the_budget(make_engine: Any) -> None:
    e = make_engine(policy={**BUDGET_ONLY, "failure_limit": (2, 86400, 2)})
    link = e.issue_link("login", "cy", "https://app.example/magic", binding=b"right")
    assert e.consume_link(link.secret, "login", binding=b"w1").status == verikit.Status.NOT_FOUND
    assert e.consume_link(link.secret, "login", binding=b"w2").status == verikit.Status.NOT_FOUND
    locked = e.consume_link(link.secret, "login", binding=b"right")
    assert locked.status == verikit.Status.LOCKED and locked.retry_after > 0
    assert e.unlock("login", "cy")
    assert e.consume_link(link.secret, "login", binding=b"right")


def test_asyncio(store: str) -> None:
    async def main() -> None:
        async with verikit.aio.Engine(store, key=bytes(32), key_prefix="pyflow", policy=BUDGET_ONLY) as e:
            code = await e.issue_otp("login", "dee", binding=b"f")
            assert not await e.verify_otp("login", "dee", code.secret, binding=b"g")
            assert await e.verify_otp("login", "dee", code.secret, binding=b"f")
            link = await e.issue_link("login", "dee", "https://app.example/m", binding=b"f")
            assert not await e.consume_link(link.secret, "login", binding=b"g")
            assert await e.peek_link(link.secret, "login")
            assert await e.consume_link(link.secret, "login", binding=b"f")
            token = await e.issue_token("login", "dee", binding=b"f")
            assert await e.consume_token(token.secret, "login", binding=b"f")

    asyncio.run(main())


def test_an_empty_binding_is_refused_not_taken_as_none(make_engine: Any) -> None:
    """An empty binding (a missing cookie written as `cookie or ""`) would pass as no binding, and
    the credential verify under any: every call that takes one refuses it; None is no binding."""
    e = make_engine(policy=BUDGET_ONLY)
    code = e.issue_otp("login", "eve", binding=b"cookie-1")
    link = e.issue_link("login", "eve", "https://app.example/magic", binding=b"cookie-1")
    token = e.issue_token("confirm", "eve", binding=b"cookie-1")
    for empty in (b"", "", bytearray()):
        calls = [lambda: e.issue_otp("login", "fay", binding=empty),
                 lambda: e.issue_token("confirm", "fay", binding=empty),
                 lambda: e.issue_link("login", "fay", "https://app.example/magic", binding=empty),
                 lambda: e.verify_otp("login", "eve", code.secret, binding=empty),
                 lambda: e.consume_token(token.secret, "confirm", binding=empty),
                 lambda: e.consume_link(link.secret, "login", binding=empty)]
        for call in calls:
            with pytest.raises(verikit.InvalidArgumentError, match="binding must not be empty"):
                call()
    assert e.inspect("login", "fay").status == verikit.Status.NOT_FOUND, "nothing was issued"
    assert e.inspect("login", "eve").counters["failures"] == 0, "nothing was counted"
    assert e.verify_otp("login", "eve", code.secret, binding=b"cookie-1"), "the code is intact"
    unbound = e.issue_otp("login", "gus", binding=None)
    assert e.verify_otp("login", "gus", unbound.secret, binding=None)

    async def asynchronous() -> None:
        a = make_engine(cls=verikit.aio.Engine, policy=BUDGET_ONLY)
        with pytest.raises(verikit.InvalidArgumentError, match="binding must not be empty"):
            await a.issue_otp("login", "hal", binding=b"")
        with pytest.raises(verikit.InvalidArgumentError, match="binding must not be empty"):
            await a.verify_otp("login", "eve", code.secret, binding="")

    asyncio.run(asynchronous())
