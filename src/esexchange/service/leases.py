"""One pass at a time per mailbox: a lease row in ``esx_lease`` per (connection, employee).

Two passes over the same mailbox at once (the service and an administrator's
``esexchange sync``, or two hosts) would both read the same changes and both write them.
A pass therefore takes the mailbox's lease first; the primary key makes taking it atomic
on SQLite and PostgreSQL alike. A lease expires, so a crashed holder blocks nobody for
long, and one left by a dead process of the same host is taken over at once. While the
block runs, the lease is renewed every third of its duration (one thread of the process
renews them all), so a pass longer than the lease keeps it; a holder that dies stops
renewing and its leases lapse.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from esexchange.domain.errors import EsExchangeError
from esexchange.erp.db import bookkeeping_connection
from esexchange.erp.port import Scope
from esexchange.erp.schema import esx_lease

LEASE_DURATION = timedelta(minutes=15)


def abandoned_after(lease: timedelta) -> timedelta:
    """How long a worker's transaction may idle before PostgreSQL ends it
    (``erp.db.end_abandoned_transactions``): the lease, since a worker idle that long has
    lost its mailboxes, but never under 10 s, so a busy machine's pause between two
    statements of a live pass is not mistaken for a hang."""
    return max(lease, timedelta(seconds=10))

log = logging.getLogger(__name__)


class MailboxBusy(EsExchangeError):
    """Another pass holds the mailbox's lease; this one leaves it alone."""


def new_holder() -> str:
    """A name for this process's passes, readable in ``esx_lease`` (host, pid, nonce)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Lease:
    """A lease held (``mailbox_lease``): what is to be written when it is given back."""

    def __init__(self) -> None:
        self._on_release: list[Callable[[Connection], None]] = []

    def on_release(self, write: Callable[[Connection], None]) -> None:
        """Have ``write`` run in the transaction that gives the lease back (the pass's
        record: one commit where two were, and the record is in when the lease is
        gone). Should it fail, the lease is still given back and the error raised."""
        self._on_release.append(write)


@contextmanager
def mailbox_lease(
    engine: Engine, scope: Scope, *, holder: str, now: datetime, mailbox: str,
    duration: timedelta = LEASE_DURATION,
) -> Iterator[Lease]:
    """Hold the lease of ``scope`` inside the block, renewed while it runs;
    ``MailboxBusy`` when another has it."""
    _take(engine, scope, holder, now, mailbox, duration)
    _renewals.hold(engine, holder, duration)
    lease = Lease()
    try:
        yield lease
    finally:
        _renewals.release(engine, holder, duration)
        _release(engine, scope, holder, lease)


def _release(engine: Engine, scope: Scope, holder: str, lease: Lease) -> None:
    mine = {**_key(scope), "holder": holder}
    try:
        with bookkeeping_connection(engine) as db, db.begin():
            for write in lease._on_release:
                write(db)
            db.execute(_MINE, mine)
    except SQLAlchemyError:
        if not lease._on_release:
            raise
        with bookkeeping_connection(engine) as db, db.begin():
            db.execute(_MINE, mine)
        raise


_Holding = tuple[Engine, str, timedelta]
"""Leases of one holder in one database, all of one duration."""


class _Renewals:
    """One thread of the process renews every lease the process holds: each holder's in
    one statement, every third of their duration (a thread per lease cost a mailbox's
    pass more than its idle reads). The thread ends when no lease is held."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._held: Counter[_Holding] = Counter()
        self._running = False

    def hold(self, engine: Engine, holder: str, duration: timedelta) -> None:
        with self._lock:
            self._held[(engine, holder, duration)] += 1
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="esx-lease-renewals",
                                 daemon=True).start()
            self._lock.notify()  # a shorter duration renews sooner

    def release(self, engine: Engine, holder: str, duration: timedelta) -> None:
        with self._lock:
            self._held[(engine, holder, duration)] -= 1
            if self._held[(engine, holder, duration)] <= 0:
                del self._held[(engine, holder, duration)]

    def _run(self) -> None:
        due_at: dict[_Holding, float] = {}
        while True:
            with self._lock:
                if not self._held:
                    self._running = False
                    return
                now = time.monotonic()
                due_at = {h: due_at.get(h, now + h[2].total_seconds() / 3) for h in self._held}
                due = [h for h, at in due_at.items() if at <= now]
                if not due:
                    self._lock.wait(min(due_at.values()) - now)
                    continue
                for holding in due:
                    due_at[holding] = now + holding[2].total_seconds() / 3
            for engine, holder, duration in due:
                try:
                    _renew(engine, holder, duration)
                except Exception:  # whatever it was, the other holders' leases go on
                    log.exception("renewing the leases of %s failed", holder)


_renewals = _Renewals()


def _renew(engine: Engine, holder: str, duration: timedelta) -> None:
    """Push the expiry of the holder's leases ``duration`` out from now."""
    try:
        with bookkeeping_connection(engine) as db, db.begin():
            db.execute(_RENEW, {"renewing": holder, "until": datetime.now(UTC) + duration})
    except SQLAlchemyError:  # the next renewal tries again; the leases still have time
        log.warning("could not renew the leases of %s", holder, exc_info=True)


def _take(engine: Engine, scope: Scope, holder: str, now: datetime, mailbox: str,
          duration: timedelta) -> None:
    for _attempt in range(2):
        try:
            with bookkeeping_connection(engine) as db, db.begin():
                db.execute(_EXPIRED, {**_key(scope), "now": now})
                db.execute(_NEW, {**_key(scope), "holder": holder, "expires_at": now + duration})
            return
        except IntegrityError:
            with engine.connect() as db:
                row = db.execute(select(esx_lease.c.holder, esx_lease.c.expires_at)
                                 .where(_of(scope))).first()
            if row is not None and holder_is_gone(row.holder):
                # A process of this host that died (killed mid-pass) left it behind.
                with bookkeeping_connection(engine) as db, db.begin():
                    db.execute(delete(esx_lease).where(_of(scope),
                                                       esx_lease.c.holder == row.holder))
                continue
            who = (f"{row.holder}, until {row.expires_at:%Y-%m-%d %H:%M} UTC" if row
                   else "just now")
            raise MailboxBusy(
                f"mailbox {mailbox}: another pass is running ({who}); this pass leaves it alone"
            ) from None


def holder_is_gone(holder: str) -> bool:
    """Whether ``holder`` names a process of this host that no longer runs."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it runs, under another user
        return False
    return False


# Every pass takes and gives back a lease: its statements are built once.
_OF_SCOPE = and_(esx_lease.c.connection_id == bindparam("connection_id"),
                 esx_lease.c.employee_id == bindparam("employee_id"))
_EXPIRED = delete(esx_lease).where(_OF_SCOPE, esx_lease.c.expires_at <= bindparam("now"))
_NEW = insert(esx_lease)
_MINE = delete(esx_lease).where(_OF_SCOPE, esx_lease.c.holder == bindparam("holder"))
_RENEW = (update(esx_lease).where(esx_lease.c.holder == bindparam("renewing"))
          .values(expires_at=bindparam("until")))


def _key(scope: Scope) -> dict[str, int]:
    return {"connection_id": scope.connection_id, "employee_id": scope.employee_id}


def _of(scope: Scope) -> ColumnElement[bool]:
    return and_(esx_lease.c.connection_id == scope.connection_id,
                esx_lease.c.employee_id == scope.employee_id)
