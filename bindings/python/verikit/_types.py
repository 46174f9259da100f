"""verikit: statuses and exceptions (plain Python, shared by the native module and the facade)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Optional

__all__ = [
    "Status",
    "Error",
    "InvalidArgument",
    "ConfigError",
    "StoreUnavailable",
    "StoreProtocolError",
    "Timeout",
    "Unsupported",
    "CryptoError",
    "Event",
    "error",
]


class Status(IntEnum):
    """The outcome of an operation: values are those of the C API's verikit_status."""

    VERIFIED = 0
    VALID = 1
    ISSUED = 2
    INVALID = 3
    NOT_FOUND = 4
    ATTEMPTS_EXHAUSTED = 5
    LOCKED = 6
    RATE_LIMITED = 7
    COOLDOWN = 8


class Error(Exception):
    """A fault (not an outcome): bad arguments or configuration, an unreachable store, ..."""

    def __init__(self, message: str, code: int = -10) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class InvalidArgument(Error, ValueError):
    """An argument is empty, too long or malformed (code -1)."""


class ConfigError(Error, ValueError):
    """The configuration or a policy is invalid (code -2)."""


class StoreUnavailable(Error):
    """The store cannot be reached or refused the operation (code -3)."""


class StoreProtocolError(Error):
    """The store answered something unexpected (code -4)."""


class Timeout(StoreUnavailable):
    """The store did not answer in time (code -5)."""


class Unsupported(Error):
    """Not available in this build (code -7)."""


class CryptoError(Error):
    """A stored record failed authentication, or no configured key opens it (code -9)."""


# The C API's error codes (verikit.h, pinned forever) -> exception classes: the one table, used
# by the native module (synchronous calls) and verikit.aio (completions) alike. Codes without a
# class of their own (no memory, version, internal) are verikit.Error.
_ERRORS = {
    -1: InvalidArgument,
    -2: ConfigError,
    -3: StoreUnavailable,
    -4: StoreProtocolError,
    -5: Timeout,
    -7: Unsupported,
    -9: CryptoError,
}


def error(code: int, message: str) -> Error:
    """The exception for a C API error code and its message."""
    return _ERRORS.get(code, Error)(message, code)


@dataclass(frozen=True)
class Event:
    """A lifecycle event (README: "Events"), handed to an engine's on_event callback on the
    engine's event thread. It never holds a code, a token or a link; the identifier itself only
    with events_include_identifier=True (else None): identifier_tag names it instead (32 hex
    digits of a keyed hash, stable for one identifier across purposes and processes)."""

    name: str                          # "<credential>.<kind>": "otp.verified", "link.issued", "all.revoked"
    credential: str                    # "otp", "token", "link" or "all" (revoke_all)
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
