"""Lifecycle events in Python (issue 16): on_event receives typed verikit.Event objects on both
stores and from both engines; no code or token in any of them; what the callback raises is
logged, never raised into the engine; verikit.log_events() feeds the logging module; closing
while the callback runs, or from inside it, never deadlocks."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import struct
import logging
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, List

import pytest

import verikit
import verikit.aio


class Recorder:
    """Collects events; wait(n) waits (a condition, up to 20 s) until n have arrived."""

    def __init__(self) -> None:
        self.events: List[verikit.Event] = []
        self.threads: List[int] = []
        self.cv = threading.Condition()

    def __call__(self, event: verikit.Event) -> None:
        with self.cv:
            self.events.append(event)
            self.threads.append(threading.get_ident())
            self.cv.notify_all()

    def wait(self, n: int) -> List[verikit.Event]:
        with self.cv:
            assert self.cv.wait_for(lambda: len(self.events) >= n, timeout=20), [e.name for e in self.events]
            return list(self.events)


def wrong(code: str) -> str:
    return ("1" if code[0] != "1" else "2") + code[1:]


def test_each_kind_with_typed_fields(make_engine: Callable[..., Any]) -> None:
    got = Recorder()
    e = make_engine(on_event=got, policy={"max_attempts": 2, "resend_cooldown": 0})
    issued = e.issue_otp("login", " Ann@Example.com")
    assert not e.verify_otp("login", "ann@example.com", wrong(issued.secret), client_key="203.0.113.9")
    assert e.verify_otp("login", "ann@example.com", issued.secret)
    token = e.issue_token("confirm", "ann@example.com")
    assert e.peek_token(token.secret, "confirm")  # a peek makes no event
    assert e.consume_token(token.secret, verikit.ANY_PURPOSE)
    assert e.revoke_all("login", "ann@example.com") == 0  # nothing live: no event
    events = got.wait(5)
    assert [ev.name for ev in events] == ["otp.issued", "otp.invalid", "otp.verified", "token.issued", "token.verified"]
    assert threading.get_ident() not in got.threads, "the callback runs on the engine's event thread"

    first, invalid, verified, _, consumed = events
    assert isinstance(first, verikit.Event)
    assert (first.credential, first.kind, first.status) == ("otp", "issued", verikit.Status.ISSUED)
    assert first.purpose == "login"
    assert len(first.identifier_tag) == 32 and int(first.identifier_tag, 16) >= 0
    assert first.identifier is None, "the identifier only when asked for"
    assert (first.attempts_used, first.attempts_remaining) == (0, 2)
    assert first.count is None and first.retry_after == 0.0
    assert isinstance(first.at, datetime) and first.at.tzinfo == timezone.utc
    assert abs(first.at.timestamp() - time.time()) < 600
    assert invalid.status == verikit.Status.INVALID
    assert (invalid.attempts_used, invalid.attempts_remaining) == (1, 1)
    assert len(invalid.client_tag) == 32 and first.client_tag == ""
    assert {ev.identifier_tag for ev in events} == {first.identifier_tag}, "one tag per identifier, across purposes"
    assert consumed.purpose == "confirm", "the token's own purpose"
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.kind = "verified"  # type: ignore[misc]

    secrets = [issued.secret, token.secret]
    for ev in events:
        text = repr(ev)
        assert all(s not in text for s in secrets), ev
        assert "ann@" not in text


def test_refusals_revocations_and_unlock(make_engine: Callable[..., Any]) -> None:
    got = Recorder()
    e = make_engine(on_event=got, events_include_identifier=True, policies={
        "cool": {"resend_cooldown": 60},
        "lock": {"resend_cooldown": 0, "max_attempts": 10, "failure_limit": (1, 86400, 2),
                 "client_pair_failure_limit": False},
    })
    e.issue_otp("cool", "Bo")
    refused = e.issue_otp("cool", "bo")
    assert refused.status == verikit.Status.COOLDOWN
    code = e.issue_otp("lock", "bo").secret
    while e.verify_otp("lock", "bo", wrong(code)).status != verikit.Status.LOCKED:
        pass
    assert e.unlock("lock", "bo")
    link = e.issue_link("lock", "bo", "https://app.example/")
    assert e.revoke_link(link.secret)
    e.issue_token("lock", "bo")
    assert e.revoke_all("lock", "bo") == 2  # the OTP and the token
    e.enroll_totp("lock", "bo", "Acme")
    assert e.revoke_second_factors("lock", "bo") == 1
    e.close()  # delivers every queued event
    names = [ev.name for ev in got.events]
    assert names[:3] == ["otp.issued", "otp.cooldown", "otp.issued"]
    cooldown = got.events[1]
    assert 0 < cooldown.retry_after <= 60
    assert cooldown.identifier == "bo", "included when asked for, normalised"
    locked = [ev for ev in got.events if ev.name == "otp.locked"]
    assert len(locked) == 1 and locked[0].retry_after > 0
    tail = names[names.index("otp.locked") + 1:]
    assert tail == ["otp.unlocked", "link.issued", "link.revoked", "token.issued", "all.revoked",
                    "totp.issued", "second_factors.revoked"]
    revoked = got.events[-3]
    assert (revoked.credential, revoked.count, revoked.status) == ("all", 2, None)
    second = got.events[-1]
    assert (second.credential, second.kind, second.count, second.identifier) == ("second_factors", "revoked", 1, "bo")


def _totp(secret_b32: str) -> str:
    """The current RFC 6238 code of a base32 secret, as an authenticator app computes it."""
    secret = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(secret, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    o = mac[-1] & 15
    return f"{(struct.unpack('>I', mac[o:o + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def test_second_factor_events(make_engine: Callable[..., Any]) -> None:
    """Recovery codes and authenticator codes: a new set and an enrollment that took effect are
    `issued` (a confirmed two-step enrollment with status verified); uses and checks carry their
    kind; begin makes none; no event holds a recovery code, a secret or a pending enrollment."""
    got = Recorder()
    e = make_engine(on_event=got, policies={"mfa": {"resend_cooldown": 0, "failure_limit": (1, 86400, 5)}})
    codes = e.generate_recovery_codes("mfa", "cy").codes
    assert e.use_recovery_code("mfa", "cy", codes[0]).status is verikit.Status.VERIFIED
    assert e.use_recovery_code("mfa", "cy", codes[0]).status is verikit.Status.INVALID
    enrolled = e.enroll_totp("mfa", "cy", "Acme")
    code = _totp(enrolled.secret)
    assert e.verify_totp("mfa", "cy", code).status is verikit.Status.VERIFIED
    begun = e.begin_totp_enrollment("mfa", "cy", "Acme")
    assert e.confirm_totp_enrollment("mfa", "cy", begun.pending, _totp(begun.secret)).status is verikit.Status.VERIFIED
    assert e.confirm_totp_enrollment("mfa", "cy", begun.pending, _totp(begun.secret)).status is verikit.Status.NOT_FOUND
    assert e.verify_totp("mfa", "nobody", code).status is verikit.Status.NOT_FOUND
    e.close()
    seen = [(ev.name, ev.credential, ev.kind, ev.status) for ev in got.events]
    S = verikit.Status
    assert seen == [
        ("recovery_code.issued", "recovery_code", "issued", S.ISSUED),
        ("recovery_code.verified", "recovery_code", "verified", S.VERIFIED),
        ("recovery_code.invalid", "recovery_code", "invalid", S.INVALID),
        ("totp.issued", "totp", "issued", S.ISSUED),
        ("totp.verified", "totp", "verified", S.VERIFIED),
        ("totp.issued", "totp", "issued", S.VERIFIED),  # the two-step enrollment, confirmed
        ("totp.not_found", "totp", "not_found", S.NOT_FOUND),
        ("totp.not_found", "totp", "not_found", S.NOT_FOUND),
    ], seen
    assert all(ev.purpose == "mfa" and len(ev.identifier_tag) == 32 for ev in got.events)
    secrets = [*codes, enrolled.secret, begun.secret, begun.pending, code]
    for ev in got.events:
        assert all(secret not in repr(ev) for secret in secrets), ev


def test_a_raising_callback_is_logged_and_the_engine_goes_on(make_engine: Callable[..., Any],
                                                             caplog: pytest.LogCaptureFixture) -> None:
    calls = Recorder()

    def broken(event: verikit.Event) -> None:
        calls(event)
        raise RuntimeError("callback bug")

    e = make_engine(on_event=broken)
    with caplog.at_level(logging.ERROR, logger="verikit"):
        first = e.issue_otp("login", "cy")
        assert e.verify_otp("login", "cy", first.secret)
        calls.wait(2)
        e.close()  # delivers everything queued: the log records are all in
    failures = [r for r in caplog.records if r.name == "verikit" and r.exc_info]
    assert len(failures) == 2
    assert "otp.issued" in failures[0].getMessage()
    assert isinstance(failures[0].exc_info[1], RuntimeError)


def test_log_events_feeds_the_logging_module(make_engine: Callable[..., Any], caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("app.security")
    e = make_engine(on_event=verikit.log_events(logger), policy={"max_attempts": 3})
    with caplog.at_level(logging.INFO, logger="app.security"):
        code = e.issue_otp("login", "dee", client_key="10.0.0.1").secret
        e.verify_otp("login", "dee", wrong(code))
        e.close()
    records = [r for r in caplog.records if r.name == "app.security"]
    assert [r.levelno for r in records] == [logging.INFO, logging.WARNING]
    assert records[0].getMessage().startswith("verikit otp.issued purpose=login identifier_tag=")
    assert "client_tag=" in records[0].getMessage()
    assert "attempts_remaining=2" in records[1].getMessage()
    assert records[1].event.name == "otp.invalid"  # type: ignore[attr-defined]
    assert all(code not in r.getMessage() and "dee" not in r.getMessage() for r in records)


def test_close_while_the_callback_runs_does_not_deadlock(make_engine: Callable[..., Any]) -> None:
    entered, release = threading.Event(), threading.Event()
    got = Recorder()

    def slow(event: verikit.Event) -> None:
        got(event)
        entered.set()
        release.wait(20)  # holds the event thread (not the GIL) until the main thread closes

    e = make_engine(on_event=slow)
    for i in range(5):
        e.issue_token("confirm", f"u{i}")
    assert entered.wait(20)
    threading.Timer(0.2, release.set).start()  # close() must let the callback finish meanwhile
    e.close()
    assert len(got.events) == 5, "close delivers what was queued"
    with pytest.raises(verikit.InvalidArgument, match="closed"):
        e.issue_token("confirm", "late")
    time.sleep(0.05)
    assert len(got.events) == 5, "no call after close"


def test_close_from_inside_the_callback(make_engine: Callable[..., Any]) -> None:
    done = threading.Event()
    seen: List[str] = []
    holder: List[Any] = []

    def closer(event: verikit.Event) -> None:
        seen.append(event.name)
        holder[0].close()
        done.set()

    e = make_engine(on_event=closer)
    holder.append(e)
    e.issue_otp("login", "eve")
    assert done.wait(20)
    with pytest.raises(verikit.InvalidArgument, match="closed"):
        e.issue_otp("login", "eve")
    assert seen == ["otp.issued"]


def test_a_full_queue_drops_and_counts(make_engine: Callable[..., Any]) -> None:
    entered, release = threading.Event(), threading.Event()

    def blocked(event: verikit.Event) -> None:
        entered.set()
        release.wait(20)

    e = make_engine(on_event=blocked, event_queue_capacity=2)
    e.issue_token("confirm", "first")
    assert entered.wait(20)
    for i in range(5):
        e.issue_token("confirm", f"u{i}")  # 2 queue, 3 drop; the calls never wait
    assert e.event_counts() == (0, 3)
    assert "verikit_events_dropped_total 3" in e.metrics()
    release.set()
    e.close()


def test_bad_event_arguments(make_engine: Callable[..., Any]) -> None:
    with pytest.raises(TypeError):
        make_engine(on_event="print")
    with pytest.raises(verikit.ConfigError, match="event_queue_capacity"):
        make_engine(on_event=print, event_queue_capacity=0)
    with pytest.raises(TypeError):
        make_engine(on_event=print, event_queue_capacity="many")
    e = make_engine()
    assert e.event_counts() == (0, 0)
    assert "verikit_events" not in e.metrics()


def test_the_asyncio_engine_emits_too(store: str) -> None:
    got = Recorder()

    async def main() -> None:
        async with verikit.aio.Engine(store, key=bytes(range(32)), key_prefix="pyaioev", on_event=got) as e:
            r = await e.issue_otp("login", "fay")
            assert await e.verify_otp("login", "fay", r.secret)

    asyncio.run(main())
    assert [ev.name for ev in got.wait(2)] == ["otp.issued", "otp.verified"]
