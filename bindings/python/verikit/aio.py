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
import itertools
import weakref
from typing import Any, Callable, Dict, Optional, Tuple, Type, TypeVar

from . import Bytes, _EngineBase
from ._types import error
from ._verikit import Completions as NativeCompletions
from ._verikit import Result

__all__ = ["Engine"]


def _settle(fut: "asyncio.Future[Any]", code: int, message: str, value: Any) -> None:
    if fut.done():  # cancelled meanwhile
        return
    if code == 0:
        fut.set_result(value)
    else:
        fut.set_exception(error(code, message))


class _Completions:
    """Completions for one event loop, of every operation (results, flags and counts alike). The
    engine's thread queues them natively and signals an eventfd without taking the GIL; the loop
    reads the fd (add_reader) and settles every queued future in one go."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.native = NativeCompletions()
        self.futures: Dict[int, "asyncio.Future[Any]"] = {}
        self._ids = itertools.count()
        loop.add_reader(self.native.fd(), self._drain)

    def new(self, loop: asyncio.AbstractEventLoop) -> Tuple[int, "asyncio.Future[Any]"]:
        call = next(self._ids)
        fut: "asyncio.Future[Any]" = loop.create_future()
        self.futures[call] = fut
        return call, fut

    def _drain(self) -> None:
        for call, code, message, value in self.native.drain():
            fut = self.futures.pop(call, None)
            if fut is not None:
                _settle(fut, code, message, value)


T = TypeVar("T", Result, bool, int)

_by_loop: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Completions]" = weakref.WeakKeyDictionary()


def _await(answer: Type[T], start: Callable[[NativeCompletions, int], None]) -> "asyncio.Future[T]":
    """Starts one asynchronous engine call; the future settles when the engine completes it.
    `answer` is the type the completion carries (Result, bool or int), for type checkers."""
    loop = asyncio.get_running_loop()
    completions = _by_loop.get(loop)
    if completions is None:
        completions = _by_loop[loop] = _Completions(loop)
    call, fut = completions.new(loop)
    try:
        start(completions.native, call)
    except BaseException:
        completions.futures.pop(call, None)
        raise
    return fut


class Engine(_EngineBase):
    """The asyncio API: the same operations as verikit.Engine, as coroutines (token and link
    checks take a required purpose, or verikit.ANY_PURPOSE). `async with verikit.aio.Engine(...)
    as e:` closes it on the way out; `await e.aclose()` does so explicitly."""

    async def aclose(self) -> None:
        """Release the engine without blocking the event loop: calls still in flight get their
        answers first (on a network store at most the command timeout), off the loop's thread."""
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    async def __aenter__(self) -> "Engine":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def issue_otp(self, purpose: str, identifier: Bytes, *, payload: Optional[bytes] = None,
                        ttl: Optional[int] = None, client_key: Optional[Bytes] = None) -> Result:
        return await _await(Result, lambda sink, call: self._native.issue_otp_async(purpose, identifier, payload, ttl, client_key, sink, call))

    async def verify_otp(self, purpose: str, identifier: Bytes, code: str, *,
                         client_key: Optional[Bytes] = None) -> Result:
        return await _await(Result, lambda sink, call: self._native.verify_otp_async(purpose, identifier, code, client_key, sink, call))

    async def issue_token(self, purpose: str, identifier: Bytes, *, payload: Optional[bytes] = None,
                          ttl: Optional[int] = None, client_key: Optional[Bytes] = None) -> Result:
        return await _await(Result, lambda sink, call: self._native.issue_token_async(purpose, identifier, payload, ttl, client_key, sink, call))

    async def peek_token(self, token: str, purpose: str) -> Result:
        return await _await(Result, lambda sink, call: self._native.check_token_async(token, purpose, False, False, sink, call))

    async def consume_token(self, token: str, purpose: str) -> Result:
        return await _await(Result, lambda sink, call: self._native.check_token_async(token, purpose, False, True, sink, call))

    async def issue_link(self, purpose: str, identifier: Bytes, base_url: str, *, payload: Optional[bytes] = None,
                         ttl: Optional[int] = None, client_key: Optional[Bytes] = None) -> Result:
        return await _await(
            Result, lambda sink, call: self._native.issue_link_async(purpose, identifier, base_url, payload, ttl, client_key, sink, call))

    async def peek_link(self, token: str, purpose: str) -> Result:
        return await _await(Result, lambda sink, call: self._native.check_token_async(token, purpose, True, False, sink, call))

    async def consume_link(self, token: str, purpose: str) -> Result:
        return await _await(Result, lambda sink, call: self._native.check_token_async(token, purpose, True, True, sink, call))

    async def revoke_token(self, token: str) -> bool:
        return await _await(bool, lambda sink, call: self._native.revoke_token_async(token, False, sink, call))

    async def revoke_link(self, token: str) -> bool:
        return await _await(bool, lambda sink, call: self._native.revoke_token_async(token, True, sink, call))

    async def revoke_otp(self, purpose: str, identifier: Bytes) -> bool:
        return await _await(bool, lambda sink, call: self._native.revoke_otp_async(purpose, identifier, sink, call))

    async def revoke_all(self, purpose: str, identifier: Bytes) -> int:
        return await _await(int, lambda sink, call: self._native.revoke_all_async(purpose, identifier, sink, call))

    async def inspect(self, purpose: str, identifier: Bytes) -> Result:
        return await _await(Result, lambda sink, call: self._native.inspect_async(purpose, identifier, sink, call))

    async def unlock(self, purpose: str, identifier: Bytes) -> bool:
        return await _await(bool, lambda sink, call: self._native.unlock_async(purpose, identifier, sink, call))
