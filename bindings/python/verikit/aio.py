"""verikit.aio: the asyncio API. Each call (every operation: issue, verify, peek, consume,
revoke, revoke_all, inspect, unlock) starts the engine's own asynchronous operation and awaits
its completion: the engine's thread queues completions natively and signals an eventfd that the
loop watches (add_reader), so no thread is used per call (no executor), no thread waits for the
GIL to hand a result over, and the event loop never blocks on the store.

    engine = verikit.aio.Engine(store="redis://127.0.0.1:6379", key=KEY)
    r = await engine.issue_otp("login", "alice@example.com")
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Optional

from . import Bytes, _EngineBase
from ._verikit import Completions as NativeCompletions
from ._verikit import Result

__all__ = ["Engine"]


_by_loop: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, NativeCompletions]" = weakref.WeakKeyDictionary()


def _completions_for(loop: asyncio.AbstractEventLoop) -> NativeCompletions:
    """The completions of every engine's calls on one event loop: the engine's thread queues them
    natively and signals an eventfd without taking the GIL; the loop reads the fd (add_reader)
    and settles every queued future in one go, natively."""
    sink = _by_loop.get(loop)
    if sink is None:
        sink = _by_loop[loop] = NativeCompletions(loop)
        loop.add_reader(sink.fd(), sink.settle)
    return sink


class Engine(_EngineBase):
    """The asyncio API: the same operations as verikit.Engine, as coroutines (token and link
    checks take a required purpose, or verikit.ANY_PURPOSE). `async with verikit.aio.Engine(...)
    as e:` closes it on the way out; `await e.aclose()` does so explicitly."""

    _loop: Optional[asyncio.AbstractEventLoop] = None
    _completions: Optional[NativeCompletions] = None

    def _sink(self) -> NativeCompletions:
        """The completions of the running loop (the last one seen is kept: a dict lookup less)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop or self._completions is None:
            self._completions = _completions_for(loop)
            self._loop = loop
        return self._completions

    async def aclose(self) -> None:
        """Release the engine without blocking the event loop: calls still in flight get their
        answers first (on a network store at most the command timeout), off the loop's thread."""
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    async def __aenter__(self) -> "Engine":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def issue_otp(self, purpose: str, identifier: Bytes, *, payload: Optional[bytes] = None,
                        ttl: Optional[int] = None, client_key: Optional[Bytes] = None,
                        binding: Optional[Bytes] = None) -> Result:
        return await self._native.issue_otp_async(purpose, identifier, payload, ttl, client_key, binding, self._sink())

    async def verify_otp(self, purpose: str, identifier: Bytes, code: str, *,
                         client_key: Optional[Bytes] = None, binding: Optional[Bytes] = None) -> Result:
        return await self._native.verify_otp_async(purpose, identifier, code, client_key, binding, self._sink())

    async def issue_token(self, purpose: str, identifier: Bytes, *, payload: Optional[bytes] = None,
                          ttl: Optional[int] = None, client_key: Optional[Bytes] = None,
                        binding: Optional[Bytes] = None) -> Result:
        return await self._native.issue_token_async(purpose, identifier, payload, ttl, client_key, binding, self._sink())

    async def peek_token(self, token: str, purpose: str) -> Result:
        return await self._native.check_token_async(token, purpose, False, False, None, self._sink())

    async def consume_token(self, token: str, purpose: str, *, binding: Optional[Bytes] = None) -> Result:
        return await self._native.check_token_async(token, purpose, False, True, binding, self._sink())

    async def issue_link(self, purpose: str, identifier: Bytes, base_url: str, *, payload: Optional[bytes] = None,
                         ttl: Optional[int] = None, client_key: Optional[Bytes] = None,
                        binding: Optional[Bytes] = None) -> Result:
        return await self._native.issue_link_async(purpose, identifier, base_url, payload, ttl, client_key, binding, self._sink())

    async def peek_link(self, token: str, purpose: str) -> Result:
        return await self._native.check_token_async(token, purpose, True, False, None, self._sink())

    async def consume_link(self, token: str, purpose: str, *, binding: Optional[Bytes] = None) -> Result:
        return await self._native.check_token_async(token, purpose, True, True, binding, self._sink())

    async def revoke_token(self, token: str) -> bool:
        return await self._native.revoke_token_async(token, False, self._sink())

    async def revoke_link(self, token: str) -> bool:
        return await self._native.revoke_token_async(token, True, self._sink())

    async def revoke_otp(self, purpose: str, identifier: Bytes) -> bool:
        return await self._native.revoke_otp_async(purpose, identifier, self._sink())

    async def revoke_all(self, purpose: str, identifier: Bytes) -> int:
        return await self._native.revoke_all_async(purpose, identifier, self._sink())

    async def inspect(self, purpose: str, identifier: Bytes) -> Result:
        return await self._native.inspect_async(purpose, identifier, self._sink())

    async def unlock(self, purpose: str, identifier: Bytes) -> bool:
        return await self._native.unlock_async(purpose, identifier, self._sink())

    async def generate_recovery_codes(self, purpose: str, identifier: Bytes) -> Result:
        return await self._native.generate_recovery_codes_async(purpose, identifier, self._sink())

    async def use_recovery_code(self, purpose: str, identifier: Bytes, code: str, *,
                                client_key: Optional[Bytes] = None) -> Result:
        return await self._native.use_recovery_code_async(purpose, identifier, code, client_key, self._sink())

    async def recovery_codes_remaining(self, purpose: str, identifier: Bytes) -> int:
        return await self._native.recovery_codes_remaining_async(purpose, identifier, self._sink())

    async def enroll_totp(self, purpose: str, identifier: Bytes, issuer: str) -> Result:
        return await self._native.enroll_totp_async(purpose, identifier, issuer, self._sink())

    async def verify_totp(self, purpose: str, identifier: Bytes, code: str, *,
                          client_key: Optional[Bytes] = None) -> Result:
        return await self._native.verify_totp_async(purpose, identifier, code, client_key, self._sink())
