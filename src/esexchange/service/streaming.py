"""EWS streaming notifications for every synchronized mailbox: a change in Outlook
starts a pass over that mailbox in about a second.

Every few seconds ``MailboxStreams`` compares the mailboxes it watches with the
synchronized mailboxes of the EWS connections that fall to this worker (each mailbox to
one of the installation's live workers, so two workers never both stream it; the
worker that hears a change wakes its own scheduler, which passes unless another
worker's lease holds the mailbox, and then right after), starts a thread for each new one and ends
the threads of those no longer synchronized. A thread subscribes (one streaming
subscription on calendar and tasks), wakes its mailbox once (what happened before the
subscription was not heard), then keeps a GetStreamingEvents connection open
(``streaming_minutes``, then the next one on the same subscription) and wakes the
mailbox whenever a notification carries events. The wake-ups coalesce in the
scheduler, so a burst of events costs one pass. A subscription the server lost is made
again at once; any other failure waits ``retry_seconds`` first. Each connection's
streams share one EWS session pool of their own, apart from the passes' pool, since an
open connection holds a session.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

from exchangelib.errors import EWSError
from requests.exceptions import RequestException
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from esexchange import config
from esexchange.config import Backend, ConnectionConfig
from esexchange.domain.errors import EsExchangeError
from esexchange.erp.port import Scope
from esexchange.exchange.ews.connection import EwsConnection
from esexchange.exchange.ews.streaming import MailboxEvents, SubscriptionGone
from esexchange.service import workers
from esexchange.service.adapter import ews_settings
from esexchange.service.realtime import RealtimeSettings, Wake

log = logging.getLogger(__name__)

RECONCILE_SECONDS = 5.0
STREAMS_PER_CONNECTION = 1024
"""The most sessions one connection's streams may hold (one per open stream)."""


@dataclass(frozen=True)
class Watched:
    connection: str
    email: str
    scope: Scope


def owned_mailboxes(engine: Engine, holder: str,
                    watched: Callable[[ConnectionConfig], bool]) -> set[Watched]:
    """The synchronized mailboxes of the ``watched`` connections that fall to this worker:
    among the live workers of the installation each mailbox has one (by its key), so
    several workers on one database watch each mailbox once."""
    live = sorted({w.holder for w in workers.workers(engine) if w.alive} | {holder})
    wanted: set[Watched] = set()
    for conn in config.list_connections(engine):
        if not watched(conn):
            continue
        assert conn.id is not None
        for person, _settings in config.personnel(engine, conn.name):
            scope = Scope(conn.id, person.id)
            mine = live[(scope.connection_id * 7919 + scope.employee_id) % len(live)]
            if person.email.strip() and mine == holder:
                wanted.add(Watched(conn.name, person.email, scope))
    return wanted


class _Stream:
    """One mailbox's thread (see the module doc)."""

    def __init__(self, watched: Watched, events: MailboxEvents, streams: MailboxStreams):
        self.watched = watched
        self.events = events
        self.streams = streams
        self.ended = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True,
                                       name=f"esx-stream-{watched.email}")

    def run(self) -> None:
        settings, wake = self.streams.settings, self.streams.wake
        while not self._over():
            try:
                subscription_id = self.events.subscribe()
                log.info("mailbox %s: streaming notifications on", self.watched.email)
                wake([self.watched.scope])
                while not self._over():
                    for count in self.events.listen(subscription_id, settings.streaming_minutes):
                        if count:
                            wake([self.watched.scope])
                        if self._over():
                            return
            except SubscriptionGone as gone:
                log.info("%s; subscribing again", gone)
            except Exception as error:  # a watcher outlives any failure
                if self._over():
                    return
                expected = isinstance(error, EsExchangeError | EWSError | RequestException
                                      | OSError)
                log.log(logging.WARNING if expected else logging.ERROR,
                        "mailbox %s: streaming notifications failed (%s); again in %.0f s",
                        self.watched.email, error, settings.retry_seconds,
                        exc_info=not expected)
                self.streams.stop.wait(settings.retry_seconds)

    def _over(self) -> bool:
        return self.ended.is_set() or self.streams.stop.is_set()

    def end(self) -> None:
        self.ended.set()
        try:
            self.events.close()
        except (RequestException, OSError, RuntimeError):
            log.debug("mailbox %s: closing the stream", self.watched.email, exc_info=True)


class MailboxStreams:
    """The streams of every synchronized EWS mailbox of the installation."""

    def __init__(self, engine: Engine, settings: RealtimeSettings, wake: Wake,
                 stop: threading.Event, holder: str = "") -> None:
        self.engine = engine
        self.holder = holder
        self.settings = settings
        self.wake = wake
        self.stop = stop
        self._streams: dict[Watched, _Stream] = {}
        self._connections: dict[str, EwsConnection] = {}
        self._lock = threading.Lock()  # run() reconciles while close() may end it all

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self._reconcile()
            except (SQLAlchemyError, EsExchangeError) as error:
                log.warning("streaming notifications: cannot read the mailboxes (%s)", error)
            self.stop.wait(RECONCILE_SECONDS)

    def wanted(self) -> set[Watched]:
        """The synchronized mailboxes of the EWS connections that this worker streams."""
        return owned_mailboxes(self.engine, self.holder,
                               lambda conn: conn.backend is Backend.EWS and bool(conn.ews_url))
        # (no URL yet: the first pass finds it by Autodiscover)

    def _reconcile(self) -> None:
        wanted = self.wanted()
        with self._lock:
            if self.stop.is_set():
                return
            self._start_and_end(wanted)

    def _start_and_end(self, wanted: set[Watched]) -> None:
        for watched in set(self._streams) - wanted:
            self._streams.pop(watched).end()
        for watched in wanted - set(self._streams):
            connection = self._connection(watched.connection)
            stream = _Stream(watched, connection.mailbox(watched.email).events(), self)
            self._streams[watched] = stream
            stream.thread.start()

    def _connection(self, name: str) -> EwsConnection:
        if name not in self._connections:
            conn = config.get_connection(self.engine, name)
            settings = replace(ews_settings(self.engine, conn),
                               max_connections=STREAMS_PER_CONNECTION)
            connection = EwsConnection(settings)
            connection.protocol.listener = True
            self._connections[name] = connection
        return self._connections[name]

    def close(self) -> None:
        """End every stream and close the sessions (the service stops)."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        for stream in self._streams.values():
            stream.end()
        for stream in self._streams.values():
            stream.thread.join(timeout=5)
        for connection in self._connections.values():
            connection.close()
        self._streams.clear()
        self._connections.clear()
