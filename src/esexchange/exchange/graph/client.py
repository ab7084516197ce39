"""The wire to Graph: httpx with tokens, retries, JSON batching and per-mailbox limits.

Every request carries ``Prefer: IdType="ImmutableId"`` (ids survive moves inside the
mailbox), ``outlook.timezone="UTC"`` and ``outlook.body-content-type="text"``. Throttling
(429) waits the server's ``Retry-After``; 502/503/504 and dropped connections are retried
with exponential back-off; both within ``max_wait_seconds`` per request, after which the
mailbox is ``MailboxUnreachable``. A 401 renews the token once. ``batch`` sends at most
``batch_size`` sub-requests per ``$batch``, and a sub-request throttled inside a batch
is sent again alone after its own ``Retry-After`` (Graph does not retry them itself).
A request that creates something without a ``transactionId`` (a To Do task: To Do has
none) is never sent again once it may have arrived: its answer lost, the task may exist,
and sending it again would make it twice. The pass fails for that mailbox instead, and
the next pass adopts what was created by its ERP id (the task's ``linkedResource``).
At most ``max_in_flight`` requests per mailbox are in flight at once (4 in Exchange
Online, across every thread of a connection).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from esexchange.exchange.errors import AccessDenied, MailboxUnreachable
from esexchange.exchange.graph.auth import TokenSource
from esexchange.exchange.graph.settings import GraphSettings

log = logging.getLogger(__name__)

PREFER = 'IdType="ImmutableId", outlook.timezone="UTC", outlook.body-content-type="text"'
_RETRIED = frozenset({429, 502, 503, 504})
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)  # failed before the request left
_FIRST_BACK_OFF = 0.5


@dataclass(frozen=True)
class SubRequest:
    """One request, sent alone or inside a ``$batch``; ``url`` is below the Graph root."""

    method: str
    url: str
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def resendable(self) -> bool:
        """Whether sending it twice does no more than sending it once."""
        return self.method != "POST" or (
            isinstance(self.body, Mapping) and "transactionId" in self.body)


@dataclass(frozen=True)
class Answer:
    """Graph's answer to one (sub-)request."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def code(self) -> str:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        return str(error.get("code", "")) if isinstance(error, dict) else ""

    @property
    def message(self) -> str:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        return str(error.get("message", "")) if isinstance(error, dict) else str(self.status)

    def retry_after(self, default: float) -> float:
        value = {k.lower(): v for k, v in self.headers.items()}.get("retry-after", "")
        try:
            return max(0.0, float(value))
        except ValueError:
            return default


class GraphClient:
    """Requests to Graph for the mailboxes of one connection."""

    def __init__(
        self,
        settings: GraphSettings,
        http: httpx.Client,
        tokens: TokenSource,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.http = http
        self.tokens = tokens
        self.sleep = sleep
        self.sent = 0  # HTTP requests sent to Graph (a $batch counts once)
        self.sub_requests = 0
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._slots_lock = threading.Lock()

    def send(self, request: SubRequest, *, mailbox: str) -> Answer:
        """One request (retried as the module says); the final answer, whatever it is."""
        url = (
            request.url
            if request.url.startswith("http")
            else (self.settings.graph_url + request.url)
        )
        return self._with_retries(
            lambda: self._http(request.method, url, request.body, request.headers, mailbox),
            what=f"{request.method} {request.url}",
            resendable=request.resendable,
        )

    def batch(self, requests: Sequence[SubRequest], *, mailbox: str) -> list[Answer]:
        """Answers to `requests`, in their order, sent in ``$batch`` requests."""
        answers: list[Answer | None] = [None] * len(requests)
        size = max(1, min(self.settings.batch_size, 20))
        pending = list(range(len(requests)))
        waited = 0.0
        while pending:
            throttled: list[tuple[int, float]] = []
            for start in range(0, len(pending), size):
                chunk = pending[start : start + size]
                for index, answer in zip(
                    chunk, self._one_batch(requests, chunk, mailbox), strict=True
                ):
                    if answer.status in _RETRIED:
                        throttled.append((index, answer.retry_after(_FIRST_BACK_OFF * 2)))
                    answers[index] = answer
            if not throttled:
                break
            delay = max(wait for _, wait in throttled)
            if waited + delay > self.settings.max_wait_seconds:
                break  # the throttled ones keep their 429/503 answer; the caller reports them
            log.info(
                "%s: %d of a batch throttled; retrying them alone in %.1f s",
                mailbox,
                len(throttled),
                delay,
            )
            self.sleep(delay)
            waited += delay
            pending = [index for index, _ in throttled]
        return [a if a is not None else Answer(0, None) for a in answers]

    def _one_batch(
        self, requests: Sequence[SubRequest], chunk: list[int], mailbox: str
    ) -> list[Answer]:
        items = []
        for index in chunk:
            request = requests[index]
            item: dict[str, Any] = {
                "id": str(index),
                "method": request.method,
                "url": request.url,
                "headers": _with_prefer(request.headers),
            }
            if request.body is not None:
                item["body"] = request.body
                item["headers"]["Content-Type"] = "application/json"
            items.append(item)
        self.sub_requests += len(items)
        answer = self._with_retries(
            lambda: self._http(
                "POST", self.settings.graph_url + "/$batch", {"requests": items}, {}, mailbox
            ),
            what=f"$batch of {len(items)}",
            resendable=all(requests[index].resendable for index in chunk),
        )
        if not answer.ok:
            return [answer] * len(chunk)
        by_id = {str(r.get("id")): r for r in answer.body.get("responses", [])}
        out = []
        for index in chunk:
            response = by_id.get(str(index), {"status": 0})
            out.append(
                Answer(
                    int(response.get("status", 0)),
                    response.get("body"),
                    response.get("headers") or {},
                )
            )
        return out

    def _with_retries(
        self, call: Callable[[], Answer], *, what: str, resendable: bool = True
    ) -> Answer:
        waited, back_off, renewed = 0.0, _FIRST_BACK_OFF, False
        while True:
            try:
                answer = call()
            except httpx.TransportError as error:
                answer = None
                failure = f"{type(error).__name__}: {error}"
                if not resendable and not isinstance(error, _NOT_SENT):
                    raise MailboxUnreachable(
                        f"the answer to {what} was lost ({failure}); it is not sent again, "
                        "since what it creates may exist now (the next pass adopts it by "
                        "its ERP id)"
                    ) from error
            if answer is not None and answer.status == 401 and not renewed:
                self.tokens.renew()  # revoked or expired before msal expected: once more
                renewed = True
                continue
            if answer is not None and answer.status == 401:
                raise AccessDenied(
                    f"connection {self.settings.name}: Graph refused the app's token "
                    f"({answer.message}); check the app registration in Entra"
                )
            if answer is not None and answer.status not in _RETRIED:
                return answer
            delay = back_off if answer is None else answer.retry_after(back_off)
            if answer is not None:
                failure = f"HTTP {answer.status} {answer.code}".strip()
            if waited + delay > self.settings.max_wait_seconds:
                raise MailboxUnreachable(
                    f"Graph did not answer {what} within {self.settings.max_wait_seconds:g} s "
                    f"(last: {failure}); the next pass tries again"
                )
            self.sleep(delay)
            waited += delay
            back_off = min(back_off * 2, 30.0)

    def _http(
        self, method: str, url: str, body: Any, headers: Mapping[str, str], mailbox: str
    ) -> Answer:
        sent = {
            "Authorization": f"Bearer {self.tokens.access_token()}",
            "client-request-id": str(uuid.uuid4()),
            **_with_prefer(headers),
        }
        with self._slot(mailbox):
            self.sent += 1
            response = self.http.request(method, url, json=body, headers=sent)
        try:
            data = response.json() if response.content else None
        except ValueError:
            data = None
        return Answer(response.status_code, data, dict(response.headers))

    @contextmanager
    def _slot(self, mailbox: str) -> Iterator[None]:
        with self._slots_lock:
            slot = self._slots.setdefault(
                mailbox.casefold(), threading.BoundedSemaphore(self.settings.max_in_flight)
            )
        with slot:
            yield


def _with_prefer(headers: Mapping[str, str]) -> dict[str, str]:
    """`headers` with esExchange's preferences added to any ``Prefer`` they carry."""
    out = {k: v for k, v in headers.items() if k.lower() != "prefer"}
    own = [v for k, v in headers.items() if k.lower() == "prefer"]
    out["Prefer"] = ", ".join([PREFER, *own])
    return out
