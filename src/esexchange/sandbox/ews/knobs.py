"""Realism knobs: the slowness and failures of a real Exchange, on purpose and repeatably.

`Knobs` says what to inject; `KnobsMiddleware` wraps the sandbox's ASGI app and injects it
into the requests whose path starts with one of `Knobs.paths` (EWS by default):

- ``latency_ms``: every request waits this long before it is served.
- ``server_busy_rate``: share of requests answered, as Exchange's throttling does, with
  the SOAP fault ``ErrorServerBusy`` (HTTP 500) whose ``MessageXml`` carries
  ``<t:Value Name="BackOffMilliseconds">``; exchangelib's FaultTolerance sleeps that long.
- ``http_500_rate`` / ``http_503_rate``: share answered with IIS's "Server Error in '/EWS'
  Application" page / HTTP.sys's "Service Unavailable" page.
- ``drop_rate``: share whose connection is closed without any answer.
- ``max_concurrent_per_account``: like EWSMaxConcurrency, a caller (the Basic account or
  the app of a bearer token) with this many requests in flight gets the SOAP fault
  ``ErrorExceededConnectionCount`` for one more.

One seeded random draw per request decides among busy, 500, 503 and drop, so a run with
the same seed and the same request order injects the same failures. `KnobCounters` counts
what was injected.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import random
from collections import Counter
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from typing import Any

import jwt
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from esexchange.sandbox.ews import soap
from esexchange.sandbox.ews.errors import EwsError

SERVER_BUSY_MESSAGE = "The server cannot service this request right now. Try again later."
CONNECTION_COUNT_MESSAGE = (
    "You have exceeded the available concurrent connections for your account.  Try again "
    "once your other requests have completed."
)
_SERVER_ERROR_PAGE = (
    b"<html><head><title>Runtime Error</title></head><body><h1>Server Error in '/EWS' "
    b"Application.<hr width=100% size=1 color=silver></h1><h2><i>Runtime Error</i></h2>"
    b"</body></html>"
)
_UNAVAILABLE_PAGE = (
    b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">'
    b'\r\n<HTML><HEAD><TITLE>Service Unavailable</TITLE>\r\n<META HTTP-EQUIV="Content-Type" '
    b'Content="text/html; charset=us-ascii"></HEAD>\r\n<BODY><h2>Service Unavailable</h2>\r\n'
    b"<hr><p>HTTP Error 503. The service is unavailable.</p>\r\n</BODY></HTML>\r\n"
)


@dataclass(frozen=True)
class Knobs:
    """What to inject; all off by default. Rates are shares of requests, 0 to 1."""

    latency_ms: int = 0
    server_busy_rate: float = 0.0
    back_off_ms: int = 1000
    http_500_rate: float = 0.0
    http_503_rate: float = 0.0
    drop_rate: float = 0.0
    max_concurrent_per_account: int | None = None
    seed: int = 0
    paths: tuple[str, ...] = ("/ews/",)

    def __post_init__(self) -> None:
        rates = ("server_busy_rate", "http_500_rate", "http_503_rate", "drop_rate")
        for name in rates:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"knob {name} must be between 0 and 1, not {getattr(self, name)}")
        if sum(getattr(self, name) for name in rates) > 1.0:
            raise ValueError(f"knobs {', '.join(rates)} must add up to at most 1")
        for name in ("latency_ms", "back_off_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"knob {name} must not be negative, not {getattr(self, name)}")
        if self.max_concurrent_per_account is not None and self.max_concurrent_per_account < 1:
            raise ValueError("knob max_concurrent_per_account must be at least 1")

    @classmethod
    def from_string(cls, text: str) -> Knobs:
        """Knobs from ``name=value`` pairs separated by commas (for a CLI option or env var).

        Example: ``latency_ms=20,server_busy_rate=0.05,back_off_ms=2000,seed=3``.
        """
        numeric = [f.name for f in dataclass_fields(cls) if f.name != "paths"]
        values: dict[str, Any] = {}
        for pair in filter(None, (p.strip() for p in text.split(","))):
            name, equals, raw = (part.strip() for part in pair.partition("="))
            if name not in numeric or not equals:
                known = ", ".join(numeric)
                raise ValueError(f"unknown knob {pair!r} (knobs are name=value with: {known})")
            try:
                values[name] = float(raw) if name.endswith("_rate") else int(raw)
            except ValueError:
                raise ValueError(f"knob {name} needs a number, not {raw!r}") from None
        return cls(**values)

    @property
    def active(self) -> bool:
        """Whether any knob is turned (seed, paths and back-off alone inject nothing)."""
        return self != Knobs(seed=self.seed, paths=self.paths, back_off_ms=self.back_off_ms)


@dataclass
class KnobCounters:
    """How many requests the knobs saw and what they did to them."""

    requests: int = 0
    delayed: int = 0
    server_busy: int = 0
    http_500: int = 0
    http_503: int = 0
    dropped: int = 0
    connection_limit: int = 0


class KnobsMiddleware:
    """ASGI middleware that applies `Knobs` to the matching requests of `app`.

    Make it the outermost layer: a dropped connection is a value returned to the server,
    and a middleware around this one would swallow it (and answer 500 instead).
    """

    def __init__(self, app: ASGIApp, knobs: Knobs) -> None:
        self.app = app
        self.knobs = knobs
        self.counters = KnobCounters()
        self._in_flight: Counter[str] = Counter()

    @property
    def knobs(self) -> Knobs:
        """The knobs in force; set new ones to turn them while serving."""
        return self._knobs

    @knobs.setter
    def knobs(self, knobs: Knobs) -> None:
        # New knobs draw from their own seed again, so a test that turns them mid-run
        # still sees a repeatable sequence.
        self._knobs = knobs
        self._random = random.Random(knobs.seed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> object:
        if scope["type"] != "http" or not self._applies(scope["path"]):
            await self.app(scope, receive, send)
            return None
        knobs, counters = self.knobs, self.counters
        counters.requests += 1
        draw = self._random.random()  # drawn on arrival, so the order of requests decides
        caller = _caller(scope)  # None for unauthenticated probes: Exchange budgets no one
        limit = knobs.max_concurrent_per_account
        if caller and limit is not None and self._in_flight[caller] >= limit:
            counters.connection_limit += 1
            error = EwsError("ErrorExceededConnectionCount", CONNECTION_COUNT_MESSAGE)
            await _fault(send, error)
            return None
        if caller:
            self._in_flight[caller] += 1
        try:
            if knobs.latency_ms:
                counters.delayed += 1
                await asyncio.sleep(knobs.latency_ms / 1000)
            threshold = knobs.server_busy_rate
            if draw < threshold:
                counters.server_busy += 1
                error = EwsError(
                    "ErrorServerBusy", SERVER_BUSY_MESSAGE, back_off_ms=knobs.back_off_ms
                )
                await _fault(send, error)
                return None
            threshold += knobs.http_500_rate
            if draw < threshold:
                counters.http_500 += 1
                await _plain(send, 500, _SERVER_ERROR_PAGE)
                return None
            threshold += knobs.http_503_rate
            if draw < threshold:
                counters.http_503 += 1
                await _plain(send, 503, _UNAVAILABLE_PAGE)
                return None
            threshold += knobs.drop_rate
            if draw < threshold:
                counters.dropped += 1
                # An ASGI app cannot abort a connection; uvicorn (which serves the sandbox)
                # closes it without answering when the app returns a value instead of None.
                return _DROP
            await self.app(scope, receive, send)
            return None
        finally:
            if caller:
                self._in_flight[caller] -= 1

    def _applies(self, path: str) -> bool:
        return any(path.lower().startswith(prefix.lower()) for prefix in self.knobs.paths)


_DROP = "drop the connection"


def _caller(scope: Scope) -> str | None:
    """Who the request claims to be (Basic user or bearer app), for the concurrency budget.

    Authentication proper happens later in the app; a request with forged credentials
    spends a budget that is never served anyway.
    """
    authorization = next(
        (v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), ""
    )
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "basic":
        try:
            user = base64.b64decode(credentials.strip()).decode("utf-8").partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            return None
        return f"account:{user.casefold()}"
    if scheme.lower() == "bearer":
        try:
            claims = jwt.decode(credentials.strip(), options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
        return f"app:{str(claims.get('appid', '')).casefold()}"
    return None


async def _fault(send: Send, error: EwsError) -> None:
    await _plain(send, 500, soap.to_bytes(soap.fault(error)), b"text/xml; charset=utf-8")


async def _plain(
    send: Send, status: int, body: bytes, content_type: bytes = b"text/html; charset=us-ascii"
) -> None:
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body})
