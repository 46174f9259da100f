"""verikit: one-time codes, tokens and magic links with expiry, attempt limits and abuse
controls, on an embedded store or Redis.

    import verikit
    engine = verikit.Engine()                       # embedded store; or store="redis://..."
    r = engine.issue_otp("login", "alice@example.com")
    send_sms(r.secret)
    if engine.verify_otp("login", "alice@example.com", typed_code):
        ...

Outcomes are Result objects, truthy only when verified, valid or issued (str() of a result
is its status, never its secret: use result.secret); faults raise verikit.Error subclasses.
Checking a token or link names its purpose (ANY_PURPOSE is the explicit opt-in for any).
Blocking calls release the GIL; verikit.aio has the asyncio API. Lifecycle events:
Engine(on_event=callback) (a verikit.Event per issue, verification, refusal, revocation), and
Engine(on_event=verikit.log_events()) for the logging module.
"""

from __future__ import annotations

import atexit
import weakref
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Tuple, Union

from . import _types
from ._events import guard as _guard_event_callback
from ._events import log_events
from ._types import *  # noqa: F401,F403 (Status, Event, Error and a class per error kind, from the core's schema)
from ._verikit import VERSION as __version__
from ._verikit import NativeEngine, Result, generate_key
from ._verikit import config_options as _config_options

__all__ = ["ANY_PURPOSE", "Engine", "Result", "log_events", "generate_key", "__version__", *_types.__all__]

Bytes = Union[str, bytes]

ANY_PURPOSE = "*"
"""The purpose argument that accepts a token or link of any purpose. Checking a token or link
always names a purpose; this is the explicit opt-in to skip that check."""
PolicyFields = Mapping[str, Any]

# The core's engine options (key_prefix, abuse_controls, link_origins, ...): Engine takes each as
# a typed keyword and passes them to the core by name.
_OPTION_NAMES = tuple(name for name, *_ in _config_options())

_live: "weakref.WeakSet[_EngineBase]" = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    # Engines with store threads are closed before the interpreter goes away.
    for engine in list(_live):
        engine.close()


class _EngineBase:
    """Configuration shared by the sync and asyncio engines."""

    def __init__(
        self,
        store: str = "memory://",
        *,
        key: Optional[bytes] = None,
        key_id: Optional[int] = None,
        previous_keys: Iterable[Tuple[int, bytes]] = (),
        policy: Optional[PolicyFields] = None,
        policies: Optional[Mapping[str, PolicyFields]] = None,
        key_prefix: Optional[str] = None,
        key_check: Optional[str] = None,
        abuse_controls: bool = True,
        index_key: Optional[bytes] = None,
        on_event: Optional[Callable[[Event], None]] = None,
        event_queue_capacity: Optional[int] = None,
        events_include_identifier: bool = False,
        link_origins: Iterable[str] = (),
        link_allow_http: bool = False,
    ) -> None:
        """Create an engine.

        store: "memory://" (default), "file:///path/to/dir" (one machine's processes),
            "redis://[user:password@]host:port/db", "rediss://...", "unix:///path?db=N"; URL
            query options as in the README (timeouts, TLS files, ...).
        key: 32 secret bytes, the same in every process sharing a store (required for file://
            and Redis);
            key_id: its id, 0-255 (default 1); previous_keys: (key_id, key) pairs that still
            verify after a rotation.
        key_prefix: the prefix of every Redis key (default "vk").
        key_check: "create" (default): a shared store's key-check record must name this key's
            index key (another key, or a rotation without index_key, is a ConfigError at start),
            and an absent one is made; "require": an absent one is refused too; "off".
        index_key: 32 secret bytes that name records in the store; they do not rotate, so abuse
            state and an identifier's credentials stay one whichever key made them. Required
            with previous_keys (use the bytes of the first key you ran with).
        policy / policies: field overrides for the default policy and per purpose (see README:
            ttl, max_attempts, otp_length, alphabet, reissue, ..., send_limit=(count, period,
            burst) or False, ...). Fields left out keep the core's defaults.
        abuse_controls: False turns every abuse control off (for tests and trusted callers;
            authenticator and recovery codes keep the default failure budget).
        on_event: called with a verikit.Event for every issue, verification, refusal,
            revocation and unlock (README: "Events"), on the engine's own event thread (never
            the caller's; it holds the GIL only for the call). What it raises is logged on the
            "verikit" logger. verikit.log_events() logs them.
        event_queue_capacity: events leave operations through a bounded queue of this many
            (default 4096, at most 1048576): a full queue drops them (event_counts()).
        events_include_identifier: put the identifier itself in events (default: only its
            keyed tag).
        link_origins: the origins magic links may point to ("https://host[:port]"): a base URL
            of any other origin is refused (invalid_argument). Empty: any https origin.
        link_allow_http: allow http:// base URLs and origins (development on localhost).

        Every keyword but the store, key material, policies and on_event is one of the core's
        engine options (README: "Engine options"), passed to it by name: a bool must be a
        bool, a number an int (out of range: ConfigError).
        """
        # The engine options go to the core by name, as one dict: each keyword above whose name
        # the core's schema lists (config_options(); a test holds the two equal).
        given = locals()
        self._native = NativeEngine.open(
            store,
            key,
            key_id,
            [tuple(p) for p in previous_keys],
            dict(policy or {}),
            {k: dict(v) for k, v in (policies or {}).items()},
            {name: given[name] for name in _OPTION_NAMES if name in given},
            index_key,
            None if on_event is None else _guard_event_callback(on_event),
        )
        _live.add(self)

    def close(self) -> None:
        """Release the engine and its store connections (also done at exit)."""
        native = getattr(self, "_native", None)
        if native is not None:
            native.close()

    def metrics(self) -> str:
        """This engine's counters in the Prometheus text exposition format (operations by kind
        and outcome, errors by code, latency histograms): serve it on your /metrics."""
        return str(self._native.metrics())

    def event_counts(self) -> Tuple[int, int]:
        """(delivered, dropped): events handed to on_event, and dropped (queue full, or
        completed while the engine was closing). Also in metrics()."""
        delivered, dropped = self._native.event_counts()
        return int(delivered), int(dropped)

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Engine(_EngineBase):
    """The synchronous API. Thread-safe; calls release the GIL while the engine works."""

    # --- one-time codes ---
    def issue_otp(
        self, purpose: str, identifier: Bytes, *, payload: Optional[bytes] = None,
        ttl: Optional[int] = None, client_key: Optional[Bytes] = None,
        binding: Optional[Bytes] = None,
    ) -> Result:
        return self._native.issue_otp(purpose, identifier, payload, ttl, client_key, binding)

    def verify_otp(self, purpose: str, identifier: Bytes, code: str, *, client_key: Optional[Bytes] = None,
                   binding: Optional[Bytes] = None) -> Result:
        """binding: the flow's binding value (a bound code from another flow is a wrong guess)."""
        return self._native.verify_otp(purpose, identifier, code, client_key, binding)

    def revoke_otp(self, purpose: str, identifier: Bytes) -> bool:
        return self._native.revoke_otp(purpose, identifier)

    # --- tokens ---
    def issue_token(
        self, purpose: str, identifier: Bytes, *, payload: Optional[bytes] = None,
        ttl: Optional[int] = None, client_key: Optional[Bytes] = None,
        binding: Optional[Bytes] = None,
    ) -> Result:
        return self._native.issue_token(purpose, identifier, payload, ttl, client_key, binding)

    def peek_token(self, token: str, purpose: str) -> Result:
        """Check a token without using it. purpose: the token's purpose, or ANY_PURPOSE."""
        return self._native.check_token(token, purpose, False, False, None)

    def consume_token(self, token: str, purpose: str, *, binding: Optional[Bytes] = None) -> Result:
        """Check and use a token in one atomic step. purpose: the token's purpose, or ANY_PURPOSE.
        binding: the flow's binding value (as for consume_link)."""
        return self._native.check_token(token, purpose, False, True, binding)

    def revoke_token(self, token: str) -> bool:
        return self._native.revoke_token(token, False)

    # --- magic links ---
    def issue_link(
        self, purpose: str, identifier: Bytes, base_url: str, *, payload: Optional[bytes] = None,
        ttl: Optional[int] = None, client_key: Optional[Bytes] = None,
        binding: Optional[Bytes] = None,
    ) -> Result:
        return self._native.issue_link(purpose, identifier, base_url, payload, ttl, client_key, binding)

    def peek_link(self, token: str, purpose: str) -> Result:
        """Check a link's token without using it (a confirmation page). purpose: required, or ANY_PURPOSE.
        Peeking ignores bindings: it answers whoever holds the link (the cross-device fallback)."""
        return self._native.check_token(token, purpose, True, False, None)

    def consume_link(self, token: str, purpose: str, *, binding: Optional[Bytes] = None) -> Result:
        """Check and use a link's token in one atomic step. purpose: required, or ANY_PURPOSE.
        binding: the flow's binding value; a link issued with a binding is used only with the same
        value (another one: not_found, counted in the identifier's failure budget)."""
        return self._native.check_token(token, purpose, True, True, binding)

    def revoke_link(self, token: str) -> bool:
        return self._native.revoke_token(token, True)

    # --- per identifier ---
    def revoke_all(self, purpose: str, identifier: Bytes) -> int:
        return self._native.revoke_all(purpose, identifier)

    def inspect(self, purpose: str, identifier: Bytes) -> Result:
        return self._native.inspect(purpose, identifier)

    def unlock(self, purpose: str, identifier: Bytes) -> bool:
        return self._native.unlock(purpose, identifier)

    # --- recovery codes ---
    def generate_recovery_codes(self, purpose: str, identifier: Bytes) -> Result:
        """A new set of single-use recovery codes (result.codes: show them once), replacing any
        earlier set."""
        return self._native.generate_recovery_codes(purpose, identifier)

    def use_recovery_code(self, purpose: str, identifier: Bytes, code: str, *,
                          client_key: Optional[Bytes] = None) -> Result:
        """verified (the code is spent), invalid (counted in the identifier's failure budget,
        shared with OTPs), locked, or not_found (no set)."""
        return self._native.use_recovery_code(purpose, identifier, code, client_key)

    def recovery_codes_remaining(self, purpose: str, identifier: Bytes) -> int:
        return int(self._native.recovery_codes_remaining(purpose, identifier))

    # --- authenticator codes (TOTP) ---
    def enroll_totp(self, purpose: str, identifier: Bytes, issuer: str) -> Result:
        """A new authenticator secret (result.secret: base32; result.url: the otpauth:// URI to
        show as a QR code once), replacing any earlier enrollment."""
        return self._native.enroll_totp(purpose, identifier, issuer)

    def verify_totp(self, purpose: str, identifier: Bytes, code: str, *, client_key: Optional[Bytes] = None) -> Result:
        """verified (once: a code is never accepted twice), invalid (wrong or replayed: counted
        in the identifier's failure budget, shared with OTPs), locked, or not_found (not enrolled)."""
        return self._native.verify_totp(purpose, identifier, code, client_key)

    def begin_totp_enrollment(self, purpose: str, identifier: Bytes, issuer: str) -> Result:
        """The first step of a two-step enrollment: a new authenticator secret (result.secret:
        base32; result.url: the otpauth:// URI to show as a QR code) and nothing stored: the
        enrollment in place keeps working. Keep result.pending (opaque text, the secret sealed in
        it) server-side, in the user's session, until confirm_totp_enrollment; result.expires_at:
        when it lapses (the policy's totp_confirm_ttl)."""
        return self._native.begin_totp_enrollment(purpose, identifier, issuer)

    def confirm_totp_enrollment(self, purpose: str, identifier: Bytes, pending: str, code: str, *,
                                client_key: Optional[Bytes] = None) -> Result:
        """The second step, with the first code the app shows: verified (the new secret replaced
        the enrollment current at begin; that code is used), invalid (a wrong code: counted in the
        identifier's failure budget), locked, or not_found (expired, confirmed already, the
        enrollment changed since it began, or not a pending enrollment for this identifier)."""
        return self._native.confirm_totp_enrollment(purpose, identifier, pending, code, client_key)

    def revoke_second_factors(self, purpose: str, identifier: Bytes) -> int:
        """Removes the authenticator enrollment and the recovery codes of (purpose, identifier);
        how many: 1 for an enrollment, plus each recovery code left. revoke_all never touches them;
        the failure budgets stay (unlock refills them)."""
        return int(self._native.revoke_second_factors(purpose, identifier))
