"""Static types of verikit._types (built at run time from the core's schema; the tests check that
this file names every status and error class the schema has)."""

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Dict, Optional, Type

class Status(IntEnum):
    """The outcome of an operation: values are those of the C API's verikit_status. It has no
    truth value (bool() raises TypeError: VERIFIED is 0); test the Result, or compare."""

    VERIFIED = 0
    VALID = 1
    ISSUED = 2
    INVALID = 3
    NOT_FOUND = 4
    ATTEMPTS_EXHAUSTED = 5
    LOCKED = 6
    RATE_LIMITED = 7
    COOLDOWN = 8

@dataclass(frozen=True)
class Event:
    """A lifecycle event (README: "Events"): never a code, token or link."""

    name: str
    credential: str
    kind: str
    status: Optional[Status]
    purpose: str
    identifier_tag: str
    identifier: Optional[str]
    client_tag: str
    attempts_used: Optional[int]
    attempts_remaining: Optional[int]
    retry_after: float
    count: Optional[int]
    at: datetime

class Error(Exception):
    """A fault (not an outcome): bad arguments or configuration, an unreachable store, ..."""

    message: str
    code: int
    def __init__(self, message: str, code: int = -10) -> None: ...

class InvalidArgumentError(Error, ValueError):
    """An argument is empty, too long, out of range or malformed (code -1)."""

class ConfigError(Error, ValueError):
    """The configuration or a policy is invalid (code -2)."""

class StoreUnavailableError(Error):
    """The store cannot be reached or refused the operation; the request was not sent (code -3)."""

class StoreProtocolError(Error):
    """The store answered something unexpected (code -4)."""

class TimeoutError(StoreUnavailableError):
    """The request was sent and no reply came in time: it may have taken effect (code -5)."""

class UnsupportedError(Error):
    """Not available in this build or on this store (code -7)."""

class CryptoError(Error):
    """A stored record failed authentication, or no configured key opens it (code -9)."""

InvalidArgument = InvalidArgumentError
StoreUnavailable = StoreUnavailableError
Timeout = TimeoutError
Unsupported = UnsupportedError

__all__ = [
    "Status", "Error", "Event", "error", "InvalidArgumentError", "ConfigError", "StoreUnavailableError", "StoreProtocolError",
    "TimeoutError", "UnsupportedError", "CryptoError", "InvalidArgument", "StoreUnavailable", "Timeout", "Unsupported",
]
_ERRORS: Dict[int, Type[Error]]

def error(code: int, message: str) -> Error: ...
