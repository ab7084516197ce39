"""The long-running service: passes for every synchronized mailbox, at each connection's
interval, several mailboxes at once within a bound, each mailbox never twice at once.

Every tick the scheduler reads, per connection, when each mailbox last had a pass and how
many failed in a row (``esx_pass``, shared by every worker of the installation), and
starts the due mailboxes that no lease holds and this worker is not already running.
A pass takes the mailbox's lease (``leases.py``, renewed while it runs), so two workers on
one database never work on one mailbox at once; a worker that finds a mailbox due but
leased leaves it to its holder. A mailbox whose passes fail waits longer and longer
(``domain.schedule.back_off``) and is tried again, never dropped.

``wake(scopes)`` asks for a pass over those mailboxes now, whatever the interval says
(``realtime.py`` calls it when the ERP journal or a mailbox reports a change); a woken
mailbox whose pass is running gets another pass right after it.

``stop`` (SIGTERM, Ctrl-C) ends the loop: no new pass starts, the passes in flight finish
and are recorded, then ``run`` returns.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from esexchange import config
from esexchange.config import Backend
from esexchange.domain.errors import EsExchangeError
from esexchange.domain.schedule import is_due
from esexchange.erp.port import Scope
from esexchange.erp.schema import esx_lease
from esexchange.erp.store import SqlErpStore
from esexchange.exchange.ews.transport import name_this_worker
from esexchange.service import workers
from esexchange.service.adapter import OpenConnections
from esexchange.service.leases import LEASE_DURATION, holder_is_gone, new_holder
from esexchange.service.metrics import ServiceMetrics
from esexchange.service.realtime import Realtime, RealtimeSettings
from esexchange.service.runner import share_the_interpreter, sync_connection
from esexchange.service.webhooks import NotificationInbox
from esexchange.status import pass_history

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceSettings:
    """``workers``: mailboxes at once; ``interval``: overrides every connection's
    ``interval_minutes`` (demos, tests); ``tick``: seconds between two looks at the plan;
    ``realtime``: how changes start passes between intervals (``realtime.py``)."""

    workers: int = 4
    interval: timedelta | None = None
    lease: timedelta = LEASE_DURATION
    tick: float = 1.0
    address: str = ""
    realtime: RealtimeSettings = field(default_factory=lambda: RealtimeSettings())


@dataclass(frozen=True)
class DueMailbox:
    connection: str
    email: str
    scope: Scope


class SyncService:
    """One worker: ``run(stop)`` until ``stop`` is set."""

    def __init__(self, engine: Engine, settings: ServiceSettings,
                 metrics: ServiceMetrics | None = None, holder: str | None = None,
                 inbox: NotificationInbox | None = None) -> None:
        self.engine = engine
        self.inbox = inbox
        self.settings = settings
        self.metrics = metrics or ServiceMetrics(engine)
        self.holder = holder or new_holder()
        self.store = SqlErpStore(engine)
        self._running: dict[Scope, Future[None]] = {}
        self._woken: set[Scope] = set()
        self._woken_lock = threading.Lock()
        self._nudge = threading.Event()
        self._notified: Callable[[Scope], bool] = lambda _scope: False
        self.realtime: Realtime | None = None
        self.connections = OpenConnections()

    def wake(self, scopes: Iterable[Scope]) -> None:
        """Pass over these mailboxes as soon as a worker is free (thread-safe)."""
        with self._woken_lock:
            before = len(self._woken)
            self._woken.update(scopes)
            grew = len(self._woken) > before
        if grew:
            self._nudge.set()

    def run(self, stop: threading.Event) -> None:
        """Schedule passes until ``stop``; then let the passes in flight finish."""
        workers.register(self.engine, self.holder, self.settings.address)
        name_this_worker(self.holder)
        share_the_interpreter()
        log.info("worker %s started (%d mailboxes at once)", self.holder, self.settings.workers)
        pool = ThreadPoolExecutor(self.settings.workers, thread_name_prefix="esx-pass")
        watchers = Realtime(self.engine, self.settings.realtime, self.wake, self.holder,
                            self.inbox)
        self.realtime = watchers
        self._notified = watchers.notified
        watchers.start()
        try:
            while not stop.is_set():
                try:
                    workers.heartbeat(self.engine, self.holder)
                    self._start_due(pool, datetime.now(UTC))
                except (SQLAlchemyError, EsExchangeError):
                    log.exception("the scheduler could not read the plan; trying again")
                self._nudge.wait(self.settings.tick)
                self._nudge.clear()
        finally:
            log.info("worker %s stopping: finishing %d passes in flight",
                     self.holder, len(self._running))
            watchers.stop()
            pool.shutdown(wait=True)
            self.connections.close()
            workers.unregister(self.engine, self.holder)
            log.info("worker %s stopped", self.holder)

    def graph_notification_states(self) -> dict[str, str]:
        """This worker's Graph mailboxes with notifications: per address, how changes
        arrive ("notifications", or "delta poll (why)")."""
        graph = self.realtime.graph if self.realtime is not None else None
        return graph.states() if graph is not None else {}

    @property
    def in_flight(self) -> int:
        return sum(1 for f in self._running.values() if not f.done())

    def _start_due(self, pool: ThreadPoolExecutor, now: datetime) -> None:
        self._running = {s: f for s, f in self._running.items() if not f.done()}
        for mailbox in self.due(now):
            if len(self._running) >= self.settings.workers:
                return
            if mailbox.scope not in self._running:
                with self._woken_lock:
                    self._woken.discard(mailbox.scope)
                future = pool.submit(self._pass, mailbox)
                future.add_done_callback(lambda _done: self._nudge.set())
                self._running[mailbox.scope] = future

    def due(self, now: datetime) -> list[DueMailbox]:
        """The mailboxes whose next pass is due and that no lease holds: woken ones
        first, then oldest first."""
        with self._woken_lock:
            woken = set(self._woken)
        due: list[tuple[datetime, DueMailbox]] = []
        with self.engine.connect() as db:
            # A lease of a dead process of this host is no obstacle: the pass takes it over.
            leased = {(row.connection_id, row.employee_id) for row in db.execute(
                select(esx_lease.c.connection_id, esx_lease.c.employee_id, esx_lease.c.holder)
                .where(esx_lease.c.expires_at > now)) if not holder_is_gone(row.holder)}
        for conn in config.list_connections(self.engine):
            assert conn.id is not None
            interval = self.settings.interval or timedelta(minutes=conn.options.interval_minutes)
            poll = interval
            if conn.backend is Backend.GRAPH:  # notified mailboxes need no poll
                poll = self.settings.realtime.graph_interval(interval)
            history = pass_history(self.engine, conn.id)
            for person, _settings in config.personnel(self.engine, conn.name):
                if (conn.id, person.id) in leased:
                    continue
                last, failures = history.get(person.id, (None, 0))
                scope = Scope(conn.id, person.id)
                every = interval if self._notified(scope) else poll
                if scope in woken or is_due(last, failures, every, now):
                    oldest = last or datetime.min.replace(tzinfo=UTC)
                    first = datetime.min.replace(tzinfo=UTC) if scope in woken else oldest
                    due.append((first, DueMailbox(conn.name, person.email, scope)))
        return [mailbox for _when, mailbox in sorted(due, key=lambda d: d[0])]

    def _pass(self, mailbox: DueMailbox) -> None:
        started, clock = datetime.now(UTC), time.monotonic()
        try:
            outcomes = sync_connection(self.engine, mailbox.connection, employee=mailbox.email,
                                       holder=self.holder, lease=self.settings.lease,
                                       interval=self.settings.interval,
                                       connections=self.connections)
        except Exception as error:
            if not isinstance(error, EsExchangeError | SQLAlchemyError):
                log.exception("mailbox %s: the pass failed", mailbox.email)
            else:
                log.warning("mailbox %s: %s", mailbox.email, error)
            self._record_failure(mailbox, started, str(error))
            return
        for outcome in outcomes:
            self.metrics.observe(outcome, time.monotonic() - clock)

    def _record_failure(self, mailbox: DueMailbox, started: datetime, problem: str) -> None:
        """A pass that could not even start is recorded failed, so it backs off too."""
        self.metrics.errors.labels("failed_passes").inc()
        self.metrics.passes.labels("failed").inc()
        try:
            self.store.record_pass(
                mailbox.scope, started_at=started, finished_at=datetime.now(UTC),
                outcome="failed", summary={"email": mailbox.email, "problem": problem})
        except SQLAlchemyError:
            log.exception("mailbox %s: the failed pass could not be recorded", mailbox.email)

