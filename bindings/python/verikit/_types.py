"""verikit: statuses and exceptions, made from the core's schema (the C API's verikit_status_info
and verikit_error_kind), so a status or an error kind is defined once, in the core. Their static
types are in _types.pyi (checked against the schema by the tests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Dict, Optional, Type

from . import _verikit


class _Status(IntEnum):
    # VERIFIED is 0: as an int it would be false and every failure true, so `if result.status:`
    # would read a wrong code as success (found by a review). A status has no truth value.
    def __bool__(self) -> bool:
        raise TypeError(
            "a verikit Status has no truth value (VERIFIED is 0): test the Result itself "
            "(`if result:`, true only when verified or issued), or compare: `result.status is Status.VERIFIED`")


# The outcome of an operation; values are those of the C API's verikit_status.
Status = _Status("Status", [(name.upper(), value) for value, name, _ok, _doc in _verikit.statuses()])  # type: ignore[misc]
Status.__doc__ = "The outcome of an operation: values are those of the C API's verikit_status."


class Error(Exception):
    """A fault (not an outcome): bad arguments or configuration, an unreachable store, ..."""

    def __init__(self, message: str, code: int = -10) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _error_classes() -> Dict[int, Type[Error]]:
    """One class per error kind that has one, extending its parent's (the schema lists parents
    first); input errors are also ValueErrors, as Python code expects."""
    by_code: Dict[int, Type[Error]] = {}
    for code, name, class_name, parent, doc in _verikit.error_kinds():
        if not class_name:
            continue
        bases: tuple = (by_code[parent] if parent else Error,)
        if name in ("invalid_argument", "config"):
            bases += (ValueError,)
        by_code[code] = type(class_name, bases, {"__doc__": f"{doc[0].upper()}{doc[1:]} (code {code}).",
                                                 "__module__": "verikit"})
    return by_code


_ERRORS = _error_classes()
_BY_NAME = {cls.__name__: cls for cls in _ERRORS.values()}
# The names of 0.1, kept: the same classes.
_ALIASES = {"InvalidArgument": "InvalidArgumentError", "StoreUnavailable": "StoreUnavailableError",
            "Timeout": "TimeoutError", "Unsupported": "UnsupportedError"}
globals().update(_BY_NAME)
globals().update({old: _BY_NAME[new] for old, new in _ALIASES.items()})
__all__ = ["Status", "Error", "Event", "error", *_BY_NAME, *_ALIASES]


def error(code: int, message: str) -> Error:
    """The exception for a C API error code and its message (verikit.Error for codes without a
    class of their own: no memory, version, internal)."""
    return _ERRORS.get(code, Error)(message, code)


@dataclass(frozen=True)
class Event:
    """A lifecycle event (README: "Events"), handed to an engine's on_event callback on the
    engine's event thread. It never holds a code, a token or a link; the identifier itself only
    with events_include_identifier=True (else None): identifier_tag names it instead (32 hex
    digits of a keyed hash, stable for one identifier across purposes and processes)."""

    name: str                          # "<credential>.<kind>": "otp.verified", "link.issued", "all.revoked"
    credential: str                    # "otp", "token", "link", "all" (revoke_all), "second_factors",
                                       # "recovery_code", "totp"
    kind: str                          # "issued", "verified", "invalid", "not_found", "attempts_exhausted",
                                       # "locked", "rate_limited", "cooldown", "revoked", "unlocked"
    status: Optional[Status]           # the operation's outcome; None for revocations and unlock
    purpose: str                       # "" when unknown (a token that named nothing live, a token revoke)
    identifier_tag: str                # "" when unknown
    identifier: Optional[str]          # only with events_include_identifier=True
    client_tag: str                    # "" when the call gave no client key
    attempts_used: Optional[int]       # OTPs: wrong guesses the code has taken
    attempts_remaining: Optional[int]  # OTPs: wrong guesses it still survives
    retry_after: float                 # seconds (rate_limited, cooldown, locked); else 0.0
    count: Optional[int]               # revoked: how many credentials
    at: datetime                       # when the outcome was known (UTC)
