"""Engine options come from the core's schema (issue 23): verikit.Engine takes every option the
core lists as a typed keyword (and no other), passes each to the core by name, and converts
strictly (a bool is not an int, an int is not a bool, a str is not a list)."""

from __future__ import annotations

import inspect
from typing import Any, Dict

import pytest

import verikit
import verikit.aio
import verikit._verikit as native

OPTIONS = native.config_options()
# The keywords that are not engine options: the store, key material, policies, the event handler.
TYPED = {"store", "key", "key_id", "previous_keys", "policy", "policies", "index_key", "on_event"}
ANNOTATION = {"boolean": "bool", "integer": "Optional[int]", "text": "Optional[str]", "list": "Iterable[str]"}


def test_the_engine_takes_every_option_of_the_core_as_a_typed_keyword() -> None:
    assert len(OPTIONS) >= 6, "the schema is read"
    for cls in (verikit.Engine, verikit.aio.Engine):
        params = inspect.signature(cls.__init__).parameters
        keywords = {n: p for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
        declared = {n: p.annotation for n, p in keywords.items() if n not in TYPED}
        assert declared == {name: ANNOTATION[kind] for name, kind, _, _, _ in OPTIONS}, cls
        for name, *_ in OPTIONS:
            assert f"{name}:" in (cls.__init__.__doc__ or ""), f"{name} is documented in Engine.__init__"


def out_of_range(kind: str, lo: int, hi: int) -> Any:
    """A value of the option's type that the core refuses with its range error."""
    return {"boolean": None, "integer": hi + 1, "text": "x" * (hi + 1), "list": ["https://a.example"] * (hi + 1)}[kind]


# Text options whose values are words, not any text of their length.
VALID = {"key_check": "require"}


def in_range(kind: str, lo: int, hi: int) -> Any:
    return {"boolean": True, "integer": lo, "text": "x" * lo, "list": []}[kind]


@pytest.mark.parametrize("name,kind,lo,hi,doc", OPTIONS)
def test_every_option_reaches_the_core(name: str, kind: str, lo: int, hi: int, doc: str) -> None:
    assert doc
    kwargs: Dict[str, Any] = {name: VALID.get(name, in_range(kind, lo, hi))}
    verikit.Engine(**kwargs).close()
    bad = out_of_range(kind, lo, hi)
    if bad is not None:
        with pytest.raises(verikit.ConfigError, match=name):
            verikit.Engine(**{name: bad})


def test_option_values_are_converted_strictly() -> None:
    for kwargs in ({"abuse_controls": 1}, {"link_allow_http": "yes"}, {"events_include_identifier": 0},
                   {"event_queue_capacity": True}, {"event_queue_capacity": 2.0}, {"event_queue_capacity": "8"},
                   {"key_prefix": b"app"}, {"link_origins": "https://a.example"}, {"link_origins": [b"https://a.example"]}):
        with pytest.raises(TypeError, match=next(iter(kwargs))):
            verikit.Engine(**kwargs)
    with pytest.raises(verikit.ConfigError, match="event_queue_capacity must be 1 to 1048576"):
        verikit.Engine(event_queue_capacity=2**70)
    with pytest.raises(verikit.ConfigError, match="event_queue_capacity must be 1 to 1048576"):
        verikit.Engine(event_queue_capacity=-1)
    with pytest.raises(verikit.ConfigError, match="key_prefix must be printable ASCII"):
        verikit.Engine(key_prefix="a b")
    with pytest.raises(verikit.InvalidArgumentError, match="link_origins"):
        verikit.Engine(link_origins=["https://a.example,https://b.example"])


def test_options_take_effect() -> None:
    origins = (o for o in ["https://a.example"])  # any iterable of str
    with verikit.Engine(abuse_controls=False, link_origins=origins) as e:
        for _ in range(3):  # no cooldown
            assert e.issue_otp("login", "opt@example.com").status == verikit.Status.ISSUED
        assert e.issue_link("login", "opt@example.com", "https://a.example/v")
        with pytest.raises(verikit.InvalidArgumentError):
            e.issue_link("login", "opt@example.com", "https://b.example/v")
    with verikit.Engine() as e:  # the defaults: abuse controls on
        assert e.issue_otp("login", "opt@example.com").status == verikit.Status.ISSUED
        assert e.issue_otp("login", "opt@example.com").status == verikit.Status.COOLDOWN


def test_key_check_values() -> None:
    for mode in ("create", "require", "off"):
        verikit.Engine(key_check=mode).close()  # memory://: nothing to check, any mode starts
    with pytest.raises(verikit.ConfigError, match="key_check must be create, require or off"):
        verikit.Engine(key_check="never")


def test_key_check_refuses_another_key_on_a_shared_store(tmp_path: Any) -> None:
    store = f"file://{tmp_path}/kc"
    with pytest.raises(verikit.ConfigError, match="no key-check record"):
        verikit.Engine(store, key=bytes(32), key_check="require")
    with verikit.Engine(store, key=bytes(32)) as first:
        code = first.issue_otp("login", "kc@example.com")
        with pytest.raises(verikit.ConfigError, match="written with another key"):
            verikit.Engine(store, key=bytes([1] * 32))
        verikit.Engine(store, key=bytes(32), key_check="require").close()
        with verikit.Engine(store, key=bytes([1] * 32), key_id=2, previous_keys=[(1, bytes(32))],
                            index_key=bytes(32)) as rotated:
            assert rotated.verify_otp("login", "kc@example.com", code.secret), "a rotation with its index key starts"
