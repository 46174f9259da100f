"""verikit: statuses and exceptions (plain Python, shared by the native module and the facade)."""

from __future__ import annotations

from enum import IntEnum

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
