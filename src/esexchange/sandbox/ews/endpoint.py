"""One EWS request from bytes to bytes: envelope, schema, target mailbox, operation.

HTTP concerns (authentication, knobs, routes) stay in ``app.py``; this module is called
with the body of an authenticated POST and answers with a status and an envelope.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree

from esexchange.sandbox.directory import Directory
from esexchange.sandbox.ews import schema, soap
from esexchange.sandbox.ews.auth import Principal, resolve_target
from esexchange.sandbox.ews.errors import EwsError
from esexchange.sandbox.ews.operations import MAILBOX_FREE, Context, notifications, operations
from esexchange.sandbox.models import Backend, Mailbox, StoreError
from esexchange.sandbox.models.zones import zone_named

log = logging.getLogger(__name__)

# Operations after which a mailbox is written to the state file.
WRITES = frozenset({"CreateItem", "UpdateItem", "DeleteItem", "CreateUserConfiguration",
                    "UpdateUserConfiguration", "DeleteUserConfiguration", "CreateFolder",
                    "UpdateFolder", "DeleteFolder", "MoveFolder", "EmptyFolder", "MoveItem",
                    "CopyItem"})  # fmt: skip


@dataclass
class ValidationStats:
    """How many requests and responses were validated against the schema (test mode)."""

    requests: int = 0
    responses: int = 0
    invalid_responses: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def not_implemented(operation: str) -> etree._Element:
    """The answer to an operation of the schema the sandbox does not serve: its own response
    with one error message, ErrorInvalidOperation, so the request fails alone and later
    ones are unaffected. Not ErrorInvalidRequest, which clients read as a version mismatch
    (exchangelib then stays on Exchange2007 for the rest of its session)."""
    error = EwsError("ErrorInvalidOperation", f"The EWS sandbox does not implement {operation}.")
    for tail in ((), ("Items",), ("Folders",), ("Attachments",)):  # what a message requires
        response = etree.Element(soap.m(f"{operation}Response"), nsmap=soap.NSMAP)
        messages = etree.SubElement(response, soap.m("ResponseMessages"))
        message = soap.error_message(messages, f"{operation}ResponseMessage", error)
        for name in tail:
            etree.SubElement(message, soap.m(name))
        try:
            schema.validate(response)
        except EwsError:
            continue
        return response
    raise error  # a response of another shape: the whole request fails instead


class OpenStream:
    """A GetStreamingEvents connection as envelopes: ``step()`` gives the envelope to
    send now (or ``None``) and whether it is the last; ``poll`` is the wait between."""

    def __init__(self, endpoint: EwsEndpoint, stream: notifications.Stream,
                 refused: etree._Element | None) -> None:
        self._endpoint = endpoint
        self._stream = stream
        self._refused = refused
        self.poll = stream.poll

    def step(self) -> tuple[bytes | None, bool]:
        if self._refused is not None:  # answered at once: one envelope, then the end
            return self._envelope(self._refused), True
        body, last = self._stream.step()
        return (self._envelope(body) if body is not None else None), last

    def _envelope(self, body: etree._Element) -> bytes:
        if self._endpoint.validate_responses:
            self._endpoint.check(body)
        return soap.to_bytes(soap.envelope(body))


class EwsEndpoint:
    """Answers SOAP requests for the mailboxes of a :class:`Backend`."""

    def __init__(
        self,
        backend: Backend,
        directory: Directory,
        *,
        validate_responses: bool = False,
        on_write: Callable[[Mailbox], None] | None = None,
    ) -> None:
        self.backend = backend
        self.directory = directory
        self.validate_responses = validate_responses
        self.stats = ValidationStats()
        self._on_write = on_write
        self._operations = operations()
        self.keep_alive = notifications.KEEP_ALIVE_SECONDS
        """Seconds of quiet after which an open GetStreamingEvents sends a keep-alive."""
        self.minute = 60.0
        """Seconds in a ConnectionTimeout minute (tests shorten it)."""

    def handle(self, payload: bytes, principal: Principal) -> tuple[int, bytes]:
        """(HTTP status, response envelope) for one request body of ``principal``."""
        try:
            request = soap.parse_request(payload)
            schema.validate(request.operation)
            with self.stats.lock:
                self.stats.requests += 1
            body = self._dispatch(request, principal)
        except StoreError as error:
            return 500, soap.to_bytes(soap.fault(error))
        except Exception:  # a sandbox bug: answer as Exchange does, keep the traceback
            log.exception("the EWS sandbox failed on a request")
            failure = EwsError("ErrorInternalServerError", "An internal server error occurred.")
            return 500, soap.to_bytes(soap.fault(failure))
        if self.validate_responses:
            self.check(body)
        return 200, soap.to_bytes(soap.envelope(body))

    def stream(self, payload: bytes, principal: Principal) -> OpenStream | None:
        """An open GetStreamingEvents connection (just the error, at once, when a
        subscription is gone); ``None`` for any other request and for one the schema or
        the mailbox refuses (``handle`` answers those)."""
        try:
            request = soap.parse_request(payload)
            if request.name != "GetStreamingEvents":
                return None
            schema.validate(request.operation)
            address = resolve_target(principal, request.impersonated_smtp, self.directory)
            with self.backend.locked(address) as mailbox:
                refused = notifications.check_streaming(mailbox, request.operation)
        except StoreError:
            return None
        with self.stats.lock:
            self.stats.requests += 1
        stream = notifications.Stream(lambda: self.backend.locked(address), request.operation,
                                      keep_alive=self.keep_alive, minute=self.minute)
        return OpenStream(self, stream, refused)

    def _dispatch(self, request: soap.Request, principal: Principal) -> etree._Element:
        handler = self._operations.get(request.name)
        if handler is None:
            return not_implemented(request.name)
        zone = zone_named(request.time_zone.get("Id") if request.time_zone is not None else None)
        try:
            address = resolve_target(
                principal,
                request.impersonated_smtp,
                self.directory,
                delegate_smtp=self._delegated_mailbox(request),
            )
        except StoreError as error:
            if request.name not in MAILBOX_FREE:
                raise
            return handler(Context(None, self._people, error, zone), request.operation)
        with self.backend.locked(address) as mailbox:
            response = handler(Context(mailbox, self._people, None, zone), request.operation)
            if request.name in WRITES and self._on_write is not None:
                self._on_write(mailbox)
        return response

    def _people(self) -> list[tuple[str, str]]:
        return [(entry.name, entry.email) for entry in self.directory.mailboxes]

    @staticmethod
    def _delegated_mailbox(request: soap.Request) -> str | None:
        """A mailbox named in a distinguished folder id (delegate access, no impersonation)."""
        named = request.operation.find(
            f".//{soap.t('DistinguishedFolderId')}/{soap.t('Mailbox')}/{soap.t('EmailAddress')}"
        )
        return named.text if named is not None and named.text else None

    def check(self, body: etree._Element) -> None:
        """Validate a response body against the schema (counted in ``stats``)."""
        try:
            schema.validate(body)
        except EwsError as error:
            with self.stats.lock:
                self.stats.invalid_responses.append(
                    f"{etree.QName(body).localname}: {error.message}"
                )
        with self.stats.lock:
            self.stats.responses += 1
