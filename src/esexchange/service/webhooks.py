"""Graph change notifications (webhooks) for every synchronized Graph mailbox whose
connection has a ``graph_notification_url``: a change in Outlook starts a pass over that
mailbox within seconds, and the mailbox's short delta poll stops.

``NotificationInbox`` is the endpoint Graph POSTs to, ``/graph/notifications`` on the
console's web server (the administrator makes ``graph_notification_url`` reach it, e.g.
through a reverse proxy with a public certificate). It answers the validation handshake
with the token as text/plain, and a notification with 202 at once: it only checks the
``clientState`` against the one made for that subscription (a random secret kept in this
process, never logged) and queues it; a notification whose subscription or clientState
does not match is dropped and counted. Notifications carry no data esExchange trusts: a
change notification only wakes its mailbox, whose pass reads what changed with the delta
queries, as a poll would.

``GraphNotifications`` keeps the subscriptions (``exchange/graph/subscriptions.py``):
every few seconds it compares the mailboxes it watches with the synchronized mailboxes of
those connections that fall to this worker (as the EWS streams do), subscribes new ones
to their calendar and To Do list and wakes them once (what happened before was not
heard), renews each subscription when half its lifetime is gone, and deletes those of
mailboxes no longer synchronized, and all of them when the service stops. Lifecycle
events: ``reauthorizationRequired`` renews at once, ``subscriptionRemoved`` subscribes
again and wakes the mailbox, ``missed`` wakes it. A mailbox whose subscriptions cannot be
made or renewed goes back to the poll (said in the log and on the console's workers
page) and is tried again after ``RETRY_SECONDS``.
"""

from __future__ import annotations

import hmac
import json
import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from esexchange import config
from esexchange.config import Backend
from esexchange.domain.errors import EsExchangeError
from esexchange.erp.port import Scope
from esexchange.exchange.graph import GraphConnection
from esexchange.exchange.graph.subscriptions import (
    FOLDERS,
    Folder,
    Subscription,
    SubscriptionGone,
    lifetime_of,
    renew,
    subscribe,
    unsubscribe,
)
from esexchange.service.adapter import graph_connection
from esexchange.service.realtime import RealtimeSettings, Wake
from esexchange.service.streaming import RECONCILE_SECONDS, Watched, owned_mailboxes

log = logging.getLogger(__name__)

PATH = "/graph/notifications"
RETRY_SECONDS = 60.0
"""How long a mailbox whose subscriptions failed is polled before they are tried again."""


@dataclass(frozen=True)
class Note:
    """One accepted notification: its subscription and, for a lifecycle event, which."""

    subscription_id: str
    lifecycle: str | None


@dataclass(frozen=True)
class _Known:
    client_state: str
    scope: Scope


class NotificationInbox:
    """The endpoint Graph delivers to (see the module doc); thread-safe."""

    def __init__(self, count: Callable[[str], None] = lambda _outcome: None) -> None:
        self.notes: queue.Queue[Note] = queue.Queue()
        self.count = count
        self._known: dict[str, _Known] = {}
        self._lock = threading.Lock()

    def register(self, subscription: Subscription, scope: Scope) -> None:
        with self._lock:
            self._known[subscription.id] = _Known(subscription.client_state, scope)

    def forget(self, subscription_id: str) -> None:
        with self._lock:
            self._known.pop(subscription_id, None)

    def routes(self) -> list[BaseRoute]:
        return [Route(PATH, self.receive, methods=["POST"])]

    async def receive(self, request: Request) -> Response:
        token = request.query_params.get("validationToken")
        if token is not None:  # the handshake: the token, decoded, as plain text
            return PlainTextResponse(token)
        try:
            entries = json.loads(await request.body())["value"]
            if not isinstance(entries, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return PlainTextResponse("not a change notification collection\n", status_code=400)
        for entry in entries:
            self._accept(entry)
        return Response(status_code=202)

    def _accept(self, entry: object) -> None:
        if not isinstance(entry, dict):
            self.count("malformed")
            return
        subscription_id = str(entry.get("subscriptionId", ""))
        with self._lock:
            known = self._known.get(subscription_id)
        state = entry.get("clientState")
        if known is None:
            self.count("unknown_subscription")
            log.info("Graph notification for subscription %s, which is not this worker's; "
                     "dropped", subscription_id)
            return
        if not isinstance(state, str) or not hmac.compare_digest(state.encode(),
                                                                 known.client_state.encode()):
            self.count("bad_client_state")
            log.warning("Graph notification for subscription %s with a clientState that is "
                        "not the subscription's; dropped (not from Graph?)", subscription_id)
            return
        lifecycle = entry.get("lifecycleEvent")
        self.count("lifecycle" if lifecycle else "accepted")
        self.notes.put(Note(subscription_id, str(lifecycle) if lifecycle else None))


@dataclass
class _Mailbox:
    """What one watched mailbox has: its subscriptions, or why it is polled."""

    watched: Watched
    subscriptions: dict[Folder, Subscription] = field(default_factory=dict)
    problem: str | None = None
    retry_at: float = 0.0
    renew_now: set[Folder] = field(default_factory=set)
    again: set[Folder] = field(default_factory=set)

    @property
    def notified(self) -> bool:
        return self.problem is None and set(self.subscriptions) == set(FOLDERS)


class GraphNotifications:
    """The subscriptions of this worker's Graph mailboxes (see the module doc)."""

    def __init__(self, engine: Engine, settings: RealtimeSettings, wake: Wake,
                 stop: threading.Event, holder: str, inbox: NotificationInbox) -> None:
        self.engine = engine
        self.settings = settings
        self.wake = wake
        self.stop = stop
        self.holder = holder
        self.inbox = inbox
        self._mailboxes: dict[Watched, _Mailbox] = {}
        self._connections: dict[str, GraphConnection] = {}
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()
        self._kick = threading.Event()

    # --- what the scheduler and the console ask --------------------------------------------

    def notified(self, scope: Scope) -> bool:
        """Whether this mailbox's changes arrive as notifications (no poll needed)."""
        with self._lock:
            return any(m.notified for w, m in self._mailboxes.items() if w.scope == scope)

    def states(self) -> dict[str, str]:
        """Per mailbox address: "notifications" or why it is polled."""
        with self._lock:
            return {w.email: "notifications" if m.notified else
                    f"delta poll ({m.problem or 'subscribing'})"
                    for w, m in self._mailboxes.items()}

    # --- the threads -----------------------------------------------------------------------

    def run(self) -> None:
        """Keep the subscriptions (one thread); ``dispatch`` hears the notifications."""
        while not self.stop.is_set():
            try:
                self._reconcile()
            except (SQLAlchemyError, EsExchangeError) as error:
                log.warning("Graph change notifications: cannot read the mailboxes (%s)", error)
            self._kick.wait(RECONCILE_SECONDS)
            self._kick.clear()

    def dispatch(self) -> None:
        """Wake the mailboxes of accepted notifications; pass lifecycle events on."""
        while not self.stop.is_set():
            try:
                note = self.inbox.notes.get(timeout=0.5)
            except queue.Empty:
                continue
            notes = [note]
            while True:  # what arrived with it costs the same single wake-up
                try:
                    notes.append(self.inbox.notes.get_nowait())
                except queue.Empty:
                    break
            scopes = {scope for scope in map(self._handle, notes) if scope is not None}
            if scopes:
                self.wake(scopes)

    def _handle(self, note: Note) -> Scope | None:
        with self._lock:
            found = next(((m, f) for m in self._mailboxes.values()
                          for f, s in m.subscriptions.items() if s.id == note.subscription_id),
                         None)
            if found is None:
                return None
            mailbox, folder = found
            if note.lifecycle == "reauthorizationRequired":
                mailbox.renew_now.add(folder)
                self._kick.set()
                return None
            if note.lifecycle == "subscriptionRemoved":
                log.info("mailbox %s: Graph removed the subscription to its %s; subscribing "
                         "again", mailbox.watched.email, folder)
                mailbox.again.add(folder)
                self._kick.set()
            elif note.lifecycle == "missed":
                log.info("mailbox %s: Graph missed notifications of its %s; a pass reads "
                         "them", mailbox.watched.email, folder)
            return mailbox.watched.scope

    def interrupt(self) -> None:
        """Have ``run`` look at its stop event now (the service stops)."""
        self._kick.set()

    def close(self) -> None:
        """Delete every subscription (the service stops)."""
        with self._lock:
            mailboxes = list(self._mailboxes.values())
            self._mailboxes.clear()
        for mailbox in mailboxes:
            self._drop(mailbox, set(mailbox.subscriptions))
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    # --- keeping the subscriptions ---------------------------------------------------------

    def wanted(self) -> set[Watched]:
        """This worker's mailboxes of the Graph connections with a notification URL."""
        urls = {c.name: c.options.graph_notification_url for c in config.list_connections(
            self.engine) if c.backend is Backend.GRAPH and c.options.graph_notification_url}
        self._urls = {name: url for name, url in urls.items() if url}
        if not self._urls:  # the usual case: nothing more to read
            return set()
        return owned_mailboxes(self.engine, self.holder, lambda c: c.name in self._urls)

    def _reconcile(self) -> None:
        wanted = self.wanted()
        with self._lock:
            gone = [m for w, m in self._mailboxes.items() if w not in wanted]
            for mailbox in gone:
                del self._mailboxes[mailbox.watched]
            for watched in wanted - set(self._mailboxes):
                self._mailboxes[watched] = _Mailbox(watched)
            mailboxes = list(self._mailboxes.values())
        for mailbox in gone:
            self._drop(mailbox, set(mailbox.subscriptions))
        for mailbox in mailboxes:
            if self.stop.is_set():
                return
            self._keep(mailbox)

    def _keep(self, mailbox: _Mailbox) -> None:
        """Subscribe what is missing, renew what is due; on failure back to the poll."""
        now = time.monotonic()
        if mailbox.problem is not None and now < mailbox.retry_at:
            return
        email = mailbox.watched.email
        try:
            graph = self._connection(mailbox.watched.connection).mailbox(email)
            with self._lock:
                again, mailbox.again = mailbox.again, set()
                renew_now, mailbox.renew_now = mailbox.renew_now, set()
            self._drop(mailbox, again)
            for folder, subscription in list(mailbox.subscriptions.items()):
                if folder in renew_now or self._due(subscription):
                    try:
                        renewed = renew(graph, subscription, self.settings.graph_subscription)
                    except SubscriptionGone:
                        log.info("%s; subscribing again", email)
                        self._drop(mailbox, {folder})
                        continue
                    with self._lock:
                        mailbox.subscriptions[folder] = renewed
                    log.info("mailbox %s: subscription to its %s renewed until %s", email,
                             folder, renewed.expires.isoformat(timespec="seconds"))
            missing = [f for f in FOLDERS if f not in mailbox.subscriptions]
            url = self._urls[mailbox.watched.connection]
            for folder in missing:
                made = subscribe(graph, folder, url, secrets.token_urlsafe(32),
                                 self.settings.graph_subscription)
                self.inbox.register(made, mailbox.watched.scope)
                with self._lock:
                    mailbox.subscriptions[folder] = made
        except EsExchangeError as error:
            with self._lock:
                first = mailbox.problem is None
                mailbox.problem, mailbox.retry_at = str(error), now + RETRY_SECONDS
            if first:
                log.warning("mailbox %s: Graph change notifications failed (%s); a delta "
                            "poll every %.0f s instead, notifications tried again in %.0f s",
                            email, error, self.settings.graph_poll, RETRY_SECONDS)
            return
        if missing or again:
            if mailbox.problem is not None or len(missing) == len(FOLDERS):
                log.info("mailbox %s: Graph change notifications on", email)
            with self._lock:
                mailbox.problem = None
            self.wake([mailbox.watched.scope])  # what happened meanwhile was not heard

    def _due(self, subscription: Subscription) -> bool:
        """Renew when less than half the lifetime is left."""
        half = lifetime_of(subscription.folder, self.settings.graph_subscription) / 2
        return subscription.expires - datetime.now(UTC) < half

    def _drop(self, mailbox: _Mailbox, folders: set[Folder]) -> None:
        for folder in folders:
            with self._lock:
                subscription = mailbox.subscriptions.pop(folder, None)
            if subscription is None:
                continue
            self.inbox.forget(subscription.id)
            try:
                graph = self._connection(mailbox.watched.connection)
                unsubscribe(graph.mailbox(mailbox.watched.email), subscription)
            except EsExchangeError as error:  # it expires by itself
                log.info("mailbox %s: the subscription to its %s could not be deleted (%s)",
                         mailbox.watched.email, folder, error)

    def _connection(self, name: str) -> GraphConnection:
        if name not in self._connections:
            self._connections[name] = graph_connection(
                self.engine, config.get_connection(self.engine, name))
        return self._connections[name]

