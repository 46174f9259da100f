"""verikit Python quick start: the OTP, token and magic-link flows, sync and asyncio.

    python examples/python/quickstart.py [store-url]
"""

from __future__ import annotations

import asyncio
import secrets
import sys

import verikit
import verikit.aio


def main(store: str) -> None:
    key = verikit.generate_key()  # in production: one secret key, the same on every server
    # A new key each run, so a key prefix of its own: a shared store's records remember the key
    # they were written with (README "Key check"). An application keeps one key and one prefix.
    prefix = "quickstart-" + secrets.token_hex(4)
    with verikit.Engine(store, key=key, key_prefix=prefix,
                        policies={"reset-password": {"revoke_all_on_use": True}}) as engine:
        # One-time code: issue, a wrong guess, the right code, a replay.
        issued = engine.issue_otp("login", "alice@example.com")
        print(f"code {issued.secret} expires {issued.expires_at:%H:%M:%S} UTC")
        wrong = engine.verify_otp("login", "alice@example.com", "000000" if issued.secret != "000000" else "111111")
        print(f"wrong code -> {wrong.status.name}, {wrong.attempts_remaining} attempts left")
        ok = engine.verify_otp("login", "alice@example.com", issued.secret)
        assert ok, ok.status
        print(f"right code -> {ok.status.name}")
        again = engine.issue_otp("login", "alice@example.com")
        print(f"resend at once -> {again.status.name}, retry in {again.retry_after:.0f} s")

        # Token with a payload, verified by the token alone.
        token = engine.issue_token("confirm-email", "alice@example.com", payload=b"new@example.org")
        checked = engine.consume_token(token.secret, "confirm-email")  # the purpose is required
        assert checked and checked.payload == b"new@example.org"
        print(f"token -> {checked.status.name} for {checked.identifier}, payload {checked.payload!r}")

        # Magic link: peek for a confirmation page, then consume.
        link = engine.issue_link("reset-password", "alice@example.com", "https://app.example.com/reset")
        print(f"link {link.url}")
        assert engine.peek_link(link.secret, "reset-password").status is verikit.Status.VALID
        assert engine.consume_link(link.secret, "reset-password")
        assert not engine.consume_link(link.secret, "reset-password")
        print("link consumed once, refused after")

    asyncio.run(asynchronous(store, key, prefix))
    print("all flows behaved as documented")


async def asynchronous(store: str, key: bytes, prefix: str) -> None:
    engine = verikit.aio.Engine(store, key=key, key_prefix=prefix)
    try:
        users = [f"user{i}@example.com" for i in range(100)]
        codes = await asyncio.gather(*(engine.issue_otp("login", u) for u in users))
        results = await asyncio.gather(*(engine.verify_otp("login", u, c.secret) for u, c in zip(users, codes)))
        assert all(results)
        print(f"asyncio: {len(results)} codes issued and verified concurrently")
    finally:
        engine.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "memory://")
