"""Change notification subscriptions of the Graph sandbox (webhooks), as Microsoft
documents them for Outlook events and To Do tasks.

A subscription (``POST /subscriptions``) names a ``resource`` (``users/{id}/events`` or
``users/{id}/todo/lists/{list}/tasks``), the ``changeType`` values it wants
(``created``, ``updated``, ``deleted``), a ``notificationUrl`` and optionally a
``lifecycleNotificationUrl`` (HTTPS both), a ``clientState`` and an
``expirationDateTime`` no further ahead than the resource's maximum (10,080 minutes for
events, 4,230 for To Do tasks, basic notifications). Before it exists, each URL must
pass the validation handshake (``Outbox.validate``); otherwise the create is refused
with 400, as Graph does. It belongs to the app that made it: another app neither sees
nor changes it. Once past its expiration it is gone (404) and notifies no more; a PATCH
of ``expirationDateTime`` renews it.

``changed`` is told of every successful write to a mailbox (``app.py`` reports them)
and queues one notification per matching subscription; ``lifecycle`` queues a
lifecycle event (the sandbox's knob for testing them; ``subscriptionRemoved`` also
removes the subscription). Delivery itself is the ``Outbox``'s (``delivery.py``).
Subscriptions live in memory only: a restarted sandbox has none.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from esexchange.sandbox.directory import Directory
from esexchange.sandbox.graph.errors import GraphError

CHANGE_TYPES = frozenset({"created", "updated", "deleted"})
LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")
MAX_MINUTES = {"events": 10080, "tasks": 4230}
"""The longest lifetime Graph gives a subscription without resource data, per resource."""
READ_ROLES = {"events": "Calendars.Read", "tasks": "Tasks.Read.All"}
_RESOURCE = re.compile(
    r"^/?(?:users/(?P<user>[^/]+)/(?:calendar/)?events"
    r"|users/(?P<task_user>[^/]+)/todo/lists/(?P<list>[^/]+)/tasks)$",
    re.I,
)
_WRITE = re.compile(
    r"^users/(?P<user>[^/]+)/(?:events(?:/(?P<event>[^/]+))?"
    r"|todo/lists/(?P<list>[^/]+)/tasks(?:/(?P<task>[^/]+))?)$",
    re.I,
)
_CHANGE_OF = {"POST": "created", "PATCH": "updated", "DELETE": "deleted"}


class Outbox(Protocol):
    """How notifications leave the sandbox (``delivery.HttpOutbox``)."""

    def validate(self, url: str) -> GraphError | None:
        """The validation handshake against `url`: None when it passed."""

    def put(self, url: str, entry: dict[str, Any],
            undeliverable: Callable[[], None] | None = None) -> None:
        """Send `entry` (one item of ``value``) to `url`; call `undeliverable` if it
        never arrives."""


@dataclass(frozen=True)
class Subscription:
    id: str
    app_id: str
    tenant_id: str
    mailbox: str  # casefolded address
    kind: str  # "events" or "tasks"
    list_id: str | None
    resource: str
    change_types: frozenset[str]
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expires: datetime
    tls_version: str

    def render(self) -> dict[str, Any]:
        """Graph's JSON of the subscription (``microsoft.graph.subscription``)."""
        return {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
            "id": self.id,
            "resource": self.resource,
            "applicationId": self.app_id,
            "changeType": ",".join(sorted(self.change_types)),
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "notificationQueryOptions": None,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": _text(self.expires),
            "creatorId": self.app_id,
            "includeResourceData": False,
            "latestSupportedTlsVersion": self.tls_version,
            "encryptionCertificate": None,
            "encryptionCertificateId": None,
            "notificationUrlAppId": None,
        }


@dataclass
class NotificationCounters:
    changes: int = 0  # notifications queued for changes
    lifecycle: int = 0  # lifecycle events queued


class Subscriptions:
    """Every subscription of one sandbox; thread-safe (deliveries run on their own thread)."""

    def __init__(self, directory: Directory, clock: Callable[[], datetime],
                 new_id: Callable[[], bytes]) -> None:
        self.directory = directory
        self.clock = clock
        self.new_id = new_id
        self.outbox: Outbox | None = None
        self.counters = NotificationCounters()
        self._by_id: dict[str, Subscription] = {}
        self._lock = threading.Lock()

    # --- the API ---------------------------------------------------------------------------

    def create(self, claims: Mapping[str, Any], body: Any) -> Subscription:
        if not isinstance(body, Mapping):
            raise _invalid("The request body must be a subscription object.")
        for name in ("changeType", "notificationUrl", "resource", "expirationDateTime"):
            if not isinstance(body.get(name), str) or not body[name].strip():
                raise _invalid(f"The subscription property '{name}' is required.")
        if body.get("includeResourceData"):
            raise _invalid("The sandbox sends basic notifications only (includeResourceData).")
        kind, mailbox, list_id = self._resource(claims, body["resource"])
        expires = self._expiration(kind, body["expirationDateTime"])
        change_types = _change_types(body["changeType"])
        urls = [_https(body["notificationUrl"], "notificationUrl")]
        lifecycle = body.get("lifecycleNotificationUrl")
        if lifecycle is not None:
            urls.append(_https(lifecycle, "lifecycleNotificationUrl"))
        for url in urls:  # outside the lock: the handshake waits up to 10 s
            problem = self.outbox.validate(url) if self.outbox is not None else _NO_OUTBOX
            if problem is not None:
                raise problem
        state = body.get("clientState")
        if state is not None and (not isinstance(state, str) or len(state) > 128):
            raise _invalid("clientState must be a string of at most 128 characters.")
        created = Subscription(
            id=_uuid(self.new_id()), app_id=_app(claims), tenant_id=str(claims.get("tid", "")),
            mailbox=mailbox, kind=kind, list_id=list_id, resource=body["resource"],
            change_types=change_types, notification_url=urls[0],
            lifecycle_url=urls[1] if len(urls) > 1 else None, client_state=state,
            expires=expires, tls_version=str(body.get("latestSupportedTlsVersion") or "v1_2"),
        )
        with self._lock:
            self._by_id[created.id] = created
        return created

    def get(self, claims: Mapping[str, Any], subscription_id: str) -> Subscription:
        with self._lock:
            return self._live(claims, subscription_id)

    def list(self, claims: Mapping[str, Any]) -> list[Subscription]:
        now = self.clock()
        with self._lock:
            return [s for s in self._by_id.values()
                    if s.app_id == _app(claims) and s.expires > now]

    def update(self, claims: Mapping[str, Any], subscription_id: str, body: Any) -> Subscription:
        if not isinstance(body, Mapping) or set(body) - {"expirationDateTime", "notificationUrl",
                                                          "@odata.type"}:
            raise _invalid("Only expirationDateTime and notificationUrl of a subscription "
                           "can be changed.")
        with self._lock:
            found = self._live(claims, subscription_id)
        changed = found
        if "expirationDateTime" in body:
            changed = replace(changed, expires=self._expiration(found.kind,
                                                                body["expirationDateTime"]))
        if "notificationUrl" in body:
            url = _https(body["notificationUrl"], "notificationUrl")
            problem = self.outbox.validate(url) if self.outbox is not None else _NO_OUTBOX
            if problem is not None:
                raise problem
            changed = replace(changed, notification_url=url)
        with self._lock:
            self._live(claims, subscription_id)  # still there after the handshake
            self._by_id[subscription_id] = changed
        return changed

    def delete(self, claims: Mapping[str, Any], subscription_id: str) -> None:
        with self._lock:
            self._live(claims, subscription_id)
            del self._by_id[subscription_id]

    # --- notifications ---------------------------------------------------------------------

    def changed(self, method: str, path: str, body: Any) -> None:
        """A successful write `method` on `path` (below /v1.0/) answered with `body`:
        notify the subscriptions to its folder."""
        match, change = _WRITE.match(path.strip("/")), _CHANGE_OF.get(method)
        if match is None or change is None:
            return
        item_id = match["event"] or match["task"]
        if (item_id is None) != (change == "created"):
            return  # a POST creates in a collection; PATCH and DELETE name an item
        if isinstance(body, Mapping) and isinstance(body.get("id"), str):
            item_id = body["id"]
        entry = self.directory.mailbox(match["user"])
        if item_id is None or entry is None:
            return
        kind = "events" if match["event"] is not None or match["list"] is None else "tasks"
        etag = body.get("@odata.etag") if isinstance(body, Mapping) else None
        now = self.clock()
        with self._lock:
            wanted = [s for s in self._by_id.values()
                      if s.mailbox == entry.email.casefold() and s.kind == kind
                      and (kind == "events" or s.list_id == match["list"])
                      and change in s.change_types and s.expires > now]
        for subscription in wanted:
            self.counters.changes += 1
            self._send(subscription, subscription.notification_url,
                       _change_entry(subscription, change, match["user"], item_id, etag))

    def lifecycle(self, event: str, subscription_id: str | None = None) -> int:
        """Send lifecycle `event` for one subscription, or for all that asked for
        lifecycle notifications; ``subscriptionRemoved`` removes them. How many were told."""
        if event not in LIFECYCLE_EVENTS:
            raise ValueError(f"lifecycle event {event!r} is not one of {LIFECYCLE_EVENTS}")
        now = self.clock()
        with self._lock:
            chosen = [s for s in self._by_id.values()
                      if s.lifecycle_url and s.expires > now
                      and subscription_id in (None, s.id)]
            if event == "subscriptionRemoved":
                for subscription in chosen:
                    del self._by_id[subscription.id]
        for subscription in chosen:
            assert subscription.lifecycle_url is not None
            self.counters.lifecycle += 1
            self._send(subscription, subscription.lifecycle_url, {
                **_base_entry(subscription), "lifecycleEvent": event})
        return len(chosen)

    def _send(self, subscription: Subscription, url: str, entry: dict[str, Any]) -> None:
        if self.outbox is None:
            return

        def missed() -> None:  # Graph gave up delivering: it says so, if asked to
            if url != subscription.lifecycle_url:
                self.lifecycle("missed", subscription.id)

        self.outbox.put(url, entry, missed)

    # --- checks ----------------------------------------------------------------------------

    def _live(self, claims: Mapping[str, Any], subscription_id: str) -> Subscription:
        """The caller's subscription, unexpired; 404 otherwise (caller holds the lock)."""
        found = self._by_id.get(subscription_id)
        if found is not None and found.expires <= self.clock():
            del self._by_id[subscription_id]  # an expired subscription is gone
            found = None
        if found is None or found.app_id != _app(claims):
            raise GraphError(404, "ResourceNotFound",
                             f"The subscription '{subscription_id}' was not found.")
        return found

    def _resource(self, claims: Mapping[str, Any], resource: str) -> tuple[str, str, str | None]:
        match = _RESOURCE.match(resource.strip())
        if match is None:
            raise _invalid(f"Resource '{resource}' is not supported by the sandbox: it "
                           "serves users/{id}/events and users/{id}/todo/lists/{id}/tasks.")
        kind = "events" if match["user"] else "tasks"
        user = match["user"] or match["task_user"]
        entry = self.directory.mailbox(user)
        if entry is None:
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{user}' is invalid.")
        roles = set(claims.get("roles", []))
        may_read = bool({READ_ROLES[kind], READ_ROLES[kind].replace("Read", "ReadWrite", 1)}
                        & roles)
        app = self.directory.app(_app(claims))
        if not may_read or app is None or not app.may_access(entry.email):
            raise GraphError(403, "ExtensionError",
                             "Operation: Create; Exception: [Status Code: Forbidden; "
                             "Reason: Access is denied. Check credentials and try again.]")
        return kind, entry.email.casefold(), match["list"]

    def _expiration(self, kind: str, text: Any) -> datetime:
        try:
            moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
        except ValueError:
            raise _invalid(f"expirationDateTime '{text}' is not a date and time.") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        now = self.clock()
        if moment <= now:
            raise _invalid("Subscription expiration must be in the future.")
        if moment - now > timedelta(minutes=MAX_MINUTES[kind]):
            raise GraphError(400, "ExtensionError", "Subscription expiration can only be "
                             f"{MAX_MINUTES[kind]} minutes in the future.")
        return moment.astimezone(UTC)


_NO_OUTBOX = GraphError(400, "ValidationError", "Subscription validation request failed. "
                        "The sandbox cannot send requests.")


def _base_entry(subscription: Subscription) -> dict[str, Any]:
    return {
        "subscriptionId": subscription.id,
        "subscriptionExpirationDateTime": _text(subscription.expires),
        "clientState": subscription.client_state,
        "tenantId": subscription.tenant_id,
    }


def _change_entry(subscription: Subscription, change: str, user: str, item_id: str,
                  etag: Any) -> dict[str, Any]:
    if subscription.kind == "events":
        resource, odata_type = f"Users/{user}/Events/{item_id}", "#Microsoft.Graph.Event"
    else:
        resource = f"Users/{user}/todo/lists/{subscription.list_id}/tasks/{item_id}"
        odata_type = "#Microsoft.Graph.todoTask"
    data: dict[str, Any] = {"@odata.type": odata_type, "@odata.id": resource, "id": item_id}
    if isinstance(etag, str):
        data["@odata.etag"] = etag
    return {**_base_entry(subscription), "changeType": change, "resource": resource,
            "resourceData": data}


def _change_types(text: str) -> frozenset[str]:
    wanted = frozenset(part.strip() for part in text.split(","))
    unknown = wanted - CHANGE_TYPES
    if unknown or not wanted:
        raise _invalid(f"changeType '{text}' is not valid: use created, updated and deleted, "
                       "separated by commas.")
    return wanted


def _https(url: Any, name: str) -> str:
    parts = urlsplit(str(url))
    if parts.scheme.lower() != "https" or not parts.netloc:
        raise GraphError(400, "ValidationError",
                         f"The {name} '{url}' must be an absolute HTTPS URL.")
    return str(url)


def _app(claims: Mapping[str, Any]) -> str:
    return str(claims.get("appid", "")).casefold()


def _invalid(message: str) -> GraphError:
    return GraphError(400, "InvalidRequest", message)


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{moment.microsecond // 1000:03d}Z"


def _uuid(raw: bytes) -> str:
    return str(uuid.UUID(bytes=raw[:16], version=4))
