"""How the Graph sandbox reaches a subscriber's endpoint: the validation handshake and
the delivery of change notifications, over HTTPS, as Microsoft documents them.

- Handshake: ``POST {url}?validationToken={token}`` with ``Content-Type: text/plain``;
  the endpoint must answer within 10 seconds with 200, ``text/plain`` and the token
  (URL-decoded) as the body, or the subscription is not made.
- Delivery: ``POST {url}`` with ``{"value": [...]}`` (JSON); notifications queued for
  the same URL go together. Any 2xx within 3 seconds (Graph's limit) is delivered;
  anything else is tried again after 1, 2 and 4 seconds (Graph keeps trying for hours,
  with longer gaps), and a notification that never arrives is reported to the
  subscription's lifecycle URL as ``missed``.

The sandbox trusts the system's CAs and, given ``trust``, a CA file of its own (the one
``sandbox/tls.py`` makes), so a local endpoint with a certificate of that CA passes.
"""

from __future__ import annotations

import heapq
import json
import logging
import secrets
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from esexchange.sandbox.graph.errors import GraphError

log = logging.getLogger(__name__)

HANDSHAKE_SECONDS = 10.0
DELIVERY_SECONDS = 3.0
RETRY_DELAYS = (1.0, 2.0, 4.0)


@dataclass
class DeliveryCounters:
    validations: int = 0
    validations_failed: int = 0
    posts: int = 0  # POSTs that were answered 2xx
    failed_posts: int = 0
    undeliverable: int = 0  # notifications given up after every retry


@dataclass(order=True)
class _Pending:
    due: float
    order: int
    url: str = field(compare=False)
    entries: list[dict[str, Any]] = field(compare=False)
    undeliverable: list[Callable[[], None] | None] = field(compare=False)
    attempt: int = field(default=0, compare=False)


class HttpOutbox:
    """Handshakes and deliveries (one sender thread, started with the first notification)."""

    def __init__(self, trust: str | Path | None = None,
                 retry_delays: tuple[float, ...] = RETRY_DELAYS) -> None:
        context = ssl.create_default_context()
        if trust is not None:
            context.load_verify_locations(cafile=str(trust))
        self.http = httpx.Client(verify=context, timeout=HANDSHAKE_SECONDS)
        self.retry_delays = retry_delays
        self.counters = DeliveryCounters()
        # (url, payload) of the latest deliveries, for tests to look at
        self.received: deque[tuple[str, dict[str, Any]]] = deque(maxlen=1000)
        self._heap: list[_Pending] = []
        self._order = 0
        self._wake = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def validate(self, url: str) -> GraphError | None:
        token = "Validation: Testing client application reachability for subscription " \
            f"Request-Id: {secrets.token_hex(16)}"
        self.counters.validations += 1
        target = f"{url}{'&' if '?' in url else '?'}validationToken={quote(token)}"
        try:
            answer = self.http.post(target, headers={"Content-Type": "text/plain"},
                                    timeout=HANDSHAKE_SECONDS)
        except httpx.TimeoutException:
            self.counters.validations_failed += 1
            return GraphError(400, "InvalidRequest", "Subscription validation request timed out.")
        except httpx.HTTPError as error:
            self.counters.validations_failed += 1
            return GraphError(400, "ValidationError", "Subscription validation request "
                              f"failed. Notification endpoint is not reachable ({error}).")
        if answer.status_code != 200:
            self.counters.validations_failed += 1
            return GraphError(400, "ValidationError", "Subscription validation request "
                              "failed. Notification endpoint must respond with 200 OK to "
                              "validation request.")
        media = answer.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "text/plain" or answer.text != token:
            self.counters.validations_failed += 1
            return GraphError(400, "ValidationError", "Subscription validation request "
                              "failed. Response must exactly match validationToken query "
                              "parameter.")
        return None

    def put(self, url: str, entry: dict[str, Any],
            undeliverable: Callable[[], None] | None = None) -> None:
        with self._wake:
            if self._closed:
                return
            self._order += 1
            heapq.heappush(self._heap, _Pending(time.monotonic(), self._order, url, [entry],
                                                [undeliverable]))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="graph-sandbox-notifications")
                self._thread.start()
            self._wake.notify()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.http.close()

    def _run(self) -> None:
        while True:
            with self._wake:
                pending = self._next()
                if pending is None:
                    return
            self._deliver(pending)

    def _next(self) -> _Pending | None:
        """The next due POST, with what else is due for its URL (caller holds the lock)."""
        while not self._closed:
            now = time.monotonic()
            if self._heap and self._heap[0].due <= now:
                first = heapq.heappop(self._heap)
                same = [p for p in self._heap if p.url == first.url and p.due <= now
                        and p.attempt == first.attempt]
                for other in same:
                    self._heap.remove(other)
                    first.entries += other.entries
                    first.undeliverable += other.undeliverable
                heapq.heapify(self._heap)
                return first
            self._wake.wait(self._heap[0].due - now if self._heap else None)
        return None

    def _deliver(self, pending: _Pending) -> None:
        payload = {"value": pending.entries}
        try:
            answer = self.http.post(pending.url, content=json.dumps(payload),
                                    headers={"Content-Type": "application/json"},
                                    timeout=DELIVERY_SECONDS)
            delivered = 200 <= answer.status_code < 300
        except httpx.HTTPError as error:
            log.info("notification to %s failed: %s", pending.url, error)
            delivered = False
        if delivered:
            self.counters.posts += 1
            self.received.append((pending.url, payload))
            return
        self.counters.failed_posts += 1
        if pending.attempt < len(self.retry_delays):
            with self._wake:
                self._order += 1
                pending.due = time.monotonic() + self.retry_delays[pending.attempt]
                pending.order, pending.attempt = self._order, pending.attempt + 1
                heapq.heappush(self._heap, pending)
            return
        self.counters.undeliverable += len(pending.entries)
        for callback in pending.undeliverable:
            if callback is not None:
                callback()
