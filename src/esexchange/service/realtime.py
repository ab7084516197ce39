"""Changes start passes in seconds, between the intervals: what wakes the scheduler.

- ERP -> Exchange (``JournalWatcher``): on PostgreSQL the journal's trigger sends
  ``pg_notify('esx_journal', 'activity_id:employee_id')`` with every journal row (script
  step 11) and a dedicated connection LISTENs; on SQLite the journal's highest ``seq`` is
  read every ``journal_poll`` seconds (one primary-key lookup) and the rows after the last
  one seen are read when it moved. Either way the rows' employees (and the participants of
  their activities) are mapped to the synchronized mailboxes, and only those are woken.
- Exchange -> ERP on EWS: a streaming subscription per synchronized mailbox
  (``streaming.py``).
- Exchange -> ERP on Graph: change notifications per mailbox when its connection has a
  ``graph_notification_url`` (``webhooks.py``); otherwise, and whenever they fail, a
  pass every ``graph_poll`` seconds per mailbox (its delta queries are the poll), well
  inside Graph's budget of 10,000 requests per 10 minutes per mailbox.

The interval stays the safety net: a missed notification waits at most for it. A
watcher that loses its connection reconnects and wakes every mailbox it watches once,
since what happened meanwhile was not heard.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import psycopg
from sqlalchemy import Engine, func, or_, select
from sqlalchemy.exc import SQLAlchemyError

from esexchange.erp.port import Scope
from esexchange.erp.schema import activity_participant, esx_change, esx_personnel

if TYPE_CHECKING:
    from esexchange.service.webhooks import NotificationInbox

log = logging.getLogger(__name__)

CHANNEL = "esx_journal"
"""The PostgreSQL notification channel of the journal (see ``erp/triggers.py``)."""

Wake = Callable[[Iterable[Scope]], None]
BURST_SECONDS = 0.02
"""How long notifications arriving after the first are gathered into one wake-up."""


@dataclass(frozen=True)
class RealtimeSettings:
    """``enabled``: watch for changes at all (off: the interval alone, as before);
    ``journal_poll``: seconds between two looks at a SQLite journal; ``graph_poll``:
    seconds between two passes over a Graph mailbox without change notifications;
    ``streaming_minutes``: how long one EWS GetStreamingEvents connection stays open (1 to
    30); ``graph_subscription``: the lifetime asked for a Graph subscription (None: the
    longest Graph gives; renewed when half of it is gone)."""

    enabled: bool = True
    journal_poll: float = 1.0
    graph_poll: float = 5.0
    streaming_minutes: int = 10
    retry_seconds: float = 5.0
    graph_subscription: timedelta | None = None

    def graph_interval(self, interval: timedelta) -> timedelta:
        """The interval of a Graph connection's passes: the poll, when watching."""
        if not self.enabled:
            return interval
        return min(interval, timedelta(seconds=self.graph_poll))


class Realtime:
    """The watchers of one service worker: ``start()``, then ``stop()``."""

    def __init__(self, engine: Engine, settings: RealtimeSettings, wake: Wake,
                 holder: str = "", inbox: NotificationInbox | None = None) -> None:
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.journal = JournalWatcher(engine, settings, wake, self._stop)
        from esexchange.service.streaming import MailboxStreams  # imports this module
        from esexchange.service.webhooks import GraphNotifications

        self.streams = MailboxStreams(engine, settings, wake, self._stop, holder)
        # Without an endpoint to receive them (no web server), Graph mailboxes are polled.
        self.graph = (GraphNotifications(engine, settings, wake, self._stop, holder, inbox)
                      if inbox is not None else None)
        self.settings = settings

    def notified(self, scope: Scope) -> bool:
        """Whether a Graph mailbox's changes arrive as notifications (then: no poll)."""
        return self.settings.enabled and self.graph is not None and self.graph.notified(scope)

    def start(self) -> None:
        if not self.settings.enabled:
            return
        targets = [("esx-journal", self.journal.run), ("esx-streams", self.streams.run)]
        if self.graph is not None:
            targets += [("esx-graph-subscriptions", self.graph.run),
                        ("esx-graph-notifications", self.graph.dispatch)]
        for name, target in targets:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self.streams.close()
        if self.graph is not None:
            self.graph.interrupt()
        for thread in self._threads:
            thread.join(timeout=10)
        if self.graph is not None:
            self.graph.close()  # after its thread: no subscription is made behind it


class JournalWatcher:
    """Wakes the mailboxes whose ERP rows changed (see the module doc)."""

    def __init__(self, engine: Engine, settings: RealtimeSettings, wake: Wake,
                 stop: threading.Event) -> None:
        self.engine = engine
        self.settings = settings
        self.wake = wake
        self.stop = stop

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                if self.engine.dialect.name == "postgresql":
                    self._listen()
                else:
                    self._poll()
            except (SQLAlchemyError, psycopg.Error) as error:
                log.warning("the journal watcher lost the ERP (%s); reconnecting", error)
            if self.stop.wait(self.settings.retry_seconds):
                return
            try:
                self.wake(self.mailboxes())  # what happened meanwhile was not heard
            except SQLAlchemyError as error:
                log.warning("the journal watcher cannot read the ERP (%s)", error)

    def _poll(self) -> None:
        with self.engine.connect() as db:
            last = db.scalar(select(func.max(esx_change.c.seq))) or 0
        while not self.stop.wait(self.settings.journal_poll):
            with self.engine.connect() as db:
                newest = db.scalar(select(func.max(esx_change.c.seq))) or 0
                if newest <= last:
                    continue
                rows = db.execute(select(esx_change.c.activity_id, esx_change.c.employee_id)
                                  .where(esx_change.c.seq > last, esx_change.c.seq <= newest))
                keys = [(row.activity_id, row.employee_id) for row in rows]
            last = newest
            self.wake(self.mailboxes(keys))

    def _listen(self) -> None:
        url = self.engine.url.set(drivername="postgresql")
        with psycopg.connect(url.render_as_string(hide_password=False),
                             autocommit=True) as listener:
            listener.execute(f"LISTEN {CHANNEL}")
            log.info("listening for ERP changes on channel %s", CHANNEL)
            while not self.stop.is_set():
                # Wake at the first notification; what came with it (one transaction's
                # rows arrive together) is read in the same breath.
                # (Each notifies() holds the connection's lock until it is exhausted.)
                notes = list(listener.notifies(timeout=1.0, stop_after=1))
                if notes:
                    notes += listener.notifies(timeout=BURST_SECONDS)
                    self.wake(self.mailboxes([_key(note.payload) for note in notes]))

    def mailboxes(self, keys: Iterable[tuple[int | None, int | None]] | None = None
                  ) -> list[Scope]:
        """The synchronized mailboxes these (activity, employee) journal keys concern:
        the employees named and the participants of the activities; all without keys."""
        query = select(esx_personnel.c.connection_id, esx_personnel.c.employee_id)
        if keys is not None:
            pairs = list(keys)
            activities = {a for a, _e in pairs if a is not None}
            employees = {e for _a, e in pairs if e is not None}
            if not activities and not employees:
                return []
            query = query.where(or_(
                esx_personnel.c.employee_id.in_(employees),
                esx_personnel.c.employee_id.in_(
                    select(activity_participant.c.employee_id)
                    .where(activity_participant.c.activity_id.in_(activities))),
            ))
        with self.engine.connect() as db:
            return [Scope(row.connection_id, row.employee_id) for row in db.execute(query)]


def _key(payload: str) -> tuple[int | None, int | None]:
    """(activity id, employee id) of a notification's ``'activity:employee'`` payload."""
    activity, _, employee = payload.partition(":")
    return (int(activity) if activity.isdigit() else None,
            int(employee) if employee.isdigit() else None)
