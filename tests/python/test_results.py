"""Issue 16: no method may be misread as success. A Result is truthy exactly when verified,
valid or issued; str()/format() of a result never shows its secret; the names borrowed from
redis-otp-manager (whose generate returns the code and whose verify returns True or raises)
are gone; token and link checks require a purpose."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import inspect
import struct
import time
from typing import Any, Callable, Dict

import pytest

import verikit
import verikit.aio

BORROWED = ["generate", "verify", "generate_token", "verify_token", "generate_link"]
SUCCESS = {verikit.Status.VERIFIED, verikit.Status.VALID, verikit.Status.ISSUED}

# Every public method of both engines. A method added to an engine fails the test below until it
# is listed here (and, if it checks a secret, covered by the wrong-secret test).
CHECKS = ["verify_otp", "peek_token", "consume_token", "peek_link", "consume_link", "use_recovery_code", "verify_totp",
          "confirm_totp_enrollment"]
METHODS = set(CHECKS) | {"issue_otp", "issue_token", "issue_link", "revoke_otp", "revoke_token", "revoke_link",
                         "revoke_all", "inspect", "unlock", "close", "metrics", "event_counts",
                         "generate_recovery_codes", "use_recovery_code", "recovery_codes_remaining",
                         "enroll_totp", "begin_totp_enrollment", "revoke_second_factors"}


def totp(secret_b32: str) -> str:
    """The current RFC 6238 code of a base32 secret (6 digits, 30 s), as an authenticator app makes it."""
    secret = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(secret, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    o = mac[-1] & 15
    return f"{(struct.unpack('>I', mac[o:o + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def other_than(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def tampered(token: str) -> str:
    """The same token with one character of its secret part changed: well-formed, never issued."""
    i = len(token) - 5
    return token[:i] + ("B" if token[i] == "A" else "A") + token[i + 1:]


@pytest.mark.parametrize("cls", [verikit.Engine, verikit.aio.Engine], ids=["sync", "aio"])
def test_the_borrowed_names_are_gone(cls: type) -> None:
    engine = cls(abuse_controls=False)
    try:
        for name in BORROWED:
            assert not hasattr(cls, name), name
            assert not hasattr(engine, name), name
        public = {n for n, _ in inspect.getmembers(cls, callable) if not n.startswith("_")}
        assert public == (METHODS | {"aclose", "open"} if cls is verikit.aio.Engine else METHODS)
    finally:
        engine.close()


def test_truth_value_over_every_status(make_engine) -> None:
    e = make_engine(policies={
        "once": {"max_attempts": 1},
        "lock": {"failure_limit": (1, 3600, 1)},
        "limit": {"resend_cooldown": 0, "send_limit": (1, 3600, 1)},
    })
    seen: Dict[verikit.Status, verikit.Result] = {}

    def record(r: verikit.Result) -> verikit.Result:
        seen[r.status] = r
        return r

    code = record(e.issue_otp("login", "bea"))
    record(e.verify_otp("login", "bea", other_than(code.secret)))
    record(e.issue_otp("login", "bea"))
    record(e.verify_otp("login", "bea", code.secret))
    record(e.verify_otp("login", "bea", code.secret))
    once = e.issue_otp("once", "bea")
    record(e.verify_otp("once", "bea", other_than(once.secret)))
    lock = e.issue_otp("lock", "bea")
    e.verify_otp("lock", "bea", other_than(lock.secret))
    record(e.verify_otp("lock", "bea", lock.secret))
    e.issue_otp("limit", "bea")
    record(e.issue_otp("limit", "bea"))
    token = e.issue_token("confirm", "cat")
    record(e.peek_token(token.secret, "confirm"))

    assert set(seen) == set(verikit.Status), "every status was reached"
    for status, r in seen.items():
        assert bool(r) is (status in SUCCESS), status
        assert r.ok is (status in SUCCESS), status
        if status not in SUCCESS:
            assert r.secret == "", f"{status.name} carries no secret"
        # VERIFIED is 0: as an int `if r.status:` would read every failure as success.
        with pytest.raises(TypeError, match="no truth value"):
            bool(r.status)
        assert r.status == status.value and r.status is verikit.Status(status.value), "still an int"


def test_a_call_not_awaited_has_no_truth_value(make_engine) -> None:
    """`if engine.verify_otp(...):` without await would test the call (a future: true whatever
    the code); refused with a TypeError naming the fix."""
    e = make_engine(verikit.aio.Engine)

    async def main() -> None:
        code = await e.issue_otp("login", "ida")
        call = e.verify_otp("login", "ida", other_than(code.secret))
        with pytest.raises(TypeError, match="await it first"):
            bool(call)
        assert not await call, "awaited, it answers as usual"

    asyncio.run(main())


def test_a_wrong_secret_is_falsy_for_every_check(make_engine) -> None:
    e = make_engine(abuse_controls=False)
    code = e.issue_otp("login", "ann@example.com")
    token = e.issue_token("confirm", "ann@example.com")
    link = e.issue_link("reset", "ann@example.com", "https://e.com/reset")
    recovery = e.generate_recovery_codes("mfa", "ann@example.com").codes
    enrolled = e.enroll_totp("mfa", "ann@example.com", "Acme")
    begun = e.begin_totp_enrollment("mfa", "bo@example.com", "Acme")
    wrong_recovery = "AAAAA-AAAAA" if "AAAAA-AAAAA" not in recovery else "BBBBB-BBBBB"
    calls: Dict[str, Callable[[], verikit.Result]] = {
        "verify_otp, wrong code": lambda: e.verify_otp("login", "ann@example.com", other_than(code.secret)),
        "verify_otp, no code issued": lambda: e.verify_otp("login", "nobody@example.com", "123456"),
        "peek_token, tampered token": lambda: e.peek_token(tampered(token.secret), "confirm"),
        "peek_token, wrong purpose": lambda: e.peek_token(token.secret, "reset"),
        "consume_token, tampered token": lambda: e.consume_token(tampered(token.secret), "confirm"),
        "consume_token, unknown token": lambda: e.consume_token("garbage", "confirm"),
        "consume_token, wrong purpose": lambda: e.consume_token(token.secret, "reset"),
        "peek_link, tampered token": lambda: e.peek_link(tampered(link.secret), "reset"),
        "consume_link, tampered token": lambda: e.consume_link(tampered(link.secret), "reset"),
        "consume_link, wrong purpose": lambda: e.consume_link(link.secret, "confirm"),
        "use_recovery_code, wrong code": lambda: e.use_recovery_code("mfa", "ann@example.com", wrong_recovery),
        "use_recovery_code, no set": lambda: e.use_recovery_code("mfa", "nobody@example.com", recovery[0]),
        "verify_totp, wrong code": lambda: e.verify_totp("mfa", "ann@example.com", other_than(totp(enrolled.secret))),
        "verify_totp, not enrolled": lambda: e.verify_totp("mfa", "nobody@example.com", totp(enrolled.secret)),
        "confirm_totp_enrollment, wrong code": lambda: e.confirm_totp_enrollment(
            "mfa", "bo@example.com", begun.pending, other_than(totp(begun.secret))),
        "confirm_totp_enrollment, another's pending": lambda: e.confirm_totp_enrollment(
            "mfa", "ann@example.com", begun.pending, totp(begun.secret)),
    }
    covered = set()
    for what, call in calls.items():
        covered.add(what.split(",")[0])
        r = call()
        assert not r, what
        assert r.ok is False and r.status not in SUCCESS, (what, r.status)
        assert r.secret == "", what
        if not what.startswith(("verify_otp", "use_recovery_code", "verify_totp", "confirm_totp_enrollment")):
            assert r.identifier == "", f"{what}: reveals no identifier"
    assert covered == set(CHECKS), "every checking method is covered"
    # redis-otp-manager's verifyToken(email, token) argument order, applied to consume_token: the
    # token, read as a purpose, is longer than a purpose may be.
    with pytest.raises(verikit.InvalidArgument, match="purpose"):
        e.consume_token("ann@example.com", token.secret)
    # None of those calls used or spent the credentials.
    assert e.verify_otp("login", "ann@example.com", code.secret).status is verikit.Status.VERIFIED
    assert e.consume_token(token.secret, "confirm").status is verikit.Status.VERIFIED
    assert e.consume_link(link.secret, "reset").status is verikit.Status.VERIFIED
    assert e.use_recovery_code("mfa", "ann@example.com", recovery[0]).status is verikit.Status.VERIFIED
    assert e.verify_totp("mfa", "ann@example.com", totp(enrolled.secret)).status is verikit.Status.VERIFIED
    assert e.confirm_totp_enrollment("mfa", "bo@example.com", begun.pending, totp(begun.secret)).status is \
        verikit.Status.VERIFIED


def test_str_and_format_of_a_result_never_show_the_secret(make_engine) -> None:
    e = make_engine(abuse_controls=False)
    issued = [
        e.issue_otp("login", "gia"),
        e.issue_token("confirm", "gia"),
        e.issue_link("reset", "gia", "https://e.com/reset"),
    ]
    for r in issued:
        assert r.secret  # the secret is there, under its own name
        texts = [str(r), format(r), f"{r}", "%s" % r, "{}".format(r), repr(r)]
        assert texts == ["<verikit.Result issued>"] * len(texts)
        assert all(r.secret not in t for t in texts)
        with pytest.raises(TypeError):
            format(r, "06")  # no format spec silently renders a result as if it were a code
    verified = e.verify_otp("login", "gia", issued[0].secret)
    assert str(verified) == "<verikit.Result verified>"


def test_token_and_link_checks_require_a_purpose(make_engine) -> None:
    assert verikit.ANY_PURPOSE == "*" and "ANY_PURPOSE" in verikit.__all__
    e = make_engine(abuse_controls=False)
    token = e.issue_token("confirm", "dee")
    link = e.issue_link("reset", "dee", "https://e.com/reset")
    checks: Dict[str, Any] = {"peek_token": token, "consume_token": token, "peek_link": link, "consume_link": link}
    for name, issued in checks.items():
        method = getattr(e, name)
        assert list(inspect.signature(method).parameters)[:2] == ["token", "purpose"], name
        assert inspect.signature(method).parameters["purpose"].default is inspect.Parameter.empty, name
        with pytest.raises(TypeError, match="purpose"):
            method(issued.secret)
        with pytest.raises(TypeError, match="purpose must be str .*ANY_PURPOSE.*NoneType"):
            method(issued.secret, None)
        with pytest.raises(TypeError, match="purpose must be str"):
            method(issued.secret, b"confirm")
        with pytest.raises(verikit.InvalidArgument, match="purpose is required"):
            method(issued.secret, "")
    # The explicit opt-in accepts any purpose (a peek, so nothing is used).
    any_purpose = e.peek_token(token.secret, verikit.ANY_PURPOSE)
    assert any_purpose and any_purpose.purpose == "confirm"
    assert e.peek_link(link.secret, verikit.ANY_PURPOSE).purpose == "reset"
    assert e.peek_token(token.secret, "reset").status is verikit.Status.NOT_FOUND
    with pytest.raises(verikit.InvalidArgument):
        e.issue_token(verikit.ANY_PURPOSE, "dee")
    # The refused calls used nothing.
    assert e.consume_token(token.secret, "confirm") and e.consume_link(link.secret, "reset")


def test_asyncio_token_and_link_checks_require_a_purpose(make_engine) -> None:
    e = make_engine(verikit.aio.Engine, abuse_controls=False)

    async def main() -> None:
        token = await e.issue_token("confirm", "eli")
        for name in ["peek_token", "consume_token", "peek_link", "consume_link"]:
            method = getattr(e, name)
            assert inspect.signature(method).parameters["purpose"].default is inspect.Parameter.empty, name
            with pytest.raises(TypeError, match="purpose"):
                await method(token.secret)
            with pytest.raises(TypeError, match="purpose must be str .*ANY_PURPOSE"):
                await method(token.secret, None)
        wrong = await e.consume_token(tampered(token.secret), "confirm")
        assert not wrong and wrong.ok is False
        assert await e.consume_token(token.secret, "confirm")

    asyncio.run(main())
