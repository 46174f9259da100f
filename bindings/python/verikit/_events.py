"""verikit: lifecycle events in Python. The engine calls on_event on its own event thread with
a verikit.Event; what the callback raises is logged (logger "verikit") and never reaches the
engine. log_events() is a ready-made callback for the standard logging module."""

from __future__ import annotations

import logging
from typing import Callable, Optional

from ._types import Event

__all__ = ["log_events", "guard"]

EventCallback = Callable[[Event], None]

_log = logging.getLogger("verikit")

# Refusals and failures worth an operator's attention; the rest is routine.
_WARNING_KINDS = frozenset({"invalid", "attempts_exhausted", "locked", "rate_limited"})


def guard(callback: EventCallback) -> EventCallback:
    """`callback`, with whatever it raises logged on the "verikit" logger instead of raised."""
    if not callable(callback):
        raise TypeError(f"on_event must be callable, not {type(callback).__name__}")

    def guarded(event: Event) -> None:
        try:
            callback(event)
        except Exception:  # a callback's bug must not reach the engine's thread
            _log.exception("verikit: the on_event callback raised on %s", event.name)

    return guarded


def log_events(logger: Optional[logging.Logger] = None, level: int = logging.INFO,
               warning_level: int = logging.WARNING) -> EventCallback:
    """An on_event callback that writes each event to `logger` (default: logging.getLogger(
    "verikit")): wrong guesses, exhausted codes, lockouts and rate limits at `warning_level`,
    the rest at `level`. The message names the event, purpose and tags (never the identifier
    unless the engine was asked to include it); the Event itself is in the record's `event`
    attribute (extra={"event": ...}) for structured handlers.

        engine = verikit.Engine(on_event=verikit.log_events())
    """
    out = logger if logger is not None else _log

    def log(event: Event) -> None:
        lvl = warning_level if event.kind in _WARNING_KINDS else level
        if not out.isEnabledFor(lvl):
            return
        parts = [f"purpose={event.purpose}" if event.purpose else "", f"identifier_tag={event.identifier_tag}"
                 if event.identifier_tag else "", f"identifier={event.identifier}" if event.identifier is not None else "",
                 f"client_tag={event.client_tag}" if event.client_tag else "",
                 f"attempts_remaining={event.attempts_remaining}" if event.attempts_remaining is not None else "",
                 f"retry_after={event.retry_after:g}" if event.retry_after else "",
                 f"count={event.count}" if event.count is not None else ""]
        out.log(lvl, "verikit %s %s", event.name, " ".join(p for p in parts if p), extra={"event": event})

    return log
