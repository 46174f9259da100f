"""verikit.aio: the asyncio API. Each call (every operation: issue, verify, peek, consume,
revoke, revoke_all, inspect, unlock) starts the engine's own asynchronous operation and returns
its future: the engine's thread queues completions natively and signals an eventfd that the
loop watches (add_reader), so no thread is used per call (no executor), no thread waits for the
GIL to hand a result over, and the event loop never blocks on the store.

    engine = verikit.aio.Engine(store="redis://127.0.0.1:6379", key=KEY)
    r = await engine.issue_otp("login", "alice@example.com")

A call returns a `Call`: an asyncio future that is also a coroutine, so it can be awaited,
gathered (without a task per call: `asyncio.gather` takes futures as they are), passed to
`asyncio.create_task`, `asyncio.wait_for` or `asyncio.run_coroutine_threadsafe`. Made on the
loop's thread, a call starts at once; made where no loop runs, it starts when it is awaited.
Bad arguments and a closed engine are raised where the call is awaited, as from a coroutine.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import weakref
from collections.abc import Coroutine
from typing import Any, Callable, Optional, TypeVar, cast

from . import Bytes, _EngineBase
from ._verikit import Completions as NativeCompletions
from ._verikit import Result

__all__ = ["Call", "Engine"]

_T = TypeVar("_T")
_running_loop = asyncio._get_running_loop  # None instead of an exception: no frame for a miss


class Call(asyncio.Future[_T], Coroutine[Any, Any, _T]):
    """The future of one call. As a coroutine (for `create_task` and the like), it yields to the
    loop until the future is done, then returns its result or raises its exception; `close`
    leaves the call running (its answer still arrives, as for a future no one awaits)."""

    __slots__ = ()

    def send(self, value: None) -> Any:
        return self.__await__().send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        return self.__await__().throw(typ if val is None else val)

    def close(self) -> None:
        pass

    # `if engine.verify_otp(...):` without await tests the call, not its answer (and the guess
    # still runs): a future would be true whatever the code. Refused instead (found by a review).
    def __bool__(self) -> bool:
        raise TypeError("a verikit.aio call has no truth value: await it first (`if await engine.verify_otp(...):`)")


_by_loop: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[int, NativeCompletions]]" = weakref.WeakKeyDictionary()

# Bumped in a forked child. Completions made before a fork are the parent's: they share its
# eventfd, and only the process that made them settles them (the native Queue), so a child's call
# on a loop made before the fork would never settle (found by a review): refused instead.
_generation = 0


def _forked() -> None:
    global _generation
    _generation += 1


os.register_at_fork(after_in_child=_forked)


def _completions_for(loop: asyncio.AbstractEventLoop) -> NativeCompletions:
    """The completions of every engine's calls on one event loop: the engine's thread queues them
    natively and signals an eventfd without taking the GIL; the loop reads the fd (add_reader)
    and settles every queued future in one go, natively. The native side holds the loop weakly,
    so a loop that is gone takes its entry (and eventfd) with it; closed loops are dropped here."""
    entry = _by_loop.get(loop)
    if entry is not None and entry[0] != _generation:
        raise RuntimeError("verikit.aio: this event loop was made before fork(); in the child, run a new one "
                           "(asyncio.run, or asyncio.new_event_loop())")
    if entry is None:
        for closed in [other for other in _by_loop if other.is_closed()]:
            del _by_loop[closed]
        sink = NativeCompletions.make(Call, loop)
        loop.add_reader(sink.fd(), sink.settle)  # first: a loop that refuses it keeps no entry
        entry = _by_loop[loop] = (_generation, sink)
    return entry[1]


class Engine(_EngineBase):
    """The asyncio API: the same operations as verikit.Engine, each returning a `Call` to await
    (token and link checks take a required purpose, or verikit.ANY_PURPOSE). `async with
    verikit.aio.Engine(...) as e:` closes it on the way out; `await e.aclose()` does so
    explicitly.

    A call made on the loop's thread starts at once, before it is awaited: cancelling it, or the
    task awaiting it, or a `wait_for` timeout, does not undo it (a consume may have consumed), and
    a call never awaited still runs (mypy reports a forgotten await with
    `--enable-error-code unused-awaitable`). From another thread whose own loop is running, hand
    `run_coroutine_threadsafe` a coroutine that awaits the call (`async def f(): return await
    e.inspect(...)`): a call made there belongs to that thread's loop."""

    # The loop last seen, its completions and the fork generation they belong to, as one tuple:
    # two threads with two loops never mix them.
    _bound: "Optional[tuple[asyncio.AbstractEventLoop, NativeCompletions, int]]" = None

    def _start(self, op: Callable[..., Any], *args: Any) -> "Call[Any]":
        """Starts `op(*args, completions)` on the running loop and returns its Call; with no loop
        running in this thread, a coroutine that does so when awaited (awaitable, and taken by
        create_task and run_coroutine_threadsafe, like a Call)."""
        loop = _running_loop()
        if loop is None:
            return cast("Call[Any]", self._when_awaited(op, args))
        try:
            bound = self._bound
            if bound is None or bound[0] is not loop or bound[2] != _generation:
                bound = self._bound = (loop, _completions_for(loop), _generation)
            call: Call[Any] = op(*args, bound[1])
            return call
        except Exception as e:  # refused at the start: raised where the call is awaited
            failed: Call[Any] = Call(loop=loop)
            failed.set_exception(e)
            return failed

    async def _when_awaited(self, op: Callable[..., Any], args: Any) -> Any:
        if _running_loop() is None:
            raise RuntimeError("verikit.aio calls need a running asyncio event loop")
        return await self._start(op, *args)

    @classmethod
    async def open(cls, store: str = "memory://", **options: Any) -> "Engine":
        """`Engine(store, **options)` without blocking the event loop: the engine is created on
        the loop's default executor (on Redis, connecting and the start-up checks take up to
        connect_timeout_ms; the constructor would hold the loop that long). Raises what the
        constructor raises. Cancelled, the engine made meanwhile is freed with its last
        reference."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(cls, store, **options))

    async def aclose(self) -> None:
        """Release the engine without blocking the event loop: calls still in flight get their
        answers first (on a network store at most the command timeout), off the loop's thread."""
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    async def __aenter__(self) -> "Engine":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def issue_otp(self, purpose: str, identifier: Bytes, *, payload: Optional[bytes] = None,
                        ttl: Optional[int] = None, client_key: Optional[Bytes] = None,
                        binding: Optional[Bytes] = None) -> "Call[Result]":
        return self._start(self._native.issue_otp_async, purpose, identifier, payload, ttl, client_key, binding)

    def verify_otp(self, purpose: str, identifier: Bytes, code: str, *,
                         client_key: Optional[Bytes] = None, binding: Optional[Bytes] = None) -> "Call[Result]":
        return self._start(self._native.verify_otp_async, purpose, identifier, code, client_key, binding)

    def issue_token(self, purpose: str, identifier: Bytes, *, payload: Optional[bytes] = None,
                          ttl: Optional[int] = None, client_key: Optional[Bytes] = None,
                        binding: Optional[Bytes] = None) -> "Call[Result]":
        return self._start(self._native.issue_token_async, purpose, identifier, payload, ttl, client_key, binding)

    def peek_token(self, token: str, purpose: str) -> "Call[Result]":
        return self._start(self._native.check_token_async, token, purpose, False, False, None)

    def consume_token(self, token: str, purpose: str, *, binding: Optional[Bytes] = None) -> "Call[Result]":
        return self._start(self._native.check_token_async, token, purpose, False, True, binding)

    def issue_link(self, purpose: str, identifier: Bytes, base_url: str, *, payload: Optional[bytes] = None,
                         ttl: Optional[int] = None, client_key: Optional[Bytes] = None,
                        binding: Optional[Bytes] = None) -> "Call[Result]":
        return self._start(self._native.issue_link_async, purpose, identifier, base_url, payload, ttl, client_key, binding)

    def peek_link(self, token: str, purpose: str) -> "Call[Result]":
        return self._start(self._native.check_token_async, token, purpose, True, False, None)

    def consume_link(self, token: str, purpose: str, *, binding: Optional[Bytes] = None) -> "Call[Result]":
        return self._start(self._native.check_token_async, token, purpose, True, True, binding)

    def revoke_token(self, token: str) -> "Call[bool]":
        return self._start(self._native.revoke_token_async, token, False)

    def revoke_link(self, token: str) -> "Call[bool]":
        return self._start(self._native.revoke_token_async, token, True)

    def revoke_otp(self, purpose: str, identifier: Bytes) -> "Call[bool]":
        return self._start(self._native.revoke_otp_async, purpose, identifier)

    def revoke_all(self, purpose: str, identifier: Bytes) -> "Call[int]":
        return self._start(self._native.revoke_all_async, purpose, identifier)

    def inspect(self, purpose: str, identifier: Bytes) -> "Call[Result]":
        return self._start(self._native.inspect_async, purpose, identifier)

    def unlock(self, purpose: str, identifier: Bytes) -> "Call[bool]":
        return self._start(self._native.unlock_async, purpose, identifier)

    def generate_recovery_codes(self, purpose: str, identifier: Bytes) -> "Call[Result]":
        return self._start(self._native.generate_recovery_codes_async, purpose, identifier)

    def use_recovery_code(self, purpose: str, identifier: Bytes, code: str, *,
                                client_key: Optional[Bytes] = None) -> "Call[Result]":
        return self._start(self._native.use_recovery_code_async, purpose, identifier, code, client_key)

    def recovery_codes_remaining(self, purpose: str, identifier: Bytes) -> "Call[int]":
        return self._start(self._native.recovery_codes_remaining_async, purpose, identifier)

    def enroll_totp(self, purpose: str, identifier: Bytes, issuer: str) -> "Call[Result]":
        return self._start(self._native.enroll_totp_async, purpose, identifier, issuer)

    def verify_totp(self, purpose: str, identifier: Bytes, code: str, *,
                          client_key: Optional[Bytes] = None) -> "Call[Result]":
        return self._start(self._native.verify_totp_async, purpose, identifier, code, client_key)

    def begin_totp_enrollment(self, purpose: str, identifier: Bytes, issuer: str) -> "Call[Result]":
        return self._start(self._native.begin_totp_enrollment_async, purpose, identifier, issuer)

    def confirm_totp_enrollment(self, purpose: str, identifier: Bytes, pending: str, code: str, *,
                                client_key: Optional[Bytes] = None) -> "Call[Result]":
        return self._start(self._native.confirm_totp_enrollment_async, purpose, identifier, pending, code, client_key)

    def revoke_second_factors(self, purpose: str, identifier: Bytes) -> "Call[int]":
        return self._start(self._native.revoke_second_factors_async, purpose, identifier)


def _mark_coroutine_functions() -> None:
    """The operations return coroutine objects (Calls): frameworks that ask whether a function is a
    coroutine function (inspect / asyncio.iscoroutinefunction) are told yes, and await them."""
    for name, member in vars(Engine).items():
        if not callable(member) or name.startswith("_") or "Call[" not in str(member.__annotations__.get("return", "")):
            continue
        if hasattr(inspect, "markcoroutinefunction"):  # Python 3.12
            inspect.markcoroutinefunction(member)
        else:
            member._is_coroutine = asyncio.coroutines._is_coroutine  # type: ignore[attr-defined]


_mark_coroutine_functions()
