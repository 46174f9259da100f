"""Bad arguments and configurations raise clear exceptions and change nothing."""

from __future__ import annotations

import pytest

import verikit


def test_wrong_types_raise_type_error(make_engine) -> None:
    e = make_engine()
    with pytest.raises(TypeError, match="identifier must be str or bytes"):
        e.issue_otp("login", 42)
    with pytest.raises(TypeError, match="purpose must be str"):
        e.issue_otp(b"login", "a")
    with pytest.raises(TypeError, match="code must be str"):
        e.verify_otp("login", "a", 123456)
    with pytest.raises(TypeError, match="ttl must be an int"):
        e.issue_otp("login", "a", ttl="60")


def test_invalid_arguments(make_engine) -> None:
    e = make_engine(abuse_controls=False)
    r = e.issue_otp("login", "hal")
    cases = [
        lambda: e.issue_otp("login", ""),
        lambda: e.issue_otp("", "hal"),
        lambda: e.issue_otp("log in", "hal"),
        lambda: e.issue_otp("login", "x" * 513),
        lambda: e.issue_otp("login", "hal", payload=b"p" * 8193),
        lambda: e.issue_otp("login", "hal", client_key="c" * 257),
        lambda: e.verify_otp("login", "hal", ""),
        lambda: e.consume_token("", "login"),
        lambda: e.issue_link("login", "hal", "ftp://example.com"),
        lambda: e.issue_link("login", "hal", "not a url"),
        # out of range whatever the width: no cast error, no wrap-around
        lambda: e.issue_otp("login", "hal", ttl=2**63),
        lambda: e.issue_otp("login", "hal", ttl=2**31),
        lambda: e.issue_otp("login", "hal", ttl=0),
        lambda: e.issue_otp("login", "hal", ttl=-1),
        lambda: e.issue_otp("login", "hal", ttl=-2**70),
        # text with no UTF-8 form (lone surrogates), or that C would cut short (a NUL)
        lambda: e.issue_otp("login", "hal\ud800"),
        lambda: e.issue_otp("log\udfffin", "hal"),
        lambda: e.verify_otp("login", "hal", "12\ud80034"),
        lambda: e.issue_link("login", "hal", "https://example.com/\ud800"),
        lambda: e.consume_token("tok\ud800", "login"),
        lambda: e.issue_otp("login", "hal", client_key="c\ud800"),
        lambda: e.issue_otp("log\0in", "hal"),
        lambda: e.consume_token("x", "log\0in"),
    ]
    for case in cases:
        with pytest.raises(verikit.InvalidArgument) as info:
            case()
        assert info.value.code == -1 and str(info.value)
        assert isinstance(info.value, ValueError)
    assert e.inspect("login", "hal").attempts_remaining == 5, "bad input costs no attempt"
    assert e.verify_otp("login", "hal", r.secret)


def test_bad_configuration() -> None:
    with pytest.raises(verikit.ConfigError, match="otp_length"):
        verikit.Engine(policy={"otp_length": 3})
    with pytest.raises(verikit.InvalidArgument, match="unknown policy field"):
        verikit.Engine(policy={"otp_lenght": 6})
    # Values go to the core's schema as they are: no cast errors, no wrap-around.
    with pytest.raises(verikit.ConfigError, match="max_attempts"):
        verikit.Engine(policy={"max_attempts": 2**40})
    with pytest.raises(verikit.ConfigError, match="ttl"):
        verikit.Engine(policy={"ttl": 2**63})
    with pytest.raises(verikit.InvalidArgument, match="whole number"):
        verikit.Engine(policy={"max_attempts": "1.5"})
    with pytest.raises(verikit.InvalidArgument, match="resend_same"):
        verikit.Engine(policy={"reissue": "sometimes"})
    with pytest.raises(verikit.ConfigError, match="failure_limit"):
        verikit.Engine(policy={"failure_limit": (1, 0, 1)})
    with pytest.raises(TypeError, match="failure_limit"):
        verikit.Engine(policy={"failure_limit": (1, 3600, 1.5)})
    with pytest.raises(TypeError, match="max_attempts"):
        verikit.Engine(policy={"max_attempts": 2.5})
    with pytest.raises(verikit.InvalidArgument, match="alphabet.*lone surrogate"):
        verikit.Engine(policy={"alphabet": "0123\ud8004567"})
    with pytest.raises(ValueError, match="32 bytes"):
        verikit.Engine(key=b"short")
    with pytest.raises(verikit.ConfigError, match="key"):
        verikit.Engine("redis://127.0.0.1:6379")  # a shared store needs a key
    for url in ["redis://host:notaport", "redis://h?pool_size=0", "postgres://x", "rediss://h?tls_ca"]:
        with pytest.raises(verikit.ConfigError):
            verikit.Engine(url, key=bytes(32))


def test_unreachable_redis_is_store_unavailable() -> None:
    from conftest import free_port

    with pytest.raises(verikit.StoreUnavailable, match="refused"):
        verikit.Engine(f"redis://127.0.0.1:{free_port()}", key=bytes(32))


def test_redis_going_away_fails_closed(redis_server) -> None:
    import conftest

    server = conftest.RedisServer()
    e = verikit.Engine(server.url + "?command_timeout_ms=500", key=bytes(32))
    code = e.issue_otp("login", "ivy")
    server.stop()
    with pytest.raises(verikit.StoreUnavailable):
        e.verify_otp("login", "ivy", code.secret)
    e.close()


def test_key_ids_are_one_byte_never_wrapped() -> None:
    for key_id in (256, 257, -1, 2**70):
        with pytest.raises(verikit.InvalidArgument, match="key_id"):
            verikit.Engine(key=bytes(32), key_id=key_id)
    with pytest.raises(TypeError, match="key_id"):
        verikit.Engine(key=bytes(32), key_id=1.5)  # type: ignore[arg-type]
    with pytest.raises(verikit.InvalidArgument, match="key_id"):
        verikit.Engine(key=bytes(32), previous_keys=[(300, bytes(32))], index_key=bytes(32))
    verikit.Engine(key=bytes(32), key_id=255).close()
