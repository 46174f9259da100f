"""asyncio: many concurrent tasks, errors as exceptions, the loop never blocked; every operation
awaits the engine's own completion (no executor); synchronous calls release the GIL."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal
import subprocess
import threading
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


def test_the_loop_keeps_ticking_while_calls_wait_for_a_paused_redis(redis_server) -> None:
    """5,000 calls wait for a paused Redis (SIGSTOP) while a task ticks every 5 ms: none of them
    holds the loop. Another process resumes Redis after 3 s (a binding that waited on the loop
    could not resume it itself, and would not reach the count below before then); while every
    call is still waiting, the ticker has run, then every call is answered. No wall-clock bound
    is asserted: only ticks counted while nothing could be answered."""
    e = verikit.aio.Engine(redis_server.url + "?command_timeout_ms=30000", key=bytes(32), key_prefix="tick",
                           abuse_controls=False)
    pid = redis_server.proc.pid

    async def main() -> "tuple[int, bool, list[verikit.Result]]":
        ticks = 0
        stop = False

        async def ticker() -> None:
            nonlocal ticks
            while not stop:
                await asyncio.sleep(0.005)
                ticks += 1

        await e.issue_otp("login", "warm")
        os.kill(pid, signal.SIGSTOP)
        resumer = subprocess.Popen(["sh", "-c", f"sleep 3; kill -CONT {pid}"])
        try:
            tick = asyncio.create_task(ticker())
            calls = [e.issue_otp("login", f"u{i}") for i in range(5000)]
            await asyncio.sleep(0.3)
            while_paused, none_answered = ticks, not any(c.done() for c in calls)
            results = await asyncio.gather(*calls)
            stop = True
            await tick
        finally:
            resumer.wait()
            os.kill(pid, signal.SIGCONT)
        return while_paused, none_answered, results

    while_paused, none_answered, results = asyncio.run(main())
    e.close()
    assert none_answered, "Redis was resumed before the count: the calls held the loop"
    assert while_paused >= 3, f"the loop ticked {while_paused} times while 5,000 calls waited"
    assert all(r.status is verikit.Status.ISSUED for r in results)


class _RefusingExecutor(concurrent.futures.ThreadPoolExecutor):
    """A default executor that refuses all work: nothing may be handed to a thread."""

    def submit(self, *args: object, **kwargs: object) -> "concurrent.futures.Future[object]":
        raise AssertionError("verikit.aio handed work to an executor")


def _lifecycle_answers(results: list) -> list:  # type: ignore[type-arg]
    """Answers as comparable values: results as (status, attempts, active tokens, counters)."""
    out = []
    for r in results:
        if isinstance(r, verikit.Result):
            c = r.counters or {}
            out.append((r.status, r.attempts_remaining, r.active_tokens, c.get("failures"), c.get("guesses_available"),
                        c.get("locked_until") is not None))
        else:
            out.append(r)
    return out


_BUDGET_OF_TWO = {"resend_cooldown": 0, "failure_limit": (1, 3600, 2), "client_failure_limit": False}


def test_revoke_inspect_unlock_use_the_engines_completions_not_the_executor(make_engine) -> None:
    """Every operation of verikit.aio awaits the engine's own completion: with the loop's
    executor refusing all work (and run_in_executor patched to fail), they all still work, no
    Python thread is started, and they answer as the synchronous engine does."""
    sync = make_engine(verikit.Engine, policy=_BUDGET_OF_TWO)
    e = make_engine(verikit.aio.Engine, policy=_BUDGET_OF_TWO)

    def run_sync(eng: verikit.Engine, who: str) -> list:  # type: ignore[type-arg]
        out: list = [eng.inspect("login", who)]  # type: ignore[type-arg]
        code = eng.issue_otp("login", who)
        t1, t2 = eng.issue_token("login", who), eng.issue_token("login", who)
        link = eng.issue_link("login", who, "https://e.com/m")
        wrong = "111111" if code.secret == "000000" else "000000"
        out.append(eng.inspect("login", who))
        for _ in range(2):
            eng.verify_otp("login", who, wrong)
        out += [eng.inspect("login", who), eng.unlock("login", who), eng.unlock("login", who), eng.inspect("login", who)]
        out += [eng.revoke_token(t1.secret), eng.revoke_token(t1.secret), eng.revoke_token("garbage")]
        out += [eng.revoke_link(link.secret), eng.revoke_link(link.secret)]
        out += [eng.revoke_otp("login", who), eng.revoke_otp("login", who)]
        out += [eng.revoke_all("login", who), eng.revoke_all("login", who), eng.inspect("login", who)]
        out.append(eng.consume_token(t2.secret, "login").status)
        return out

    async def run_async(who: str) -> list:  # type: ignore[type-arg]
        loop = asyncio.get_running_loop()
        loop.set_default_executor(_RefusingExecutor())

        def refuse(*args: object, **kwargs: object) -> None:
            raise AssertionError("verikit.aio called run_in_executor")

        loop.run_in_executor = refuse  # type: ignore[method-assign,assignment]
        threads = threading.active_count()
        out: list = [await e.inspect("login", who)]  # type: ignore[type-arg]
        code = await e.issue_otp("login", who)
        t1, t2 = await e.issue_token("login", who), await e.issue_token("login", who)
        link = await e.issue_link("login", who, "https://e.com/m")
        wrong = "111111" if code.secret == "000000" else "000000"
        out.append(await e.inspect("login", who))
        for _ in range(2):
            await e.verify_otp("login", who, wrong)
        out += [await e.inspect("login", who), await e.unlock("login", who), await e.unlock("login", who),
                await e.inspect("login", who)]
        out += [await e.revoke_token(t1.secret), await e.revoke_token(t1.secret), await e.revoke_token("garbage")]
        out += [await e.revoke_link(link.secret), await e.revoke_link(link.secret)]
        out += [await e.revoke_otp("login", who), await e.revoke_otp("login", who)]
        out += [await e.revoke_all("login", who), await e.revoke_all("login", who), await e.inspect("login", who)]
        out.append((await e.consume_token(t2.secret, "login")).status)
        # Many at once, all through the one completion path.
        many = await asyncio.gather(*(e.revoke_all("login", f"nobody{i}") for i in range(200)),
                                    *(e.inspect("login", f"nobody{i}") for i in range(200)))
        assert many[:200] == [0] * 200
        assert all(r.status is verikit.Status.NOT_FOUND for r in many[200:])
        assert threading.active_count() == threads, "a thread was started"
        return out

    by_sync = run_sync(sync, "sync-id")
    by_async = asyncio.run(run_async("async-id"))
    assert _lifecycle_answers(by_async) == _lifecycle_answers(by_sync)
    S = verikit.Status
    assert [type(a) for a in by_async[3:5] + by_async[6:15]] == [bool] * 2 + [bool] * 7 + [int] * 2
    assert by_async[2].status is S.LOCKED and by_async[2].counters["guesses_available"] == 0
    assert by_async[3:5] == [True, False]
    assert by_async[5].status is S.VALID and by_async[5].counters["guesses_available"] == 2
    assert by_async[6:15] == [True, False, False, True, False, True, False, 1, 0]
    assert by_async[15].status is S.NOT_FOUND and by_async[16] is S.NOT_FOUND


def test_async_revoke_inspect_unlock_raise_bad_arguments_in_the_coroutine(make_engine) -> None:
    e = make_engine(verikit.aio.Engine)

    async def main() -> None:
        with pytest.raises(verikit.InvalidArgument):
            await e.inspect("bad purpose", "x")
        with pytest.raises(verikit.InvalidArgument):
            await e.unlock("login", "")
        with pytest.raises(verikit.InvalidArgument):
            await e.revoke_all("", "x")
        with pytest.raises(verikit.InvalidArgument):
            await e.revoke_otp("login", "x" * 513)
        with pytest.raises(verikit.InvalidArgument):
            await e.revoke_token("")
        with pytest.raises(verikit.InvalidArgument):
            await e.revoke_link("A" * 513)
        with pytest.raises(TypeError):
            await e.revoke_token(42)  # type: ignore[arg-type]
        assert await e.revoke_link("not-a-token") is False

    asyncio.run(main())


def test_async_revoke_inspect_unlock_report_a_store_timeout() -> None:
    """Against a stopped Redis, each asynchronous operation raises Timeout in its coroutine
    (the engine's completion carried the error); the loop is never blocked meanwhile."""
    from conftest import RedisServer

    server = RedisServer()
    e = verikit.aio.Engine(server.url + "?command_timeout_ms=300", key=bytes(32), abuse_controls=False)
    try:
        async def main() -> None:
            token = (await e.issue_token("login", "x")).secret
            os.kill(server.proc.pid, signal.SIGSTOP)
            try:
                ticks = 0

                async def tick() -> None:
                    nonlocal ticks
                    while True:
                        await asyncio.sleep(0.01)
                        ticks += 1

                ticker = asyncio.create_task(tick())
                outcomes = await asyncio.gather(
                    e.revoke_otp("login", "x"), e.revoke_token(token), e.revoke_link(token), e.revoke_all("login", "x"),
                    e.inspect("login", "x"), e.unlock("login", "x"), return_exceptions=True)
                ticker.cancel()
            finally:
                os.kill(server.proc.pid, signal.SIGCONT)
            assert all(isinstance(o, verikit.Timeout) for o in outcomes), outcomes
            assert ticks >= 10, f"the loop ticked only {ticks} times in 300 ms"
            assert await e.revoke_otp("login", "x") is False  # the store answers again

        asyncio.run(main())
    finally:
        e.close()
        server.stop()


def test_sync_revoke_inspect_unlock_release_the_gil() -> None:
    """While synchronous calls wait for a stopped Redis, other Python threads keep running."""
    from conftest import RedisServer

    server = RedisServer()
    e = verikit.Engine(server.url + "?command_timeout_ms=2000", key=bytes(32), abuse_controls=False)
    try:
        token = e.issue_token("login", "x").secret
        calls = [lambda: e.revoke_otp("login", "x"), lambda: e.revoke_token(token), lambda: e.revoke_link(token),
                 lambda: e.revoke_all("login", "x"), lambda: e.inspect("login", "x"), lambda: e.unlock("login", "x")]
        outcomes: list = [None] * len(calls)  # type: ignore[type-arg]

        def run(i: int) -> None:
            try:
                calls[i]()
                outcomes[i] = "answered"
            except verikit.Timeout:
                outcomes[i] = "timeout"

        os.kill(server.proc.pid, signal.SIGSTOP)
        try:
            threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
            for t in threads:
                t.start()
            time.sleep(0.1)  # every call is now waiting for the store
            t0 = time.perf_counter()
            spins = 0
            while time.perf_counter() - t0 < 0.3:
                spins += 1
            elapsed = time.perf_counter() - t0
            waiting = sum(t.is_alive() for t in threads)
        finally:
            os.kill(server.proc.pid, signal.SIGCONT)
        for t in threads:
            t.join(10)
        assert waiting == len(calls), f"only {waiting} calls were still waiting"
        assert elapsed < 1.0 and spins > 1000, f"this thread was held up ({elapsed:.2f} s, {spins} spins)"
        assert outcomes == ["answered"] * len(calls), "each answered once the store was back"
    finally:
        e.close()
        server.stop()


def test_async_with_and_aclose(make_engine) -> None:
    async def main() -> None:
        async with make_engine(verikit.aio.Engine, abuse_controls=False) as e:
            code = await e.issue_otp("login", "ctx@example.com")
            pending = [asyncio.ensure_future(e.verify_otp("login", f"n{i}@example.com", "123456")) for i in range(50)]
            assert await e.verify_otp("login", "ctx@example.com", code.secret)
        # Leaving the block closed it: the calls started before settled, later calls fail.
        done = await asyncio.gather(*pending, return_exceptions=True)
        assert all(isinstance(r, verikit.Result) for r in done)
        with pytest.raises(verikit.Error, match="closed"):
            await e.issue_otp("login", "late@example.com")
        await e.aclose()  # closing twice is fine

    asyncio.run(main())


def test_a_call_is_a_future_and_a_coroutine(make_engine) -> None:
    """A call's Call is a future (gather takes it as it is: no task per call) and a coroutine
    (create_task, TaskGroup and wait_for take it too); each form gives the engine's answer once."""
    e = make_engine(verikit.aio.Engine, abuse_controls=False)

    async def main() -> None:
        issued = await e.issue_otp("login", "call@x")
        call = e.verify_otp("login", "call@x", issued.secret)
        assert isinstance(call, verikit.aio.Call) and asyncio.isfuture(call) and asyncio.iscoroutine(call)
        assert asyncio.ensure_future(call) is call  # what gather does with it
        tasks_before = len(asyncio.all_tasks())
        again = [e.verify_otp("login", "call@x", issued.secret) for _ in range(50)]
        assert len(asyncio.all_tasks()) == tasks_before
        results = await asyncio.gather(call, *again)
        assert [r.status for r in results].count(verikit.Status.VERIFIED) == 1
        # create_task drives it as a coroutine; the result is the engine's.
        issued = await e.issue_otp("login", "task@x")
        tasks = [asyncio.create_task(e.verify_otp("login", "task@x", issued.secret)) for _ in range(8)]
        statuses = [r.status for r in await asyncio.gather(*tasks)]
        assert statuses.count(verikit.Status.VERIFIED) == 1 and set(statuses) <= {verikit.Status.VERIFIED, verikit.Status.NOT_FOUND}
        if hasattr(asyncio, "TaskGroup"):  # Python 3.11
            async with asyncio.TaskGroup() as group:
                t = group.create_task(e.issue_token("confirm", "tg@x"))
            token = t.result()
        else:
            token = await asyncio.ensure_future(e.issue_token("confirm", "tg@x"))
        assert (await asyncio.wait_for(e.consume_token(token.secret, "confirm"), 5)).status is verikit.Status.VERIFIED
        # An error arrives through create_task as from a coroutine.
        with pytest.raises(verikit.InvalidArgument):
            await asyncio.create_task(e.issue_otp("login", ""))

    asyncio.run(main())


def test_bad_arguments_are_raised_where_the_call_is_awaited(make_engine) -> None:
    """Bad arguments are not raised by the call itself but by its await, as from a coroutine:
    gather(return_exceptions=True) collects them beside the other answers."""
    e = make_engine(verikit.aio.Engine)

    async def main() -> None:
        bad = e.issue_otp("login", "")  # no exception here
        good = e.issue_otp("login", "fine@x")
        wrong_type = e.verify_otp("login", 42, "123456")  # type: ignore[arg-type]
        out = await asyncio.gather(bad, good, wrong_type, return_exceptions=True)
        assert isinstance(out[0], verikit.InvalidArgument)
        assert isinstance(out[1], verikit.Result) and out[1].status is verikit.Status.ISSUED
        assert isinstance(out[2], TypeError)

    asyncio.run(main())


def test_a_call_made_without_a_running_loop_starts_when_awaited(make_engine) -> None:
    """Made where no loop runs (before asyncio.run, or in another thread for
    run_coroutine_threadsafe), a call is a coroutine that starts on the loop that awaits it."""
    e = make_engine(verikit.aio.Engine, abuse_controls=False)
    made_early = e.issue_otp("login", "early@x")  # no loop runs here
    issued = asyncio.run(made_early)
    assert issued.status is verikit.Status.ISSUED

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def from_another_thread() -> verikit.Result:
            return asyncio.run_coroutine_threadsafe(e.verify_otp("login", "early@x", issued.secret), loop).result(10)

        r = await loop.run_in_executor(None, from_another_thread)
        assert r.status is verikit.Status.VERIFIED

    asyncio.run(main())


def test_a_cancelled_call_is_answered_to_no_one(make_engine) -> None:
    """Cancelling a call (or the task awaiting it) leaves the engine's answer unread: the next
    calls on the loop are answered as usual, and a cancelled verify of a right code may or may
    not have consumed it, never twice."""
    e = make_engine(verikit.aio.Engine, abuse_controls=False)

    async def main() -> None:
        issued = await e.issue_otp("login", "cancel@x")
        call = e.verify_otp("login", "cancel@x", issued.secret)
        task = asyncio.create_task(e.verify_otp("login", "cancel@x", issued.secret))
        await asyncio.sleep(0)
        call.cancel()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        with pytest.raises(asyncio.CancelledError):
            await task
        again = await e.issue_otp("login", "cancel2@x")
        assert (await e.verify_otp("login", "cancel2@x", again.secret)).status is verikit.Status.VERIFIED
        late = await e.verify_otp("login", "cancel@x", issued.secret)
        assert late.status in (verikit.Status.VERIFIED, verikit.Status.NOT_FOUND)

    asyncio.run(main())


def test_loops_are_not_kept_and_their_eventfds_are_closed() -> None:
    """An engine used from many short-lived loops (asyncio.run per request, a loop per test)
    keeps none of them: the completions hold their loop weakly, and a closed loop's entry (and
    its eventfd) goes. Before, every loop stayed with an open eventfd (1,500 runs: 1,500 fds)."""
    import gc

    e = verikit.aio.Engine(abuse_controls=False)

    async def one(i: int) -> None:
        assert (await e.inspect("login", f"u{i}")).status is verikit.Status.NOT_FOUND

    asyncio.run(one(0))
    gc.collect()
    fds_before = len(os.listdir("/proc/self/fd"))
    for i in range(300):
        asyncio.run(one(i))
    gc.collect()
    assert len(os.listdir("/proc/self/fd")) <= fds_before + 2, "an eventfd per loop was left open"
    assert len(verikit.aio._by_loop) <= 2
    e.close()


def test_a_call_awaited_without_a_loop_says_so() -> None:
    """Driven by hand where no asyncio loop runs, a call made there is refused with a clear
    error (it used to recurse until RecursionError)."""
    e = verikit.aio.Engine(abuse_controls=False)
    coro = e.inspect("login", "x")  # no loop: starts when awaited
    with pytest.raises(RuntimeError, match="running asyncio event loop"):
        coro.send(None)
    e.close()


def test_operations_are_coroutine_functions_for_frameworks() -> None:
    """Frameworks that ask whether a handler is a coroutine function get yes (each operation
    returns a coroutine object, a Call)."""
    import inspect

    for name in ("issue_otp", "verify_otp", "consume_token", "inspect", "revoke_all", "verify_totp"):
        method = getattr(verikit.aio.Engine, name)
        assert asyncio.iscoroutinefunction(method) or inspect.iscoroutinefunction(method), name


def test_an_error_message_that_is_not_utf8_still_settles_the_call(redis_server) -> None:
    """A store error whose message is not UTF-8 (a hostile or broken server's reply, strerror in
    another locale) is a verikit.Error with U+FFFD in its message, synchronously and
    asynchronously: it used to leave an asyncio call pending forever (UnicodeDecodeError while
    settling) and raise UnicodeDecodeError from a synchronous call."""
    import socket

    poisoned = threading.Event()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    upstream_port = int(redis_server.url.rsplit(":", 1)[1])

    def relay(client: socket.socket) -> None:  # request-reply in lockstep; scripts answered badly once poisoned
        with client, socket.create_connection(("127.0.0.1", upstream_port)) as upstream:
            while data := client.recv(65536):
                if poisoned.is_set() and (b"FCALL" in data.upper() or b"EVALSHA" in data.upper()):
                    client.sendall(b"-ERR bad \xff\xfe reply\r\n")
                    continue
                upstream.sendall(data)
                client.sendall(upstream.recv(65536))

    def accept() -> None:
        while True:
            try:
                c, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=relay, args=(c,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    url = f"redis://127.0.0.1:{listener.getsockname()[1]}?pool_size=1"
    key = bytes(range(32))
    sync = verikit.Engine(url, key=key, key_prefix="utf8")
    aio = verikit.aio.Engine(url, key=key, key_prefix="utf8")
    try:
        poisoned.set()
        with pytest.raises(verikit.Error) as raised:
            sync.inspect("login", "x")
        assert "\ufffd" in str(raised.value)

        async def main() -> None:
            with pytest.raises(verikit.Error) as got:
                await asyncio.wait_for(aio.inspect("login", "x"), 10)
            assert "\ufffd" in str(got.value)

        asyncio.run(main())
    finally:
        sync.close()
        aio.close()
        listener.close()


def test_open_creates_the_engine_off_the_loop(redis_server) -> None:
    """Engine.open: an engine like the constructor's, on each store; while it waits for a server
    that accepts and never answers, the loop turns (counted before the opening settled: none if
    it had held the loop); errors are the constructor's; a cancelled opening closes its engine."""
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    silent_url = f"redis://127.0.0.1:{silent.getsockname()[1]}?connect_timeout_ms=300&command_timeout_ms=300"

    async def main() -> None:
        for url in ("memory://", redis_server.url):
            e = await verikit.aio.Engine.open(url, key=bytes(32), key_prefix="open", abuse_controls=False)
            assert isinstance(e, verikit.aio.Engine)
            code = await e.issue_otp("login", "opened@example.com")
            assert (await e.verify_otp("login", "opened@example.com", code.secret)).status is verikit.Status.VERIFIED
            await e.aclose()

        turns = 0
        settled = False

        async def turn() -> None:
            nonlocal turns
            while not settled:
                turns += 1
                await asyncio.sleep(0)

        ticker = asyncio.ensure_future(turn())
        with pytest.raises((verikit.StoreUnavailable, verikit.Timeout)):
            try:
                await verikit.aio.Engine.open(silent_url, key=bytes(32))
            finally:
                settled = True
        await ticker
        assert turns > 1, "the event loop did not turn while the engine was being opened"

        for store, options in (("bogus://x", {}), ("memory://", {"policy": {"max_attempts": 0}}),
                               ("memory://", {"key": b"short"})):
            with pytest.raises(verikit.Error) as by_constructor:
                verikit.aio.Engine(store, **options)  # type: ignore[arg-type]
            with pytest.raises(type(by_constructor.value)):
                await verikit.aio.Engine.open(store, **options)

        # Cancelled while opening on Redis: the engine made meanwhile is freed, not left running.
        baseline = _verikit_threads()
        task = asyncio.ensure_future(verikit.aio.Engine.open(redis_server.url, key=bytes(32), key_prefix="open"))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(1000):
            if _verikit_threads() == baseline:
                break
            await asyncio.sleep(0.01)
        assert _verikit_threads() == baseline, "the engine of a cancelled opening is still running"

    try:
        asyncio.run(main())
    finally:
        silent.close()


def _verikit_threads() -> int:
    """This process's threads named verikit-* (the store's and the engine's own)."""
    n = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                n += f.read().startswith("verikit-")
        except OSError:
            pass  # (ended meanwhile)
    return n
