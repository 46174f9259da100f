"""Authenticator codes (TOTP) through the Python binding, on both stores: codes computed here with
the standard library (hmac, hashlib, base64), as an authenticator app would."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import struct
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import verikit
import verikit.aio

POLICY: Any = {"send_limit": False, "resend_cooldown": 0, "client_issue_limit": False, "client_failure_limit": False,
               "client_pair_failure_limit": False, "failure_limit": (3, 86400, 3)}


def totp(secret_b32: str, offset: int = 0) -> str:
    secret = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(secret, struct.pack(">Q", int(time.time()) // 30 + offset), hashlib.sha1).digest()
    o = mac[-1] & 15
    return f"{(struct.unpack('>I', mac[o:o + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def test_enroll_verify_replay(make_engine: Any) -> None:
    e = make_engine(policy=POLICY)
    assert e.verify_totp("mfa", "ann", "123456").status is verikit.Status.NOT_FOUND
    enrolled = e.enroll_totp("mfa", "ann", "Acme")
    assert enrolled.status is verikit.Status.ISSUED
    uri = urlsplit(enrolled.url)
    assert uri.scheme == "otpauth" and uri.netloc == "totp" and uri.path == "/Acme:ann"
    assert parse_qs(uri.query) == {"secret": [enrolled.secret], "issuer": ["Acme"], "algorithm": ["SHA1"],
                                   "digits": ["6"], "period": ["30"]}
    code = totp(enrolled.secret)
    assert e.verify_totp("mfa", "ann", code)
    assert e.verify_totp("mfa", "ann", code).status is verikit.Status.INVALID, "a replay"
    with pytest.raises(verikit.InvalidArgumentError):
        e.verify_totp("mfa", "ann", "12345")


def test_asyncio_concurrent_uses_one_succeeds(store: str) -> None:
    async def main() -> None:
        async with verikit.aio.Engine(store, key=bytes(32), key_prefix="pytotp", policy=POLICY) as e:
            enrolled = await e.enroll_totp("mfa", "bea", "Acme")
            code = totp(enrolled.secret)
            both = await asyncio.gather(*(e.verify_totp("mfa", "bea", code) for _ in range(2)))
            assert sorted(r.status for r in both) == [verikit.Status.VERIFIED, verikit.Status.INVALID]

    asyncio.run(main())


def test_revoke_second_factors_takes_them_and_nothing_else(make_engine: Any) -> None:
    e = make_engine(policy={**POLICY, "revoke_all_on_use": True})
    assert e.revoke_second_factors("mfa", "cy") == 0, "nothing enrolled"
    enrolled = e.enroll_totp("mfa", "cy", "Acme")
    codes = e.generate_recovery_codes("mfa", "cy").codes
    assert e.use_recovery_code("mfa", "cy", codes[0])
    link = e.issue_link("mfa", "cy", "https://app.example/reset")
    assert e.consume_link(link.secret, "mfa"), "revoke_all_on_use: revokes the identifier's credentials..."
    assert e.revoke_all("mfa", "cy") == 0
    assert e.recovery_codes_remaining("mfa", "cy") == len(codes) - 1, "... never its second factors"
    pending = e.issue_otp("mfa", "cy")
    assert e.revoke_second_factors("mfa", "CY") == 1 + len(codes) - 1
    assert e.verify_totp("mfa", "cy", totp(enrolled.secret)).status is verikit.Status.NOT_FOUND
    assert e.use_recovery_code("mfa", "cy", codes[1]).status is verikit.Status.NOT_FOUND
    assert e.recovery_codes_remaining("mfa", "cy") == 0
    assert e.revoke_second_factors("mfa", "cy") == 0
    assert e.verify_otp("mfa", "cy", pending.secret), "the pending OTP stays"
    with pytest.raises(verikit.InvalidArgumentError):
        e.revoke_second_factors("mfa", "")
    with pytest.raises(TypeError):
        e.revoke_second_factors("mfa", 42)


def test_asyncio_revoke_second_factors(store: str) -> None:
    async def main() -> None:
        async with verikit.aio.Engine(store, key=bytes(32), key_prefix="pytotp2", policy=POLICY) as e:
            await e.enroll_totp("mfa", "dot", "Acme")
            codes = (await e.generate_recovery_codes("mfa", "dot")).codes
            n = await e.revoke_second_factors("mfa", "dot")
            assert n == 1 + len(codes)
            assert await e.revoke_second_factors("mfa", "dot") == 0
            assert (await e.use_recovery_code("mfa", "dot", codes[0])).status is verikit.Status.NOT_FOUND
            with pytest.raises(verikit.InvalidArgumentError):
                await e.revoke_second_factors("no such purpose!", "dot")

    asyncio.run(main())


def test_two_step_enrollment(make_engine: Any) -> None:
    e = make_engine(policy=POLICY)
    old = e.enroll_totp("mfa", "dee", "Acme")
    begun = e.begin_totp_enrollment("mfa", "dee", "Acme")
    assert begun.status is verikit.Status.ISSUED
    assert isinstance(begun.pending, str) and begun.pending and begun.secret not in begun.pending
    assert begun.expires_at is not None and 590 < begun.expires_at.timestamp() - time.time() < 610
    assert old.pending == "", "only begin hands out a pending enrollment"
    assert begun.secret not in repr(begun) and begun.pending not in repr(begun)
    assert e.verify_totp("mfa", "dee", totp(old.secret)), "begin changed nothing"
    assert e.confirm_totp_enrollment("mfa", "eve", begun.pending, totp(begun.secret)).status is \
        verikit.Status.NOT_FOUND, "another identifier's"
    with pytest.raises(verikit.InvalidArgumentError):
        e.confirm_totp_enrollment("mfa", "dee", begun.pending, "12345")
    confirmed = e.confirm_totp_enrollment("mfa", "dee", begun.pending, totp(begun.secret))
    assert confirmed.status is verikit.Status.VERIFIED and confirmed
    assert e.confirm_totp_enrollment("mfa", "dee", begun.pending, totp(begun.secret, 1)).status is \
        verikit.Status.NOT_FOUND, "confirmed once"
    assert e.verify_totp("mfa", "dee", totp(begun.secret, 1))


def test_asyncio_two_step_enrollment(store: str) -> None:
    async def main() -> None:
        async with verikit.aio.Engine(store, key=bytes(32), key_prefix="pytotp", policy=POLICY) as e:
            begun = await e.begin_totp_enrollment("mfa", "fay", "Acme")
            wrong = "000000" if totp(begun.secret) != "000000" else "111111"
            first = await e.confirm_totp_enrollment("mfa", "fay", begun.pending, wrong)
            assert first.status is verikit.Status.INVALID and not first
            both = await asyncio.gather(*(e.confirm_totp_enrollment("mfa", "fay", begun.pending, totp(begun.secret))
                                          for _ in range(2)))
            assert sorted(r.status for r in both) == [verikit.Status.VERIFIED, verikit.Status.NOT_FOUND]
            assert (await e.inspect("mfa", "fay")).counters["failures"] == 1

    asyncio.run(main())
