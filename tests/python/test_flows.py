"""Every flow through the installed package, on the embedded store and on Redis."""

from __future__ import annotations

import datetime
import threading

import pytest

import verikit


def test_otp_issue_verify_once(make_engine) -> None:
    e = make_engine()
    r = e.issue_otp("login", "alice@example.com", payload=b"\x00bin")
    assert r and r.status is verikit.Status.ISSUED
    assert len(r.secret) == 6 and r.secret.isdigit()
    assert r.attempts_remaining == 5
    assert isinstance(r.expires_at, datetime.datetime) and r.expires_at.tzinfo is not None
    wrong = e.verify_otp("login", "alice@example.com", "000000" if r.secret != "000000" else "111111")
    assert not wrong and wrong.status is verikit.Status.INVALID and wrong.attempts_remaining == 4
    ok = e.verify_otp("login", "alice@example.com", r.secret)
    assert ok and ok.ok and ok.status == verikit.Status.VERIFIED
    assert ok.payload == b"\x00bin" and ok.identifier == "alice@example.com" and ok.purpose == "login"
    assert ok.replicas_confirmed is None, "no durability asked (wait_replicas)"
    assert e.verify_otp("login", "alice@example.com", r.secret).status is verikit.Status.NOT_FOUND
    assert "secret" not in repr(ok) and r.secret not in repr(r)


def test_bytes_and_str_identifiers_are_the_same(make_engine) -> None:
    e = make_engine()
    r = e.issue_otp("login", b"bob@example.com")
    assert e.verify_otp("login", "bob@example.com", r.secret)


def test_tokens_and_links(make_engine) -> None:
    e = make_engine(policies={"reset": {"revoke_all_on_use": True}}, abuse_controls=False)
    t = e.issue_token("confirm", "carol", payload=b"{}")
    assert e.peek_token(t.secret, "confirm").status is verikit.Status.VALID
    v = e.consume_token(t.secret, "confirm")
    assert v and v.identifier == "carol" and v.payload == b"{}"
    assert not e.consume_token(t.secret, "confirm")
    assert e.consume_token("garbage", "confirm").status is verikit.Status.NOT_FOUND
    l1 = e.issue_link("reset", "carol", "https://e.com/reset?lang=de")
    assert l1.url == f"https://e.com/reset?lang=de&token={l1.secret}"
    l2 = e.issue_link("reset", "carol", "https://e.com/reset", ttl=60)
    assert e.peek_link(l1.secret, "reset")
    assert e.consume_link(l2.secret, "reset")
    assert not e.consume_link(l1.secret, "reset"), "using one reset link revokes the others"
    t2 = e.issue_token("confirm", "carol")
    assert e.revoke_token(t2.secret) is True and e.revoke_token(t2.secret) is False


def test_revoke_inspect_unlock_and_counters(make_engine) -> None:
    e = make_engine(policy={"failure_limit": (1, 3600, 2), "resend_cooldown": 0})
    code = e.issue_otp("login", "dan")
    e.issue_token("login", "dan")
    seen = e.inspect("login", "dan")
    assert seen.status is verikit.Status.VALID and seen.active_tokens == 1 and seen.attempts_remaining == 5
    assert seen.counters is not None and seen.counters["sends_available"] == 3
    bad = "000000" if code.secret != "000000" else "111111"
    e.verify_otp("login", "dan", bad)
    locked = e.verify_otp("login", "dan", bad)
    assert locked.status is verikit.Status.LOCKED and locked.retry_after > 800
    assert e.inspect("login", "dan").counters["locked_until"] is not None  # type: ignore[index]
    assert e.unlock("login", "dan") is True
    assert e.verify_otp("login", "dan", code.secret)
    assert e.revoke_all("login", "dan") == 1
    assert e.revoke_otp("login", "dan") is False


def test_abuse_controls_refuse_with_retry_after(make_engine) -> None:
    e = make_engine()
    assert e.issue_otp("login", "eve")
    again = e.issue_otp("login", "eve")
    assert not again and again.status is verikit.Status.COOLDOWN
    assert 25 < again.retry_after <= 30 and again.secret == ""


def test_threads_share_one_engine(make_engine) -> None:
    e = make_engine(abuse_controls=False)
    ok: list[bool] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        for i in range(100):
            ident = f"t{n}-{i}"
            r = e.issue_otp("login", ident)
            v = bool(e.verify_otp("login", ident, r.secret))
            with lock:
                ok.append(v)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ok) == 800 and all(ok)


def test_one_code_many_threads_one_success(make_engine) -> None:
    e = make_engine()
    code = e.issue_otp("login", "race").secret
    barrier = threading.Barrier(32)
    wins: list[bool] = []

    def guess() -> None:
        barrier.wait()
        wins.append(bool(e.verify_otp("login", "race", code)))

    threads = [threading.Thread(target=guess) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 1


def test_engines_with_one_key_share_redis(redis_server) -> None:
    key = verikit.generate_key()
    with verikit.Engine(redis_server.url, key=key, key_prefix="shared") as a, \
            verikit.Engine(redis_server.url, key=key, key_prefix="shared") as b:
        r = a.issue_otp("login", "gil")
        assert b.verify_otp("login", "gil", r.secret)


def test_closed_engine_raises(make_engine) -> None:
    e = make_engine()
    e.close()
    with pytest.raises(verikit.Error, match="closed"):
        e.issue_otp("login", "x")


def test_spellings_budget_rotation_and_reuse(make_engine, store: str) -> None:
    def other(code: str) -> str:
        return "111111" if code != "111111" else "222222"

    old, new = verikit.generate_key(), verikit.generate_key()
    with pytest.raises(verikit.ConfigError, match="index key"):
        make_engine(key=new, key_id=2, previous_keys=[(1, old)])
    policy = {"resend_cooldown": 0, "failure_limit": (1, 3600, 3)}
    before = make_engine(key=old, key_id=1, key_prefix="py-rotation", policy=policy)
    code = before.issue_otp("login", "Rita@Example.com ")
    assert code.identifier == "rita@example.com"
    assert before.verify_otp("login", "rita@example.com", other(code.secret)).status is verikit.Status.INVALID
    counters = before.inspect("login", " RITA@example.com").counters
    assert counters is not None and counters["failures"] == 1 and counters["guesses_available"] == 2
    with pytest.raises(verikit.InvalidArgument, match="6 digits"):
        before.verify_otp("login", "rita@example.com", "12345")
    after = make_engine(key=new, key_id=2, previous_keys=[(1, old)], index_key=old, key_prefix="py-rotation",
                        policy=policy)
    if store.startswith("redis"):  # two engines share one store: the rotation resets and splits nothing
        seen = after.inspect("login", "rita@example.com")
        assert seen.counters is not None and seen.counters["failures"] == 1 and seen.attempts_remaining == 4
        assert after.verify_otp("login", "rita@example.com", code.secret)
    resend = make_engine(policy={"reissue": "resend_same", "resend_cooldown": 0})
    first = resend.issue_otp("verify-email", "sam", payload=b"new@sam.example")
    same = resend.issue_otp("verify-email", "sam", payload=b"new@sam.example")
    moved = resend.issue_otp("verify-email", "sam", payload=b"other@evil.example")
    assert not first.reused and same.reused and same.secret == first.secret and not moved.reused


def test_metrics_count_operations_in_the_prometheus_format(make_engine) -> None:
    e = make_engine(abuse_controls=False)
    code = e.issue_otp("login", "met@example.com")
    e.verify_otp("login", "met@example.com", "111111" if code.secret != "111111" else "222222")
    assert e.verify_otp("login", "met@example.com", code.secret)
    with pytest.raises(verikit.InvalidArgument):
        e.verify_otp("login", "", code.secret)
    text = e.metrics()
    for line in ['verikit_operations_total{op="otp_issue",outcome="issued"} 1',
                 'verikit_operations_total{op="otp_verify",outcome="invalid"} 1',
                 'verikit_operations_total{op="otp_verify",outcome="verified"} 1',
                 'verikit_errors_total{op="otp_verify",error="invalid_argument"} 1',
                 'verikit_operation_seconds_count{op="otp_verify"} 3',
                 '# TYPE verikit_operations_total counter']:
        assert line + "\n" in text, line
