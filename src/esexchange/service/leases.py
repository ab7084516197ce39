"""One pass at a time per mailbox: a lease row in ``esx_lease`` per (connection, employee).

Two passes over the same mailbox at once (the service and an administrator's
``esexchange sync``, or two hosts) would both read the same changes and both write them.
A pass therefore takes the mailbox's lease first; the primary key makes taking it atomic
on SQLite and PostgreSQL alike. A lease expires, so a crashed holder blocks nobody for
long, and one left by a dead process of the same host is taken over at once. While the
block runs, a thread renews the lease every third of its duration, so a pass longer than
the lease keeps it; a holder that dies stops renewing and its lease lapses.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
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
from esexchange.erp.db import write_connection
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
    done = threading.Event()
    renewer = threading.Thread(target=_renew, args=(engine, scope, holder, duration, done),
                               name=f"esx-lease-{mailbox}", daemon=True)
    renewer.start()
    lease = Lease()
    try:
        yield lease
    finally:
        done.set()
        renewer.join()
        _release(engine, scope, holder, lease)


def _release(engine: Engine, scope: Scope, holder: str, lease: Lease) -> None:
    mine = {**_key(scope), "holder": holder}
    try:
        with write_connection(engine) as db, db.begin():
            for write in lease._on_release:
                write(db)
            db.execute(_MINE, mine)
    except SQLAlchemyError:
        if not lease._on_release:
            raise
        with write_connection(engine) as db, db.begin():
            db.execute(_MINE, mine)
        raise


def _renew(engine: Engine, scope: Scope, holder: str, duration: timedelta,
           done: threading.Event) -> None:
    """Push the lease's expiry out every third of ``duration`` until ``done``."""
    while not done.wait(duration.total_seconds() / 3):
        try:
            with write_connection(engine) as db, db.begin():
                db.execute(update(esx_lease).where(_of(scope), esx_lease.c.holder == holder)
                           .values(expires_at=datetime.now(UTC) + duration))
        except SQLAlchemyError:  # the next renewal tries again; the lease still has time
            log.warning("could not renew the lease of %s", holder, exc_info=True)


def _take(engine: Engine, scope: Scope, holder: str, now: datetime, mailbox: str,
          duration: timedelta) -> None:
    for _attempt in range(2):
        try:
            with write_connection(engine) as db, db.begin():
                db.execute(_EXPIRED, {**_key(scope), "now": now})
                db.execute(_NEW, {**_key(scope), "holder": holder, "expires_at": now + duration})
            return
        except IntegrityError:
            with engine.connect() as db:
                row = db.execute(select(esx_lease.c.holder, esx_lease.c.expires_at)
                                 .where(_of(scope))).first()
            if row is not None and holder_is_gone(row.holder):
                # A process of this host that died (killed mid-pass) left it behind.
                with write_connection(engine) as db, db.begin():
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


def _key(scope: Scope) -> dict[str, int]:
    return {"connection_id": scope.connection_id, "employee_id": scope.employee_id}


def _of(scope: Scope) -> ColumnElement[bool]:
    return and_(esx_lease.c.connection_id == scope.connection_id,
                esx_lease.c.employee_id == scope.employee_id)
