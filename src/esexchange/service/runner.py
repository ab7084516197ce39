"""One synchronization pass over every synchronized mailbox of a connection.

``sync_connection`` is the composition root: it reads the connection's configuration
once, builds the Exchange adapter once (the stored EWS URL; Autodiscover only when none
is stored yet, and then stores what it found), reads the ERP reference data once, and
runs the engine's pass for the synchronized employees, several mailboxes at once
(``parallel``, ``DEFAULT_PARALLEL_MAILBOXES``), each under the mailbox's lease
(``leases.py``) so two runs never work on one mailbox at once. The engine writes the
master category list (with colours) once per mailbox per pass when
``sync_activity_type`` is on. A mailbox that fails ends its own pass with a recorded
outcome; the other mailboxes still run.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Protocol

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from esexchange import config
from esexchange.domain.claims import MailboxClaim
from esexchange.domain.errors import EsExchangeError
from esexchange.domain.mapping import MappingContext, make_context
from esexchange.domain.model import Employee
from esexchange.domain.options import EmployeeSettings
from esexchange.engine import PassReport, run_pass
from esexchange.erp.port import Scope
from esexchange.erp.store import SqlErpStore
from esexchange.exchange.errors import MailboxError, in_mailbox
from esexchange.exchange.port import Exchange, Mailbox
from esexchange.hostzone import host_time_zone
from esexchange.service.adapter import OpenConnections, open_connection
from esexchange.service.claims import Claimant, ClaimCheck, ClaimRefused, claimant
from esexchange.service.leases import LEASE_DURATION, MailboxBusy, mailbox_lease, new_holder
from esexchange.service.summary import movement

log = logging.getLogger(__name__)

DEFAULT_PARALLEL_MAILBOXES = 10
"""Mailboxes of one connection synchronized at once. Each mailbox's pass sends one request
at a time, so this is also the most requests in flight: within EWS's lowest documented
EWSMaxConcurrency (10 per account, Exchange 2010; 27 in Exchange Online) even where the
connections are charged to the service account rather than to the impersonated mailbox,
and one request per mailbox is well inside Graph's 4 concurrent requests per mailbox."""


SWITCH_INTERVAL = 0.001
"""Seconds a thread may hold the interpreter before another gets it (Python's default:
0.005). See ``share_the_interpreter``."""


def share_the_interpreter() -> None:
    """Shorten the interpreter's thread switch interval for passes on several threads.

    A mailbox thread gives the interpreter lock up at every database call and every
    request, and gets it back only when the thread computing meanwhile lets it go: after
    up to the switch interval. With Python's 5 ms a mailbox's dozen such calls made an
    idle pass over 100 mailboxes wait about 0.9 s in all on the lock, doing nothing (the
    convoy effect); at 1 ms the pass takes the CPU it needs. Never lengthens a shorter
    interval set by someone else.
    """
    if sys.getswitchinterval() > SWITCH_INTERVAL:
        sys.setswitchinterval(SWITCH_INTERVAL)


@dataclass(frozen=True)
class MailboxOutcome:
    """What one employee's pass did, or why it did not run or stopped early.

    ``report`` is the engine's report (``None`` when the mailbox could not even be
    opened); ``problem`` says in words what went wrong, empty when nothing did.
    """

    employee: Employee
    report: PassReport | None
    problem: str = ""
    busy: bool = False
    """Another pass held the mailbox; this run left it alone."""
    claimed_by: MailboxClaim | None = None
    """Another installation claimed the mailbox (``domain.claims``); nothing was synchronized."""
    requests: Mapping[tuple[str, str], int] = field(default_factory=dict)
    """Requests the pass sent, by (backend, operation) (for the service's metrics)."""

    @property
    def skipped(self) -> bool:
        """The employee is on the list but not synchronized (left, no ERP permission)."""
        return self.report is not None and self.report.not_syncable is not None

    @property
    def ok(self) -> bool:
        return self.report is not None and self.report.ok and not self.skipped


class Progress(Protocol):
    """Told about each mailbox as the run goes (the CLI draws a progress bar)."""

    def begin(self, total: int) -> None:
        """``total`` mailboxes are about to be synchronized."""

    def mailbox_started(self, employee: Employee) -> None:
        """The pass for ``employee`` starts."""

    def mailbox_done(self, outcome: MailboxOutcome) -> None:
        """The pass for ``outcome.employee`` ended."""


class _OneAtATime:
    """A ``Progress`` told from several worker threads, one call at a time."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._lock = threading.Lock()

    def begin(self, total: int) -> None:
        with self._lock:
            self._progress.begin(total)

    def mailbox_started(self, employee: Employee) -> None:
        with self._lock:
            self._progress.mailbox_started(employee)

    def mailbox_done(self, outcome: MailboxOutcome) -> None:
        with self._lock:
            self._progress.mailbox_done(outcome)


class UnknownEmployee(EsExchangeError):
    """The employee asked for is not on the connection's synchronized list."""


def sync_connection(
    engine: Engine,
    connection_name: str,
    *,
    employee: str | None = None,
    dry_run: bool = False,
    approve_deletions: bool = False,
    reject_deletions: bool = False,
    now: datetime | None = None,
    progress: Progress | None = None,
    holder: str | None = None,
    lease: timedelta = LEASE_DURATION,
    interval: timedelta | None = None,
    parallel: int = DEFAULT_PARALLEL_MAILBOXES,
    connections: OpenConnections | None = None,
) -> list[MailboxOutcome]:
    """Run one pass for every synchronized employee of ``connection_name``.

    ``employee`` (an email address, any case) limits the run to that employee.
    ``dry_run`` plans and reports without writing anything on either side, and records
    no pass. ``approve_deletions`` lets through the deletions the circuit breaker held;
    ``reject_deletions`` refuses them: their pairs are detached, both copies kept.
    Raises ``EsExchangeError`` only for what stops the whole connection (an unknown
    connection or employee, a bad option, Autodiscover failing); everything that
    concerns one mailbox is that mailbox's outcome. ``holder`` names the leases this run
    takes (the service's worker name; a new one by default); ``lease`` is how long a lease
    lasts between two renewals. ``interval`` is how often passes come (the service's
    override; the connection's ``interval_minutes`` by default): the mailbox claims this
    run leaves hold for four of them (``domain.claims``; checked before a mailbox's first
    write, renewed every other interval: ``service.claims.ClaimCheck``). ``parallel`` mailboxes are
    synchronized at once (threads sharing the connection's sessions); the outcomes come
    in the personnel's order. ``connections`` (the service's) gives the Exchange
    adapter, open from earlier passes; otherwise one is opened for this run and closed.
    """
    if approve_deletions and reject_deletions:
        raise EsExchangeError("held deletions are either approved or rejected, not both")
    now = now or datetime.now(UTC)
    conn = config.get_connection(engine, connection_name)
    assert conn.id is not None, "a stored connection has an id"
    connection_id = conn.id
    people = _selected(config.personnel(engine, connection_name), employee, connection_name)
    store = SqlErpStore(engine)
    ctx = make_context(conn.options, store.reference(), host_time_zone())
    exchange = (connections.get(engine, conn, ctx.erp_zone.key) if connections
                else open_connection(engine, conn, ctx.erp_zone.key))
    holder = holder or new_holder()
    me = claimant(engine, conn.name,
                  interval or timedelta(minutes=conn.options.interval_minutes))

    if progress:
        progress.begin(len(people))
        progress = _OneAtATime(progress)

    def one(person: Employee, settings: EmployeeSettings) -> MailboxOutcome:
        if progress:
            progress.mailbox_started(person)
        scope = Scope(connection_id, person.id)
        started = datetime.now(UTC)

        def record(outcome: MailboxOutcome, db: Connection | None = None) -> None:
            store.record_pass(
                scope, started_at=started, finished_at=datetime.now(UTC),
                outcome=outcome_word(outcome), summary=_summary(outcome), conn=db,
            )

        if not person.email.strip():
            outcome = MailboxOutcome(person, None, config.missing_email(person))
            log.warning("%s", outcome.problem)
            if not dry_run:
                record(outcome)
        elif dry_run:  # writes nothing, so it needs no lease and records no pass
            outcome = _one_mailbox(store, exchange, scope, person, settings, ctx, now, me,
                                   dry_run=True, approve_deletions=approve_deletions,
                                   reject_deletions=reject_deletions)
        else:
            outcome = _leased_mailbox(
                engine, store, exchange, scope, person, settings, ctx, now, holder, started,
                me, record, approve_deletions=approve_deletions,
                reject_deletions=reject_deletions, lease=lease,
            )
        if progress:
            progress.mailbox_done(outcome)
        return outcome

    workers = max(1, min(parallel, len(people)))
    try:
        if workers == 1:
            return [one(person, settings) for person, settings in people]
        share_the_interpreter()
        with ThreadPoolExecutor(workers, thread_name_prefix="esx-mailbox") as pool:
            futures = [pool.submit(one, person, settings) for person, settings in people]
            return [future.result() for future in futures]
    finally:
        if connections is None:
            exchange.close()


def _leased_mailbox(
    engine: Engine, store: SqlErpStore, exchange: Exchange, scope: Scope,
    person: Employee, settings: EmployeeSettings, ctx: MappingContext, now: datetime,
    holder: str, started: datetime, me: Claimant,
    record: Callable[[MailboxOutcome, Connection | None], None], *,
    approve_deletions: bool, reject_deletions: bool, lease: timedelta,
) -> MailboxOutcome:
    """The pass under the mailbox's lease, recorded (``record``) as the lease is given
    back, in the same transaction."""
    try:
        with mailbox_lease(engine, scope, holder=holder, now=started, mailbox=person.email,
                           duration=lease) as held:
            outcome = _one_mailbox(
                store, exchange, scope, person, settings, ctx, now, me, dry_run=False,
                approve_deletions=approve_deletions, reject_deletions=reject_deletions,
            )
            held.on_release(partial(record, outcome))
            return outcome
    except MailboxBusy as busy:
        outcome = MailboxOutcome(person, None, str(busy), busy=True)
        record(outcome, None)
        return outcome


def _selected(
    people: list[tuple[Employee, EmployeeSettings]], email: str | None, connection_name: str
) -> list[tuple[Employee, EmployeeSettings]]:
    if email is None:
        return people
    wanted = [(e, s) for e, s in people if e.email.lower() == email.strip().lower()]
    if not wanted:
        raise UnknownEmployee(
            f"{email} is not synchronized over connection {connection_name!r}; "
            f"add the employee with: esexchange personnel add {connection_name} {email}"
        )
    return wanted


def _one_mailbox(
    store: SqlErpStore,
    exchange: Exchange,
    scope: Scope,
    person: Employee,
    settings: EmployeeSettings,
    ctx: MappingContext,
    now: datetime,
    me: Claimant,
    *,
    dry_run: bool,
    approve_deletions: bool,
    reject_deletions: bool,
) -> MailboxOutcome:
    try:
        mailbox = exchange.mailbox(person.email)
        # A dry run writes nothing, not even the claim, but is refused all the same.
        claim = ClaimCheck(mailbox, me, renew=not dry_run)
        if claim.due_now(datetime.now(UTC)):
            claim.ensure()
    except MailboxError as error:
        log.warning("mailbox %s: %s", person.email, error)
        return MailboxOutcome(person, None, in_mailbox(person.email, error))
    except ClaimRefused as refused:
        return _claimed(person, refused, mailbox)
    try:
        report = run_pass(store, mailbox, scope, person, settings, ctx, now, dry_run=dry_run,
                          approve_deletions=approve_deletions,
                          reject_deletions=reject_deletions, before_writes=claim.ensure)
    except ClaimRefused as refused:
        return _claimed(person, refused, mailbox)
    except (EsExchangeError, SQLAlchemyError) as error:
        # The ERP refused this mailbox's unit of work (it rolled back as a whole; items
        # already created in Exchange carry their stamp and are adopted next time).
        log.exception("mailbox %s: the pass failed", person.email)
        return MailboxOutcome(
            person, None, in_mailbox(person.email, f"the pass failed: {error}"),
            requests=_requests(mailbox),
        )
    report.forget_plans()  # the outcomes of all mailboxes stay until the run ends
    problem = report.error or report.not_syncable or ""
    if report.error:
        log.warning("%s", report.error)
    return MailboxOutcome(person, report, problem, requests=_requests(mailbox))


def _claimed(person: Employee, refused: ClaimRefused, mailbox: Mailbox) -> MailboxOutcome:
    return MailboxOutcome(person, None, refused.refused.problem,
                          claimed_by=refused.refused.claim, requests=_requests(mailbox))


def _requests(mailbox: Mailbox) -> dict[tuple[str, str], int]:
    """The requests an adapter counted, by (backend, operation); the backend is the
    adapter's package (``exchange.ews``, ``exchange.graph``)."""
    counter = getattr(mailbox, "requests", None)
    operations: dict[str, int] = dict(getattr(counter, "by_operation", {}))
    backend = type(mailbox).__module__.split(".")[2]
    return {(backend, operation): count for operation, count in operations.items()}


def outcome_word(outcome: MailboxOutcome) -> str:
    """``esx_pass.outcome``: ok, partial (some items failed), skipped or failed."""
    if outcome.skipped or outcome.busy or outcome.claimed_by:
        return "skipped"
    if outcome.report is None or outcome.report.error:
        return "failed"
    return "ok" if outcome.report.ok else "partial"


def _summary(outcome: MailboxOutcome) -> dict[str, object]:
    summary: dict[str, object] = {"email": outcome.employee.email}
    if outcome.problem:
        summary["problem"] = outcome.problem
    if outcome.claimed_by is not None:
        summary["claimed_by"] = outcome.claimed_by.installation
    if outcome.report is not None:
        moved = movement(outcome.report)
        summary.update(
            to_exchange=moved.to_exchange, to_erp=moved.to_erp, conflicts=moved.conflicts,
            held=moved.held,
            failures=outcome.report.failures,
            skipped=[str(skipped) for skipped in outcome.report.skipped],
        )
    return summary
